//! Small view helpers both Leptos front ends use.

use confab_protocol::format;
use leptos::prelude::*;

/// Message text with `*bold*` and `_italic_` styled; always text nodes, never HTML.
pub fn formatted(text: &str) -> Vec<AnyView> {
    format::spans(text)
        .into_iter()
        .map(|span| match (span.bold, span.italic) {
            (false, false) => span.text.into_any(),
            (true, false) => view! { <strong>{span.text}</strong> }.into_any(),
            (false, true) => view! { <em>{span.text}</em> }.into_any(),
            (true, true) => view! { <strong><em>{span.text}</em></strong> }.into_any(),
        })
        .collect()
}

/// Calls `f` once after `ms` milliseconds.
pub fn set_timeout(f: impl FnOnce() + 'static, ms: i64) {
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            wasm_bindgen::JsCast::unchecked_ref(&callback),
            ms as i32,
        );
    }
}
