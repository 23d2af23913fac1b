//! The incident engine: follows the event stream and keeps one automatic incident per outage.

pub mod causes;
pub mod components;
pub mod engine;
