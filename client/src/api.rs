//! JSON requests to the edge's HTTP API. Errors come back as text fit to show a person: the edge's own
//! message for API errors, a plain explanation for network failures.

use confab_protocol::api::ApiError;
use confab_protocol::frames::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, Response};

/// A failed request: the error code when the edge answered one, and a message for people.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: Option<ErrorCode>,
    pub message: String,
}

impl Failure {
    fn network() -> Self {
        Failure { code: None, message: "Can't reach the server. Check your connection and try again.".into() }
    }
}

/// Sends `method path` with an optional JSON body and decodes a JSON answer (or `()` for 204).
pub async fn request<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<T, Failure> {
    request_as(method, path, body, None).await
}

/// Like [`request`], with a contact token as `Authorization: Bearer` (contacts have no cookie).
pub async fn request_as<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
    bearer: Option<&str>,
) -> Result<T, Failure> {
    let init = RequestInit::new();
    let headers = web_sys::Headers::new().map_err(|_| Failure::network())?;
    if let Some(token) = bearer {
        let _ = headers.set("authorization", &format!("Bearer {token}"));
    }
    init.set_headers(&headers);
    init.set_method(method);
    // Same-origin pages only: the widget frame and the agent desktop are served by the edge itself.
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        let text = serde_json::to_string(body).map_err(|_| Failure::network())?;
        init.set_body(&JsValue::from_str(&text));
        let _ = headers.set("content-type", "application/json");
    }
    let window = web_sys::window().ok_or_else(Failure::network)?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| Failure::network())?
        .dyn_into()
        .map_err(|_| Failure::network())?;
    let text = JsFuture::from(response.text().map_err(|_| Failure::network())?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    if !response.ok() {
        return Err(match serde_json::from_str::<ApiError>(&text) {
            Ok(e) => Failure { code: Some(e.error.code), message: e.error.message },
            Err(_) => Failure { code: None, message: format!("The server answered {}.", response.status()) },
        });
    }
    let text = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(text)
        .map_err(|_| Failure { code: None, message: "The server's answer could not be read.".into() })
}
