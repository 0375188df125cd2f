//! Site administration and supervision over HTTP: the operator's whole-site setup, the first-run setup, the
//! admin's settings and accounts, interaction records and erasing a contact's data. The rules themselves
//! (what a valid setting is, what each role may do) are in `confab_protocol::admin`.

use super::caller::Call;
use super::caller::Staff;
use super::session::signed_in;
use crate::platform::crypto::{self, PasswordHash};
use crate::platform::files;
use crate::platform::http::{self, Answer, HttpError, MAX_SITE_BODY_BYTES, json, json_body, json_body_up_to};
use crate::rpc::conversation;
use crate::rpc::desk;
use crate::rpc::directory::{self, StoredAgent, StoredSite, WriteMode, Written};
use confab_protocol::admin::{self, AgentChanges, FirstRun, IdentitySecret, NewAgent, Role, SiteSettings};
use confab_protocol::api::{ContactErased, IdentityRules, RecordQuery, SiteRules, SiteSetup, SiteStored};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::{AgentId, ContactId, SiteId};
use confab_protocol::validate;
use confab_protocol::widget::WidgetSettings;
use worker::{Env, Request, Response, Result};

/// `PUT /api/v1/admin/sites/{site}`: create or replace a site and its agents. Needs the admin token.
pub(super) async fn put_site(mut req: Request, (caller, env): Call<'_>, site: &str) -> Answer {
    if !caller.is_operator(env) {
        return Err(HttpError::new(
            ErrorCode::Unauthorized,
            "this needs the admin token (Authorization: Bearer ...)",
        ));
    }
    if validate::slug(site).is_err() {
        return Err(HttpError::new(
            ErrorCode::BadRequest,
            "site ids are 1-40 characters of a-z, 0-9 and '-'",
        ));
    }
    let setup: SiteSetup = json_body_up_to(&mut req, MAX_SITE_BODY_BYTES).await?;
    setup.widget.check().map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
    // Replacing a site keeps its agents' sessions (their epochs): passwords are changed, and sessions ended,
    // through the admin API.
    let previous = directory::site(env, site).await?;
    let site_id = SiteId(site.to_owned());
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
        agent.session_epoch =
            previous.as_ref().and_then(|p| p.agent(account.id.as_str())).map_or(0, |a| a.session_epoch);
        agents.push(agent);
    }
    let mut stored = StoredSite {
        id: site_id,
        name: setup.name,
        allowed_origins: setup.allowed_origins,
        agents,
        rules: setup.rules,
        identity: setup.identity,
        widget: setup.widget,
        standard_responses: setup.standard_responses,
        revision: 0,
    };
    publish_replacing(env, &mut stored).await?;
    json(&SiteStored { site: stored.id.clone(), agents: stored.agents.len() })
}

/// Stores a site changed from what was read (`site.revision`), and tells its desk, so every change applies
/// at once without a restart. `false`: someone wrote the site since it was read, and nothing was stored
/// (answer with [`changed_meanwhile`]).
async fn publish(env: &Env, site: &mut StoredSite) -> Result<bool> {
    store(env, site, WriteMode::Change).await
}

/// Stores a site whatever is stored (the first run, the operator's whole-site `PUT`), and tells its desk.
async fn publish_replacing(env: &Env, site: &mut StoredSite) -> Result<()> {
    store(env, site, WriteMode::Replace).await.map(|_| ())
}

async fn store(env: &Env, site: &mut StoredSite, mode: WriteMode) -> Result<bool> {
    match directory::put_site(env, site, mode).await? {
        Written::Stored(revision) => site.revision = revision,
        Written::Stale => return Ok(false),
    }
    desk::configure(env, &site.id, &site.desk_config()).await?;
    Ok(true)
}

/// The refusal when two changes to a site crossed: the later one is refused rather than undoing the other.
fn changed_meanwhile() -> HttpError {
    HttpError::new(
        ErrorCode::Conflict,
        "someone else changed this site at the same moment: nothing was saved, try again",
    )
}

