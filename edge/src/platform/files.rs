//! Attachments in R2. Objects are keyed `{site}/{interaction}/{id}`, so a link or a message can only ever
//! name a file of its own conversation; what a file is (its name and kind) is kept in R2's metadata, from
//! what the upload checked, never from a client's claims.

use confab_protocol::attachments::FileKind;
use confab_protocol::frames::Attachment;
use confab_protocol::ids::{InteractionId, SiteId};
use futures_util::Stream;
use std::collections::HashMap;
use worker::{Env, FixedLengthStream, HttpMetadata, ResponseBody, Result};

fn bucket(env: &Env) -> Result<worker::Bucket> {
    env.bucket("ATTACHMENTS")
}

/// The R2 key of attachment `id` of a conversation.
pub(crate) fn key(site: &SiteId, interaction: InteractionId, id: &str) -> String {
    format!("{site}/{interaction}/{id}")
}

/// Stores a checked upload of exactly `size` bytes. `false` if the stream ended early or R2 refused it.
pub(crate) async fn put(
    env: &Env,
    key: String,
    body: impl Stream<Item = Result<Vec<u8>>> + 'static,
    size: u64,
    file: &Attachment,
) -> Result<bool> {
    let metadata = HashMap::from([
        ("name".to_owned(), file.name.clone()),
        ("kind".to_owned(), serde_json::to_string(&file.kind)?.trim_matches('"').to_owned()),
    ]);
    let stored = bucket(env)?
        .put(key, FixedLengthStream::wrap(body, size))
        .http_metadata(HttpMetadata {
            content_type: Some(file.kind.mime().to_owned()),
            ..HttpMetadata::default()
        })
        .custom_metadata(metadata)
        .execute()
        .await;
    Ok(stored.is_ok())
}

fn kind_of(meta: &HashMap<String, String>) -> Option<FileKind> {
    meta.get("kind").and_then(|k| serde_json::from_value(serde_json::Value::String(k.clone())).ok())
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
    Ok(kind_of(&meta).map(|kind| Attachment {
        id: id.to_owned(),
        name: meta.get("name").cloned().unwrap_or_default(),
        size: object.size(),
        kind,
    }))
}

/// A stored file, to download.
pub(crate) struct Download {
    pub(crate) name: String,
    pub(crate) kind: Option<FileKind>,
    pub(crate) body: ResponseBody,
}

/// The file under `key`, or `None` if it is gone.
pub(crate) async fn get(env: &Env, key: &str) -> Result<Option<Download>> {
    let Some(found) = bucket(env)?.get(key).execute().await? else { return Ok(None) };
    let meta = found.custom_metadata()?;
    let name = meta.get("name").cloned().unwrap_or_else(|| "file".into());
    let kind = kind_of(&meta);
    let Some(body) = found.body() else { return Ok(None) };
    Ok(Some(Download { name, kind, body: body.response_body()? }))
}

/// Deletes every file of a conversation (a contact's data deleted on request); answers how many.
pub(crate) async fn erase_conversation(
    env: &Env,
    site: &SiteId,
    interaction: InteractionId,
) -> Result<usize> {
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
