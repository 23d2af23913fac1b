//! Vigil's domain: the types the UI and the server share, and the rules that act on them.
//!
//! Everything under `model` compiles for wasm. Storage (`store`) sits behind the `db` feature so the
//! browser bundle never links a database driver.

pub mod model;

#[cfg(feature = "db")]
pub mod store;

#[cfg(feature = "render")]
pub mod render;
