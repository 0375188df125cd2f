//! Contact history for agents (asynchronous chat): the site's contacts, a contact's conversations with their
//! transcripts, keyword search across them, and transcript export. Every route needs an agent session and
//! only ever reads the agent's own site.

use crate::admin::staff_or_answer;
use crate::http::{call, error, internal_request, query, stub};
use confab_protocol::admin::Role;
use confab_protocol::api::{ContactHistory, ContactSession, ContactSummary};
use confab_protocol::frames::{Author, ErrorCode};
use confab_protocol::history;
use confab_protocol::ids::{ContactId, InteractionId};
use worker::{Env, Method, Request, Response, Result};

/// Most hits a search answers.
const SEARCH_LIMIT: usize = 200;

/// `GET /api/v1/contacts?q=`: the agent's site's contacts, most recent first, filtered by name.
pub(crate) async fn contacts(req: &Request, env: &Env) -> Result<Response> {
    let agent = staff_or_answer!(req, env, Role::Agent).agent_session();
    let mut path = String::from("/contacts");
    if let Some(q) = query(req, "q")? {
        let mut url = worker::Url::parse("https://do.internal/contacts")?;
        url.query_pairs_mut().append_pair("q", &q);
        path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    }
    let request = internal_request(Method::Get, &path, None::<&()>)?;
    match call::<Vec<ContactSummary>>(&stub(env, "DESK", &agent.site)?, request).await? {
        Ok(list) => Response::from_json(&list),
        Err(_) => error(ErrorCode::Internal, "the contact list could not be read"),
    }
}

/// `GET /api/v1/contacts/{contact}/history?q=`: every conversation with the contact, oldest first, each with
/// its transcript; with `q`, also the matching messages with highlight ranges.
pub(crate) async fn contact_history(req: &Request, env: &Env, contact: &str) -> Result<Response> {
    let agent = staff_or_answer!(req, env, Role::Agent).agent_session();
    let Some(ids) = contact_conversations(env, &agent.site, contact).await? else {
        return error(ErrorCode::Internal, "the contact's conversations could not be listed");
    };
    if ids.is_empty() {
        return error(ErrorCode::NotFound, format!("there is no contact {contact:?} on this site"));
    }
    let mut conversations = Vec::with_capacity(ids.len());
    for id in ids {
        // Listed by this site's desk, so it is this site's; checked again all the same.
        if let Some(t) = crate::conversation::transcript(env, id).await?
            && t.site.0 == agent.site
        {
            conversations.push(t.transcript);
        }
    }
    let hits = query(req, "q")?.filter(|q| !q.trim().is_empty()).map(|q| {
        history::search(
            conversations.iter().map(|c| (c.interaction, c.messages.as_slice())),
            &q,
            SEARCH_LIMIT,
        )
    });
    Response::from_json(&ContactHistory { contact: ContactId(contact.to_owned()), conversations, hits })
}

/// `GET /api/v1/sites/{site}/contact` with `Authorization: Bearer <contact token>`: the contact's own
/// conversations on the site, so a returning widget finds them.
pub(crate) async fn contact_session(req: &Request, env: &Env, site: &str) -> Result<Response> {
    let token =
        req.headers().get("authorization")?.and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned));
    let secret = crate::auth::signing_secret(env)?;
    let Some(contact) = token.and_then(|t| crate::auth::token_contact(&secret, &t, site)) else {
        return error(ErrorCode::Unauthorized, "this needs the contact's token for this site");
    };
    let conversations = contact_conversations(env, site, &contact).await?.unwrap_or_default();
    let mut unread = 0;
    for id in &conversations {
        let request = internal_request(Method::Get, "/unread", None::<&()>)?;
        unread += call::<u32>(&stub(env, "CONVERSATION", &id.to_string())?, request).await?.unwrap_or(0);
    }
    Response::from_json(&ContactSession { contact: ContactId(contact), conversations, unread })
}

/// The conversations of `contact` on `site`, oldest first (`None` if the desk could not answer).
async fn contact_conversations(env: &Env, site: &str, contact: &str) -> Result<Option<Vec<InteractionId>>> {
    let mut url = worker::Url::parse("https://do.internal/contact-conversations")?;
    url.query_pairs_mut().append_pair("contact", contact);
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let request = internal_request(Method::Get, &path, None::<&()>)?;
    Ok(call::<Vec<InteractionId>>(&stub(env, "DESK", site)?, request).await?.ok())
}

/// `GET /api/v1/chats/{interaction}/transcript?format=json|text`: one conversation, for an agent of its site.
pub(crate) async fn transcript(req: &Request, env: &Env, interaction: &str) -> Result<Response> {
    let agent = staff_or_answer!(req, env, Role::Agent).agent_session();
    let Ok(id) = interaction.parse::<InteractionId>() else {
        return error(ErrorCode::NotFound, "there is no such conversation");
    };
    let Some(t) = crate::conversation::transcript(env, id).await?.filter(|t| t.site.0 == agent.site) else {
        return error(ErrorCode::NotFound, "there is no such conversation");
    };
    if query(req, "format")?.as_deref() != Some("text") {
        return Response::from_json(&t.transcript);
    }
    let mut text =
        format!("Conversation {} with {}\n\n", t.transcript.interaction, t.transcript.contact_label);
    for m in &t.transcript.messages {
        let who = match &m.author {
            Author::Contact => t.transcript.contact_label.clone(),
            Author::Agent { name, .. } => name.clone(),
            Author::Unknown => "?".to_owned(),
        };
        let at = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(m.at as f64)).to_iso_string();
        text.push_str(&format!("[{}] {who}: {}\n", String::from(at), m.text));
    }
    let resp = Response::ok(text)?;
    resp.headers().set("content-type", "text/plain; charset=utf-8")?;
    resp.headers().set(
        "content-disposition",
        &format!("attachment; filename=\"conversation-{}.txt\"", t.transcript.interaction),
    )?;
    Ok(resp)
}
