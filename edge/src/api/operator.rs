//! The operator's routes, guarded by the deployment's setup token (`CONFAB_ADMIN_TOKEN`): the whole-site
//! `PUT` and `GET` for automation, and the first-run setup of a new site from the sign-in page. Each call
//! counts against its address's limit, whatever its token; a token shorter than 32 bytes keeps them shut.

use super::caller::Call;
use super::session::signed_in;
use super::sites::{changed_meanwhile, email_in_use, email_taken, publish};
use crate::platform::config;
use crate::platform::crypto::PasswordHash;
use crate::platform::http::{self, Answer, HttpError, MAX_SITE_BODY_BYTES, json, json_body, json_body_up_to};
use crate::rpc::directory::{self, StoredAgent, StoredSite};
use crate::rpc::limiter::{self, Guarded};
use confab_protocol::admin::{FirstRun, SessionEnded};
use confab_protocol::api::{SiteRules, SiteSetup, SiteStored};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::SiteId;
use confab_protocol::validate;
use confab_protocol::widget::WidgetSettings;
use worker::{Env, Request};

/// Counts the call against its address's limit, and answers the deployment's setup token.
async fn setup_token(req: &Request, env: &Env) -> Result<String, HttpError> {
    if let Err(wait) = limiter::take(env, Guarded::SetupPerAddress, &http::client_address(req)).await? {
        return Err(HttpError::too_many(wait, "too many calls of the setup routes from this address"));
    }
    match config::setup_token(env) {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(HttpError::new(ErrorCode::Unauthorized, "this deployment has no CONFAB_ADMIN_TOKEN")),
        Err(problem) => Err(HttpError::new(ErrorCode::Misconfigured, problem)),
    }
}

/// Lets the operator (the bearer of the setup token) through.
async fn operator(req: &Request, (caller, env): Call<'_>) -> Result<(), HttpError> {
    if caller.is_operator(&setup_token(req, env).await?) {
        Ok(())
    } else {
        Err(HttpError::new(ErrorCode::Unauthorized, "this needs the admin token (Authorization: Bearer ...)"))
    }
}

fn site_id(site: &str) -> Result<SiteId, HttpError> {
    match validate::slug(site) {
        Ok(site) => Ok(SiteId(site.to_owned())),
        Err(_) => {
            Err(HttpError::new(ErrorCode::BadRequest, "site ids are 1-40 characters of a-z, 0-9 and '-'"))
        }
    }
}

fn stored(site: &StoredSite) -> SiteStored {
    SiteStored { site: site.id.clone(), agents: site.agents.len(), revision: site.revision }
}

/// `GET /api/v1/admin/sites/{site}`: the site's revision and number of accounts (admin token).
pub(super) async fn operator_site(req: &Request, call: Call<'_>, site: &str) -> Answer {
    operator(req, call).await?;
    match directory::site(call.1, site_id(site)?.as_str()).await? {
        Some(site) => json(&stored(&site)),
        None => Err(HttpError::new(ErrorCode::NotFound, format!("there is no site {site:?}"))),
    }
}

/// The revision a whole-site `PUT` writes over: 0 to create a site that does not exist; to replace one, the
/// revision it is at now, as the request's `If-Match` names it. Creating never replaces.
fn revision_to_write_over(
    req: &Request,
    site: &SiteId,
    previous: Option<&StoredSite>,
) -> Result<u64, HttpError> {
    let if_match = req.headers().get("if-match")?;
    let named = match if_match.as_deref().map(|v| v.trim().trim_matches('"').parse::<u64>()) {
        None => None,
        Some(Ok(revision)) => Some(revision),
        Some(Err(_)) => {
            return Err(HttpError::new(
                ErrorCode::BadRequest,
                "If-Match names the site's revision: a number",
            ));
        }
    };
    match (previous, named) {
        (None, None) => Ok(0),
        (None, Some(_)) => {
            Err(HttpError::new(ErrorCode::NotFound, format!("there is no site {:?} to replace", site.0)))
        }
        (Some(now), None) => Err(HttpError::new(
            ErrorCode::Conflict,
            format!(
                "there is already a site {:?} (revision {}): a PUT creates sites; to replace this one, send it with If-Match: {}",
                site.0, now.revision, now.revision
            ),
        )),
        (Some(now), Some(named)) if now.revision != named => Err(HttpError::new(
            ErrorCode::Conflict,
            format!("site {:?} is at revision {}, not {named}: nothing was replaced", site.0, now.revision),
        )),
        (Some(_), Some(named)) => Ok(named),
    }
}

