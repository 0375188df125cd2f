//! The HTTP API (`/api/v1/...`) and the widget frame page. See `docs/api.md` for the contract.

use crate::admin::{self, staff_or_answer};
use crate::auth::{self, AgentSession, PasswordHash};
use crate::directory::{self, StoredAgent, StoredSite};
use crate::http::{api_error, error, json_body, json_body_up_to, now_ms, optional_json_body};
use crate::limiter::{self, Guarded};
use confab_protocol::admin::{Role, is_plain_origin, normalize_email};
use confab_protocol::api::{AgentProfile, ChatStarted, SignIn, SiteSetup, SiteView, StartChat};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::{ContactId, InteractionId, SiteId};
use confab_protocol::routes::{self, Found, Method, Route};
use confab_protocol::routing::RoutingProfile;
use confab_protocol::validate;
use confab_protocol::{PROTOCOL_VERSION, limits};
use worker::{Env, Headers, Request, RequestInit, Response, Result};

pub(crate) async fn handle(req: Request, env: Env) -> Result<Response> {
    // A deployment whose settings cannot be read serves nothing, and says why, rather than serve with
    // guesses (a default in place of a limit the operator set, no way to sign tokens).
    let problems = limits::deployment_problems(|name| crate::http::deployment_variable(&env, name));
    if !problems.is_empty() {
        return error(ErrorCode::Misconfigured, problems.join("; "));
    }
    let path = req.path();
    let method = Method::from_name(req.method().as_ref());
    let Some(Found { route, params: [first, second, third] }) = method.and_then(|m| routes::find(m, &path))
    else {
        return if routes::is_api(&path) {
            error(ErrorCode::NotFound, format!("no API route {} {path}", req.method()))
        } else {
            Response::error("Not found", 404)
        };
    };
    match route {
        Route::PutSite => put_site(req, &env, first).await,
        Route::FirstRun => admin::first_run(req, &env).await,
        Route::AdminSite => admin::get_site(&req, &env).await,
        Route::SaveSettings => admin::put_settings(req, &env).await,
        Route::RotateIdentitySecret => admin::rotate_identity_secret(&req, &env).await,
        Route::RemoveIdentitySecret => admin::remove_identity_secret(&req, &env).await,
        Route::CreateAgent => admin::create_agent(req, &env).await,
        Route::UpdateAgent => admin::update_agent(req, &env, first).await,
        Route::Records => admin::records(&req, &env).await,
        Route::EraseContact => admin::erase_contact(&req, &env, &decoded(first)).await,
        // The loader reads these on the host page (CORS); the frame gets them inlined.
        Route::WidgetSettingsPreflight => {
            with_site_cors(&req, &env, first, Response::empty()?.with_status(204)).await
        }
        Route::WidgetSettings => widget_config(&req, &env, first).await,
        Route::StartChat => start_chat(req, &env, first).await,
        Route::ChatSocket => chat_socket(req, &env, first).await,
        Route::SignIn => sign_in(req, &env).await,
        Route::SignOut => sign_out(),
        Route::Me => me(&req, &env).await,
        Route::SiteView => site_view(&req, &env).await,
        // The loader asks from the host page: CORS for the site's allowed origins only.
        Route::ContactSessionPreflight => {
            with_site_cors(&req, &env, first, Response::empty()?.with_status(204)).await
        }
        Route::ContactSession => {
            let resp = crate::history::contact_session(&req, &env, first).await?;
            with_site_cors(&req, &env, first, resp).await
        }
        Route::DeskSocket => desk_socket(req, &env).await,
        Route::Upload => crate::attachments::upload(req, &env, first).await,
        Route::AttachmentLink => crate::attachments::link(req, &env, first, second).await,
        Route::Download => {
            let object = format!("{first}/{second}/{third}");
            crate::attachments::download(req, &env, &object).await
        }
        Route::Contacts => crate::history::contacts(&req, &env).await,
        Route::ContactHistory => crate::history::contact_history(&req, &env, &decoded(first)).await,
        Route::Transcript => crate::history::transcript(&req, &env, first).await,
        Route::WidgetFrame => widget_frame(&req, &env).await,
        Route::AgentDesktop => Response::redirect(req.url()?.join("/agent/")?),
        Route::Health => Response::from_json(&serde_json::json!({"ok": true, "protocol": PROTOCOL_VERSION})),
    }
}

