//! Site administration and supervision over HTTP: the admin's settings and accounts, interaction records and
//! erasing a contact's data. The rules themselves
//! (what a valid setting is, what each role may do) are in `confab_protocol::admin`.

use super::caller::Call;
use super::sites::{change_site, email_in_use, email_taken};
use crate::platform::crypto::{self, PasswordHash};
use crate::platform::files;
use crate::platform::http::{Answer, HttpError, MAX_SITE_BODY_BYTES, json, json_body, json_body_up_to};
use crate::rpc::conversation;
use crate::rpc::desk;
use crate::rpc::directory::StoredAgent;
use confab_protocol::admin::{self, AgentChanges, IdentitySecret, NewAgent, Role, SiteSettings};
use confab_protocol::api::{ContactErased, IdentityRules, RecordQuery};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::ContactId;
use worker::{Request, Response};

/// `GET /api/v1/admin/site`: the admin's site, its settings and accounts.
pub(super) fn get_site((caller, _): Call<'_>) -> Answer {
    json(&caller.staff(Role::Admin)?.site.admin_view())
}

/// `PUT /api/v1/admin/site`: replaces the site's settings (checked as a whole; the error names the field).
pub(super) async fn put_settings(mut req: Request, call: Call<'_>) -> Answer {
    call.0.staff(Role::Admin)?;
    let settings: SiteSettings = json_body_up_to(&mut req, MAX_SITE_BODY_BYTES).await?;
    let site = change_site(call, Role::Admin, async |_, site| {
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
    change_site(call, Role::Admin, async |_, site| {
        let required = site.identity.as_ref().is_some_and(|i| i.required);
        site.identity = Some(IdentityRules { secret: secret.clone(), required });
        Ok(())
    })
    .await?;
    json(&IdentitySecret { secret })
}

/// `DELETE /api/v1/admin/site/identity-secret`: stop verifying identities (and stop requiring them).
pub(super) async fn remove_identity_secret(call: Call<'_>) -> Answer {
    let site = change_site(call, Role::Admin, async |_, site| {
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
    change_site(call, Role::Admin, async |_, site| {
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
    change_site(call, Role::Admin, async |staff, site| {
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
