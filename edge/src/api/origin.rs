//! Which pages a request comes from (`Origin`), for the routes that care.

use crate::rpc::directory::StoredSite;
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