/// `PUT /api/v1/admin/sites/{site}`: create or replace a site and its agents. Needs the admin token.
async fn put_site(mut req: Request, env: &Env, site: &str) -> Result<Response> {
    let given = req.headers().get("authorization")?.unwrap_or_default();
    let authorized = admin::setup_token(env)
        .is_some_and(|token| constant_time_eq(given.as_bytes(), format!("Bearer {token}").as_bytes()));
    if !authorized {
        return error(ErrorCode::Unauthorized, "this needs the admin token (Authorization: Bearer ...)");
    }
    if validate::slug(site).is_err() {
        return error(ErrorCode::BadRequest, "site ids are 1-40 characters of a-z, 0-9 and '-'");
    }
    let setup: SiteSetup = match json_body_up_to(&mut req, crate::http::MAX_SITE_BODY_BYTES).await {
        Ok(setup) => setup,
        Err(e) => return api_error(e),
    };
    if let Err(problem) = setup.widget.check() {
        return error(ErrorCode::BadRequest, problem);
    }
    // Replacing a site keeps its agents' sessions (their epochs): passwords are changed, and sessions ended,
    // through the admin API.
    let previous = directory::site(env, site).await?;
    let mut agents = Vec::with_capacity(setup.agents.len());
    for agent in setup.agents {
        if validate::slug(agent.id.as_str()).is_err()
            || agent.email.trim().is_empty()
            || agent.password.len() < 8
        {
            return error(
                ErrorCode::BadRequest,
                format!(
                    "agent {:?}: needs a slug id, an email and a password of 8 characters or more",
                    agent.id.0
                ),
            );
        }
        let password = PasswordHash::new(&agent.password).await?;
        let profile = RoutingProfile {
            capacity: agent.capacity.max(1),
            auto_accept: agent.auto_accept,
            queues: agent.queues.into_iter().collect(),
        };
        let session_epoch =
            previous.as_ref().and_then(|p| p.agent(agent.id.as_str())).map_or(0, |a| a.session_epoch);
        agents.push(StoredAgent {
            id: agent.id,
            name: agent.name,
            email: normalize_email(&agent.email),
            password,
            profile,
            session_epoch,
            role: agent.role,
            active: true,
        });
    }
    let mut stored = StoredSite {
        id: SiteId(site.to_owned()),
        name: setup.name,
        allowed_origins: setup.allowed_origins,
        agents,
        rules: setup.rules,
        identity: setup.identity,
        widget: setup.widget,
        standard_responses: setup.standard_responses,
        revision: 0,
    };
    admin::publish_replacing(env, &mut stored).await?;
    Response::from_json(&serde_json::json!({"site": site, "agents": stored.agents.len()}))
}

/// `GET /api/v1/sites/{site}/widget`: what the widget needs to draw itself. A page whose origin the site does
/// not allow gets a readable refusal instead (CORS for it alone), so the loader draws nothing and tells the
/// site owner why in the console, rather than a chat button that opens a blocked frame.
async fn widget_config(req: &Request, env: &Env, site_id: &str) -> Result<Response> {
    let Some(site) = directory::site(env, site_id).await? else {
        return error(ErrorCode::NotFound, format!("there is no site {site_id:?}"));
    };
    let origin = req.headers().get("origin")?;
    if let Some(origin) = origin.as_deref().filter(|o| !site.allowed_origins.iter().any(|a| a == o)) {
        let resp = error(
            ErrorCode::OriginNotAllowed,
            format!(
                "{origin} may not show the chat of site {site_id:?}: an admin adds it to the site's allowed origins \
                 (agent desktop, Settings)"
            ),
        )?;
        resp.headers().set("access-control-allow-origin", origin)?;
        resp.headers().set("vary", "origin")?;
        return Ok(resp);
    }
    let resp = Response::from_json(&site.widget_settings())?;
    // Every page view of every embedding site asks: a short cache keeps a settings change quick.
    resp.headers().set("cache-control", "public, max-age=60")?;
    cors_for(req, &site, resp)
}

