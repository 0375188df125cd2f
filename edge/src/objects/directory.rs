//! The `Directory` Durable Object: every site's configuration and every agent account.
//!
//! There is one Directory (named "directory"). It is read on sign-in, chat start and widget load, and written
//! only by the admin API, so a single object is plenty; its data is small.

use crate::platform::sql;
use crate::rpc::directory::{DirectoryMessage, FoundAgent, StoredSite, Written};
use crate::rpc::{self, Incoming};
use confab_protocol::ids::SiteId;
use serde::Deserialize;
use worker::{DurableObject, Env, Request, Response, Result, SqlStorage, State, durable_object};

/// The Directory's storage, version by version. A site is stored whole as JSON (it is read whole); the
/// agents table indexes emails for sign-in.
const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS sites (id TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS agent_emails (email TEXT PRIMARY KEY, site TEXT NOT NULL);"];

#[durable_object]
pub struct Directory {
    sql: SqlStorage,
}

#[derive(Deserialize)]
struct SiteRow {
    body: String,
}

impl Directory {
    fn load(&self, id: &str) -> Result<Option<StoredSite>> {
        let rows: Vec<SiteRow> =
            self.sql.exec("SELECT body FROM sites WHERE id = ?", vec![id.into()])?.to_array()?;
        Ok(rows.first().and_then(|r| serde_json::from_str(&r.body).ok()))
    }

    /// Stores `site` if the stored one is still at the revision it was read at. Nothing awaits in here, so no
    /// other write can come between the revision check and the write. A site not stored yet is at revision 0
    /// (so a change expecting 0 creates one only if there is none).
    fn put_site(&self, mut site: StoredSite) -> Result<Written> {
        let stored = self.load(site.id.as_str())?.map_or(0, |s| s.revision);
        if stored != site.revision {
            return Ok(Written::Stale);
        }
        site.revision = stored + 1;
        self.sql.exec("DELETE FROM agent_emails WHERE site = ?", vec![site.id.0.clone().into()])?;
        for agent in &site.agents {
            // An email moves to the site that names it last.
            self.sql.exec(
                "INSERT INTO agent_emails (email, site) VALUES (?, ?)
                 ON CONFLICT(email) DO UPDATE SET site = excluded.site",
                vec![agent.email.clone().into(), site.id.0.clone().into()],
            )?;
        }
        self.sql.exec(
            "INSERT INTO sites (id, body) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            vec![site.id.0.clone().into(), serde_json::to_string(&site)?.into()],
        )?;
        Ok(Written::Stored(site.revision))
    }

    fn site(&self, id: &SiteId) -> Result<Option<StoredSite>> {
        self.load(id.as_str())
    }

    fn agent_by_email(&self, email: &str) -> Result<Option<FoundAgent>> {
        #[derive(Deserialize)]
        struct Row {
            site: String,
        }
        let rows: Vec<Row> =
            self.sql.exec("SELECT site FROM agent_emails WHERE email = ?", vec![email.into()])?.to_array()?;
        let Some(site) = rows.first().and_then(|r| self.load(&r.site).ok().flatten()) else {
            return Ok(None);
        };
        let agent = site.agents.into_iter().find(|a| a.email == email);
        Ok(agent.map(|agent| FoundAgent { site: site.id, agent }))
    }
}

impl DurableObject for Directory {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        sql::migrate(&sql, "directory", MIGRATIONS);
        Directory { sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Incoming::Message(message) = rpc::incoming::<DirectoryMessage>(&mut req).await? else {
            return Response::error("the directory has no sockets", 404);
        };
        match message {
            DirectoryMessage::PutSite(site) => rpc::answer(&self.put_site(*site)?),
            DirectoryMessage::Site(id) => rpc::answer(&self.site(&id)?),
            DirectoryMessage::AgentByEmail(email) => rpc::answer(&self.agent_by_email(&email)?),
        }
    }
}
