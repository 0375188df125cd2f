//! An agent's session: sign-in and sign-out, who is signed in, the site's rules for the desktop, and the
//! desk socket.

use super::caller::Call;
use super::origin::same_origin_or_absent;
use super::sites::change_site;
use crate::platform::config;
use crate::platform::crypto::{self, AgentSession, KnownBrowser};
use crate::platform::http::{self, Answer, HttpError, json, json_body, now_ms};
use crate::rpc::desk::{self, DeskSocketPeer};
use crate::rpc::directory::{self, StoredAgent};
use crate::rpc::limiter::{self, Guarded};
use confab_protocol::admin::{Role, SessionEnded, normalize_email};
use confab_protocol::api::{AgentProfile, SignIn, SiteView};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::SiteId;
use worker::{Env, Request, Response};

/// `POST /api/v1/agent/session`: sign in with email and password; sets the session cookie, and the cookie
/// of a known browser.
pub(super) async fn sign_in(mut req: Request, (caller, env): Call<'_>) -> Answer {
    let sign_in: SignIn = json_body(&mut req).await?;
    // Attempts are counted before the password is looked at: parallel guesses cannot slip through, and a
    // refusal tells nothing, not even by timing. A browser that signed in to this account before is counted
    // apart from everyone else, so a stranger's guesses cannot lock the owner out of it; other attempts are
    // limited per email and address, per email and per address.
    let email = normalize_email(&sign_in.email);
    let buckets = match caller.known_browser_of(&email) {
        Some(browser) => vec![(Guarded::SignInPerKnownBrowser, format!("{email} {browser}"))],
        None => {
            let ip = http::client_address(&req);
            vec![
                (Guarded::SignInPerEmailAndAddress, format!("{email} {ip}")),
                (Guarded::SignInPerEmail, email.clone()),
                (Guarded::SignInPerAddress, ip),
            ]
        }
    };
    for (guarded, key) in &buckets {
        if let Err(wait) = limiter::take(env, *guarded, key).await? {
            return Err(HttpError::too_many(wait, "too many sign-in attempts"));
        }
    }
    let agent = directory::agent_by_email(env, &email).await?;
    // Hash even when the email is unknown, so the answer's timing does not tell which emails exist (a
    // measured wait would not do: on Workers the clock stands still during computation).
    let verified = match &agent {
        Some(found) => found.agent.password.matches(&sign_in.password).await?,
        None => {
            crypto::pbkdf2(&sign_in.password, b"confab-no-such-agent", crypto::PBKDF2_ROUNDS).await?;
            false
        }
    };
    let Some(found) = agent.filter(|_| verified) else {
        return Err(HttpError::new(ErrorCode::BadCredentials, "wrong email or password"));
    };
    if !found.agent.active {
        return Err(HttpError::new(
            ErrorCode::Unauthorized,
            "this account is deactivated: ask your site's admin",
        ));
    }
    let resp = signed_in(env, &found.site, &found.agent)?;
    let browser = KnownBrowser::new(&email, now_ms())?;
    resp.headers().append("set-cookie", &browser.cookie(caller.secret()))?;
    Ok(resp)
}

/// The signed-in profile, with the session cookie to set.
pub(super) fn signed_in(env: &Env, site: &SiteId, agent: &StoredAgent) -> Answer {
    let session = AgentSession {
        site: site.0.clone(),
        id: agent.id.0.clone(),
        name: agent.name.clone(),
        exp: now_ms() + crypto::SESSION_MS,
        epoch: agent.session_epoch,
    };
    let profile =
        AgentProfile { id: agent.id.clone(), name: agent.name.clone(), site: site.clone(), role: agent.role };
    let resp = Response::from_json(&profile)?;
    resp.headers().set("set-cookie", &session.cookie(&config::signing_secret(env)?))?;
    Ok(resp)
}

/// `DELETE /api/v1/agent/session`: signs out. Every session of the account ends, here and on its other
/// devices (the cookie alone would still open it until it expires): its desktops and sockets are closed.
/// The cookie is cleared whatever it held.
pub(super) async fn sign_out(call: Call<'_>) -> Answer {
    let ended = match call.0.staff(Role::Agent) {
        Ok(_) => change_site(call, Role::Agent, async |staff, site| {
            if let Some(agent) = site.agents.iter_mut().find(|a| a.id == staff.agent.id) {
                agent.end_sessions(SessionEnded::SignedOut);
            }
            Ok(())
        })
        .await
        .map(|_| ()),
        Err(_) => Ok(()),
    };
    // The cookie goes from this browser whatever happened; a failure to end the sessions is still told.
    let resp = match ended {
        Ok(()) => Response::empty()?.with_status(204),
        Err(error) => error.into_response()?,
    };
    resp.headers().set("set-cookie", &crypto::clear_session_cookie())?;
    Ok(resp)
}

/// `GET /api/v1/agent/me`: the signed-in agent with its current role, or `unauthorized`.
pub(super) fn me((caller, _): Call<'_>) -> Answer {
    let staff = caller.staff(Role::Agent)?;
    json(&AgentProfile {
        id: staff.agent.id.clone(),
        name: staff.agent.name.clone(),
        site: staff.site.id.clone(),
        role: staff.agent.role,
    })
}

/// `GET /api/v1/site`: the signed-in agent's site and its rules (disposition codes, queues, timers).
pub(super) fn site_view((caller, _): Call<'_>) -> Answer {
    let site = &caller.staff(Role::Agent)?.site;
    json(&SiteView {
        site: site.id.clone(),
        name: site.name.clone(),
        rules: site.rules.clone(),
        standard_responses: site.standard_responses.clone(),
    })
}

/// `GET /api/v1/desk/socket`: the signed-in agent's live view of its site.
pub(super) async fn desk_socket(req: Request, (caller, env): Call<'_>) -> Answer {
    if !http::is_websocket_upgrade(&req) {
        return Err(HttpError::new(ErrorCode::BadRequest, "this route only accepts a WebSocket upgrade"));
    }
    if !same_origin_or_absent(&req)? {
        return Err(HttpError::new(
            ErrorCode::OriginNotAllowed,
            "the desk socket is only opened from the agent desktop",
        ));
    }
    let staff = caller.staff(Role::Agent)?;
    let peer = DeskSocketPeer {
        agent: staff.agent.id.clone(),
        epoch: staff.agent.session_epoch,
        supervises: staff.agent.role.may_supervise(),
    };
    Ok(desk::open_socket(env, &staff.site.id, &peer, &req).await?)
}
