pub mod audit;
pub mod auth;
pub mod live;
pub mod monitor;
pub mod status;
pub mod throttle;