/// `POST /api/v1/sites/{site}/chats`: a contact starts a conversation; answers its id and contact token.
async fn start_chat(mut req: Request, env: &Env, site: &str) -> Result<Response> {
    let Some(site) = directory::site(env, site).await? else {
        return error(ErrorCode::NotFound, format!("there is no site {site:?}"));
    };
    if !origin_allowed(&req, &site)? {
        return error(ErrorCode::OriginNotAllowed, "this page's origin may not start chats for this site");
    }
    if let Err(wait) = limiter::ask(env, Guarded::ChatStartsPerIp, &limiter::client_ip(&req), true).await? {
        return limiter::too_many(wait, "too many new chats from this address");
    }
    // An empty body is a chat with nothing asked first.
    let start: StartChat = match optional_json_body(&mut req).await {
        Ok(start) => start,
        Err(e) => return api_error(e),
    };
    let secret = auth::signing_secret(env)?;
    let contact = match (&start.identity, &site.identity) {
        // A user the site vouches for: the same contact in every browser.
        (Some(identity), Some(rules)) => {
            if !auth::identity_signature_valid(&rules.secret, &identity.user_id, &identity.signature) {
                return error(
                    ErrorCode::Unauthorized,
                    "the identity's signature does not match: sign user_id with the site's identity secret",
                );
            }
            let user: String = identity.user_id.chars().filter(|c| !c.is_control()).take(200).collect();
            format!("u-{user}")
        }
        (Some(_), None) => {
            return error(
                ErrorCode::BadRequest,
                "this site does not verify identities: set its identity secret first",
            );
        }
        (None, Some(rules)) if rules.required => {
            return error(ErrorCode::Unauthorized, "this site only takes chats from signed-in users");
        }
        // A returning contact keeps its identity, so all its conversations form one history.
        (None, _) => match start.contact_token.as_deref() {
            Some(token) => match auth::token_contact(&secret, token, site.id.as_str()) {
                Some(contact) => contact,
                None => {
                    return error(ErrorCode::Unauthorized, "this contact token is not valid for this site");
                }
            },
            None => format!(
                "v-{}",
                uuid::Builder::from_random_bytes(auth::random_bytes::<16>()?).into_uuid().simple()
            ),
        },
    };
    // The pre-chat form, checked again here.
    let details = match site.widget.contact_details(
        start.name.as_deref(),
        start.email.as_deref(),
        start.identity.is_some(),
    ) {
        Ok(details) => details,
        Err(problem) => {
            return error(ErrorCode::BadRequest, format!("the pre-chat form is not complete: {problem}"));
        }
    };
    let name = details.name.or_else(|| start.identity.as_ref().and_then(|i| i.name.clone()));
    let email = details
        .email
        .or_else(|| start.identity.as_ref().and_then(|i| i.email.clone()))
        .map(|e| e.trim().chars().take(confab_protocol::widget::MAX_EMAIL_CHARS).collect::<String>());
    let interaction =
        InteractionId(uuid::Builder::from_random_bytes(auth::random_bytes::<16>()?).into_uuid());
    let label = name
        .or_else(|| email.clone())
        .map(|n| n.trim().chars().take(60).collect::<String>())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            format!("Visitor {}", contact.trim_start_matches("v-").chars().take(4).collect::<String>())
        });
    let meta = crate::conversation::Meta {
        interaction,
        site: site.id.clone(),
        contact: ContactId(contact.clone()),
        contact_label: label,
        contact_email: email,
        started_at: now_ms(),
        rules: site.rules.lifecycle.clone(),
    };
    crate::conversation::init(env, &meta).await?;
    let started =
        ChatStarted { interaction, contact_token: auth::contact_token(&secret, site.id.as_str(), &contact) };
    Ok(Response::from_json(&started)?.with_status(201))
}

