//! Small HTTP helpers shared by the routes: JSON answers, JSON errors with stable codes, internal calls to
//! Durable Objects.

use confab_protocol::api::ApiError;
use confab_protocol::frames::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Result, Stub};

/// A deployment setting: a secret (production, `wrangler secret put`) or a plain variable (`wrangler dev`
/// with `--env-file`, tests).
pub(crate) fn deployment_variable(env: &Env, name: &str) -> Option<String> {
    env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()
}

/// A JSON error answer, with the status that goes with its code.
pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> Result<Response> {
    api_error(ApiError::new(code, message))
}

/// Answers with an [`ApiError`] value.
pub(crate) fn api_error(body: ApiError) -> Result<Response> {
    let status = body.status();
    Ok(Response::from_json(&body)?.with_status(status))
}

/// Largest JSON body of an ordinary request (a sign-in, a chat start, an account).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest site configuration (hundreds of standard responses).
pub(crate) const MAX_SITE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Parses a JSON body of at most [`MAX_BODY_BYTES`], or explains what is wrong with it.
pub(crate) async fn json_body<T: DeserializeOwned>(req: &mut Request) -> std::result::Result<T, ApiError> {
    json_body_up_to(req, MAX_BODY_BYTES).await
}

/// Parses a JSON body of at most `limit` bytes (see [`body_text`] for what is refused).
pub(crate) async fn json_body_up_to<T: DeserializeOwned>(
    req: &mut Request,
    limit: usize,
) -> std::result::Result<T, ApiError> {
    parse(&body_text(req, limit).await?)
}

/// Like [`json_body`], where an empty body means the default value.
pub(crate) async fn optional_json_body<T: DeserializeOwned + Default>(
    req: &mut Request,
) -> std::result::Result<T, ApiError> {
    let text = body_text(req, MAX_BODY_BYTES).await?;
    if text.trim().is_empty() { Ok(T::default()) } else { parse(&text) }
}

/// The body as text. Over `limit` bytes: `frame_too_large` (413), refused by its declared length before it is
/// read when it has one; not UTF-8: `bad_request`.
async fn body_text(req: &mut Request, limit: usize) -> std::result::Result<String, ApiError> {
    let too_large =
        || ApiError::new(ErrorCode::FrameTooLarge, format!("the request body is over {} KB", limit / 1024));
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "the request body could not be read"))?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "the request body is not UTF-8 text"))
}

fn parse<T: DeserializeOwned>(text: &str) -> std::result::Result<T, ApiError> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the request body is not valid: {e}")))
}

/// The stub of the Durable Object `name` in namespace `binding`.
pub(crate) fn stub(env: &Env, binding: &str, name: &str) -> Result<Stub> {
    env.durable_object(binding)?.id_from_name(name)?.get_stub()
}

/// An internal request to a Durable Object. The host is never looked at; the path names the operation.
pub(crate) fn internal_request(method: Method, path: &str, body: Option<&impl Serialize>) -> Result<Request> {
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(body) = body {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        init.with_headers(headers);
        init.with_body(Some(JsValue::from_str(&serde_json::to_string(body)?)));
    }
    Request::new_with_init(&format!("https://do.internal{path}"), &init)
}

/// Calls a Durable Object and decodes its JSON answer; a non-2xx answer is passed through as `Err`.
pub(crate) async fn call<T: DeserializeOwned>(
    stub: &Stub,
    req: Request,
) -> Result<std::result::Result<T, Response>> {
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() / 100 != 2 {
        return Ok(Err(resp));
    }
    Ok(Ok(resp.json().await?))
}

/// The value of query parameter `name` of `req`'s URL, decoded.
pub(crate) fn query(req: &Request, name: &str) -> Result<Option<String>> {
    Ok(req.url()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
}

/// Milliseconds since the Unix epoch, by the runtime's clock.
pub(crate) fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}
