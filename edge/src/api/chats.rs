//! Conversations from the outside: a contact starts one, contacts and agents open its socket.

use super::caller::{Call, Caller};
use super::origin::{allowed_for_site, same_origin_or_absent};
use crate::platform::crypto;
use crate::platform::http::{self, Answer, HttpError, now_ms, optional_json_body};
use crate::rpc::conversation::{self, Meta, Peer};
use crate::rpc::desk;
use crate::rpc::directory::{self, StoredSite};
use crate::rpc::limiter::{self, Guarded};
use confab_protocol::admin::Role;
use confab_protocol::api::{ChatStarted, StartChat};
use confab_protocol::contact::{self, ContactClaim};
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::{ContactId, InteractionId};
use confab_protocol::widget;
use worker::{Request, Response};

/// `POST /api/v1/sites/{site}/chats`: a contact starts a conversation; answers its id and contact token.
pub(super) async fn start_chat(mut req: Request, (caller, env): Call<'_>, site: &str) -> Answer {
    let Some(site) = directory::site(env, site).await? else {
        return Err(HttpError::new(ErrorCode::NotFound, format!("there is no site {site:?}")));
    };
    if !allowed_for_site(&req, &site)? {
        return Err(HttpError::new(
            ErrorCode::OriginNotAllowed,
            "this page's origin may not start chats for this site",
        ));
    }
    if let Err(wait) = limiter::take(env, Guarded::ChatStartsPerIp, &http::client_address(&req)).await? {
        return Err(HttpError::too_many(wait, "too many new chats from this address"));
    }
    // An empty body is a chat with nothing asked first.
    let start: StartChat = optional_json_body(&mut req).await?;
    let contact = who_starts(caller, &site, &start)?;
    // The pre-chat form, checked again here.
    let details = site
        .widget
        .contact_details(start.name.as_deref(), start.email.as_deref(), start.identity.is_some())
        .map_err(|problem| {
            HttpError::new(ErrorCode::BadRequest, format!("the pre-chat form is not complete: {problem}"))
        })?;
    let name = details.name.or_else(|| start.identity.as_ref().and_then(|i| i.name.clone()));
    let email = details
        .email
        .or_else(|| start.identity.as_ref().and_then(|i| i.email.clone()))
        .map(|e| contact::capped_email(&e));
    if email.as_deref().is_some_and(|e| !widget::is_plausible_email(e)) {
        return Err(HttpError::new(
            ErrorCode::BadRequest,
            "identity.email does not look like an email address",
        ));
    }
    let meta = Meta {
        interaction: InteractionId(
            uuid::Builder::from_random_bytes(crypto::random_bytes::<16>()?).into_uuid(),
        ),
        site: site.id.clone(),
        contact_label: contact::label(name.as_deref(), email.as_deref(), &contact),
        contact: contact.clone(),
        contact_email: email,
        started_at: now_ms(),
        rules: site.rules.lifecycle.clone(),
    };
    if !desk::takes_another_chat(env, &site.id, site.rules.max_waiting_chats).await? {
        return Err(HttpError::new(
            ErrorCode::QueueFull,
            "every agent is busy and the queue is full: please try again in a few minutes",
        ));
    }
    conversation::init(env, &meta).await?;
    let claim = ContactClaim::new(site.id.as_str(), contact.clone(), now_ms(), site.identity_generation());
    let contact_token = crypto::contact_token(caller.secret(), &claim);
    Ok(Response::from_json(&ChatStarted { interaction: meta.interaction, contact_token })?.with_status(201))
}

/// Who starts a chat: a user the site vouches for (the same contact in every browser), a returning contact
/// (its token: all its conversations form one history), or a new visitor.
fn who_starts(caller: &Caller, site: &StoredSite, start: &StartChat) -> Result<ContactId, HttpError> {
    match (&start.identity, &site.identity) {
        (Some(identity), Some(rules)) => {
            if !crypto::identity_signature_valid(&rules.secret, &identity.user_id, &identity.signature) {
                return Err(HttpError::new(
                    ErrorCode::Unauthorized,
                    "the identity's signature does not match: sign user_id with the site's identity secret",
                ));
            }
            contact::verified_user(&identity.user_id)
                .map_err(|problem| HttpError::new(ErrorCode::BadRequest, problem))
        }
        (Some(_), None) => Err(HttpError::new(
            ErrorCode::BadRequest,
            "this site does not verify identities: set its identity secret first",
        )),
        (None, Some(rules)) if rules.required => {
            Err(HttpError::new(ErrorCode::Unauthorized, "this site only takes chats from signed-in users"))
        }
        (None, _) => match start.contact_token.as_deref() {
            Some(token) => {
                let refused = |why: &str| HttpError::new(ErrorCode::Unauthorized, why);
                let claim = crypto::contact_claim(caller.secret(), token)
                    .ok_or_else(|| refused("this contact token is not valid for this site"))?;
                site.admits(&claim, now_ms()).map_err(|why| refused(why.reason()))?;
                Ok(claim.contact)
            }
            None => Ok(contact::new_visitor(crypto::random_bytes::<16>()?)),
        },
    }
}

/// `GET /api/v1/chats/{interaction}/socket`: the conversation's WebSocket, for its contact (who proves it in
/// `hello`) or for a signed-in agent of its site (known from the session cookie).
pub(super) async fn socket(req: Request, (caller, env): Call<'_>, interaction: &str) -> Answer {
    if !http::is_websocket_upgrade(&req) {
        return Err(HttpError::new(ErrorCode::BadRequest, "this route only accepts a WebSocket upgrade"));
    }
    let Ok(interaction) = interaction.parse::<InteractionId>() else {
        return Err(HttpError::new(ErrorCode::NotFound, "there is no such conversation"));
    };
    // Sockets come from the widget frame or the agent desktop, both served from this origin. Refusing other
    // origins keeps arbitrary pages from driving a conversation with a stolen token.
    if !same_origin_or_absent(&req)? {
        return Err(HttpError::new(
            ErrorCode::OriginNotAllowed,
            "conversation sockets are only opened from Confab's own pages",
        ));
    }
    // An agent's cookie opens the conversation as that agent, if the account is still active.
    let peer = if caller.has_session() {
        let staff = caller.staff(Role::Agent)?;
        Peer::Agent {
            site: staff.site.id.clone(),
            id: staff.agent.id.clone(),
            name: staff.agent.name.clone(),
            epoch: staff.agent.session_epoch,
        }
    } else {
        Peer::Contact
    };
    Ok(conversation::open_socket(env, interaction, &peer, &req).await?)
}
