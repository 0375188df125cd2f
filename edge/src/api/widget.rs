//! What the loader and the widget frame read: the site's widget settings (CORS for the site's allowed
//! origins) and the frame page itself.

use crate::platform::http::{self, Answer, HttpError};
use crate::rpc::directory::{self, StoredSite};
use confab_protocol::admin::is_plain_origin;
use confab_protocol::frames::ErrorCode;
use worker::{Env, Headers, Request, Response, Result};

/// `OPTIONS` of the loader's requests: CORS for the site's allowed origins only.
pub(super) async fn preflight(req: &Request, env: &Env, site: &str) -> Answer {
    Ok(with_site_cors(req, env, site, Response::empty()?.with_status(204)).await?)
}

/// `GET /api/v1/sites/{site}/widget`: what the widget needs to draw itself. A page whose origin the site does
/// not allow gets a readable refusal instead (CORS for it alone), so the loader draws nothing and tells the
/// site owner why in the console, rather than a chat button that opens a blocked frame.
pub(super) async fn settings(req: &Request, env: &Env, site_id: &str) -> Answer {
    let Some(site) = directory::site(env, site_id).await? else {
        return Err(HttpError::new(ErrorCode::NotFound, format!("there is no site {site_id:?}")));
    };
    let origin = req.headers().get("origin")?;
    if let Some(origin) = origin.as_deref().filter(|o| !site.allowed_origins.iter().any(|a| a == o)) {
        let refusal = HttpError::new(
            ErrorCode::OriginNotAllowed,
            format!(
                "{origin} may not show the chat of site {site_id:?}: an admin adds it to the site's allowed origins \
                 (agent desktop, Settings)"
            ),
        );
        let resp = refusal.into_response()?;
        resp.headers().set("access-control-allow-origin", origin)?;
        resp.headers().set("vary", "origin")?;
        return Ok(resp);
    }
    let resp = Response::from_json(&site.widget_settings())?;
    // Every page view of every embedding site asks: a short cache keeps a settings change quick.
    resp.headers().set("cache-control", "public, max-age=60")?;
    Ok(cors_for(req, &site, resp)?)
}

/// `GET /widget/frame?site=...&origin=...`: the page inside the widget's iframe. Its `frame-ancestors` lists
/// the site's allowed origins, so only those pages can embed it, and `origin` (the embedding page, whose
/// messages the widget takes) must be one of them.
pub(super) async fn frame(req: &Request, env: &Env) -> Answer {
    let site_id = http::query(req, "site")?.unwrap_or_default();
    let Some(site) = directory::site(env, &site_id).await? else {
        return Ok(Response::error(
            "Unknown site: check the data-site attribute of the Confab script tag.",
            404,
        )?);
    };
    // The widget takes messages only from the page its `origin` names: one of the site's, never another
    // page that opened the frame in a window of its own to drive it.
    if let Some(origin) = http::query(req, "origin")?
        && !site.allowed_origins.contains(&origin)
    {
        return Ok(Response::error(
            "This page may not embed the chat: its origin is not one of the site's.",
            400,
        )?);
    }
    let ancestors: Vec<&str> =
        site.allowed_origins.iter().map(String::as_str).filter(|o| is_plain_origin(o)).collect();
    // The settings travel inside the page, so the widget draws itself in the site's colours and words at
    // once. `<` is escaped so no text in them can close the script element.
    let settings = serde_json::to_string(&site.widget_settings())?.replace('<', "\\u003c");
    let html = include_str!("widget_frame.html").replace("{{SETTINGS}}", &settings);
    let resp = Response::from_html(html)?;
    let headers: &Headers = resp.headers();
    headers.set(
        "content-security-policy",
        &format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'self' {}",
            ancestors.join(" ")
        ),
    )?;
    headers.set("cache-control", "no-cache")?;
    headers.set("referrer-policy", "no-referrer")?;
    Ok(resp)
}

/// Adds CORS headers for `req`'s origin if it is one of the site's allowed origins (the loader on the site's
/// pages); any other origin gets none, so browsers refuse it the answer.
pub(super) async fn with_site_cors(req: &Request, env: &Env, site: &str, resp: Response) -> Result<Response> {
    match directory::site(env, site).await? {
        Some(site) => cors_for(req, &site, resp),
        None => Ok(resp),
    }
}

/// [`with_site_cors`] for a site already read (one Directory call per request, not two).
fn cors_for(req: &Request, site: &StoredSite, resp: Response) -> Result<Response> {
    let Some(origin) = req.headers().get("origin")? else { return Ok(resp) };
    if site.allowed_origins.contains(&origin) {
        let headers = resp.headers();
        headers.set("access-control-allow-origin", &origin)?;
        headers.set("access-control-allow-headers", "authorization")?;
        headers.set("access-control-allow-methods", "GET")?;
        headers.set("access-control-max-age", "600")?;
        headers.set("vary", "origin")?;
    }
    Ok(resp)
}
