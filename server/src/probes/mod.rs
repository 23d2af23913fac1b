//! Live probes: each kind of check, the scheduler that runs them, and the writer that stores
//! their results, turns them into UP/DOWN and records every change as an event.

pub mod check;
pub mod dns;
pub mod heartbeats;
pub mod http;
pub mod prometheus;
pub mod registry;
pub mod scheduler;
pub mod tcp;
pub mod writer;
