//! Site administration: roles, the settings a site's admin edits, agent accounts, the first-run setup and the
//! embed snippet. The edge's admin API (`/api/v1/admin/...`) and the desktop's Settings screen both use these,
//! so a rule (what a valid origin is, who may do what) is written once.

use crate::api::{SiteRules, SiteSetup, StandardResponse};
use crate::ids::{AgentId, QueueId, SiteId};
use crate::validate;
use crate::widget::WidgetSettings;
use serde::{Deserialize, Serialize};

pub use crate::role::Role;

/// Everything about a site its admin edits in one form (`GET`/`PUT /api/v1/admin/site`). Accounts and the
/// identity secret have their own endpoints: the secret is never shown again after it is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSettings {
    pub name: String,
    /// Origins (`https://shop.example`) whose pages may embed the widget and start chats.
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub rules: SiteRules,
    #[serde(default)]
    pub widget: WidgetSettings,
    #[serde(default)]
    pub standard_responses: Vec<StandardResponse>,
    /// Refuse chats without a verified identity (needs an identity secret).
    #[serde(default)]
    pub identity_required: bool,
    /// Which stored settings an edit started from: [`SiteSettings::tag`] as `GET` gave it. A `PUT` that sends
    /// it is refused (`409 conflict`) when someone changed the settings since, instead of silently undoing
    /// their change; a `PUT` without it replaces whatever is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Longest site name.
pub const MAX_SITE_NAME_CHARS: usize = 80;
/// Most standard responses a site keeps (each is sent to every desktop).
pub const MAX_STANDARD_RESPONSES: usize = 500;
/// Most disposition codes.
pub const MAX_CODES: usize = 100;

/// What an admin is told when the settings they edited changed under them.
pub const SETTINGS_CHANGED: &str = "someone else changed these settings since you opened them: reload to see their changes, then make yours again";

impl SiteSettings {
    /// A short tag that changes whenever anything in these settings does (FNV-1a over their JSON, `version`
    /// left out): the settings' version, for [`SiteSettings::version`].
    pub fn tag(&self) -> String {
        let text = serde_json::to_string(&SiteSettings { version: None, ..self.clone() }).unwrap_or_default();
        let hash = text
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        format!("{hash:016x}")
    }

    /// Whether an edit that started from `self.version` may replace `stored` (see [`SiteSettings::version`]).
    pub fn still_current(&self, stored: &SiteSettings) -> bool {
        self.version.as_ref().is_none_or(|version| *version == stored.tag())
    }

