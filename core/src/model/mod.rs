pub mod audit;
pub mod auth;
pub mod live;
pub mod throttle;
