//! The one outbox: every message Vigil owes a receiver outside (an ops channel, a subscriber) is
//! queued with the event that caused it, in the same transaction, and delivered at least once by
//! one worker. The ops channels and the subscribers are lanes of it ([`worker::Lane`]): each says
//! how to find its due heads, how to prepare and send one and what the answer means
//! ([`policy::Outcome`]); the worker tries them, records every attempt the same way
//! (`store::outbox`) and decides, by one policy, when to try again and when to give up.

pub mod policy;
pub mod worker;
