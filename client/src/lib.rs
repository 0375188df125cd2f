//! # confab-client
//!
//! What both front ends (the customer widget and the agent desktop) need from the browser, and nothing
//! about chat rules (those live in `confab-protocol`):
//! - [`Socket`]: a WebSocket that reconnects by itself with exponential backoff;
//! - [`conversation::ConversationLink`]: the conversation protocol over it (hello, resume, outbox, acks);
//! - [`api`]: JSON requests to the edge's HTTP API, with its JSON errors turned into messages for people;
//! - [`new_client_id`]: UUIDs from the browser's cryptographic random source;
//! - [`storage`]: small JSON values in `localStorage`;
//! - [`clock_time`]: a message's time as a person reads it.

pub mod api;
pub mod conversation;
pub mod socket;
pub mod storage;
pub mod upload;
pub mod view;

pub use socket::{Socket, SocketStatus};

use confab_protocol::ids::ClientMessageId;

/// A fresh random client message id (UUID v4) from `crypto.getRandomValues`.
pub fn new_client_id() -> ClientMessageId {
    let mut bytes = [0u8; 16];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    ClientMessageId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// Milliseconds since the Unix epoch, by the browser's clock.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// `HH:MM` in the browser's local time zone.
pub fn clock_time(at_ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// The `ws:` or `wss:` URL of an edge path, on the page's own origin.
pub fn socket_url(path: &str) -> String {
    let location = web_sys::window().map(|w| w.location());
    let protocol = location.as_ref().and_then(|l| l.protocol().ok()).unwrap_or_default();
    let host = location.as_ref().and_then(|l| l.host().ok()).unwrap_or_default();
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    format!("{scheme}://{host}{path}")
}

/// The value of a query parameter of the page's URL.
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(name)
}
