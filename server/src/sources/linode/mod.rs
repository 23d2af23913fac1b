//! Linode API v4: what Vigil reads about NodeBalancers and their backends.

pub mod client;
pub mod poller;
