//! An endpoint as a feature declares it: path, method, handler, and what the shared cache needs
//! to know of its page. Which route group it joins is decided where the site is assembled.

use axum::{
    handler::Handler,
    http::Method,
    routing::{MethodFilter, MethodRouter},
};

use crate::http::{public::cache::Page, state::AppState};

/// One endpoint as a feature declares it.
pub struct Endpoint {
    pub path: String,
    pub method: Method,
    pub handler: MethodRouter<AppState>,
    /// For the shared cache: the parameters the page declares, and whether it names a number.
    pub page: Page,
}

impl Endpoint {
    fn new(path: &str, method: Method, handler: MethodRouter<AppState>) -> Endpoint {
        Endpoint {
            page: Page::for_pattern(path),
            path: path.to_owned(),
            method,
            handler,
        }
    }

    /// The page's declared parameters (see [`Page`]).
    pub fn page(mut self, page: Page) -> Self {
        self.page = page;
        self
    }
}

/// `h` answering `method` on `path`.
pub fn on<H, T>(path: &str, method: Method, h: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a method a route can answer");
    Endpoint::new(path, method, axum::routing::on(filter, h))
}

pub fn get<H, T>(path: &str, h: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    on(path, Method::GET, h)
}

pub fn post<H, T>(path: &str, h: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    on(path, Method::POST, h)
}