/// The refusal of an email that another account signs in with.
fn email_in_use() -> HttpError {
    HttpError::new(ErrorCode::Conflict, "this email already signs in to Confab: use another")
}

/// Whether `email` already signs in to an account other than `except` (on any site).
async fn email_taken(env: &Env, email: &str, except: Option<(&SiteId, &AgentId)>) -> Result<bool> {
    Ok(match directory::agent_by_email(env, email).await? {
        Some(found) => except != Some((&found.site, &found.agent.id)),
        None => false,
    })
}

/// `POST /api/v1/setup`: the first-run flow: a new site and its first admin, signed in at once.
pub(super) async fn first_run(mut req: Request, env: &Env) -> Answer {
    let run: FirstRun = json_body(&mut req).await?;
    let token_ok = crate::platform::config::setup_token(env)
        .is_some_and(|token| http::constant_time_eq(run.setup_token.as_bytes(), token.as_bytes()));
    if !token_ok {
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

/// `GET /api/v1/admin/site`: the admin's site, its settings and accounts.
pub(super) fn get_site((caller, _): Call<'_>) -> Answer {
    json(&caller.staff(Role::Admin)?.site.admin_view())
}

/// How many times a change is made again when other changes keep landing between its read and its write.
const ATTEMPTS: usize = 5;

/// Lets `change` change the admin's site as the caller's account read it (or refuse), and stores it. When
/// another change was stored in between, the Directory refuses the write, and the site is read again and the
/// change made again on it as it is now: changes made at the same moment all land, and none undoes another.
async fn change_site(
    (caller, env): Call<'_>,
    mut change: impl AsyncFnMut(&Staff, &mut StoredSite) -> std::result::Result<(), HttpError>,
) -> std::result::Result<StoredSite, HttpError> {
    let mut staff = caller.staff(Role::Admin)?.clone();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            staff = caller.staff_read_again(env, Role::Admin).await??;
        }
        let mut site = staff.site.clone();
        change(&staff, &mut site).await?;
        if publish(env, &mut site).await? {
            return Ok(site);
        }
    }
    Err(changed_meanwhile())
}

/// `PUT /api/v1/admin/site`: replaces the site's settings (checked as a whole; the error names the field).
pub(super) async fn put_settings(mut req: Request, call: Call<'_>) -> Answer {
    call.0.staff(Role::Admin)?;
    let settings: SiteSettings = json_body_up_to(&mut req, MAX_SITE_BODY_BYTES).await?;
    let site = change_site(call, async |_, site| {
        settings
            .check(site.identity.is_some())
            .map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
        if !settings.still_current(&site.settings()) {
            return Err(HttpError::new(ErrorCode::Conflict, admin::SETTINGS_CHANGED));
        }
        site.apply_settings(settings.clone());
        Ok(())
    })
    .await?;
    json(&site.admin_view())
}

/// `POST /api/v1/admin/site/identity-secret`: a new identity verification secret, shown in this answer only.
/// The old one stops verifying at once.
pub(super) async fn rotate_identity_secret(call: Call<'_>) -> Answer {
    call.0.staff(Role::Admin)?;
    let secret: String = crypto::random_bytes::<32>()?.iter().map(|b| format!("{b:02x}")).collect();
    change_site(call, async |_, site| {
        let required = site.identity.as_ref().is_some_and(|i| i.required);
        site.identity = Some(IdentityRules { secret: secret.clone(), required });
        Ok(())
    })
    .await?;
    json(&IdentitySecret { secret })
}

/// `DELETE /api/v1/admin/site/identity-secret`: stop verifying identities (and stop requiring them).
pub(super) async fn remove_identity_secret(call: Call<'_>) -> Answer {
    let site = change_site(call, async |_, site| {
        site.identity = None;
        Ok(())
    })
    .await?;
    json(&site.admin_view())
}

