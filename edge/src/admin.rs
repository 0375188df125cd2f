//! Site administration and supervision over HTTP: who is signed in with which role, the first-run setup, the
//! admin's settings and accounts, interaction records and erasing a contact's data. The rules themselves
//! (what a valid setting is, what each role may do) are in `confab_protocol::admin`.

use crate::auth::{self, AgentSession, PasswordHash};
use crate::directory::{self, StoredAgent, StoredSite, WriteMode, Written};
use crate::http::{
    api_error, call, error, internal_request, json_body, json_body_up_to, now_ms, query, stub,
};
use confab_protocol::admin::{
    self, AgentChanges, FirstRun, IdentitySecret, NewAgent, Role, SessionEnded, SiteSettings,
};
use confab_protocol::api::{AgentProfile, IdentityRules, RecordQuery, RecordSummary, SiteRules};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::{AgentId, SiteId};
use confab_protocol::widget::WidgetSettings;
use worker::{Env, Method, Request, Response, Result};

/// A signed-in, active account, with its site as stored now (so a role change or deactivation applies to
/// the very next request, whatever the session cookie says).
pub(crate) struct Staff {
    pub(crate) site: StoredSite,
    pub(crate) agent: StoredAgent,
}

/// The account behind `req`'s session cookie if it is active and its role is at least `need`; otherwise the
/// error answer to give (`unauthorized` when not signed in or deactivated, `forbidden` for a lesser role).
pub(crate) async fn staff(
    req: &Request,
    env: &Env,
    need: Role,
) -> Result<std::result::Result<Staff, Response>> {
    let Some(session) = crate::routes::session(req, env)? else {
        return Ok(Err(error(ErrorCode::Unauthorized, "sign in first")?));
    };
    let Some(site) = directory::site(env, &session.site).await? else {
        return Ok(Err(error(ErrorCode::Unauthorized, "your site no longer exists")?));
    };
    let agent = site.agent(&session.id).cloned();
    let held = admin::session_holds(agent.as_ref().map(StoredAgent::now), session.epoch);
    let (Ok(()), Some(agent)) = (held, agent) else {
        let ended = held.err().unwrap_or(SessionEnded::Deactivated);
        return Ok(Err(error(ErrorCode::Unauthorized, ended.reason())?));
    };
    if agent.role < need {
        return Ok(Err(error(
            ErrorCode::Forbidden,
            format!("this needs the {} role; you are signed in as {}", need.as_str(), agent.role.as_str()),
        )?));
    }
    Ok(Ok(Staff { site, agent }))
}

/// Whether `agent` of `site` is still active with the session epoch `epoch` (a socket opened by a session of
/// that epoch may still act).
pub(crate) async fn still_signed_in(env: &Env, site: &SiteId, agent: &AgentId, epoch: u32) -> Result<bool> {
    let account = directory::site(env, site.as_str())
        .await?
        .and_then(|site| site.agent(agent.as_str()).map(StoredAgent::now));
    Ok(admin::session_holds(account, epoch).is_ok())
}

impl Staff {
    /// Who is asking, as the session-based routes name it.
    pub(crate) fn agent_session(&self) -> AgentSession {
        AgentSession {
            site: self.site.id.0.clone(),
            id: self.agent.id.0.clone(),
            name: self.agent.name.clone(),
            exp: 0,
            epoch: self.agent.session_epoch,
        }
    }
}

/// Stores a site changed from what was read (`site.revision`), and tells its desk, so every change applies
/// at once without a restart. `false`: someone wrote the site since it was read, and nothing was stored
/// (answer with [`changed_meanwhile`]).
pub(crate) async fn publish(env: &Env, site: &mut StoredSite) -> Result<bool> {
    store(env, site, WriteMode::Change).await
}

/// Stores a site whatever is stored (the first run, the operator's whole-site `PUT`), and tells its desk.
pub(crate) async fn publish_replacing(env: &Env, site: &mut StoredSite) -> Result<()> {
    store(env, site, WriteMode::Replace).await.map(|_| ())
}

async fn store(env: &Env, site: &mut StoredSite, mode: WriteMode) -> Result<bool> {
    match directory::put_site(env, site, mode).await? {
        Written::Stored(revision) => site.revision = revision,
        Written::Stale => return Ok(false),
    }
    crate::desk::configure(env, &site.id, &site.desk_config()).await?;
    Ok(true)
}

