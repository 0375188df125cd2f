//! Attachments over HTTP: upload with the size and content checked before anything is stored, downloads
//! through short-lived signed links. Storage itself is `platform::files`.

use super::caller::Call;
use super::caller::Caller;
use crate::platform::crypto::{self, Purpose};
use crate::platform::files;
use crate::platform::http::{self, Answer, HttpError, json, now_ms};
use crate::rpc::limiter::{self, Guarded};
use crate::rpc::{conversation, directory};
use confab_protocol::admin::Role;
use confab_protocol::api::{ApiError, FileLink};
use confab_protocol::attachments::{self as rules, FileKind, SIGNATURE_BYTES};
use confab_protocol::frames::{Attachment, ErrorCode};
use confab_protocol::ids::{AgentId, ContactId, InteractionId, SiteId};
use confab_protocol::quota::{QuotaKey, Uploader};
use futures_util::StreamExt;
use worker::{Env, Request, Response};

/// How long a download link works.
const LINK_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// Who may reach a conversation's files: its contact, or an agent of its site.
enum Party {
    Contact(ContactId),
    Agent(AgentId),
}

/// The conversation `interaction`, its site and who the caller is to it: its contact (its token) or an agent
/// of its site (an active session); otherwise the refusal.
async fn conversation_of(
    caller: &Caller,
    env: &Env,
    interaction: &str,
) -> Result<(InteractionId, SiteId, Party), HttpError> {
    let not_found = || HttpError::new(ErrorCode::NotFound, "there is no such conversation");
    let interaction = interaction.parse::<InteractionId>().map_err(|_| not_found())?;
    let (site, contact) = conversation::whose(env, interaction).await?.ok_or_else(not_found)?;
    if caller.has_session() {
        // An agent's cookie counts only while the account is active.
        let staff = caller.staff(Role::Agent)?;
        return if staff.site.id == site {
            Ok((interaction, site, Party::Agent(staff.agent.id.clone())))
        } else {
            Err(not_found())
        };
    }
    match caller.contact_of(env, &site).await {
        Ok(claim) if claim.contact == contact => Ok((interaction, site, Party::Contact(contact))),
        Ok(_) => Err(HttpError::new(
            ErrorCode::Unauthorized,
            "this needs the conversation's contact token or an agent session",
        )),
        Err(refusal) => Err(refusal),
    }
}

/// `POST /api/v1/chats/{interaction}/attachments?name=FILE` with the file as the body. The file counts
/// against the day's quotas of its uploader and site, and is kept only if a message sends it in time.
pub(super) async fn upload(mut req: Request, (caller, env): Call<'_>, interaction: &str) -> Answer {
    let (interaction, site, uploader) = conversation_of(caller, env, interaction).await?;
    if matches!(uploader, Party::Contact(_))
        && let Err(wait) = limiter::take(env, Guarded::ContactUploads, &interaction.to_string()).await?
    {
        return Err(HttpError::too_many(wait, "too many files at once"));
    }
    // The base name only, and a length a person can read.
    let Some(name) = rules::clean_file_name(&http::query(&req, "name")?.unwrap_or_default()) else {
        return Err(HttpError::new(ErrorCode::BadRequest, "say the file's name: ?name=photo.png"));
    };
    // The size is known before a byte is read: too large is refused at once, and the stream below must
    // deliver exactly this many bytes or the upload fails.
    let Some(size) = http::declared_length(&req) else {
        return Err(HttpError::new(ErrorCode::BadRequest, "the upload needs a Content-Length"));
    };
    rules::precheck(&name, size).map_err(refusal)?;
    let quotas = upload_quotas(caller, env, &req, &site, &uploader).await?;
    if let Err((whose, wait)) = limiter::spend(env, &quotas, size).await? {
        return Err(HttpError::over_quota(wait, &whose.refusal(wait)));
    }
    let stored = store(&mut req, env, &site, interaction, name, size).await;
    if !matches!(stored, Ok(Some(_))) {
        limiter::give_back(env, &quotas, size).await;
    }
    let Some(file) = stored? else {
        return Err(HttpError::new(
            ErrorCode::BadRequest,
            "the upload ended before its Content-Length, or the file could not be stored",
        ));
    };
    Ok(Response::from_json(&file)?.with_status(201))
}

fn refusal(refused: rules::Refused) -> HttpError {
    HttpError::Api(ApiError::new(refused.code(), refused.to_string()))
}