    /// Checks what an admin submits; the error names the field and says what to fix.
    pub fn check(&self, identity_secret_set: bool) -> Result<(), String> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_SITE_NAME_CHARS {
            return Err(format!("name: 1 to {MAX_SITE_NAME_CHARS} characters"));
        }
        for origin in &self.allowed_origins {
            if !is_plain_origin(origin) {
                return Err(format!(
                    "allowed_origins: {origin:?} is not an origin like https://shop.example (scheme, host and \
                     port only, no path or trailing slash)"
                ));
            }
        }
        self.widget.check()?;
        let rules = &self.rules;
        check_range("rules.offer_timeout_ms", rules.offer_timeout_ms, 5_000, 10 * 60_000)?;
        if !(1..=MAX_WAITING_CHATS_SETTING).contains(&rules.max_waiting_chats) {
            return Err(format!("rules.max_waiting_chats: between 1 and {MAX_WAITING_CHATS_SETTING}"));
        }
        rules.uploads.check()?;
        let life = &rules.lifecycle;
        check_range("rules.lifecycle.park_limit_ms", life.park_limit_ms, 60_000, 30 * 24 * 3_600_000)?;
        if let Some(after) = life.auto_park_after_ms {
            check_range("rules.lifecycle.auto_park_after_ms", after, 60_000, 24 * 3_600_000)?;
        }
        check_range("rules.lifecycle.wrap.timeout_ms", life.wrap.timeout_ms, 5_000, 3_600_000)?;
        check_range("rules.sla.queue_wait_ms", rules.sla.queue_wait_ms, 5_000, 24 * 3_600_000)?;
        check_range("rules.sla.reply_ms", rules.sla.reply_ms, 5_000, 24 * 3_600_000)?;
        for (i, queue) in rules.queues.iter().enumerate() {
            if validate::slug(queue.as_str()).is_err() {
                return Err(format!(
                    "rules.queues: {:?} must be 1-40 characters of a-z, 0-9 and '-'",
                    queue.0
                ));
            }
            if queue.as_str() == "default" || rules.queues[..i].contains(queue) {
                return Err(format!(
                    "rules.queues: {:?} is listed twice (\"default\" always exists)",
                    queue.0
                ));
            }
        }
        let codes = &life.wrap.codes;
        if codes.len() > MAX_CODES {
            return Err(format!("rules.lifecycle.wrap.codes: at most {MAX_CODES}"));
        }
        for (i, code) in codes.iter().enumerate() {
            if validate::slug(&code.code).is_err() {
                return Err(format!(
                    "rules.lifecycle.wrap.codes: code {:?} must be 1-40 characters of a-z, 0-9 and '-'",
                    code.code
                ));
            }
            if code.label.trim().is_empty() || code.label.chars().count() > 80 {
                return Err(format!(
                    "rules.lifecycle.wrap.codes: {:?} needs a label of 1-80 characters",
                    code.code
                ));
            }
            if codes[..i].iter().any(|c| c.code == code.code) {
                return Err(format!("rules.lifecycle.wrap.codes: {:?} is listed twice", code.code));
            }
        }
        if life.wrap.required && codes.is_empty() {
            return Err("rules.lifecycle.wrap.required: add a disposition code first".into());
        }
        if self.standard_responses.len() > MAX_STANDARD_RESPONSES {
            return Err(format!("standard_responses: at most {MAX_STANDARD_RESPONSES}"));
        }
        for response in &self.standard_responses {
            if response.title.trim().is_empty() || response.text.trim().is_empty() {
                return Err("standard_responses: each needs a title and a text".into());
            }
            if validate::message_text(&response.text).is_err() {
                return Err(format!("standard_responses: {:?} is too long for a message", response.title));
            }
        }
        if self.identity_required && !identity_secret_set {
            return Err("identity_required: generate an identity secret first".into());
        }
        Ok(())
    }
}

/// The most waiting chats a site may allow.
pub const MAX_WAITING_CHATS_SETTING: u32 = 20_000;

fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<(), String> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!("{field}: between {} and {}", human_ms(min), human_ms(max)))
    }
}

fn human_ms(ms: i64) -> String {
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{} days", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms => format!("{} s", ms / 1000),
    }
}

/// An origin fit for `frame-ancestors` and CORS: scheme, host and optional port, nothing more. Browsers send
/// origins in exactly this form, so anything else could never match.
pub fn is_plain_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else { return false };
    if !matches!(scheme, "https" | "http") || rest.is_empty() {
        return false;
    }
    let (host, port) = match rest.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'))
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    host_ok && port_ok
}

/// An account as admins see it (never its password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentAccount {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// A deactivated account cannot sign in, and its open desktop is disconnected.
    pub active: bool,
    pub capacity: u32,
    pub auto_accept: bool,
    /// Empty: all of the site's queues.
    pub queues: Vec<QueueId>,
}

/// `POST /api/v1/admin/agents`: a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub role: Role,
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    #[serde(default)]
    pub auto_accept: bool,
    #[serde(default)]
    pub queues: Vec<QueueId>,
}

/// `PATCH /api/v1/admin/agents/{agent}`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<QueueId>>,
    /// A new password (the admin tells it to the agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn default_capacity() -> u32 {
    3
}

/// Most chats an agent can be given at once.
pub const MAX_CAPACITY: u32 = 20;
/// Shortest password.
pub const MIN_PASSWORD_CHARS: usize = 8;