/// The answer when two changes to a site crossed: the later one is refused rather than undoing the other.
fn changed_meanwhile() -> Result<Response> {
    error(
        ErrorCode::Conflict,
        "someone else changed this site at the same moment: nothing was saved, try again",
    )
}

/// Whether `email` already signs in to an account other than `except` (on any site).
async fn email_taken(env: &Env, email: &str, except: Option<(&SiteId, &AgentId)>) -> Result<bool> {
    Ok(match directory::agent_by_email(env, email).await? {
        Some(found) => except != Some((&found.site, &found.agent.id)),
        None => false,
    })
}

/// The signed-in profile, with the session cookie to set.
pub(crate) fn signed_in(env: &Env, site: &SiteId, agent: &StoredAgent) -> Result<Response> {
    let session = AgentSession {
        site: site.0.clone(),
        id: agent.id.0.clone(),
        name: agent.name.clone(),
        exp: now_ms() + auth::SESSION_MS,
        epoch: agent.session_epoch,
    };
    let profile =
        AgentProfile { id: agent.id.clone(), name: agent.name.clone(), site: site.clone(), role: agent.role };
    let resp = Response::from_json(&profile)?;
    resp.headers().set("set-cookie", &session.cookie(&auth::signing_secret(env)?))?;
    Ok(resp)
}

/// The deployment's setup token (`CONFAB_ADMIN_TOKEN`), if it is configured.
pub(crate) fn setup_token(env: &Env) -> Option<String> {
    crate::http::deployment_variable(env, "CONFAB_ADMIN_TOKEN").filter(|t| !t.is_empty())
}

/// `POST /api/v1/setup`: the first-run flow: a new site and its first admin, signed in at once.
pub(crate) async fn first_run(mut req: Request, env: &Env) -> Result<Response> {
    let run: FirstRun = match json_body(&mut req).await {
        Ok(run) => run,
        Err(e) => return api_error(e),
    };
    let token_ok = setup_token(env)
        .is_some_and(|token| crate::routes::constant_time_eq(run.setup_token.as_bytes(), token.as_bytes()));
    if !token_ok {
        return error(
            ErrorCode::Unauthorized,
            "the setup token is wrong (it is the CONFAB_ADMIN_TOKEN this deployment was given)",
        );
    }
    let account = match run.admin() {
        Ok(account) => account,
        Err(problem) => return error(ErrorCode::BadRequest, problem),
    };
    if directory::site(env, run.site.as_str()).await?.is_some() {
        return error(
            ErrorCode::Conflict,
            format!("there is already a site {:?}: choose another id", run.site.0),
        );
    }
    if email_taken(env, &account.email, None).await? {
        return error(ErrorCode::Conflict, "this email already signs in to Confab: use another");
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
        return changed_meanwhile();
    }
    Ok(signed_in(env, &site.id, &admin)?.with_status(201))
}

macro_rules! staff_or_answer {
    ($req:expr, $env:expr, $role:expr) => {
        $crate::admin::staff_or_answer!($req, $env, $role, std::convert::identity)
    };
    // `$wrap` turns the answer into what the function returns inside its `Ok`.
    ($req:expr, $env:expr, $role:expr, $wrap:expr) => {
        match $crate::admin::staff($req, $env, $role).await? {
            Ok(staff) => staff,
            Err(answer) => return Ok($wrap(answer)),
        }
    };
}
pub(crate) use staff_or_answer;

/// `GET /api/v1/admin/site`: the admin's site, its settings and accounts.
pub(crate) async fn get_site(req: &Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(req, env, Role::Admin);
    Response::from_json(&staff.site.admin_view())
}

/// How many times a change is made again when other changes keep landing between its read and its write.
const ATTEMPTS: usize = 5;

/// Lets `change` change the admin's site as `staff` read it (or give the answer instead), and stores it. When
/// another change was stored in between, the Directory refuses the write, and the site is read again and the
/// change made again on it as it is now: changes made at the same moment all land, and none undoes another.
async fn change_site(
    req: &Request,
    env: &Env,
    staff: Staff,
    mut change: impl AsyncFnMut(&Staff, &mut StoredSite) -> Result<Option<Response>>,
) -> Result<std::result::Result<StoredSite, Response>> {
    let mut staff = staff;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            staff = staff_or_answer!(req, env, Role::Admin, Err);
        }
        let mut site = staff.site.clone();
        if let Some(answer) = change(&staff, &mut site).await? {
            return Ok(Err(answer));
        }
        if publish(env, &mut site).await? {
            return Ok(Ok(site));
        }
    }
    Ok(Err(changed_meanwhile()?))
}

