//! Attachments in R2: upload with the size and content checked before anything is stored, messages that
//! carry only what was really uploaded (R2's metadata, not the client's claims), downloads through
//! short-lived signed links.
//!
//! Objects are keyed `{site}/{interaction}/{id}`, so a link or a message can only ever name a file of its
//! own conversation.

use crate::auth::{self, Purpose};
use crate::http::{api_error, error, now_ms, query};
use crate::limiter::Guarded;
use crate::routes::session;
use confab_protocol::api::ApiError;
use confab_protocol::attachments::{self as rules, FileKind, SIGNATURE_BYTES};
use confab_protocol::frames::{Attachment, ErrorCode};
use confab_protocol::ids::{InteractionId, SiteId};
use futures_util::StreamExt;
use std::collections::HashMap;
use worker::{Env, FixedLengthStream, HttpMetadata, Request, Response, Result};

/// How long a download link works.
pub(crate) const LINK_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Longest file name kept.
const MAX_NAME_CHARS: usize = 200;

fn bucket(env: &Env) -> Result<worker::Bucket> {
    env.bucket("ATTACHMENTS")
}

fn key(site: &SiteId, interaction: InteractionId, id: &str) -> String {
    format!("{site}/{interaction}/{id}")
}

/// Whether the request comes from the conversation's contact (its token in `Authorization: Bearer`) or from
/// an agent of its site (session cookie). Answers the conversation's site when it does.
async fn authorize(
    req: &Request,
    env: &Env,
    interaction: &str,
) -> Result<std::result::Result<(InteractionId, SiteId), Response>> {
    let not_found = || error(ErrorCode::NotFound, "there is no such conversation");
    let Ok(interaction) = interaction.parse::<InteractionId>() else { return Ok(Err(not_found()?)) };
    let Some((site, contact)) = crate::conversation::whose(env, interaction).await? else {
        return Ok(Err(not_found()?));
    };
    if session(req, env)?.is_some() {
        // An agent's cookie counts only while the account is active.
        let staff = match crate::admin::staff(req, env, confab_protocol::admin::Role::Agent).await? {
            Ok(staff) => staff,
            Err(refusal) => return Ok(Err(refusal)),
        };
        return Ok(if staff.site.id == site { Ok((interaction, site)) } else { Err(not_found()?) });
    }
    let bearer =
        req.headers().get("authorization")?.and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned));
    let secret = auth::signing_secret(env)?;
    let granted =
        bearer.and_then(|t| auth::token_contact(&secret, &t, site.as_str())).is_some_and(|c| c == contact.0);
    Ok(if granted {
        Ok((interaction, site))
    } else {
        Err(error(
            ErrorCode::Unauthorized,
            "this needs the conversation's contact token or an agent session",
        )?)
    })
}

/// `POST /api/v1/chats/{interaction}/attachments?name=FILE` with the file as the body.
pub(crate) async fn upload(mut req: Request, env: &Env, interaction: &str) -> Result<Response> {
    let (interaction, site) = match authorize(&req, env, interaction).await? {
        Ok(allowed) => allowed,
        Err(refusal) => return Ok(refusal),
    };
    if session(&req, env)?.is_none() {
        let limited = Guarded::ContactUploads;
        if let Err(wait) = crate::limiter::ask(env, limited, &interaction.to_string(), true).await? {
            return crate::limiter::too_many(wait, "too many files at once");
        }
    }
    // Keep the base name only, and a length a person can read.
    let name: String = query(&req, "name")?
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.is_empty() {
        return error(ErrorCode::BadRequest, "say the file's name: ?name=photo.png");
    }
    // The size is known before a byte is read: too large is refused at once, and the stream below must
    // deliver exactly this many bytes or the upload fails.
    let Some(size) = req.headers().get("content-length")?.and_then(|v| v.parse::<u64>().ok()) else {
        return error(ErrorCode::BadRequest, "the upload needs a Content-Length");
    };
    if let Err(refused) = rules::precheck(&name, size) {
        return api_error(ApiError::new(refused.code(), refused.to_string()));
    }
    let mut stream = req.stream()?;
    let mut head: Vec<u8> = Vec::new();
    while head.len() < SIGNATURE_BYTES {
        match stream.next().await {
            Some(chunk) => head.extend(chunk?),
            None => break,
        }
    }
    let kind = match rules::check(&name, size, &head) {
        Ok(kind) => kind,
        Err(refused) => return api_error(ApiError::new(refused.code(), refused.to_string())),
    };
    let id = uuid::Builder::from_random_bytes(auth::random_bytes::<16>()?).into_uuid().simple().to_string();
    let body = futures_util::stream::once(async move { Ok(head) }).chain(stream);
    let metadata = HashMap::from([
        ("name".to_owned(), name.clone()),
        ("kind".to_owned(), serde_json::to_string(&kind)?.trim_matches('"').to_owned()),
    ]);
    let stored = bucket(env)?
        .put(key(&site, interaction, &id), FixedLengthStream::wrap(body, size))
        .http_metadata(HttpMetadata { content_type: Some(kind.mime().to_owned()), ..HttpMetadata::default() })
        .custom_metadata(metadata)
        .execute()
        .await;
    if stored.is_err() {
        return error(
            ErrorCode::BadRequest,
            "the upload ended before its Content-Length, or the file could not be stored",
        );
    }
    Ok(Response::from_json(&Attachment { id, name, size, kind })?.with_status(201))
}

