//! For operators: the guard in front of the `/ops` pages (the pages themselves are the app's).

pub mod guard;
