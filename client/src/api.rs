//! JSON requests to the edge's HTTP API. Errors come back as text fit to show a person: the edge's own
//! message for API errors, a plain explanation for network failures.

use confab_protocol::api::ApiError;
use confab_protocol::frames::ErrorCode;
use confab_protocol::json::{self, FromJson, Json};
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

    fn unreadable() -> Self {
        Failure { code: None, message: "The server's answer could not be read.".into() }
    }

    /// The edge's JSON error body ([`ApiError`]), if `text` is one. Its message is begun with a capital
    /// letter: the API writes them lower-case, to be quoted inside other text, and here one stands alone.
    pub fn from_answer(text: &str) -> Option<Self> {
        json::read::<ApiError>(text)
            .map(|e| Failure { code: Some(e.error.code), message: sentence(e.error.message) })
    }
}

/// Sends `method path` with an optional JSON body and decodes a JSON answer (or `()` for 204), with serde
/// (the agent desktop's bodies).
pub async fn request<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<T, Failure> {
    let body = match body {
        Some(body) => Some(serde_json::to_string(body).map_err(|_| Failure::network())?),
        None => None,
    };
    let text = send(method, path, body, None).await?;
    serde_json::from_str(if text.is_empty() { "null" } else { &text }).map_err(|_| Failure::unreadable())
}

/// Like [`request`], through the small JSON reader and writer instead of serde (the widget, which cannot
/// afford serde's size), and with a contact token as `Authorization: Bearer` (contacts have no cookie).
pub async fn request_json<T: FromJson>(
    method: &str,
    path: &str,
    body: Option<Json>,
    bearer: Option<&str>,
) -> Result<T, Failure> {
    let text = send(method, path, body.map(|b| b.to_text()), bearer).await?;
    json::read(&text).ok_or_else(Failure::unreadable)
}

/// Sends `method path` with an optional JSON body (already written); the answer's text, or the failure.
async fn send(
    method: &str,
    path: &str,
    body: Option<String>,
    bearer: Option<&str>,
) -> Result<String, Failure> {
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
        init.set_body(&JsValue::from_str(&body));
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
        return Err(Failure::from_answer(&text).unwrap_or_else(|| Failure {
            code: None,
            message: format!("The server answered {}.", response.status()),
        }));
    }
    Ok(text)
}

/// `message` with its first letter a capital (ASCII: the edge's messages are English, and full Unicode case
/// tables would cost the widget's size budget).
fn sentence(mut message: String) -> String {
    if let Some(first) = message.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    message
}