/// Deletes every file of a conversation from R2 (a contact's data deleted on request).
pub(crate) async fn erase(env: &Env, site: &str, interaction: InteractionId) -> Result<usize> {
    let bucket = bucket(env)?;
    let prefix = format!("{site}/{interaction}/");
    let mut erased = 0;
    // Bounded: a conversation holds far fewer than 100 pages of 1,000 files.
    for _ in 0..100 {
        let page = bucket.list().prefix(prefix.clone()).execute().await?;
        let keys: Vec<String> = page.objects().iter().map(worker::Object::key).collect();
        if keys.is_empty() {
            break;
        }
        erased += keys.len();
        bucket.delete_multiple(keys).await?;
        if !page.truncated() {
            break;
        }
    }
    Ok(erased)
}

/// The attachment `id` of a conversation as stored in R2, or `None` if there is no such file.
pub(crate) async fn stored(
    env: &Env,
    site: &SiteId,
    interaction: InteractionId,
    id: &str,
) -> Result<Option<Attachment>> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(object) = bucket(env)?.head(key(site, interaction, id)).await? else { return Ok(None) };
    let meta = object.custom_metadata()?;
    let kind: Option<FileKind> =
        meta.get("kind").and_then(|k| serde_json::from_value(serde_json::Value::String(k.clone())).ok());
    Ok(kind.map(|kind| Attachment {
        id: id.to_owned(),
        name: meta.get("name").cloned().unwrap_or_default(),
        size: object.size(),
        kind,
    }))
}

/// `GET /api/v1/chats/{interaction}/attachments/{id}/link`: a download URL that works for a few minutes.
pub(crate) async fn link(req: Request, env: &Env, interaction: &str, id: &str) -> Result<Response> {
    let (interaction, site) = match authorize(&req, env, interaction).await? {
        Ok(allowed) => allowed,
        Err(refusal) => return Ok(refusal),
    };
    if stored(env, &site, interaction, id).await?.is_none() {
        return error(ErrorCode::NotFound, "there is no such file in this conversation");
    }
    let expires = now_ms() + LINK_LIFETIME_MS;
    let object = key(&site, interaction, id);
    let sig = auth::sign(&auth::signing_secret(env)?, Purpose::Attachment, &format!("{object}|{expires}"));
    let url = format!("/api/v1/files/{object}?exp={expires}&sig={sig}");
    Response::from_json(&serde_json::json!({"url": url, "expires": expires}))
}

/// `GET /api/v1/files/{site}/{interaction}/{id}?exp=&sig=`: the file, if the link is genuine and current.
pub(crate) async fn download(req: Request, env: &Env, object: &str) -> Result<Response> {
    let expires = query(&req, "exp")?.and_then(|e| e.parse::<i64>().ok()).unwrap_or(0);
    let sig = query(&req, "sig")?.unwrap_or_default();
    let genuine = auth::verify(&auth::signing_secret(env)?, Purpose::Attachment, &sig)
        .is_some_and(|signed| signed == format!("{object}|{expires}"));
    if !genuine {
        return error(ErrorCode::Unauthorized, "this link is not valid");
    }
    if expires < now_ms() {
        return error(ErrorCode::Unauthorized, "this link has expired: open the file from the chat again");
    }
    let Some(found) = bucket(env)?.get(object).execute().await? else {
        return error(ErrorCode::NotFound, "the file is gone");
    };
    let meta = found.custom_metadata()?;
    let name = meta.get("name").cloned().unwrap_or_else(|| "file".into());
    let kind: Option<FileKind> =
        meta.get("kind").and_then(|k| serde_json::from_value(serde_json::Value::String(k.clone())).ok());
    let Some(body) = found.body() else { return error(ErrorCode::NotFound, "the file is gone") };
    let resp = Response::from_body(body.response_body()?)?;
    let headers = resp.headers();
    headers.set("content-type", kind.map_or("application/octet-stream", FileKind::mime))?;
    // Images are shown inline (previews); everything else downloads. Never sniffed, never scripted.
    let disposition = if kind.is_some_and(FileKind::is_image) { "inline" } else { "attachment" };
    let safe_name: String = name.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    headers.set("content-disposition", &format!("{disposition}; filename=\"{safe_name}\""))?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("content-security-policy", "default-src 'none'; sandbox")?;
    headers.set("cache-control", "private, max-age=600")?;
    Ok(resp)
}
