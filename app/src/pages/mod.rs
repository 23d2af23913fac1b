pub mod incidents;
pub mod login;
pub mod not_found;
pub mod ops;
pub mod postmortems;
pub mod status;