/// `PUT /api/v1/admin/site`: replaces the site's settings (checked as a whole; the error names the field).
pub(crate) async fn put_settings(mut req: Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(&req, env, Role::Admin);
    let settings: SiteSettings = match json_body_up_to(&mut req, crate::http::MAX_SITE_BODY_BYTES).await {
        Ok(settings) => settings,
        Err(e) => return api_error(e),
    };
    let changed = change_site(&req, env, staff, async |_, site| {
        if let Err(problem) = settings.check(site.identity.is_some()) {
            return error(ErrorCode::BadRequest, problem).map(Some);
        }
        if !settings.still_current(&site.settings()) {
            return error(ErrorCode::Conflict, admin::SETTINGS_CHANGED).map(Some);
        }
        site.apply_settings(settings.clone());
        Ok(None)
    })
    .await?;
    match changed {
        Ok(site) => Response::from_json(&site.admin_view()),
        Err(answer) => Ok(answer),
    }
}

/// `POST /api/v1/admin/site/identity-secret`: a new identity verification secret, shown in this answer only.
/// The old one stops verifying at once.
pub(crate) async fn rotate_identity_secret(req: &Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(req, env, Role::Admin);
    let secret: String = auth::random_bytes::<32>()?.iter().map(|b| format!("{b:02x}")).collect();
    let changed = change_site(req, env, staff, async |_, site| {
        let required = site.identity.as_ref().is_some_and(|i| i.required);
        site.identity = Some(IdentityRules { secret: secret.clone(), required });
        Ok(None)
    })
    .await?;
    match changed {
        Ok(_) => Response::from_json(&IdentitySecret { secret }),
        Err(answer) => Ok(answer),
    }
}

/// `DELETE /api/v1/admin/site/identity-secret`: stop verifying identities (and stop requiring them).
pub(crate) async fn remove_identity_secret(req: &Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(req, env, Role::Admin);
    let changed = change_site(req, env, staff, async |_, site| {
        site.identity = None;
        Ok(None)
    })
    .await?;
    match changed {
        Ok(site) => Response::from_json(&site.admin_view()),
        Err(answer) => Ok(answer),
    }
}

/// `POST /api/v1/admin/agents`: a new account on the admin's site.
pub(crate) async fn create_agent(mut req: Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(&req, env, Role::Admin);
    let new: NewAgent = match json_body(&mut req).await {
        Ok(new) => new,
        Err(e) => return api_error(e),
    };
    let account = match new.account() {
        Ok(account) => account,
        Err(problem) => return error(ErrorCode::BadRequest, problem),
    };
    if email_taken(env, &account.email, None).await? {
        return error(ErrorCode::Conflict, "this email already signs in to Confab: use another");
    }
    let agent = StoredAgent::new(&account, PasswordHash::new(&new.password).await?);
    let changed = change_site(&req, env, staff, async |_, site| {
        if site.agent(account.id.as_str()).is_some() {
            let taken = format!("there is already an account {:?} on this site", account.id.0);
            return error(ErrorCode::Conflict, taken).map(Some);
        }
        site.agents.push(agent.clone());
        Ok(None)
    })
    .await?;
    match changed {
        Ok(_) => Ok(Response::from_json(&account)?.with_status(201)),
        Err(answer) => Ok(answer),
    }
}

/// `PATCH /api/v1/admin/agents/{agent}`: changes an account (role, capacity, queues, active, password, ...).
pub(crate) async fn update_agent(mut req: Request, env: &Env, id: &str) -> Result<Response> {
    let staff = staff_or_answer!(&req, env, Role::Admin);
    let changes: AgentChanges = match json_body(&mut req).await {
        Ok(changes) => changes,
        Err(e) => return api_error(e),
    };
    let password = match &changes.password {
        Some(password) => Some(PasswordHash::new(password).await?),
        None => None,
    };
    let mut changed_account = None;
    let changed = change_site(&req, env, staff, async |staff, site| {
        let Some(index) = site.agents.iter().position(|a| a.id.as_str() == id) else {
            return error(ErrorCode::NotFound, format!("there is no account {id:?} on this site")).map(Some);
        };
        let mut account = site.agents[index].account();
        if let Err(problem) = account.apply(&changes, &staff.agent.id) {
            return error(ErrorCode::BadRequest, problem).map(Some);
        }
        if account.email != site.agents[index].email
            && email_taken(env, &account.email, Some((&site.id, &account.id))).await?
        {
            return error(ErrorCode::Conflict, "this email already signs in to Confab: use another")
                .map(Some);
        }
        let agent = &mut site.agents[index];
        agent.apply_account(&account);
        if let Some(password) = &password {
            agent.set_password(password.clone());
        }
        changed_account = Some(account);
        Ok(None)
    })
    .await?;
    match (changed, changed_account) {
        (Ok(_), Some(account)) => Response::from_json(&account),
        (Err(answer), _) => Ok(answer),
        (Ok(_), None) => error(ErrorCode::Internal, "the account was not changed"),
    }
}

