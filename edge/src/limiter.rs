//! The `Limiter` Durable Object: one per rate-limited key (an email's sign-in attempts, an address's sign-ins
//! or chat starts), holding that key's bucket (`confab_protocol::limits`). One object per key keeps
//! every check a single local read, with no shared hot spot.

use crate::http::{call, internal_request, now_ms, stub};
use confab_protocol::api::ApiError;
use confab_protocol::frames::ErrorCode;
use confab_protocol::limits::{self, Limit};
use std::cell::Cell;
use worker::{DurableObject, Env, Method, Request, Response, Result, State, durable_object};

/// What is limited, and by which rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Guarded {
    SignInPerEmailAndAddress,
    SignInPerEmail,
    SignInPerAddress,
    ChatStartsPerIp,
    /// Per conversation: its contact's uploads.
    ContactUploads,
}

impl Guarded {
    fn name(self) -> &'static str {
        match self {
            Guarded::SignInPerEmailAndAddress => "sign-in-email-ip",
            Guarded::SignInPerEmail => "sign-in-email",
            Guarded::SignInPerAddress => "sign-in-ip",
            Guarded::ChatStartsPerIp => "chat-ip",
            Guarded::ContactUploads => "contact-uploads",
        }
    }

    fn limit(self, env: &Env) -> Limit {
        match self {
            Guarded::SignInPerEmailAndAddress => limits::SIGN_IN_PER_EMAIL_AND_ADDRESS,
            Guarded::SignInPerEmail => limits::SIGN_IN_PER_EMAIL,
            Guarded::SignInPerAddress => limits::SIGN_IN_PER_ADDRESS,
            Guarded::ChatStartsPerIp => {
                configured(env, "CONFAB_LIMIT_CHAT_STARTS_PER_ADDRESS", limits::CHAT_STARTS_PER_IP)
            }
            Guarded::ContactUploads => limits::CONTACT_UPLOADS,
        }
    }

    fn from_name(name: &str) -> Option<Guarded> {
        [
            Guarded::SignInPerEmailAndAddress,
            Guarded::SignInPerEmail,
            Guarded::SignInPerAddress,
            Guarded::ChatStartsPerIp,
            Guarded::ContactUploads,
        ]
        .into_iter()
        .find(|g| g.name() == name)
    }
}

/// A limit the deployment may set (a `BURST/EVERY_MS` variable, e.g. for a site whose contacts are
/// integrations, or for load tests), or `default`. An unreadable one never gets here: the router refuses
/// to serve until it is fixed (`limits::deployment_problems`). The sign-in limits are not configurable.
pub(crate) fn configured(env: &Env, variable: &str, default: Limit) -> Limit {
    env.var(variable).ok().and_then(|v| Limit::parse(&v.to_string())).unwrap_or(default)
}

/// The caller's address as Cloudflare (or `wrangler dev`) reports it.
pub(crate) fn client_ip(req: &Request) -> String {
    req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".into())
}

/// Takes one action of `guarded` for `key` (`take`), or only checks that one would be allowed. `Err` holds
/// the milliseconds to wait.
pub(crate) async fn ask(
    env: &Env,
    guarded: Guarded,
    key: &str,
    take: bool,
) -> Result<std::result::Result<(), i64>> {
    let op = if take { "take" } else { "check" };
    let req = internal_request(Method::Post, &format!("/{op}?limit={}", guarded.name()), None::<&()>)?;
    let name = format!("{}:{key}", guarded.name());
    Ok(match call::<i64>(&stub(env, "LIMITER", &name)?, req).await? {
        Ok(wait) if wait > 0 => Err(wait),
        Ok(_) => Ok(()),
        // A limiter that cannot answer must not lock everyone out.
        Err(_) => Ok(()),
    })
}

/// `429 too_many_requests` with `Retry-After`.
pub(crate) fn too_many(wait_ms: i64, what: &str) -> Result<Response> {
    let secs = limits::retry_after_secs(wait_ms);
    let body = ApiError::new(ErrorCode::TooManyRequests, format!("{what}: try again in {secs} s"));
    let resp = Response::from_json(&body)?.with_status(429);
    resp.headers().set("retry-after", &secs.to_string())?;
    Ok(resp)
}

#[durable_object]
pub struct Limiter {
    state: State,
    env: Env,
    /// The bucket's state (see `Limit::take`); loaded from storage on first use.
    due: Cell<Option<i64>>,
}

impl DurableObject for Limiter {
    fn new(state: State, env: Env) -> Self {
        Limiter { state, env, due: Cell::new(None) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let Some(guarded) = crate::http::query(&req, "limit")?.as_deref().and_then(Guarded::from_name) else {
            return Response::error("unknown limit", 404);
        };
        let mut due = match self.due.get() {
            Some(due) => due,
            None => self.state.storage().get::<i64>("due").await.ok().flatten().unwrap_or(0),
        };
        let now = now_ms();
        let limit = guarded.limit(&self.env);
        let wait = match req.path().as_str() {
            "/check" => limit.allows(due, now).err().unwrap_or(0),
            "/take" => match limit.take(&mut due, now) {
                Ok(()) => {
                    // Kept in storage too: failures minutes apart must add up even if the object was evicted.
                    self.state.storage().put("due", due).await?;
                    0
                }
                Err(wait) => wait,
            },
            _ => return Response::error("unknown limiter operation", 404),
        };
        self.due.set(Some(due));
        Response::from_json(&wait)
    }
}
