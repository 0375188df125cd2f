//! Contact history: for agents (asynchronous chat), the site's contacts, a contact's conversations with
//! their transcripts, keyword search across them, and transcript export; for a returning contact, its own
//! conversations. Every agent route only ever reads the agent's own site.

use super::caller::Call;
use super::widget;
use crate::platform::crypto;
use crate::platform::http::{self, Answer, HttpError, json, now_ms};
use crate::rpc::{conversation, desk};
use confab_protocol::admin::Role;
use confab_protocol::api::{ContactHistory, ContactSession};
use confab_protocol::frames::ErrorCode;
use confab_protocol::history;
use confab_protocol::ids::{ContactId, InteractionId, SiteId};
use worker::{Request, Response};

/// Most hits a search answers.
const SEARCH_LIMIT: usize = 200;

/// `GET /api/v1/contacts?q=`: the agent's site's contacts, most recent first, filtered by name.
pub(super) async fn contacts(req: &Request, (caller, env): Call<'_>) -> Answer {
    let site = &caller.staff(Role::Agent)?.site.id;
    let filter = http::query(req, "q")?.unwrap_or_default();
    json(&desk::contacts(env, site, filter).await?)
}

/// `GET /api/v1/contacts/{contact}/history?q=`: every conversation with the contact, oldest first, each with
/// its transcript; with `q`, also the matching messages with highlight ranges.
pub(super) async fn contact_history(req: &Request, (caller, env): Call<'_>, contact: &str) -> Answer {
    let site = &caller.staff(Role::Agent)?.site.id;
    let ids = desk::contact_conversations(env, site, contact).await?;
    if ids.is_empty() {
        return Err(HttpError::new(
            ErrorCode::NotFound,
            format!("there is no contact {contact:?} on this site"),
        ));
    }
    let mut conversations = Vec::with_capacity(ids.len());
    for id in ids {
        // Listed by this site's desk, so it is this site's; checked again all the same.
        if let Some(t) = conversation::transcript(env, id).await?
            && t.site == *site
        {
            conversations.push(t.transcript);
        }
    }
    let hits = http::query(req, "q")?.filter(|q| !q.trim().is_empty()).map(|q| {
        history::search(
            conversations.iter().map(|c| (c.interaction, c.messages.as_slice())),
            &q,
            SEARCH_LIMIT,
        )
    });
    json(&ContactHistory { contact: ContactId(contact.to_owned()), conversations, hits })
}

/// `GET /api/v1/sites/{site}/contact` with `Authorization: Bearer <contact token>`: the contact's own
/// conversations on the site, so a returning widget finds them. CORS for the site's allowed origins (the
/// loader asks from the host page), refusals included, so the loader can read why.
pub(super) async fn contact_session(req: &Request, (caller, env): Call<'_>, site: &str) -> Answer {
    let site_id = SiteId(site.to_owned());
    let answer = match caller.contact_of(env, &site_id).await {
        Err(refusal) => refusal.into_response()?,
        Ok(claim) => {
            let conversations = desk::contact_conversations(env, &site_id, claim.contact.as_str()).await?;
            let mut unread = 0;
            for id in &conversations {
                unread += conversation::unread(env, *id).await?;
            }
            // In use: the loader keeps the renewed token.
            let contact_token = Some(crypto::contact_token(caller.secret(), &claim.renewed(now_ms())));
            let contact = claim.contact;
            Response::from_json(&ContactSession { contact, conversations, unread, contact_token })?
        }
    };
    Ok(widget::with_site_cors(req, env, site, answer).await?)
}

/// `GET /api/v1/chats/{interaction}/transcript?format=json|text`: one conversation, for an agent of its site.
pub(super) async fn transcript(req: &Request, (caller, env): Call<'_>, interaction: &str) -> Answer {
    let site = &caller.staff(Role::Agent)?.site.id;
    let not_found = || HttpError::new(ErrorCode::NotFound, "there is no such conversation");
    let id = interaction.parse::<InteractionId>().map_err(|_| not_found())?;
    let t = conversation::transcript(env, id).await?.filter(|t| t.site == *site).ok_or_else(not_found)?;
    if http::query(req, "format")?.as_deref() != Some("text") {
        return json(&t.transcript);
    }
    let resp = Response::ok(history::transcript_text(&t.transcript))?;
    resp.headers().set("content-type", "text/plain; charset=utf-8")?;
    resp.headers().set(
        "content-disposition",
        &format!("attachment; filename=\"{}\"", history::transcript_file_name(t.transcript.interaction)),
    )?;
    Ok(resp)
}