/// The quotas an upload to `site` by `uploader` must fit, as the site set them.
async fn upload_quotas(
    caller: &Caller,
    env: &Env,
    req: &Request,
    site: &SiteId,
    uploader: &Party,
) -> Result<Vec<QuotaKey>, HttpError> {
    let quotas = match caller.staff(Role::Agent) {
        Ok(staff) => staff.site.rules.uploads,
        Err(_) => directory::site(env, site.as_str()).await?.map(|s| s.rules.uploads).unwrap_or_default(),
    };
    let address = http::client_address(req);
    let who = match uploader {
        Party::Contact(contact) => Uploader::Contact { contact: contact.as_str(), address: &address },
        Party::Agent(agent) => Uploader::Agent { agent: agent.as_str() },
    };
    Ok(quotas.for_upload(site.as_str(), who))
}

/// Checks the upload's content against its name, stores it and tells the conversation, which deletes it
/// unless a message sends it in time. `None` if the body ended early or R2 refused it.
async fn store(
    req: &mut Request,
    env: &Env,
    site: &SiteId,
    interaction: InteractionId,
    name: String,
    size: u64,
) -> Result<Option<Attachment>, HttpError> {
    let mut stream = req.stream()?;
    let mut head: Vec<u8> = Vec::new();
    while head.len() < SIGNATURE_BYTES {
        match stream.next().await {
            Some(chunk) => head.extend(chunk?),
            None => break,
        }
    }
    let kind = rules::check(&name, size, &head).map_err(refusal)?;
    let id = uuid::Builder::from_random_bytes(crypto::random_bytes::<16>()?).into_uuid().simple().to_string();
    let file = Attachment { id, name, size, kind };
    let key = files::key(site, interaction, &file.id);
    let body = futures_util::stream::once(async move { Ok(head) }).chain(stream);
    if !files::put(env, key.clone(), body, size, &file).await? {
        return Ok(None);
    }
    // A file no conversation knows of would never be deleted: then it is not kept either.
    let known = conversation::file_uploaded(env, interaction, &file.id).await;
    if !matches!(known, Ok(true)) {
        files::delete(env, &key).await?;
        known?;
        return Err(HttpError::new(ErrorCode::NotFound, "the conversation was deleted"));
    }
    Ok(Some(file))
}

/// `GET /api/v1/chats/{interaction}/attachments/{id}/link`: a download URL that works for a few minutes.
pub(super) async fn link((caller, env): Call<'_>, interaction: &str, id: &str) -> Answer {
    let (interaction, site, _) = conversation_of(caller, env, interaction).await?;
    if files::stored(env, &site, interaction, id).await?.is_none() {
        return Err(HttpError::new(ErrorCode::NotFound, "there is no such file in this conversation"));
    }
    let expires = now_ms() + LINK_LIFETIME_MS;
    let object = files::key(&site, interaction, id);
    let sig = crypto::sign(caller.secret(), Purpose::Attachment, &format!("{object}|{expires}"));
    let url = format!("/api/v1/files/{object}?exp={expires}&sig={sig}");
    json(&FileLink { url, expires })
}

/// `GET /api/v1/files/{site}/{interaction}/{id}?exp=&sig=`: the file, if the link is genuine and current.
pub(super) async fn download(req: &Request, (caller, env): Call<'_>, object: &str) -> Answer {
    let expires = http::query(req, "exp")?.and_then(|e| e.parse::<i64>().ok()).unwrap_or(0);
    let sig = http::query(req, "sig")?.unwrap_or_default();
    let genuine = crypto::verify(caller.secret(), Purpose::Attachment, &sig)
        .is_some_and(|signed| signed == format!("{object}|{expires}"));
    if !genuine {
        return Err(HttpError::new(ErrorCode::Unauthorized, "this link is not valid"));
    }
    if expires < now_ms() {
        return Err(HttpError::new(
            ErrorCode::Unauthorized,
            "this link has expired: open the file from the chat again",
        ));
    }
    let Some(found) = files::get(env, object).await? else {
        return Err(HttpError::new(ErrorCode::NotFound, "the file is gone"));
    };
    let resp = Response::from_body(found.body)?;
    let headers = resp.headers();
    headers.set("content-type", found.kind.map_or("application/octet-stream", FileKind::mime))?;
    // Images are shown inline (previews); everything else downloads. Never sniffed, never scripted.
    headers.set("content-disposition", &rules::content_disposition(&found.name, found.kind))?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("content-security-policy", "default-src 'none'; sandbox")?;
    headers.set("cache-control", "private, max-age=600")?;
    Ok(resp)
}