impl AgentAccount {
    /// Applies `changes`, refusing what would leave the account invalid. `acting` is the admin making them:
    /// an admin cannot lock themselves out (deactivate or demote their own account).
    pub fn apply(&mut self, changes: &AgentChanges, acting: &AgentId) -> Result<(), String> {
        let mut next = self.clone();
        if let Some(name) = &changes.name {
            next.name = name.trim().to_owned();
        }
        if let Some(email) = &changes.email {
            next.email = normalize_email(email);
        }
        next.role = changes.role.unwrap_or(next.role);
        next.active = changes.active.unwrap_or(next.active);
        next.capacity = changes.capacity.unwrap_or(next.capacity);
        next.auto_accept = changes.auto_accept.unwrap_or(next.auto_accept);
        if let Some(queues) = &changes.queues {
            next.queues = queues.clone();
        }
        if let Some(password) = &changes.password {
            check_password(password)?;
        }
        if next.id == *acting && (!next.active || next.role != Role::Admin) {
            return Err("you cannot deactivate or demote your own account: ask another admin".into());
        }
        next.check()?;
        *self = next;
        Ok(())
    }

    /// Checks the account's own fields (not whether its email is free).
    pub fn check(&self) -> Result<(), String> {
        if validate::slug(self.id.as_str()).is_err() {
            return Err("id: 1-40 characters of a-z, 0-9 and '-'".into());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 80 {
            return Err("name: 1 to 80 characters".into());
        }
        if !crate::widget::is_plausible_email(&self.email) {
            return Err(format!("email: {:?} is not an email address", self.email));
        }
        if !(1..=MAX_CAPACITY).contains(&self.capacity) {
            return Err(format!("capacity: 1 to {MAX_CAPACITY} chats"));
        }
        Ok(())
    }
}

impl NewAgent {
    /// The account this makes (checked), active.
    pub fn account(&self) -> Result<AgentAccount, String> {
        open_account(
            &self.password,
            AgentAccount {
                id: self.id.clone(),
                name: self.name.clone(),
                email: self.email.clone(),
                role: self.role,
                active: true,
                capacity: self.capacity,
                auto_accept: self.auto_accept,
                queues: self.queues.clone(),
            },
        )
    }
}

/// A new account from what was typed, with its name trimmed and email normalized, checked: every way of
/// making an account (the admin API, the first run, a site setup) goes through this one rule.
fn open_account(password: &str, typed: AgentAccount) -> Result<AgentAccount, String> {
    check_password(password)?;
    let account = AgentAccount {
        name: typed.name.trim().to_owned(),
        email: normalize_email(&typed.email),
        active: true,
        ..typed
    };
    account.check()?;
    Ok(account)
}

impl SiteSetup {
    /// The accounts a site setup makes, in the order of `agents`, checked as the admin API checks a new
    /// account; two agents may not share an id or an email (an agent signs in with the email alone). The
    /// error names the agent.
    pub fn accounts(&self) -> Result<Vec<AgentAccount>, String> {
        let mut accounts: Vec<AgentAccount> = Vec::with_capacity(self.agents.len());
        for agent in &self.agents {
            let named = |problem: String| format!("agent {:?}: {problem}", agent.id.0);
            let typed = AgentAccount {
                id: agent.id.clone(),
                name: agent.name.clone(),
                email: agent.email.clone(),
                role: agent.role,
                active: true,
                // Setup files have always been allowed to say 0 for one chat at a time.
                capacity: agent.capacity.max(1),
                auto_accept: agent.auto_accept,
                queues: agent.queues.clone(),
            };
            let account = open_account(&agent.password, typed).map_err(named)?;
            if accounts.iter().any(|a| a.id == account.id) {
                return Err(named("id: listed twice".into()));
            }
            if let Some(other) = accounts.iter().find(|a| a.email == account.email) {
                return Err(named(format!("email: {:?} is agent {:?}'s already", account.email, other.id.0)));
            }
            accounts.push(account);
        }
        Ok(accounts)
    }
}

/// Passwords are counted in characters, not bytes, so "äöüäöüäö" is as long as "abcdefgh".
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("password: at least {MIN_PASSWORD_CHARS} characters"));
    }
    Ok(())
}

/// Emails are compared as typed but trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// `GET /api/v1/admin/site`: the admin's site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteAdminView {
    pub site: SiteId,
    pub settings: SiteSettings,
    /// Whether an identity secret exists (the secret itself is shown once, when made).
    pub identity_secret_set: bool,
    pub agents: Vec<AgentAccount>,
}

/// `POST /api/v1/admin/site/identity-secret`: a new secret, shown this once. The previous one stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySecret {
    pub secret: String,
}

