//! Stand-ins for the outside services Vigil talks to, serving their real wire formats on
//! 127.0.0.1, so the demo and the tests run where there is no internet.

pub mod github;
pub mod kubernetes;
pub mod linode;
pub mod nodes;
pub mod provider;
pub mod scenario;
pub mod webhooks;
pub mod world;
