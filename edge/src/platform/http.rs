//! HTTP for the API: one error type for every handler, JSON answers and bodies, query parameters, the clock.
//!
//! Every handler returns [`Answer`]: a response, or an [`HttpError`] that the router turns into the JSON
//! error answer `{"error": {"code", "message"}}` with the status of its code (an internal error is logged and
//! answered as `internal`, never as a stack trace).

use confab_protocol::api::ApiError;
use confab_protocol::frames::ErrorCode;
use confab_protocol::limits;
use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::{Request, Response};

/// What a handler answers.
pub(crate) type Answer = Result<Response, HttpError>;

/// Why a request was not served.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// A refusal the caller can act on: its code says which, its message says why.
    Api(ApiError),
    /// A rate limit: `429 too_many_requests` with `Retry-After`.
    Limited { error: ApiError, retry_after_secs: i64 },
    /// Something failed on the edge's side (storage, a Durable Object, the runtime).
    Internal(worker::Error),
}

impl HttpError {
    /// A refusal with `code` and a sentence saying why.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError::Api(ApiError::new(code, message))
    }

    /// `what` happened too often: wait `wait_ms` before the next try.
    pub(crate) fn too_many(wait_ms: i64, what: &str) -> Self {
        let retry_after_secs = limits::retry_after_secs(wait_ms);
        let error =
            ApiError::new(ErrorCode::TooManyRequests, format!("{what}: try again in {retry_after_secs} s"));
        HttpError::Limited { error, retry_after_secs }
    }

    /// An upload beyond a day's quota: `why` says whose and when another fits (in `wait_ms`).
    pub(crate) fn over_quota(wait_ms: i64, why: &str) -> Self {
        let error = ApiError::new(ErrorCode::UploadQuota, why);
        HttpError::Limited { error, retry_after_secs: limits::retry_after_secs(wait_ms) }
    }

    /// The answer the caller gets.
    pub(crate) fn into_response(self) -> worker::Result<Response> {
        match self {
            HttpError::Api(error) => error_response(&error),
            HttpError::Limited { error, retry_after_secs } => {
                let resp = error_response(&error)?;
                resp.headers().set("retry-after", &retry_after_secs.to_string())?;
                Ok(resp)
            }
            HttpError::Internal(e) => {
                worker::console_error!("internal error: {e}");
                error_response(&ApiError::new(
                    ErrorCode::Internal,
                    "something failed on Confab's side: try again",
                ))
            }
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        HttpError::Api(error)
    }
}

impl From<worker::Error> for HttpError {
    fn from(e: worker::Error) -> Self {
        HttpError::Internal(e)
    }
}

impl From<serde_json::Error> for HttpError {
    fn from(e: serde_json::Error) -> Self {
        HttpError::Internal(e.into())
    }
}

fn error_response(error: &ApiError) -> worker::Result<Response> {
    Ok(Response::from_json(error)?.with_status(error.status()))
}

/// A JSON answer (`200`).
pub(crate) fn json(value: &impl Serialize) -> Answer {
    Ok(Response::from_json(value)?)
}

/// Largest JSON body of an ordinary request (a sign-in, a chat start, an account).
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest site configuration (hundreds of standard responses).
pub(crate) const MAX_SITE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Parses a JSON body of at most [`MAX_BODY_BYTES`], or explains what is wrong with it.
pub(crate) async fn json_body<T: DeserializeOwned>(req: &mut Request) -> Result<T, HttpError> {
    json_body_up_to(req, MAX_BODY_BYTES).await
}

/// Parses a JSON body of at most `limit` bytes (see [`body_text`] for what is refused).
pub(crate) async fn json_body_up_to<T: DeserializeOwned>(
    req: &mut Request,
    limit: usize,
) -> Result<T, HttpError> {
    parse(&body_text(req, limit).await?)
}

/// Like [`json_body`], where an empty body means the default value.
pub(crate) async fn optional_json_body<T: DeserializeOwned + Default>(
    req: &mut Request,
) -> Result<T, HttpError> {
    let text = body_text(req, MAX_BODY_BYTES).await?;
    if text.trim().is_empty() { Ok(T::default()) } else { parse(&text) }
}

/// The body as text. Over `limit` bytes: `frame_too_large` (413), refused by its declared length before it is
/// read when it has one; not UTF-8: `bad_request`.
async fn body_text(req: &mut Request, limit: usize) -> Result<String, HttpError> {
    let too_large =
        || HttpError::new(ErrorCode::FrameTooLarge, format!("the request body is over {} KB", limit / 1024));
    if declared_length(req).is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|_| HttpError::new(ErrorCode::BadRequest, "the request body could not be read"))?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map_err(|_| HttpError::new(ErrorCode::BadRequest, "the request body is not UTF-8 text"))
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, HttpError> {
    serde_json::from_str(text)
        .map_err(|e| HttpError::new(ErrorCode::BadRequest, format!("the request body is not valid: {e}")))
}

/// The body's declared length (`Content-Length`), if it has a readable one.
pub(crate) fn declared_length(req: &Request) -> Option<u64> {
    req.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok())
}

/// The value of query parameter `name` of `req`'s URL, decoded.
pub(crate) fn query(req: &Request, name: &str) -> worker::Result<Option<String>> {
    Ok(req.url()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()))
}

/// The token of an `Authorization: Bearer ...` header, if there is one.
pub(crate) fn bearer(req: &Request) -> Option<String> {
    req.headers()
        .get("authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
}

/// Whether `req` asks for a WebSocket.
pub(crate) fn is_websocket_upgrade(req: &Request) -> bool {
    req.headers().get("upgrade").ok().flatten().is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Milliseconds since the Unix epoch, by the runtime's clock.
pub(crate) fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Compares two secrets in constant time (every byte is looked at, whatever the first difference).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Whom an address's limits count: the caller's address as Cloudflare (or `wrangler dev`) reports it, IPv6
/// by its /64 (`confab_protocol::limits::address_key`).
pub(crate) fn client_address(req: &Request) -> String {
    let address = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".into());
    limits::address_key(&address)
}
