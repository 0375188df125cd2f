//! The `Directory` Durable Object: every site's configuration and every agent account.
//!
//! There is one Directory (named "directory"). It is read on sign-in, chat start and widget load, and written
//! only by the admin API, so a single object is plenty; its data is small.

use crate::auth::PasswordHash;
use crate::desk::{ConfiguredAgent, DeskConfig};
use crate::http::{call, internal_request, stub};
use confab_protocol::admin::{AccountNow, AgentAccount, Role, SiteAdminView, SiteSettings};
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
    /// Counts the site's writes. The edge changes a site by reading it, changing it and writing it back; the
    /// Directory takes the write only if the revision is still the one read, so two admins changing the site
    /// at the same moment (say, one adding an account while the other saves the settings) cannot silently
    /// undo each other.
    #[serde(default)]
    pub(crate) revision: u64,
}

impl StoredSite {
    /// The widget's settings as contacts get them: the title falls back to the site's name.
    pub(crate) fn widget_settings(&self) -> WidgetSettings {
        self.widget.for_site(&self.name)
    }

    /// What the admin's settings form edits.
    pub(crate) fn settings(&self) -> SiteSettings {
        let settings = SiteSettings {
            name: self.name.clone(),
            allowed_origins: self.allowed_origins.clone(),
            rules: self.rules.clone(),
            widget: self.widget.clone(),
            standard_responses: self.standard_responses.clone(),
            identity_required: self.identity.as_ref().is_some_and(|i| i.required),
            version: None,
        };
        SiteSettings { version: Some(settings.tag()), ..settings }
    }

    /// Takes the admin's settings (already checked).
    pub(crate) fn apply_settings(&mut self, settings: SiteSettings) {
        self.name = settings.name.trim().to_owned();
        self.allowed_origins = settings.allowed_origins;
        self.rules = settings.rules;
        self.widget = settings.widget;
        self.standard_responses = settings.standard_responses;
        if let Some(identity) = &mut self.identity {
            identity.required = settings.identity_required;
        }
    }

    pub(crate) fn admin_view(&self) -> SiteAdminView {
        SiteAdminView {
            site: self.id.clone(),
            settings: self.settings(),
            identity_secret_set: self.identity.is_some(),
            agents: self.agents.iter().map(StoredAgent::account).collect(),
        }
    }

    /// What the site's desk routes with: its timers, queues and active accounts.
    pub(crate) fn desk_config(&self) -> DeskConfig {
        DeskConfig {
            offer_timeout_ms: self.rules.offer_timeout_ms,
            queues: self.rules.queues.clone(),
            agents: self
                .agents
                .iter()
                .filter(|a| a.active)
                .map(|a| ConfiguredAgent {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    profile: a.profile.clone(),
                    supervises: a.role.may_supervise(),
                    session_epoch: a.session_epoch,
                })
                .collect(),
            sla: self.rules.sla,
            revision: self.revision,
        }
    }

    pub(crate) fn agent(&self, id: &str) -> Option<&StoredAgent> {
        self.agents.iter().find(|a| a.id.as_str() == id)
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
    #[serde(default)]
    pub(crate) role: Role,
    /// A deactivated account keeps its history and name but cannot sign in.
    #[serde(default = "active_by_default")]
    pub(crate) active: bool,
    /// Sessions begun in an earlier epoch are over: a new password starts a new epoch.
    #[serde(default)]
    pub(crate) session_epoch: u32,
}

fn active_by_default() -> bool {
    true
}

impl StoredAgent {
    /// A new account as an admin (or the first run) made it, with its password's hash.
    pub(crate) fn new(account: &AgentAccount, password: PasswordHash) -> StoredAgent {
        let mut agent = StoredAgent {
            id: account.id.clone(),
            name: String::new(),
            email: String::new(),
            password,
            profile: RoutingProfile::default(),
            role: account.role,
            active: true,
            session_epoch: 0,
        };
        agent.apply_account(account);
        agent
    }

    pub(crate) fn account(&self) -> AgentAccount {
        AgentAccount {
            id: self.id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role,
            active: self.active,
            capacity: self.profile.capacity,
            auto_accept: self.profile.auto_accept,
            queues: self.profile.queues.iter().cloned().collect(),
        }
    }

    /// Takes an admin's edit of the account (already checked); the password is handled apart.
    pub(crate) fn apply_account(&mut self, account: &AgentAccount) {
        self.name = account.name.clone();
        self.email = account.email.clone();
        self.role = account.role;
        self.active = account.active;
        self.profile.capacity = account.capacity;
        self.profile.auto_accept = account.auto_accept;
        self.profile.queues = account.queues.iter().cloned().collect();
    }

    /// The account as a session begun earlier is checked against (`confab_protocol::admin::session_holds`).
    pub(crate) fn now(&self) -> AccountNow {
        AccountNow {
            active: self.active,
            session_epoch: self.session_epoch,
            supervises: self.role.may_supervise(),
        }
    }

    /// A new password: every session begun with the old one ends.
    pub(crate) fn set_password(&mut self, password: PasswordHash) {
        self.password = password;
        self.session_epoch = self.session_epoch.wrapping_add(1);
    }
}

/// An agent found by email, with the site it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FoundAgent {
    pub(crate) site: SiteId,
    pub(crate) agent: StoredAgent,
}

/// How a write of a site went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Stored, as this revision.
    Stored(u64),
    /// Someone wrote the site after it was read: nothing was stored.
    Stale,
}

/// Stores `site`: only if the stored one is still at `site.revision` (`Change`; 0 for a site that must not
/// exist yet), or whatever is stored (`Replace`: the operator's whole-site `PUT`, which says what the site
/// is outright).
pub(crate) async fn put_site(env: &Env, site: &StoredSite, mode: WriteMode) -> Result<Written> {
    let path = match mode {
        WriteMode::Change => format!("/site?expect={}", site.revision),
        WriteMode::Replace => String::from("/site"),
    };
    let req = internal_request(Method::Put, &path, Some(site))?;
    match call::<u64>(&stub(env, "DIRECTORY", NAME)?, req).await? {
        Ok(revision) => Ok(Written::Stored(revision)),
        Err(resp) if resp.status_code() == 409 => Ok(Written::Stale),
        Err(mut resp) => {
            Err(worker::Error::RustError(format!("directory refused the site: {}", resp.text().await?)))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteMode {
    Change,
    Replace,
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
                let expect: Option<u64> =
                    req.url()?.query_pairs().find(|(k, _)| k == "expect").and_then(|(_, v)| v.parse().ok());
                let mut site: StoredSite = req.json().await?;
                // Nothing awaits from here on, so no other write can come between this check and the write.
                // A site not stored yet is at revision 0 (so `expect=0` creates one only if there is none).
                let stored = self.load(site.id.as_str())?.map_or(0, |s| s.revision);
                if expect.is_some_and(|expect| stored != expect) {
                    return Response::error("the site was written since it was read", 409);
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
                Response::from_json(&site.revision)
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