/// `GET /api/v1/chats/{interaction}/socket`: the conversation's WebSocket, for its contact (who proves it in
/// `hello`) or for a signed-in agent of its site (known from the session cookie).
async fn chat_socket(req: Request, env: &Env, interaction: &str) -> Result<Response> {
    if !is_websocket_upgrade(&req)? {
        return error(ErrorCode::BadRequest, "this route only accepts a WebSocket upgrade");
    }
    let Ok(interaction) = interaction.parse::<InteractionId>() else {
        return error(ErrorCode::NotFound, "there is no such conversation");
    };
    // Sockets come from the widget frame or the agent desktop, both served from this origin. Refusing other
    // origins keeps arbitrary pages from driving a conversation with a stolen token.
    if !same_origin_or_absent(&req)? {
        return error(
            ErrorCode::OriginNotAllowed,
            "conversation sockets are only opened from Confab's own pages",
        );
    }
    // An agent's cookie opens the conversation as that agent, if the account is still active.
    let peer = match session(&req, env)? {
        Some(_) => {
            let staff = staff_or_answer!(&req, env, Role::Agent);
            crate::conversation::Peer::Agent {
                site: staff.site.id,
                id: staff.agent.id,
                name: staff.agent.name,
                epoch: staff.agent.session_epoch,
            }
        }
        None => crate::conversation::Peer::Contact,
    };
    crate::conversation::forward_socket(env, interaction, &peer, &req).await
}

/// `POST /api/v1/agent/session`: sign in with email and password; sets the session cookie.
async fn sign_in(mut req: Request, env: &Env) -> Result<Response> {
    let sign_in: SignIn = match json_body(&mut req).await {
        Ok(s) => s,
        Err(e) => return api_error(e),
    };
    // Attempts are limited per email and address, per email and per address, and counted before the password
    // is looked at: parallel guesses cannot slip through, and a refusal tells nothing, not even by timing.
    let email = normalize_email(&sign_in.email);
    let ip = limiter::client_ip(&req);
    let buckets = [
        (Guarded::SignInPerEmailAndAddress, format!("{email} {ip}")),
        (Guarded::SignInPerEmail, email.clone()),
        (Guarded::SignInPerAddress, ip),
    ];
    for (guarded, key) in &buckets {
        if let Err(wait) = limiter::ask(env, *guarded, key, true).await? {
            return limiter::too_many(wait, "too many sign-in attempts");
        }
    }
    let agent = directory::agent_by_email(env, &email).await?;
    // Hash even when the email is unknown, so the answer's timing does not tell which emails exist.
    let verified = match &agent {
        Some(found) => found.agent.password.matches(&sign_in.password).await?,
        None => {
            auth::pbkdf2(&sign_in.password, b"confab-no-such-agent", auth::PBKDF2_ROUNDS).await?;
            false
        }
    };
    let Some(found) = agent.filter(|_| verified) else {
        return error(ErrorCode::BadCredentials, "wrong email or password");
    };
    if !found.agent.active {
        return error(ErrorCode::Unauthorized, "this account is deactivated: ask your site's admin");
    }
    admin::signed_in(env, &found.site, &found.agent)
}

fn sign_out() -> Result<Response> {
    let resp = Response::empty()?.with_status(204);
    resp.headers().set("set-cookie", &auth::clear_session_cookie())?;
    Ok(resp)
}

/// `GET /api/v1/agent/me`: the signed-in agent with its current role, or `unauthorized`.
async fn me(req: &Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(req, env, Role::Agent);
    Response::from_json(&AgentProfile {
        id: staff.agent.id,
        name: staff.agent.name,
        site: staff.site.id,
        role: staff.agent.role,
    })
}

/// `GET /api/v1/site`: the signed-in agent's site and its rules (disposition codes, queues, timers).
async fn site_view(req: &Request, env: &Env) -> Result<Response> {
    let site = staff_or_answer!(req, env, Role::Agent).site;
    Response::from_json(&SiteView {
        site: site.id,
        name: site.name,
        rules: site.rules,
        standard_responses: site.standard_responses,
    })
}

/// `GET /api/v1/desk/socket`: the signed-in agent's live view of its site.
async fn desk_socket(req: Request, env: &Env) -> Result<Response> {
    if !is_websocket_upgrade(&req)? {
        return error(ErrorCode::BadRequest, "this route only accepts a WebSocket upgrade");
    }
    if !same_origin_or_absent(&req)? {
        return error(ErrorCode::OriginNotAllowed, "the desk socket is only opened from the agent desktop");
    }
    let staff = staff_or_answer!(&req, env, Role::Agent);
    crate::desk::forward_socket(env, &staff.site.id, &staff.agent, &req).await
}

