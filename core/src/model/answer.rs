//! How each kind of failure is answered, decided once per error type: the JSON API, the pages'
//! server functions and the `/ops` guard all ask an error for its [`Answer`] instead of mapping it
//! themselves. Plain numbers, so the mapping compiles for the browser too.

/// An error's HTTP status and the words a caller may see (never a database's error text).
pub trait Answer: std::fmt::Display {
    fn status(&self) -> u16;

    /// What the caller is told. By default the error's own words.
    fn public_message(&self) -> String {
        self.to_string()
    }

    /// The field at fault, for a 400.
    fn field(&self) -> Option<&str> {
        None
    }
}

/// The words for anything that failed in the database.
pub const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

impl Answer for super::auth::Denied {
    fn status(&self) -> u16 {
        match self {
            super::auth::Denied::Unauthenticated => 401,
            super::auth::Denied::Forbidden(_) | super::auth::Denied::OtherRegion(_) => 403,
        }
    }
}

impl Answer for super::window::WindowError {
    fn status(&self) -> u16 {
        400
    }

    fn field(&self) -> Option<&str> {
        Some(self.field)
    }
}

impl std::fmt::Display for super::window::WindowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
