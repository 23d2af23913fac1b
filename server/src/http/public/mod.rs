//! For anyone: the Statuspage-compatible read side, feeds and badges, the subscribe form and its
//! links, the live feed, and the cache that shares what was rendered for nobody.

pub mod cache;
pub mod embed;
pub mod incidents;
pub mod live;
pub mod representation;
pub mod status;
pub mod subscriptions;
pub mod text;