/// `GET /api/v1/records?from=&to=&agent=&code=&q=`: completed interactions of the site, newest first.
pub(crate) async fn records(req: &Request, env: &Env) -> Result<Response> {
    let staff = staff_or_answer!(req, env, Role::Supervisor);
    let number = |name: &str| -> Result<std::result::Result<Option<i64>, String>> {
        Ok(match query(req, name)?.filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => {
                v.parse().map(Some).map_err(|_| format!("{name} must be milliseconds since 1970, not {v:?}"))
            }
        })
    };
    let (from, to, limit) = match (number("from")?, number("to")?, number("limit")?) {
        (Ok(from), Ok(to), Ok(limit)) => (from, to, limit),
        (Err(problem), ..) | (_, Err(problem), _) | (.., Err(problem)) => {
            return error(ErrorCode::BadRequest, problem);
        }
    };
    let text =
        |name: &str| -> Result<Option<String>> { Ok(query(req, name)?.filter(|v| !v.trim().is_empty())) };
    let record_query = RecordQuery {
        from,
        to,
        agent: text("agent")?.map(AgentId),
        code: text("code")?,
        text: text("q")?,
        limit: limit.map(|l| l.clamp(1, i64::from(RecordQuery::MAX_LIMIT)) as u32),
    };
    let request = internal_request(Method::Post, "/records", Some(&record_query))?;
    match call::<Vec<RecordSummary>>(&stub(env, "DESK", staff.site.id.as_str())?, request).await? {
        Ok(list) => Response::from_json(&list),
        Err(_) => error(ErrorCode::Internal, "the records could not be searched"),
    }
}

/// `DELETE /api/v1/contacts/{contact}`: deletes everything stored about a contact on the admin's site (its
/// conversations, their messages, events, records and attachments). Refused while one of its chats is open.
pub(crate) async fn erase_contact(req: &Request, env: &Env, contact: &str) -> Result<Response> {
    let site = staff_or_answer!(req, env, Role::Admin).site;
    let desk = stub(env, "DESK", site.id.as_str())?;
    let mut url = worker::Url::parse("https://do.internal/contact-erasure")?;
    url.query_pairs_mut().append_pair("contact", contact);
    let path_and_query = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let request = internal_request(Method::Get, &path_and_query, None::<&()>)?;
    let Ok(erasure) = call::<crate::desk::ContactErasure>(&desk, request).await? else {
        return error(ErrorCode::Internal, "the contact's conversations could not be listed");
    };
    if erasure.interactions.is_empty() {
        return error(ErrorCode::NotFound, format!("there is no contact {contact:?} on this site"));
    }
    if erasure.open > 0 {
        return error(
            ErrorCode::NotAllowedNow,
            format!("{} of this contact's chats are still open: end them first", erasure.open),
        );
    }
    let mut files = 0;
    for id in &erasure.interactions {
        // The conversation refuses if the contact reopened it meanwhile: nothing of it is deleted then.
        if !crate::conversation::erase(env, *id).await? {
            return error(
                ErrorCode::NotAllowedNow,
                "one of this contact's chats was reopened: end it, then try again",
            );
        }
        files += crate::attachments::erase(env, site.id.as_str(), *id).await?;
    }
    let forget = path_and_query.replace("/contact-erasure", "/forget-contact");
    if call::<serde_json::Value>(&desk, internal_request(Method::Post, &forget, None::<&()>)?).await?.is_err()
    {
        return error(ErrorCode::Internal, "the contact's list entries could not be deleted; try again");
    }
    Response::from_json(&serde_json::json!({
        "contact": contact,
        "conversations": erasure.interactions.len(),
        "files": files,
    }))
}