/// `GET /widget/frame?site=...`: the page inside the widget's iframe. Its `frame-ancestors` lists the site's
/// allowed origins, so only those pages can embed it.
async fn widget_frame(req: &Request, env: &Env) -> Result<Response> {
    let site_id = crate::http::query(req, "site")?.unwrap_or_default();
    let Some(site) = directory::site(env, &site_id).await? else {
        return Response::error("Unknown site: check the data-site attribute of the Confab script tag.", 404);
    };
    let ancestors: Vec<&str> =
        site.allowed_origins.iter().map(String::as_str).filter(|o| is_plain_origin(o)).collect();
    // The settings travel inside the page, so the widget draws itself in the site's colours and words at
    // once. `<` is escaped so no text in them can close the script element.
    let settings = serde_json::to_string(&site.widget_settings())?.replace('<', "\\u003c");
    let html = include_str!("widget_frame.html").replace("{{SETTINGS}}", &settings);
    let resp = Response::from_html(html)?;
    let headers: &Headers = resp.headers();
    headers.set(
        "content-security-policy",
        &format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'self' {}",
            ancestors.join(" ")
        ),
    )?;
    headers.set("cache-control", "no-cache")?;
    headers.set("referrer-policy", "no-referrer")?;
    Ok(resp)
}

/// Adds CORS headers for `req`'s origin if it is one of the site's allowed origins (the loader on the site's
/// pages); any other origin gets none, so browsers refuse it the answer.
async fn with_site_cors(req: &Request, env: &Env, site: &str, resp: Response) -> Result<Response> {
    match directory::site(env, site).await? {
        Some(site) => cors_for(req, &site, resp),
        None => Ok(resp),
    }
}

/// [`with_site_cors`] for a site already read (one Directory call per request, not two).
fn cors_for(req: &Request, site: &StoredSite, resp: Response) -> Result<Response> {
    let Some(origin) = req.headers().get("origin")? else { return Ok(resp) };
    if site.allowed_origins.contains(&origin) {
        let headers = resp.headers();
        headers.set("access-control-allow-origin", &origin)?;
        headers.set("access-control-allow-headers", "authorization")?;
        headers.set("access-control-allow-methods", "GET")?;
        headers.set("access-control-max-age", "600")?;
        headers.set("vary", "origin")?;
    }
    Ok(resp)
}

pub(crate) fn session(req: &Request, env: &Env) -> Result<Option<AgentSession>> {
    let cookie = req.headers().get("cookie")?;
    Ok(AgentSession::from_cookie_header(&auth::signing_secret(env)?, cookie.as_deref(), now_ms()))
}

fn is_websocket_upgrade(req: &Request) -> Result<bool> {
    Ok(req.headers().get("upgrade")?.is_some_and(|v| v.eq_ignore_ascii_case("websocket")))
}

fn own_origin(req: &Request) -> Result<String> {
    Ok(req.url()?.origin().ascii_serialization())
}

/// Browsers always send `Origin` on these requests; a client without one is not a web page and is judged by
/// its credentials alone.
fn same_origin_or_absent(req: &Request) -> Result<bool> {
    Ok(match req.headers().get("origin")? {
        None => true,
        Some(origin) => origin == own_origin(req)?,
    })
}

fn origin_allowed(req: &Request, site: &StoredSite) -> Result<bool> {
    Ok(match req.headers().get("origin")? {
        None => true,
        Some(origin) => origin == own_origin(req)? || site.allowed_origins.contains(&origin),
    })
}

/// A path segment percent-decoded (contact ids of verified users hold `@`, `+`, spaces...). Only for ids
/// that are looked up, never for storage keys.
fn decoded(segment: &str) -> String {
    js_sys::decode_uri_component(segment).map(String::from).unwrap_or_else(|_| segment.to_owned())
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Re-issues `req` to a Durable Object at `path`, keeping its headers (the WebSocket upgrade among them).
pub(crate) fn forward(req: &Request, path: &str) -> Result<Request> {
    let mut init = RequestInit::new();
    init.with_method(worker::Method::Get);
    init.with_headers(req.headers().clone());
    Request::new_with_init(&format!("https://do.internal{path}"), &init)
}
