pub mod audit;
pub mod auth;
pub mod backend;
pub mod live;
pub mod monitor;
pub mod resource;
pub mod status;
pub mod throttle;