/// `POST /api/v1/setup`: the first-run flow. Creates a site with its first admin; it needs the deployment's
/// setup token (`CONFAB_ADMIN_TOKEN`), so only whoever deployed Confab can do it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstRun {
    pub setup_token: String,
    pub site: SiteId,
    pub site_name: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

impl FirstRun {
    /// The admin account it creates (checked).
    pub fn admin(&self) -> Result<AgentAccount, String> {
        if validate::slug(self.site.as_str()).is_err() {
            return Err("site: 1-40 characters of a-z, 0-9 and '-' (it goes into the script tag)".into());
        }
        if self.site_name.trim().is_empty() {
            return Err("site_name: say what the site is called".into());
        }
        NewAgent {
            id: AgentId("admin".into()),
            name: self.name.clone(),
            email: self.email.clone(),
            password: self.password.clone(),
            role: Role::Admin,
            capacity: default_capacity(),
            auto_accept: false,
            queues: Vec::new(),
        }
        .account()
    }
}

/// The script tag a site's pages embed, for an edge served at `edge_origin` (`https://chat.example`).
pub fn embed_snippet(edge_origin: &str, site: &SiteId) -> String {
    format!(r#"<script src="{edge_origin}/widget.js" data-site="{site}" async></script>"#)
}

/// What a host page's `Content-Security-Policy` needs for the widget, if it sends one.
pub fn embed_csp(edge_origin: &str) -> String {
    format!("script-src {edge_origin}; connect-src {edge_origin}; frame-src {edge_origin}")
}

/// An account as it stands now, to check a session (or a socket that session opened) begun earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountNow {
    pub active: bool,
    /// Moves on with every new password and every sign-out: sessions begun in an earlier epoch are over.
    pub session_epoch: u32,
    /// Why the epoch last moved on: what a session of an earlier epoch is told.
    pub earlier_sessions: SessionEnded,
    /// Its role lets it watch the live overview.
    pub supervises: bool,
}

/// Why a session begun earlier no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnded {
    /// The account was deactivated (or deleted).
    Deactivated,
    /// The account's password was changed since the session began.
    #[default]
    PasswordChanged,
    /// The account signed out since (a sign-out ends every session of the account, on every device: a
    /// desktop left signed in elsewhere is not left open).
    SignedOut,
}

impl SessionEnded {
    /// What the person is told, on the sign-in card of the desktop they were using.
    pub fn reason(self) -> &'static str {
        match self {
            SessionEnded::Deactivated => "your account was deactivated: ask your site's admin",
            SessionEnded::PasswordChanged => "your password was changed: sign in again",
            SessionEnded::SignedOut => "you signed out, here or on another device: sign in again",
        }
    }
}

/// Whether a session begun in `epoch` still holds for the account as it is now (`None`: it is gone).
pub fn session_holds(account: Option<AccountNow>, epoch: u32) -> Result<(), SessionEnded> {
    match account {
        Some(a) if !a.active => Err(SessionEnded::Deactivated),
        None => Err(SessionEnded::Deactivated),
        Some(a) if a.session_epoch != epoch => Err(a.earlier_sessions),
        Some(_) => Ok(()),
    }
}

/// Whether a session of `epoch` began after the account state someone holds (at `known`): that view is
/// older than the session, which must not be judged by it (epochs only move on, wrapping).
pub fn epoch_is_ahead(epoch: u32, known: u32) -> bool {
    (epoch.wrapping_sub(known) as i32) > 0
}

/// The session epoch after every session of an account at `epoch` ended for `why`, and what those sessions
/// are told.
pub fn end_sessions(epoch: u32, why: SessionEnded) -> (u32, SessionEnded) {
    (epoch.wrapping_add(1), why)
}

/// What becomes of an open desk socket after the site's accounts changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskSocketOutdated {
    /// The session is over: the socket is told why and closed, and so are the account's conversation sockets.
    SignedOut(SessionEnded),
    /// The role changed: the desktop reloads and comes back with what the new role may see.
    RoleChanged,
}