/// `POST /api/v1/admin/agents`: a new account on the admin's site.
pub(super) async fn create_agent(mut req: Request, call: Call<'_>) -> Answer {
    call.0.staff(Role::Admin)?;
    let new: NewAgent = json_body(&mut req).await?;
    let account = new.account().map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
    if email_taken(call.1, &account.email, None).await? {
        return Err(email_in_use());
    }
    let agent = StoredAgent::new(&account, PasswordHash::new(&new.password).await?);
    change_site(call, async |_, site| {
        if site.agent(account.id.as_str()).is_some() {
            let taken = format!("there is already an account {:?} on this site", account.id.0);
            return Err(HttpError::new(ErrorCode::Conflict, taken));
        }
        site.agents.push(agent.clone());
        Ok(())
    })
    .await?;
    Ok(Response::from_json(&account)?.with_status(201))
}

/// `PATCH /api/v1/admin/agents/{agent}`: changes an account (role, capacity, queues, active, password, ...).
pub(super) async fn update_agent(mut req: Request, call: Call<'_>, id: &str) -> Answer {
    call.0.staff(Role::Admin)?;
    let changes: AgentChanges = json_body(&mut req).await?;
    let password = match &changes.password {
        Some(password) => Some(PasswordHash::new(password).await?),
        None => None,
    };
    let env = call.1;
    let mut changed_account = None;
    change_site(call, async |staff, site| {
        let Some(index) = site.agents.iter().position(|a| a.id.as_str() == id) else {
            return Err(HttpError::new(
                ErrorCode::NotFound,
                format!("there is no account {id:?} on this site"),
            ));
        };
        let mut account = site.agents[index].account();
        account
            .apply(&changes, &staff.agent.id)
            .map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
        if account.email != site.agents[index].email
            && email_taken(env, &account.email, Some((&site.id, &account.id))).await?
        {
            return Err(email_in_use());
        }
        let agent = &mut site.agents[index];
        agent.apply_account(&account);
        if let Some(password) = &password {
            agent.set_password(password.clone());
        }
        changed_account = Some(account);
        Ok(())
    })
    .await?;
    match changed_account {
        Some(account) => json(&account),
        None => Err(HttpError::new(ErrorCode::Internal, "the account was not changed")),
    }
}

/// `GET /api/v1/records?from=&to=&agent=&code=&q=`: completed interactions of the site, newest first.
pub(super) async fn records(req: &Request, (caller, env): Call<'_>) -> Answer {
    let staff = caller.staff(Role::Supervisor)?;
    let pairs: Vec<(String, String)> =
        req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let record_query =
        RecordQuery::from_params(param).map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))?;
    json(&desk::records(env, &staff.site.id, record_query).await?)
}

/// `DELETE /api/v1/contacts/{contact}`: deletes everything stored about a contact on the admin's site (its
/// conversations, their messages, events, records and attachments). Refused while one of its chats is open.
pub(super) async fn erase_contact((caller, env): Call<'_>, contact: &str) -> Answer {
    let site = &caller.staff(Role::Admin)?.site;
    let erasure = desk::contact_erasure(env, &site.id, contact).await?;
    if erasure.interactions.is_empty() {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!("there is no contact {contact:?} on this site"),
        ));
    }
    if erasure.open > 0 {
        return Err(HttpError::new(
            ErrorCode::NotAllowedNow,
            format!("{} of this contact's chats are still open: end them first", erasure.open),
        ));
    }
    let mut erased_files = 0;
    for id in &erasure.interactions {
        // The conversation refuses if the contact reopened it meanwhile: nothing of it is deleted then.
        if !conversation::erase(env, *id).await? {
            return Err(HttpError::new(
                ErrorCode::NotAllowedNow,
                "one of this contact's chats was reopened: end it, then try again",
            ));
        }
        erased_files += files::erase_conversation(env, &site.id, *id).await?;
    }
    desk::forget_contact(env, &site.id, contact).await?;
    json(&ContactErased {
        contact: ContactId(contact.to_owned()),
        conversations: erasure.interactions.len(),
        files: erased_files,
    })
}
