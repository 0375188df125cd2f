//! Which pages a request comes from (`Origin`), for the routes that care.

use crate::platform::http::{self, HttpError};
use crate::rpc::directory::StoredSite;
use confab_protocol::frames::ErrorCode;
use confab_protocol::routes::{self, CookieRefusal, CookieRequest, Method, Route};
use worker::{Request, Result};

/// The edge's own origin, as the request reached it.
fn own_origin(req: &Request) -> Result<String> {
    Ok(req.url()?.origin().ascii_serialization())
}

/// Browsers always send `Origin` on these requests; a client without one is not a web page and is judged by
/// its credentials alone.
pub(super) fn same_origin_or_absent(req: &Request) -> Result<bool> {
    Ok(match req.headers().get("origin")? {
        None => true,
        Some(origin) => origin == own_origin(req)?,
    })
}

/// Whether `req`'s page may act for `site`: the edge's own pages and the site's allowed origins, or a
/// client that is no web page (no `Origin`).
pub(super) fn allowed_for_site(req: &Request, site: &StoredSite) -> Result<bool> {
    Ok(match req.headers().get("origin")? {
        None => true,
        Some(origin) => origin == own_origin(req)? || site.allowed_origins.contains(&origin),
    })
}

/// Refuses a request with the session cookie that another site's page may have sent
/// (`confab_protocol::routes::cross_site_refusal`): every write and socket upgrade of a signed-in account.
pub(super) fn refuse_cross_site(
    req: &Request,
    method: Method,
    route: Route,
) -> std::result::Result<(), HttpError> {
    let headers = req.headers();
    let (sec_fetch_site, origin, content_type) =
        (headers.get("sec-fetch-site")?, headers.get("origin")?, headers.get("content-type")?);
    let has_body =
        http::declared_length(req).is_some_and(|length| length > 0) || headers.has("transfer-encoding")?;
    let own_origin = own_origin(req)?;
    let request = CookieRequest {
        method,
        websocket_upgrade: http::is_websocket_upgrade(req),
        sec_fetch_site: sec_fetch_site.as_deref(),
        origin: origin.as_deref(),
        own_origin: &own_origin,
        content_type: content_type.as_deref(),
        has_body,
        takes_a_file: route == Route::Upload,
    };
    match routes::cross_site_refusal(&request) {
        None => Ok(()),
        Some(why @ CookieRefusal::NotJson) => Err(HttpError::new(ErrorCode::BadRequest, why.message())),
        Some(why @ CookieRefusal::FromAnotherPage) => {
            Err(HttpError::new(ErrorCode::OriginNotAllowed, why.message()))
        }
    }
}
