//! The deployment's settings: secrets (production: `wrangler secret put`) and plain variables (`wrangler dev`
//! with `--env-file`, tests). `confab_protocol::limits::deployment_problems` says which values are wrong; the
//! router refuses to serve while any is.

use confab_protocol::limits::{self, Limit};
use worker::{Env, Error, Result};

/// A deployment setting: a secret, or else a plain variable.
pub(crate) fn variable(env: &Env, name: &str) -> Option<String> {
    env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).ok()
}

/// What is wrong with the deployment's settings (empty when it can serve).
pub(crate) fn problems(env: &Env) -> Vec<String> {
    limits::deployment_problems(|name| variable(env, name))
}

/// The server-side secret every token is signed with (`CONFAB_SECRET`).
pub(crate) fn signing_secret(env: &Env) -> Result<String> {
    variable(env, "CONFAB_SECRET").ok_or_else(|| Error::RustError("CONFAB_SECRET is not configured".into()))
}

/// The deployment's setup token (`CONFAB_ADMIN_TOKEN`): `Ok(None)` when there is none; `Err`, saying what to
/// fix, when it is too short to guard the operator's routes.
pub(crate) fn setup_token(env: &Env) -> std::result::Result<Option<String>, String> {
    match variable(env, "CONFAB_ADMIN_TOKEN").filter(|t| !t.is_empty()) {
        Some(token) => limits::setup_token_problem(&token).map_or(Ok(Some(token)), Err),
        None => Ok(None),
    }
}

/// A limit the deployment may set (a `BURST/EVERY_MS` variable, e.g. for a site whose contacts are
/// integrations, or for load tests), or `default`. An unreadable one never gets here: the router refuses
/// to serve until it is fixed.
pub(crate) fn limit(env: &Env, variable: &str, default: Limit) -> Limit {
    env.var(variable).ok().and_then(|v| Limit::parse(&v.to_string())).unwrap_or(default)
}

/// How long an uploaded file waits for the message that sends it before it is deleted
/// (`CONFAB_UNSENT_FILES_KEPT_MS`, a day unless set).
pub(crate) fn unsent_files_kept_ms(env: &Env) -> i64 {
    variable(env, limits::UNSENT_FILES_KEPT_VARIABLE)
        .and_then(|v| limits::parse_kept_ms(&v))
        .unwrap_or(limits::UNSENT_FILES_KEPT_MS)
}
