//! The Conversation: one per interaction, named by its GUID, and the messages it takes.

use crate::rpc::{Envelope, Message, Namespace, call};
use confab_protocol::api::ConversationTranscript;
use confab_protocol::ids::{AgentId, ContactId, InteractionId, SiteId};
use confab_protocol::lifecycle::LifecycleRules;
use confab_protocol::routing::DeskEffect;
use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response, Result};

/// What a conversation is asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", content = "body", rename_all = "kebab-case")]
pub(crate) enum ConversationMessage {
    /// Create it (idempotent) and list it on its site's desk.
    Init(Meta),
    /// A routing decision about it, from its desk's outbox.
    Desk(DeskEffect),
    /// Close an agent's sockets on it, telling the agent why: all of them, or (`keep_epoch`) all but those
    /// opened by a session of that epoch, begun after the access of the others ended.
    SignOutAgent { agent: AgentId, keep_epoch: Option<u32>, reason: String },
    /// Delete everything it stores; answers `false` if it is open.
    Erase,
    /// A file was uploaded to it (kept until a message sends it, or deleted); answers `false` if there is
    /// no such conversation.
    FileUploaded { id: String },
    /// Agent messages its contact has not read; answers `u32`.
    Unread,
    /// Its site and contact; answers `Option<(SiteId, ContactId)>`.
    Whose,
    /// Its whole transcript; answers `Option<Transcript>`.
    Transcript,
}

impl Message for ConversationMessage {
    const NAMESPACE: Namespace = Namespace::Conversation;
}

/// Who is on a socket. Set by the Worker from the session cookie (agents) or left to `hello` (contacts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Peer {
    Contact,
    /// `epoch`: the account's session epoch when the socket opened (see `auth::AgentSession::epoch`).
    Agent {
        site: SiteId,
        id: AgentId,
        name: String,
        #[serde(default)]
        epoch: u32,
    },
}

/// What the conversation knows about itself; written once by `init`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) interaction: InteractionId,
    pub(crate) site: SiteId,
    pub(crate) contact: ContactId,
    pub(crate) contact_label: String,
    /// From the pre-chat form or the site's identity, for agents to follow up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) contact_email: Option<String>,
    pub(crate) started_at: i64,
    #[serde(default)]
    pub(crate) rules: LifecycleRules,
}

/// A transcript with whose it is, for the Worker's access check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Transcript {
    pub(crate) site: SiteId,
    pub(crate) contact: ContactId,
    pub(crate) transcript: ConversationTranscript,
}

impl Peer {
    /// Who is on the socket `req` opens, as [`open_socket`] said.
    pub(crate) fn of(req: &Request) -> Result<Option<Peer>> {
        Ok(crate::platform::http::query(req, "peer")?.and_then(|v| serde_json::from_str(&v).ok()))
    }
}

/// The outbox message that tells conversation `interaction` of a desk decision.
pub(crate) fn envelope(interaction: InteractionId, effect: &DeskEffect) -> Result<Envelope> {
    Envelope::new(&interaction.to_string(), &ConversationMessage::Desk(effect.clone()))
}

/// The site and contact of `interaction`, or `None` if there is no such conversation.
pub(crate) async fn whose(env: &Env, interaction: InteractionId) -> Result<Option<(SiteId, ContactId)>> {
    call(env, &interaction.to_string(), &ConversationMessage::Whose).await
}

/// The transcript of `interaction`, or `None` if there is no such conversation.
pub(crate) async fn transcript(env: &Env, interaction: InteractionId) -> Result<Option<Transcript>> {
    call(env, &interaction.to_string(), &ConversationMessage::Transcript).await
}

/// Agent messages of `interaction` its contact has not read.
pub(crate) async fn unread(env: &Env, interaction: InteractionId) -> Result<u32> {
    call(env, &interaction.to_string(), &ConversationMessage::Unread).await
}

/// Tells conversation `interaction` of a file uploaded to it, which it deletes unless a message sends it in
/// time. `false` if it is not there (erased meanwhile): the file must not be kept then.
pub(crate) async fn file_uploaded(env: &Env, interaction: InteractionId, id: &str) -> Result<bool> {
    call(env, &interaction.to_string(), &ConversationMessage::FileUploaded { id: id.to_owned() }).await
}

/// Deletes everything the conversation stores (not its attachments). `false` if it refused because it is
/// open (queued, offered, active or parked).
pub(crate) async fn erase(env: &Env, interaction: InteractionId) -> Result<bool> {
    call(env, &interaction.to_string(), &ConversationMessage::Erase).await
}

/// The outbox message that closes `agent`'s sockets on conversation `interaction` (but those of a session
/// of `keep_epoch`), telling it why: its access ended, so it must not go on reading the chat.
pub(crate) fn sign_out_envelope(
    interaction: InteractionId,
    agent: &AgentId,
    keep_epoch: Option<u32>,
    reason: &str,
) -> Result<Envelope> {
    let message =
        ConversationMessage::SignOutAgent { agent: agent.clone(), keep_epoch, reason: reason.to_owned() };
    Envelope::new(&interaction.to_string(), &message)
}

/// Creates the conversation (idempotent) and lists it on its site's desk.
pub(crate) async fn init(env: &Env, meta: &Meta) -> Result<()> {
    call::<_, serde_json::Value>(env, &meta.interaction.to_string(), &ConversationMessage::Init(meta.clone()))
        .await
        .map(|_| ())
}

/// Hands a WebSocket upgrade to the conversation, telling it who the peer is.
pub(crate) async fn open_socket(
    env: &Env,
    interaction: InteractionId,
    peer: &Peer,
    req: &Request,
) -> Result<Response> {
    let peer = serde_json::to_string(peer)?;
    crate::rpc::open_socket(env, Namespace::Conversation, &interaction.to_string(), &[("peer", &peer)], req)
        .await
}