/// `PUT /api/v1/admin/sites/{site}`: the operator creates a site and its accounts (admin token); with
/// `If-Match: <revision>`, replaces it. Replacing sets every account's password again, so it ends every
/// session of the site.
pub(super) async fn put_site(mut req: Request, call: Call<'_>, site: &str) -> Answer {
    operator(&req, call).await?;
    let env = call.1;
    let site_id = site_id(site)?;
    let setup: SiteSetup = json_body_up_to(&mut req, MAX_SITE_BODY_BYTES).await?;
    setup.widget.check().map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
    let previous = directory::site(env, site_id.as_str()).await?;
    let revision = revision_to_write_over(&req, &site_id, previous.as_ref())?;
    // The same rules as an admin's new accounts (characters, not bytes; one account per email).
    let accounts = setup.accounts().map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
    let mut agents = Vec::with_capacity(accounts.len());
    for (account, given) in accounts.iter().zip(&setup.agents) {
        // An email signs in to one account: the operator cannot take over another site's.
        if directory::agent_by_email(env, &account.email).await?.is_some_and(|found| found.site != site_id) {
            let taken = format!("agent {:?}: this email already signs in to another site", account.id.0);
            return Err(HttpError::new(ErrorCode::Conflict, taken));
        }
        let mut agent = StoredAgent::new(account, PasswordHash::new(&given.password).await?);
        if let Some(before) = previous.as_ref().and_then(|p| p.agent(account.id.as_str())) {
            agent.session_epoch = before.session_epoch;
            agent.end_sessions(SessionEnded::PasswordChanged);
        }
        agents.push(agent);
    }
    let mut site = StoredSite {
        id: site_id,
        name: setup.name,
        allowed_origins: setup.allowed_origins,
        agents,
        rules: setup.rules,
        identity: setup.identity,
        widget: setup.widget,
        standard_responses: setup.standard_responses,
        revision,
    };
    if !publish(env, &mut site).await? {
        return Err(changed_meanwhile());
    }
    json(&stored(&site))
}

/// `POST /api/v1/setup`: the first-run flow: a new site and its first admin, signed in at once.
pub(super) async fn first_run(mut req: Request, env: &Env) -> Answer {
    let token = setup_token(&req, env).await?;
    let run: FirstRun = json_body(&mut req).await?;
    if !http::constant_time_eq(run.setup_token.as_bytes(), token.as_bytes()) {
        return Err(HttpError::new(
            ErrorCode::Unauthorized,
            "the setup token is wrong (it is the CONFAB_ADMIN_TOKEN this deployment was given)",
        ));
    }
    let account = run.admin().map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
    if directory::site(env, run.site.as_str()).await?.is_some() {
        let taken = format!("there is already a site {:?}: choose another id", run.site.0);
        return Err(HttpError::new(ErrorCode::Conflict, taken));
    }
    if email_taken(env, &account.email, None).await? {
        return Err(email_in_use());
    }
    let admin = StoredAgent::new(&account, PasswordHash::new(&run.password).await?);
    let mut site = StoredSite {
        id: run.site.clone(),
        name: run.site_name.trim().to_owned(),
        allowed_origins: Vec::new(),
        agents: vec![admin.clone()],
        rules: SiteRules::default(),
        identity: None,
        widget: WidgetSettings::default(),
        standard_responses: Vec::new(),
        // Revision 0: stored only if no site with this id appeared since the check above.
        revision: 0,
    };
    if !publish(env, &mut site).await? {
        return Err(changed_meanwhile());
    }
    Ok(signed_in(env, &site.id, &admin)?.with_status(201))
}