/// Whether a desk socket, opened by a session of `epoch` with or without the supervisor's screens, still fits
/// the account as it is now.
pub fn desk_socket_outdated(
    account: Option<AccountNow>,
    epoch: u32,
    opened_supervising: bool,
) -> Option<DeskSocketOutdated> {
    if let Err(ended) = session_holds(account, epoch) {
        return Some(DeskSocketOutdated::SignedOut(ended));
    }
    account.filter(|a| a.supervises != opened_supervising).map(|_| DeskSocketOutdated::RoleChanged)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_session_holds_while_its_account_is_active_with_the_same_password() {
        let now = AccountNow {
            active: true,
            session_epoch: 3,
            earlier_sessions: SessionEnded::default(),
            supervises: false,
        };
        assert_eq!(session_holds(Some(now), 3), Ok(()));
        assert_eq!(session_holds(Some(now), 2), Err(SessionEnded::PasswordChanged));
        let (epoch, why) = end_sessions(3, SessionEnded::SignedOut);
        let signed_out = AccountNow { session_epoch: epoch, earlier_sessions: why, ..now };
        assert_eq!(session_holds(Some(signed_out), 3), Err(SessionEnded::SignedOut), "the sign-out is named");
        assert_eq!(session_holds(Some(signed_out), 4), Ok(()), "a session begun after it holds");
        assert_eq!(end_sessions(u32::MAX, SessionEnded::SignedOut).0, 0, "the epoch wraps, never panics");
        assert!(epoch_is_ahead(4, 3) && epoch_is_ahead(0, u32::MAX), "newer, across the wrap");
        assert!(!epoch_is_ahead(3, 3) && !epoch_is_ahead(2, 3));
        assert_eq!(
            session_holds(Some(AccountNow { active: false, ..now }), 3),
            Err(SessionEnded::Deactivated)
        );
        assert_eq!(session_holds(None, 3), Err(SessionEnded::Deactivated));
    }

    #[test]
    fn a_desk_socket_is_signed_out_or_reloaded_when_its_account_changed() {
        let now = AccountNow {
            active: true,
            session_epoch: 1,
            earlier_sessions: SessionEnded::default(),
            supervises: true,
        };
        assert_eq!(desk_socket_outdated(Some(now), 1, true), None);
        assert_eq!(desk_socket_outdated(Some(now), 1, false), Some(DeskSocketOutdated::RoleChanged));
        assert_eq!(
            desk_socket_outdated(Some(now), 0, false),
            Some(DeskSocketOutdated::SignedOut(SessionEnded::PasswordChanged)),
            "signing out wins over reloading"
        );
        assert_eq!(
            desk_socket_outdated(None, 1, true),
            Some(DeskSocketOutdated::SignedOut(SessionEnded::Deactivated))
        );
    }

    use super::*;
    use crate::api::AgentSetup;
    use crate::lifecycle::DispositionCode;

    fn settings() -> SiteSettings {
        SiteSettings {
            name: "Ceramics".into(),
            allowed_origins: vec!["https://shop.example".into(), "http://127.0.0.1:8080".into()],
            rules: SiteRules::default(),
            widget: WidgetSettings::default(),
            standard_responses: Vec::new(),
            identity_required: false,
            version: None,
        }
    }

    #[test]
    fn an_edit_replaces_only_the_settings_it_started_from() {
        let stored = settings();
        let tag = stored.tag();
        assert_eq!(tag.len(), 16);
        assert_eq!(
            SiteSettings { version: Some("x".into()), ..stored.clone() }.tag(),
            tag,
            "version is not hashed"
        );
        let edit = SiteSettings { name: "Pottery".into(), version: Some(tag.clone()), ..stored.clone() };
        assert!(edit.still_current(&stored));
        // Someone else saved a change in between: the edit no longer starts from what is stored.
        let changed =
            SiteSettings { allowed_origins: vec!["https://other.example".into()], ..stored.clone() };
        assert_ne!(changed.tag(), tag);
        assert!(!edit.still_current(&changed));
        // Without a version, an edit replaces whatever is stored (scripts that PUT whole settings).
        assert!(SiteSettings { version: None, ..edit }.still_current(&changed));
    }

    #[test]
    fn roles_include_the_ones_before() {
        assert!(!Role::Agent.may_supervise());
        assert!(Role::Supervisor.may_supervise() && !Role::Supervisor.may_administer());
        assert!(Role::Admin.may_supervise() && Role::Admin.may_administer());
        assert_eq!(Role::parse("supervisor"), Some(Role::Supervisor));
        assert_eq!(serde_json::to_string(&Role::Admin).expect("encodes"), "\"admin\"");
    }

    #[test]
    fn origins_must_be_bare_origins() {
        for good in ["https://shop.example", "http://127.0.0.1:8080", "https://a-b.example.co.uk:8443"] {
            assert!(is_plain_origin(good), "{good}");
        }
        for bad in [
            "shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://Shop.example",
            "ftp://shop.example",
            "https://shop.example:",
            "https://shop.example; script-src *",
            "https://",
            "*",
        ] {
            assert!(!is_plain_origin(bad), "{bad}");
        }
    }

    #[test]
    fn settings_errors_name_the_field() {
        assert_eq!(settings().check(false), Ok(()));
        let mut s = settings();
        s.allowed_origins.push("https://shop.example/".into());
        assert!(s.check(false).expect_err("trailing slash").starts_with("allowed_origins"));
        let mut s = settings();
        s.rules.offer_timeout_ms = 1_000;
        assert!(s.check(false).expect_err("too short").starts_with("rules.offer_timeout_ms: between 5 s"));
        let mut s = settings();
        s.rules.max_waiting_chats = 0;
        assert!(s.check(false).expect_err("none").starts_with("rules.max_waiting_chats: between 1 and"));
        let mut s = settings();
        s.rules.lifecycle.wrap.codes = vec![
            DispositionCode { code: "sale".into(), label: "Sale".into() },
            DispositionCode { code: "sale".into(), label: "Again".into() },
        ];
        assert!(s.check(false).expect_err("twice").contains("listed twice"));
        let mut s = settings();
        s.rules.lifecycle.wrap.required = true;
        assert!(s.check(false).expect_err("no codes").contains("add a disposition code"));
        let mut s = settings();
        s.identity_required = true;
        assert!(s.check(false).is_err());
        assert_eq!(s.check(true), Ok(()));
        let mut s = settings();
        s.rules.queues = vec![QueueId("Billing".into())];
        assert!(s.check(false).expect_err("slug").starts_with("rules.queues"));
    }

    fn account(id: &str, role: Role) -> AgentAccount {
        AgentAccount {
            id: AgentId(id.into()),
            name: "Ada".into(),
            email: "ada@shop.example".into(),
            role,
            active: true,
            capacity: 3,
            auto_accept: false,
            queues: Vec::new(),
        }
    }

    #[test]
    fn admins_cannot_lock_themselves_out() {
        let me = AgentId("boss".into());
        let mut own = account("boss", Role::Admin);
        let demote = AgentChanges { role: Some(Role::Agent), ..AgentChanges::default() };
        assert!(own.apply(&demote, &me).is_err());
        let deactivate = AgentChanges { active: Some(false), ..AgentChanges::default() };
        assert!(own.apply(&deactivate, &me).is_err());
        assert_eq!(own, account("boss", Role::Admin), "a refused change changes nothing");
        let mut other = account("ada", Role::Admin);
        assert_eq!(other.apply(&deactivate, &me), Ok(()));
        assert!(!other.active);
    }

    #[test]
    fn account_changes_are_checked() {
        let me = AgentId("boss".into());
        let mut ada = account("ada", Role::Agent);
        let bad = [
            AgentChanges { capacity: Some(0), ..AgentChanges::default() },
            AgentChanges { email: Some("not an email".into()), ..AgentChanges::default() },
            AgentChanges { password: Some("short".into()), ..AgentChanges::default() },
            AgentChanges { name: Some("  ".into()), ..AgentChanges::default() },
        ];
        for changes in bad {
            assert!(ada.apply(&changes, &me).is_err(), "{changes:?}");
        }
        let promote = AgentChanges {
            role: Some(Role::Supervisor),
            email: Some(" Ada@Shop.Example ".into()),
            ..AgentChanges::default()
        };
        assert_eq!(ada.apply(&promote, &me), Ok(()));
        assert_eq!((ada.role, ada.email.as_str()), (Role::Supervisor, "ada@shop.example"));
    }

    #[test]
    fn first_run_makes_an_admin() {
        let run = FirstRun {
            setup_token: "t".into(),
            site: SiteId("pottery".into()),
            site_name: "Pottery".into(),
            name: "Owner".into(),
            email: "owner@pottery.example".into(),
            password: "long enough".into(),
        };
        let admin = run.admin().expect("valid");
        assert_eq!((admin.role, admin.active), (Role::Admin, true));
        let bad_site = FirstRun { site: SiteId("My Shop".into()), ..run.clone() };
        assert!(bad_site.admin().is_err());
        let short = FirstRun { password: "1234".into(), ..run };
        assert!(short.admin().is_err());
    }

    fn setup_agent(id: &str, email: &str, password: &str) -> AgentSetup {
        AgentSetup {
            id: AgentId(id.into()),
            name: " Ada ".into(),
            email: email.into(),
            password: password.into(),
            capacity: 2,
            auto_accept: true,
            role: Role::Supervisor,
            queues: vec![QueueId("billing".into())],
        }
    }

    fn setup(agents: Vec<AgentSetup>) -> SiteSetup {
        SiteSetup {
            name: "Pottery".into(),
            allowed_origins: Vec::new(),
            agents,
            rules: SiteRules::default(),
            identity: None,
            widget: WidgetSettings::default(),
            standard_responses: Vec::new(),
        }
    }

    #[test]
    fn setup_accounts_are_normalized_like_new_accounts() {
        let mut ada = setup_agent("ada", " Ada@Shop.Example ", "long enough");
        ada.capacity = 0;
        let accounts = setup(vec![ada, setup_agent("bob", "bob@shop.example", "long enough")]).accounts();
        let accounts = accounts.expect("valid");
        assert_eq!(
            accounts[0],
            AgentAccount {
                id: AgentId("ada".into()),
                name: "Ada".into(),
                email: "ada@shop.example".into(),
                role: Role::Supervisor,
                active: true,
                capacity: 1,
                auto_accept: true,
                queues: vec![QueueId("billing".into())],
            },
            "capacity 0 means one chat at a time"
        );
        assert_eq!(accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["ada", "bob"], "in order");
        assert_eq!(setup(Vec::new()).accounts(), Ok(Vec::new()));
    }

    #[test]
    fn setup_passwords_are_counted_in_characters_not_bytes() {
        let with = |password: &str| setup(vec![setup_agent("ada", "ada@shop.example", password)]).accounts();
        assert!(with("äöüäöüäö").is_ok(), "8 characters (16 bytes)");
        assert!(with("abcdefgh").is_ok());
        let short = Err(r#"agent "ada": password: at least 8 characters"#.to_owned());
        assert_eq!(with("abcdefg"), short);
        assert_eq!(with("äöüä"), short, "8 bytes but 4 characters");
        assert_eq!(with("pässwor"), short, "8 bytes but 7 characters");
    }

    #[test]
    fn setup_refuses_bad_ids_and_agents_listed_twice() {
        let bad_slug = setup(vec![setup_agent("Ada", "ada@shop.example", "long enough")]).accounts();
        assert_eq!(bad_slug, Err(r#"agent "Ada": id: 1-40 characters of a-z, 0-9 and '-'"#.to_owned()));
        let no_email = setup(vec![setup_agent("ada", " ", "long enough")]).accounts();
        assert_eq!(no_email, Err(r#"agent "ada": email: "" is not an email address"#.to_owned()));
        let same_email = setup(vec![
            setup_agent("ada", "ada@shop.example", "long enough"),
            setup_agent("bob", " ADA@shop.example", "long enough"),
        ]);
        assert_eq!(
            same_email.accounts(),
            Err(r#"agent "bob": email: "ada@shop.example" is agent "ada"'s already"#.to_owned())
        );
        let same_id = setup(vec![
            setup_agent("ada", "ada@shop.example", "long enough"),
            setup_agent("ada", "other@shop.example", "long enough"),
        ]);
        assert_eq!(same_id.accounts(), Err(r#"agent "ada": id: listed twice"#.to_owned()));
    }

    #[test]
    fn snippet_and_csp() {
        let site = SiteId("pottery".into());
        assert_eq!(
            embed_snippet("https://chat.example", &site),
            r#"<script src="https://chat.example/widget.js" data-site="pottery" async></script>"#
        );
        assert_eq!(
            embed_csp("https://chat.example"),
            "script-src https://chat.example; connect-src https://chat.example; frame-src https://chat.example"
        );
    }
}
