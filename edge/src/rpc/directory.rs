//! The Directory: every site's configuration and every agent account (one object, named "directory"), and
//! the messages it takes.

use crate::platform::crypto::PasswordHash;
use crate::rpc::desk::{ConfiguredAgent, DeskConfig};
use crate::rpc::{Message, Namespace, call};
use confab_protocol::admin::{
    self, AccountNow, AgentAccount, Role, SessionEnded, SiteAdminView, SiteSettings,
};
use confab_protocol::api::StandardResponse;
use confab_protocol::api::{IdentityRules, SiteRules};
use confab_protocol::contact::{ContactClaim, TokenRefused};
use confab_protocol::ids::{AgentId, SiteId};
use confab_protocol::routing::RoutingProfile;
use confab_protocol::widget::WidgetSettings;
use serde::{Deserialize, Serialize};
use worker::{Env, Result};

/// The one Directory's name.
const NAME: &str = "directory";

/// What the Directory is asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", content = "body", rename_all = "kebab-case")]
pub(crate) enum DirectoryMessage {
    /// Store a site over the revision it was read at; answers [`Written`].
    PutSite(Box<StoredSite>),
    /// Answers `Option<StoredSite>`.
    Site(SiteId),
    /// An account by its (normalized) email; answers `Option<FoundAgent>`.
    AgentByEmail(String),
}

impl Message for DirectoryMessage {
    const NAMESPACE: Namespace = Namespace::Directory;
}

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
    /// The generation of the site's identity secret (`None`: it verifies no identities), which a verified
    /// user's contact token must carry.
    pub(crate) fn identity_generation(&self) -> Option<String> {
        self.identity.as_ref().map(|rules| crate::platform::crypto::identity_generation(&rules.secret))
    }

    /// Whether a contact token's `claim` opens this site's conversations of its contact at `now`.
    pub(crate) fn admits(&self, claim: &ContactClaim, now: i64) -> std::result::Result<(), TokenRefused> {
        claim.holds(self.id.as_str(), now, self.identity_generation().as_deref())
    }

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
                    earlier_sessions: a.earlier_sessions,
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
    /// Sessions begun in an earlier epoch are over: a new password, or a sign-out, starts a new epoch.
    #[serde(default)]
    pub(crate) session_epoch: u32,
    /// Why the epoch last moved on.
    #[serde(default)]
    pub(crate) earlier_sessions: SessionEnded,
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
            earlier_sessions: SessionEnded::default(),
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
            earlier_sessions: self.earlier_sessions,
            supervises: self.role.may_supervise(),
        }
    }

    /// A new password: every session begun with the old one ends.
    pub(crate) fn set_password(&mut self, password: PasswordHash) {
        self.password = password;
        self.end_sessions(SessionEnded::PasswordChanged);
    }

    /// Ends every session of the account (those begun so far), for `why`.
    pub(crate) fn end_sessions(&mut self, why: SessionEnded) {
        (self.session_epoch, self.earlier_sessions) = admin::end_sessions(self.session_epoch, why);
    }
}

/// An agent found by email, with the site it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FoundAgent {
    pub(crate) site: SiteId,
    pub(crate) agent: StoredAgent,
}

/// How a write of a site went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Written {
    /// Stored, as this revision.
    Stored(u64),
    /// Someone wrote the site after it was read: nothing was stored.
    Stale,
}

/// Stores `site`, only if the stored one is still at `site.revision` (0 for a site that must not exist yet):
/// no write ever undoes one it did not see.
pub(crate) async fn put_site(env: &Env, site: &StoredSite) -> Result<Written> {
    call(env, NAME, &DirectoryMessage::PutSite(Box::new(site.clone()))).await
}

/// The site `id` as stored now, if there is one.
pub(crate) async fn site(env: &Env, id: &str) -> Result<Option<StoredSite>> {
    if confab_protocol::validate::slug(id).is_err() {
        return Ok(None);
    }
    call(env, NAME, &DirectoryMessage::Site(SiteId(id.to_owned()))).await
}

/// The account that signs in with `email` (normalized), and its site.
pub(crate) async fn agent_by_email(env: &Env, email: &str) -> Result<Option<FoundAgent>> {
    call(env, NAME, &DirectoryMessage::AgentByEmail(email.to_owned())).await
}

/// Whether a contact token's `claim` opens `site`'s conversations of its contact at `now`: a verified user's
/// only under the site's identity secret as it is now (the site is read for those alone).
pub(crate) async fn contact_admitted(
    env: &Env,
    site: &SiteId,
    claim: &ContactClaim,
    now: i64,
) -> Result<std::result::Result<(), TokenRefused>> {
    if !confab_protocol::contact::is_verified(&claim.contact) {
        return Ok(claim.holds(site.as_str(), now, None));
    }
    Ok(match self::site(env, site.as_str()).await? {
        Some(stored) => stored.admits(claim, now),
        None => Err(TokenRefused::OtherSite),
    })
}
