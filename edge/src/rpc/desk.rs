//! The Desk: one per site, the single writer of its routing, and the messages it takes.

use crate::rpc::{Envelope, Message, Namespace, call};
use confab_protocol::admin::{AccountNow, SessionEnded};
use confab_protocol::api::{ContactSummary, RecordQuery, RecordSummary};
use confab_protocol::frames::ConversationSummary;
use confab_protocol::ids::{AgentId, InteractionId, QueueId, SiteId};
use confab_protocol::lifecycle::DeskRequest;
use confab_protocol::routing::RoutingProfile;
use confab_protocol::supervision::SlaTargets;
use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response, Result};

/// What a site's Desk is asked. The first five come from conversations, through their outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", content = "body", rename_all = "kebab-case")]
pub(crate) enum DeskMessage {
    /// A conversation's routing request (enqueue, release, reclaim).
    Request(RoutingRequest),
    /// How a conversation looks in the agents' logs now.
    Conversation(ConversationSummary),
    /// A completed session, for the site's records.
    Record(RecordEntry),
    /// The contact answered an agent's follow-up.
    ContactAnswered(ContactAnswered),
    /// An agent opened its first socket on a conversation, or closed its last: when the account's access
    /// ends, the desk closes its sockets on every conversation it has them on.
    AgentSocket(AgentSocket),
    /// The site's routing settings and accounts changed.
    Configure(DeskConfig),
    /// Whether a new chat may start while this many wait at most; answers `bool`.
    TakesAnotherChat(u32),
    /// Answers `Vec<RecordSummary>`.
    Records(RecordQuery),
    /// The site's contacts whose label matches; answers `Vec<ContactSummary>`.
    Contacts(String),
    /// A contact's conversations, oldest first; answers `Vec<InteractionId>`.
    ContactConversations(String),
    /// What erasing a contact involves; answers [`ContactErasure`].
    ContactErasure(String),
    /// Forget a contact's list entries and records; answers how many conversations.
    ForgetContact(String),
}

impl Message for DeskMessage {
    const NAMESPACE: Namespace = Namespace::Desk;
}

/// The site's routing settings and agents, sent by the Worker when a site is set up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeskConfig {
    pub(crate) offer_timeout_ms: i64,
    pub(crate) queues: Vec<QueueId>,
    /// The site's active accounts. Agents the desk knows but this list lacks were deactivated: they are
    /// signed out and forgotten.
    pub(crate) agents: Vec<ConfiguredAgent>,
    #[serde(default)]
    pub(crate) sla: SlaTargets,
    /// The site's revision this configuration comes from: two changes stored at the same moment may
    /// configure the desk in either order, and the older one must not win.
    #[serde(default)]
    pub(crate) revision: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ConfiguredAgent {
    pub(crate) id: AgentId,
    pub(crate) name: String,
    pub(crate) profile: RoutingProfile,
    /// Its role lets it watch the live overview.
    #[serde(default)]
    pub(crate) supervises: bool,
    /// Sockets opened by a session of another epoch are closed (the password changed, or it signed out).
    #[serde(default)]
    pub(crate) session_epoch: u32,
    /// Why the epoch last moved on: what those sockets are told.
    #[serde(default)]
    pub(crate) earlier_sessions: SessionEnded,
}

impl ConfiguredAgent {
    /// The account as a socket opened earlier is checked against.
    pub(crate) fn now(&self) -> AccountNow {
        AccountNow {
            active: true,
            session_epoch: self.session_epoch,
            earlier_sessions: self.earlier_sessions,
            supervises: self.supervises,
        }
    }
}

/// A conversation's routing request, as the conversation sends it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoutingRequest {
    pub(crate) interaction: InteractionId,
    pub(crate) request: DeskRequest,
}

/// A completed interaction for the site's records, from its conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RecordEntry {
    pub(crate) summary: RecordSummary,
    /// The session's messages, for the text search.
    pub(crate) text: String,
}

