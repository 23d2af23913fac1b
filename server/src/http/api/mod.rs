//! For machines: the scripts' API (`/api/v1`, described by its OpenAPI document), the regional
//! agents' endpoints, and webhooks from outside; typed bodies, one error shape, and the extractors
//! that parse and authorize at the edge.

pub mod agents;
pub mod bodies;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod follow_ups;
pub mod github_webhook;
pub mod incidents;
pub mod openapi;
pub mod postmortems;
pub mod reliability;
pub mod resources;
pub mod reviews;
pub mod scope;
pub mod settings;
pub mod slos;
pub mod subscribers;
pub mod v1;
pub mod world;
