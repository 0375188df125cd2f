//! Attachments in R2. Objects are keyed `{site}/{interaction}/{id}`, so a link or a message can only ever
//! name a file of its own conversation; what a file is (its name and kind) is kept in R2's metadata, from
//! what the upload checked, never from a client's claims.

use confab_protocol::attachments::FileKind;
use confab_protocol::frames::Attachment;
use confab_protocol::ids::Millis;
use confab_protocol::ids::{InteractionId, SiteId};
use futures_util::Stream;
use serde::Deserialize;
use std::cell::Cell;
use std::collections::HashMap;
use worker::{Env, FixedLengthStream, HttpMetadata, ResponseBody, Result, SqlStorage};

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

/// Deletes the file under `key` (gone already is fine).
pub(crate) async fn delete(env: &Env, key: &str) -> Result<()> {
    bucket(env)?.delete(key).await
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

/// The table of a conversation's files uploaded but not yet sent in a message, a step of its migrations
/// (`platform::sql::migrate`).
pub(crate) const UNSENT_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS unsent_files (id TEXT PRIMARY KEY, uploaded_at INTEGER NOT NULL)";

/// A conversation's uploads that no message has sent yet. Each is deleted from R2 once it has waited
/// `kept_ms` for its message (the upload was abandoned, or the message was refused), so no file stays
/// stored that no transcript shows.
pub(crate) struct UnsentFiles {
    sql: SqlStorage,
    kept_ms: i64,
    /// After a sweep failed (R2 did not answer), the next is not before this.
    retry_at: Cell<Millis>,
}

/// How soon a failed sweep is tried again.
const SWEEP_RETRY_MS: i64 = 60_000;

impl UnsentFiles {
    /// The unsent files in `sql` (whose owner's migrations created [`UNSENT_TABLE`]), each kept `kept_ms`.
    pub(crate) fn new(sql: SqlStorage, kept_ms: i64) -> Self {
        UnsentFiles { sql, kept_ms, retry_at: Cell::new(0) }
    }

    /// A file was uploaded at `now`.
    pub(crate) fn uploaded(&self, id: &str, now: Millis) -> Result<()> {
        self.sql.exec(
            "INSERT OR IGNORE INTO unsent_files (id, uploaded_at) VALUES (?, ?)",
            vec![id.into(), now.into()],
        )?;
        Ok(())
    }

    /// A message sent these files: they are kept with it.
    pub(crate) fn sent(&self, files: &[Attachment]) -> Result<()> {
        for file in files {
            self.sql.exec("DELETE FROM unsent_files WHERE id = ?", vec![file.id.as_str().into()])?;
        }
        Ok(())
    }

    /// When the oldest unsent file is due for deletion, if there is one.
    pub(crate) fn next_due(&self) -> Result<Option<Millis>> {
        #[derive(Deserialize)]
        struct Oldest {
            at: Option<Millis>,
        }
        let rows: Vec<Oldest> =
            self.sql.exec("SELECT MIN(uploaded_at) AS at FROM unsent_files", None)?.to_array()?;
        Ok(rows.first().and_then(|r| r.at).map(|at| (at + self.kept_ms).max(self.retry_at.get())))
    }

    /// Deletes from R2 the files of conversation `interaction` that waited their time, then forgets them. A
    /// sweep that fails is logged and tried again a minute later.
    pub(crate) async fn sweep(&self, env: &Env, site: &SiteId, interaction: InteractionId, now: Millis) {
        if now < self.retry_at.get() {
            return;
        }
        if let Err(e) = self.sweep_now(env, site, interaction, now).await {
            worker::console_error!("deleting unsent files of {interaction}: {e}");
            self.retry_at.set(now + SWEEP_RETRY_MS);
        }
    }

    async fn sweep_now(
        &self,
        env: &Env,
        site: &SiteId,
        interaction: InteractionId,
        now: Millis,
    ) -> Result<()> {
        #[derive(Deserialize)]
        struct Due {
            id: String,
        }
        // Bounded: a sweep takes at most a page; the next alarm takes the rest.
        let due: Vec<Due> = self
            .sql
            .exec(
                "SELECT id FROM unsent_files WHERE uploaded_at <= ? ORDER BY uploaded_at LIMIT 500",
                vec![(now - self.kept_ms).into()],
            )?
            .to_array()?;
        if due.is_empty() {
            return Ok(());
        }
        let keys = due.iter().map(|d| key(site, interaction, &d.id)).collect();
        bucket(env)?.delete_multiple(keys).await?;
        for d in &due {
            self.sql.exec("DELETE FROM unsent_files WHERE id = ?", vec![d.id.as_str().into()])?;
        }
        Ok(())
    }
}