/// What erasing a contact's data involves, or why not now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ContactErasure {
    pub(crate) interactions: Vec<InteractionId>,
    /// Conversations still queued, offered, active or parked: they must end first.
    pub(crate) open: u32,
}

/// From a conversation: the contact answered `agent`'s follow-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ContactAnswered {
    pub(crate) agent: AgentId,
    pub(crate) interaction: InteractionId,
    pub(crate) contact_label: String,
}

/// From a conversation: `agent` has sockets on it, opened by a session of `epoch` (`open`), or no longer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AgentSocket {
    pub(crate) interaction: InteractionId,
    pub(crate) agent: AgentId,
    pub(crate) epoch: u32,
    pub(crate) open: bool,
}

/// Who is on a desk socket, as the Worker tells the Desk when it hands over the upgrade.
pub(crate) struct DeskSocketPeer {
    pub(crate) agent: AgentId,
    pub(crate) epoch: u32,
    pub(crate) supervises: bool,
}

impl DeskSocketPeer {
    /// Who is on the socket `req` opens, as [`open_socket`] said.
    pub(crate) fn of(req: &Request) -> Result<Option<DeskSocketPeer>> {
        let Some(agent) = crate::platform::http::query(req, "agent")?.map(AgentId) else { return Ok(None) };
        let epoch = crate::platform::http::query(req, "epoch")?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let supervises = crate::platform::http::query(req, "supervisor")?.is_some_and(|v| v == "1");
        Ok(Some(DeskSocketPeer { agent, epoch, supervises }))
    }
}

/// The outbox message that tells the desk of `site` something.
pub(crate) fn envelope(site: &SiteId, message: &DeskMessage) -> Result<Envelope> {
    Envelope::new(site.as_str(), message)
}

pub(crate) async fn configure(env: &Env, site: &SiteId, config: &DeskConfig) -> Result<()> {
    call::<_, serde_json::Value>(env, site.as_str(), &DeskMessage::Configure(config.clone()))
        .await
        .map(|_| ())
}

/// Whether the site's queue has room for a new chat, with at most `max_waiting` waiting.
pub(crate) async fn takes_another_chat(env: &Env, site: &SiteId, max_waiting: u32) -> Result<bool> {
    call(env, site.as_str(), &DeskMessage::TakesAnotherChat(max_waiting)).await
}

pub(crate) async fn records(env: &Env, site: &SiteId, query: RecordQuery) -> Result<Vec<RecordSummary>> {
    call(env, site.as_str(), &DeskMessage::Records(query)).await
}

pub(crate) async fn contacts(env: &Env, site: &SiteId, filter: String) -> Result<Vec<ContactSummary>> {
    call(env, site.as_str(), &DeskMessage::Contacts(filter)).await
}

pub(crate) async fn contact_conversations(
    env: &Env,
    site: &SiteId,
    contact: &str,
) -> Result<Vec<InteractionId>> {
    call(env, site.as_str(), &DeskMessage::ContactConversations(contact.to_owned())).await
}

pub(crate) async fn contact_erasure(env: &Env, site: &SiteId, contact: &str) -> Result<ContactErasure> {
    call(env, site.as_str(), &DeskMessage::ContactErasure(contact.to_owned())).await
}

pub(crate) async fn forget_contact(env: &Env, site: &SiteId, contact: &str) -> Result<usize> {
    call(env, site.as_str(), &DeskMessage::ForgetContact(contact.to_owned())).await
}

/// Hands an agent's desk socket to its site's desk.
pub(crate) async fn open_socket(
    env: &Env,
    site: &SiteId,
    peer: &DeskSocketPeer,
    req: &Request,
) -> Result<Response> {
    let epoch = peer.epoch.to_string();
    let mut query = vec![("agent", peer.agent.as_str()), ("epoch", epoch.as_str())];
    if peer.supervises {
        query.push(("supervisor", "1"));
    }
    crate::rpc::open_socket(env, Namespace::Desk, site.as_str(), &query, req).await
}
