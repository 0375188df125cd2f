//! Writing a site from the API: every change is stored against the revision it was read at, and tells the
//! site's desk, so it applies at once.

use super::caller::{Call, Staff};
use crate::platform::http::HttpError;
use crate::rpc::desk;
use crate::rpc::directory::{self, StoredSite, Written};
use confab_protocol::admin::Role;
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::{AgentId, SiteId};
use worker::{Env, Result};

/// Stores a site changed from what was read (`site.revision`; 0 creates one), and tells its desk, so every
/// change applies at once without a restart. `false`: someone wrote the site since it was read, and nothing
/// was stored (answer with [`changed_meanwhile`]).
pub(super) async fn publish(env: &Env, site: &mut StoredSite) -> Result<bool> {
    match directory::put_site(env, site).await? {
        Written::Stored(revision) => site.revision = revision,
        Written::Stale => return Ok(false),
    }
    desk::configure(env, &site.id, &site.desk_config()).await?;
    Ok(true)
}

/// The refusal when two changes to a site crossed: the later one is refused rather than undoing the other.
pub(super) fn changed_meanwhile() -> HttpError {
    HttpError::new(
        ErrorCode::Conflict,
        "someone else changed this site at the same moment: nothing was saved, try again",
    )
}

/// How many times a change is made again when other changes keep landing between its read and its write.
const ATTEMPTS: usize = 5;

/// Lets `change` change the caller's site (its account needs at least `need`) as it read it (or refuse), and
/// stores it. When another change was stored in between, the Directory refuses the write, and the site is
/// read again and the change made again on it as it is now: changes made at the same moment all land, and
/// none undoes another.
pub(super) async fn change_site(
    (caller, env): Call<'_>,
    need: Role,
    mut change: impl AsyncFnMut(&Staff, &mut StoredSite) -> std::result::Result<(), HttpError>,
) -> std::result::Result<StoredSite, HttpError> {
    let mut staff = caller.staff(need)?.clone();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            staff = caller.staff_read_again(env, need).await??;
        }
        let mut site = staff.site.clone();
        change(&staff, &mut site).await?;
        if publish(env, &mut site).await? {
            return Ok(site);
        }
    }
    Err(changed_meanwhile())
}

/// The refusal of an email that another account signs in with.
pub(super) fn email_in_use() -> HttpError {
    HttpError::new(ErrorCode::Conflict, "this email already signs in to Confab: use another")
}

/// Whether `email` already signs in to an account other than `except` (on any site).
pub(super) async fn email_taken(env: &Env, email: &str, except: Option<(&SiteId, &AgentId)>) -> Result<bool> {
    Ok(match directory::agent_by_email(env, email).await? {
        Some(found) => except != Some((&found.site, &found.agent.id)),
        None => false,
    })
}
