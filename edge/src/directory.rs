//! The `Directory` Durable Object: every site's configuration and every agent account.
//!
//! There is one Directory (named "directory"). It is read on sign-in, chat start and widget load, and written
//! only by the admin API, so a single object is plenty; its data is small.

use crate::auth::PasswordHash;
use crate::http::{call, internal_request, stub};
use confab_protocol::api::StandardResponse;
use confab_protocol::api::{IdentityRules, SiteRules};
use confab_protocol::ids::{AgentId, SiteId};
use confab_protocol::routing::RoutingProfile;
use confab_protocol::widget::WidgetSettings;
use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Method, Request, Response, Result, SqlStorage, State, durable_object};

const NAME: &str = "directory";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSite {
    pub(crate) id: SiteId,
    pub(crate) name: String,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) agents: Vec<StoredAgent>,
    #[serde(default)]
    pub(crate) rules: SiteRules,
    #[serde(default)]
    pub(crate) identity: Option<IdentityRules>,
    #[serde(default)]
    pub(crate) widget: WidgetSettings,
    #[serde(default)]
    pub(crate) standard_responses: Vec<StandardResponse>,
}

impl StoredSite {
    /// The widget's settings as contacts get them: the title falls back to the site's name.
    pub(crate) fn widget_settings(&self) -> WidgetSettings {
        self.widget.for_site(&self.name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredAgent {
    pub(crate) id: AgentId,
    pub(crate) name: String,
    /// Lower-cased; unique across all sites (an agent signs in with the email alone).
    pub(crate) email: String,
    pub(crate) password: PasswordHash,
    #[serde(default)]
    pub(crate) profile: RoutingProfile,
}

/// An agent found by email, with the site it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FoundAgent {
    pub(crate) site: SiteId,
    pub(crate) agent: StoredAgent,
}

pub(crate) async fn put_site(env: &Env, site: &StoredSite) -> Result<()> {
    let req = internal_request(Method::Put, "/site", Some(site))?;
    match call::<serde_json::Value>(&stub(env, "DIRECTORY", NAME)?, req).await? {
        Ok(_) => Ok(()),
        Err(mut resp) => {
            Err(worker::Error::RustError(format!("directory refused the site: {}", resp.text().await?)))
        }
    }
}

pub(crate) async fn site(env: &Env, id: &str) -> Result<Option<StoredSite>> {
    if confab_protocol::validate::slug(id).is_err() {
        return Ok(None);
    }
    let req = internal_request(Method::Get, &format!("/site/{id}"), None::<&()>)?;
    Ok(call(&stub(env, "DIRECTORY", NAME)?, req).await?.ok())
}

pub(crate) async fn agent_by_email(env: &Env, email: &str) -> Result<Option<FoundAgent>> {
    let req = internal_request(Method::Post, "/agent-by-email", Some(&email))?;
    Ok(call(&stub(env, "DIRECTORY", NAME)?, req).await?.ok())
}

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
}

impl DurableObject for Directory {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        // A site is stored whole as JSON (it is read whole); the agents table indexes emails for sign-in.
        let schema = "CREATE TABLE IF NOT EXISTS sites (id TEXT PRIMARY KEY, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS agent_emails (email TEXT PRIMARY KEY, site TEXT NOT NULL);";
        if let Err(e) = sql.exec(schema, None) {
            worker::console_error!("directory schema: {e}");
        }
        Directory { sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Put, "/site") => {
                let site: StoredSite = req.json().await?;
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
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            (Method::Get, p) if p.starts_with("/site/") => match self.load(&p["/site/".len()..])? {
                Some(site) => Response::from_json(&site),
                None => Response::error("no such site", 404),
            },
            (Method::Post, "/agent-by-email") => {
                let email: String = req.json().await?;
                #[derive(Deserialize)]
                struct Row {
                    site: String,
                }
                let rows: Vec<Row> = self
                    .sql
                    .exec("SELECT site FROM agent_emails WHERE email = ?", vec![email.clone().into()])?
                    .to_array()?;
                let found = rows.first().and_then(|r| self.load(&r.site).ok().flatten()).and_then(|site| {
                    let agent = site.agents.into_iter().find(|a| a.email == email)?;
                    Some(FoundAgent { site: site.id, agent })
                });
                match found {
                    Some(found) => Response::from_json(&found),
                    None => Response::error("no such agent", 404),
                }
            }
            _ => Response::error("unknown directory operation", 404),
        }
    }
}
