//! Server functions, one file per feature: thin wrappers that authorize (`guard`), call
//! `vigil_core::store`, and map errors. Pages name them as `crate::api::…`.

pub mod follow_ups;
#[cfg(feature = "ssr")]
pub mod guard;
pub mod incidents;
pub mod monitors;
pub mod ops;
pub mod postmortems;
pub mod reliability;
pub mod resources;
pub mod settings;
pub mod slos;
pub mod status;
pub mod subscribers;

pub use follow_ups::*;
pub use incidents::*;
pub use monitors::*;
pub use ops::*;
pub use reliability::*;
pub use resources::*;
pub use slos::*;
pub use status::*;
pub use subscribers::*;
