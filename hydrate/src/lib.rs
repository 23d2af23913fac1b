//! The browser side: take over the server-rendered page without re-rendering it.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(vigil_app::App);
}
