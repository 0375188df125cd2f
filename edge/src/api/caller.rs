//! Who is asking: worked out once per request, by the router, from what the route looks at
//! (`confab_protocol::routes::Access`). Handlers ask the [`Caller`]; none reads a cookie or a token itself.

use crate::platform::config;
use crate::platform::crypto::{self, AgentSession, KnownBrowser};
use crate::platform::http::{self, HttpError, now_ms};
use crate::rpc::directory::{self, StoredAgent, StoredSite};
use confab_protocol::admin::{self, Role, SessionEnded};
use confab_protocol::api::ApiError;
use confab_protocol::contact::ContactClaim;
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::SiteId;
use confab_protocol::routes::Access;
use worker::{Env, Request, Result};

/// What every handler gets: who is asking, and the deployment.
pub(super) type Call<'a> = (&'a Caller, &'a Env);

/// A signed-in, active account, with its site as stored now (so a role change or deactivation applies to
/// the very next request, whatever the session cookie says).
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub(crate) site: StoredSite,
    pub(crate) agent: StoredAgent,
}

/// The caller of one request.
pub(crate) struct Caller {
    /// The session cookie's session, if it is genuine and current.
    session: Option<AgentSession>,
    /// Its account, read when the route looks at staff: the refusal instead if the account no longer holds.
    staff: Option<std::result::Result<Staff, ApiError>>,
    /// The `Authorization: Bearer` token, unchecked: what it opens depends on the site it is used for.
    bearer: Option<String>,
    /// The browser's known-browser cookie, if it is genuine and current.
    browser: Option<KnownBrowser>,
    /// The deployment's signing secret.
    secret: String,
}

impl Caller {
    /// Works out who sent `req`, as far as a route with `access` needs to know.
    pub(crate) async fn of(req: &Request, env: &Env, access: Access) -> Result<Caller> {
        let secret = config::signing_secret(env)?;
        let cookie = req.headers().get("cookie")?;
        let session = AgentSession::from_cookie_header(&secret, cookie.as_deref(), now_ms());
        let browser = KnownBrowser::from_cookie_header(&secret, cookie.as_deref(), now_ms());
        let looks_at_staff = matches!(access, Access::Staff(_) | Access::ContactOrAgent | Access::AnySession);
        let staff = match (&session, looks_at_staff) {
            (Some(session), true) => Some(Self::account(env, session).await?),
            _ => None,
        };
        Ok(Caller { session, staff, bearer: http::bearer(req), browser, secret })
    }

    /// The account behind `session`, if it still holds (active, same session epoch).
    async fn account(env: &Env, session: &AgentSession) -> Result<std::result::Result<Staff, ApiError>> {
        let Some(site) = directory::site(env, &session.site).await? else {
            return Ok(Err(ApiError::new(ErrorCode::Unauthorized, "your site no longer exists")));
        };
        let agent = site.agent(&session.id).cloned();
        let held = admin::session_holds(agent.as_ref().map(StoredAgent::now), session.epoch);
        Ok(match (held, agent) {
            (Ok(()), Some(agent)) => Ok(Staff { site, agent }),
            (held, _) => {
                let ended = held.err().unwrap_or(SessionEnded::Deactivated);
                Err(ApiError::new(ErrorCode::Unauthorized, ended.reason()))
            }
        })
    }

    /// Whether the request carries a genuine session cookie (an agent, or someone who was one).
    pub(crate) fn has_session(&self) -> bool {
        self.session.is_some()
    }

    /// The signed-in account if it is active and its role is at least `need`; otherwise the refusal
    /// (`unauthorized` when not signed in or deactivated, `forbidden` for a lesser role).
    pub(crate) fn staff(&self, need: Role) -> std::result::Result<&Staff, HttpError> {
        match &self.staff {
            None => Err(HttpError::new(ErrorCode::Unauthorized, "sign in first")),
            Some(Err(refusal)) => Err(HttpError::Api(refusal.clone())),
            Some(Ok(staff)) => with_role(staff, need),
        }
    }

    /// The account as the Directory has it now, read again: for a change that crossed another and is made
    /// again on the site as it is now.
    pub(crate) async fn staff_read_again(
        &self,
        env: &Env,
        need: Role,
    ) -> Result<std::result::Result<Staff, HttpError>> {
        let Some(session) = &self.session else {
            return Ok(Err(HttpError::new(ErrorCode::Unauthorized, "sign in first")));
        };
        Ok(match Self::account(env, session).await? {
            Ok(staff) => with_role(&staff, need).cloned(),
            Err(refusal) => Err(HttpError::Api(refusal)),
        })
    }

    /// The contact the bearer token opens on `site`, if it is a genuine contact token that still holds
    /// (a verified user's only under the site's current identity secret: the site is read for those);
    /// otherwise the refusal, saying why.
    pub(crate) async fn contact_of(
        &self,
        env: &Env,
        site: &SiteId,
    ) -> std::result::Result<ContactClaim, HttpError> {
        let refused = |why: &str| HttpError::new(ErrorCode::Unauthorized, why);
        let Some(token) = self.bearer.as_deref() else {
            return Err(refused("this needs the contact's token (Authorization: Bearer)"));
        };
        let Some(claim) = crypto::contact_claim(&self.secret, token) else {
            return Err(refused("this contact token is not valid"));
        };
        match directory::contact_admitted(env, site, &claim, now_ms()).await? {
            Ok(()) => Ok(claim),
            Err(why) => Err(refused(why.reason())),
        }
    }

    /// Whether the bearer token is `token`, the deployment's setup token (the operator).
    pub(crate) fn is_operator(&self, token: &str) -> bool {
        self.bearer.as_deref().is_some_and(|given| http::constant_time_eq(given.as_bytes(), token.as_bytes()))
    }

    /// The id of this browser, if it signed in to the account with `email` before.
    pub(crate) fn known_browser_of(&self, email: &str) -> Option<&str> {
        self.browser.as_ref().filter(|b| b.email == email).map(|b| b.id.as_str())
    }

    /// The deployment's signing secret (for the tokens and links a handler issues).
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

/// `staff` if its role is at least `need`, else `forbidden`.
fn with_role(staff: &Staff, need: Role) -> std::result::Result<&Staff, HttpError> {
    if staff.agent.role < need {
        let message = format!(
            "this needs the {} role; you are signed in as {}",
            need.as_str(),
            staff.agent.role.as_str()
        );
        return Err(HttpError::new(ErrorCode::Forbidden, message));
    }
    Ok(staff)
}
