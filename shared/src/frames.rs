//! WebSocket frames between the clients (widget, agent desktop) and the edge.
//!
//! Every frame is a JSON object with a `"type"` tag. Decoding never fails on a frame type or error code this
//! build does not know: it becomes `Unknown`, which receivers ignore. That is what lets an old widget cached
//! in a customer's browser talk to a newer edge.

use crate::attachments::FileKind;
pub use crate::errors::ErrorCode;
use crate::ids::{AgentId, ClientMessageId, InteractionId, Millis, QueueId, Seq};
use crate::json::{self, FromJson, Json, Malformed, ToJson};
use crate::lifecycle::{Event, Phase, Sla, State, WrapUp};
pub use crate::listing::ConversationSummary;
use crate::routing::{
    AssignKind, OfferKind, Presence, RequeueReason, TransferOutcome, TransferTarget, WithdrawReason,
};
use serde::{Deserialize, Serialize};

/// WebSocket close codes the edge ends a socket with for good. Codes 4000-4999 tell a client not to
/// reconnect: retrying would be refused again.
pub mod close_code {
    /// The account's access ended (deactivated, or its password changed): sign in again.
    pub const SIGNED_OUT: u16 = 4001;
    /// The conversation was erased.
    pub const ERASED: u16 = 4004;
    /// The account's role changed: reload, and the desktop comes back with what the new role may see.
    pub const ROLE_CHANGED: u16 = 4005;
}

/// Frames a client sends on a conversation socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToJson)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// First frame on every socket. A contact proves who it is with the token it got when the chat started
    /// (tokens never travel in URLs); agents are already known from their session cookie and send none.
    /// `after` asks for every message with a greater `seq` (resume); `None` means "from the start".
    Hello {
        version: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Seq>,
    },
    /// A new message. Resending the same `client_id` is safe: it is acknowledged again, stored once.
    /// `attachments` are files uploaded first (`POST .../attachments`); the text may then be empty.
    Send {
        client_id: ClientMessageId,
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<Attachment>,
    },
    /// The sender started (`on: true`) or stopped typing.
    Typing { on: bool },
    /// The sender has read everything up to `seq`.
    Read { seq: Seq },
    /// Ends the chat: the contact from the widget (after confirming), or the handling agent.
    End,
    /// Agent only: park the chat (frees capacity; it ends when the park limit passes without a reply).
    Park,
    /// Agent only: take a parked chat back.
    Unpark,
    /// Agent only: choose a disposition code (with single codes it replaces the previous one).
    ChooseCode { code: String },
    /// Agent only: the wrap-up notes, whole.
    Notes { text: String },
    /// Agent only: restart the wrap-up countdown.
    ExtendWrap,
    /// Agent only: save the wrap-up and clear the interaction from the log.
    Complete,
    /// The page of messages before `before` (the oldest the client holds): at most
    /// [`crate::delivery::PAGE_MESSAGES`], then a `page` frame.
    Earlier { before: Seq },
    #[serde(other)]
    Unknown,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToJson, FromJson)]
pub struct Attachment {
    /// Assigned by the edge on upload; the file is fetched through a short-lived signed URL.
    pub id: String,
    pub name: String,
    pub size: u64,
    pub kind: FileKind,
}

/// Who is typing or has read, as the other side sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Participant {
    Contact,
    /// The agent's display name (what the site shows contacts).
    Agent {
        name: String,
    },
    #[serde(other)]
    Unknown,
}

/// What agents see of an interaction: its state, timers and wrap-up, sent on `hello` and after changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InteractionView {
    pub interaction: InteractionId,
    pub phase: Phase,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<Sla>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap: Option<WrapUp>,
    /// Codes and notes chosen so far in the current session.
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub notes: String,
}

/// Frames the edge sends on a conversation socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`: the socket is authenticated; the backlog after the requested `seq` follows. A
    /// contact gets its token renewed (it is in use), to keep instead of the one it sent.
    ///
    /// The backlog is at most [`crate::delivery::PAGE_MESSAGES`], the newest: `earlier` says older messages
    /// exist than it holds (ask with `earlier`). `restart`: a resume missed more than a page, so the backlog
    /// does not continue what the client holds: it drops its messages and starts again from the backlog.
    Welcome {
        version: u32,
        interaction: InteractionId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_token: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        earlier: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        restart: bool,
    },
    /// The page asked for by `earlier` has been sent (its messages as `message` frames, before this one);
    /// `earlier` says whether still older ones exist.
    Page { earlier: bool },
    /// A stored message, sent to everyone in its audience in `seq` order.
    Message { message: Message },
    /// The message with this `client_id` is durably stored as `seq`.
    Ack { client_id: ClientMessageId, seq: Seq },
    /// Something the client sent was refused. The socket stays open unless the code says otherwise.
    Error { code: ErrorCode, message: String },
    /// The other side is typing (or stopped).
    Typing { who: Participant, on: bool },
    /// The other side has read everything up to `seq`.
    Read { who: Participant, seq: Seq },
    /// To the contact: the chat ended. The only lifecycle news a contact ever receives.
    ChatEnded { by_contact: bool, at: Millis },
    /// To agents: something happened in the interaction's lifecycle.
    #[json(skip)]
    Event { event: Event },
    /// To agents: the interaction's state, timers and wrap-up.
    #[json(skip)]
    State { view: Box<InteractionView> },
    #[serde(other)]
    Unknown,
}

/// Frames an agent desktop sends on its desk socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskClientFrame {
    Hello {
        version: u32,
    },
    SetPresence {
        presence: Presence,
    },
    Accept {
        interaction: InteractionId,
    },
    Reject {
        interaction: InteractionId,
    },
    /// A cold transfer of one of the agent's interactions.
    Transfer {
        interaction: InteractionId,
        target: TransferTarget,
    },
    CancelTransfer {
        interaction: InteractionId,
    },
    #[serde(other)]
    Unknown,
}

/// What the transfer dialog lists: agents (Ready ones can receive) and queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub agent: AgentId,
    pub name: String,
    pub presence: Presence,
    /// How many more interactions the agent can take now.
    pub free: u32,
}

impl RosterEntry {
    /// Whether the desk would hand this agent a transfer now: Ready, with a free slot (the rule
    /// `routing::Desk::transfer` applies).
    pub fn can_receive_transfer(&self) -> bool {
        self.presence == Presence::Ready && self.free > 0
    }
}

/// Frames the edge sends on an agent's desk socket (the agent desktop's live view of its site).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskFrame {
    /// Answer to `hello`: who the agent is to the desk.
    Welcome {
        agent: AgentId,
        presence: Presence,
        capacity: u32,
        /// Offers are accepted on the agent's behalf: the desktop shows no Reject.
        #[serde(default)]
        auto_accept: bool,
    },
    /// The agent's presence changed (by its own choice, or by the desk after a missed offer).
    Presence {
        presence: Presence,
    },
    /// The conversations the agent can open, newest activity first. Sent whole on connect.
    Conversations {
        items: Vec<ConversationSummary>,
    },
    /// One conversation changed (a message, a lifecycle step): it replaces the item with its id, or is new.
    ConversationChanged {
        item: ConversationSummary,
    },
    /// An interaction card with Accept / Reject until `expires` (a transfer card says who sent it).
    Offer {
        interaction: InteractionId,
        kind: OfferKind,
        expires: Millis,
        card: ConversationSummary,
    },
    OfferWithdrawn {
        interaction: InteractionId,
        reason: WithdrawReason,
    },
    /// The interaction is now this agent's.
    Assigned {
        interaction: InteractionId,
        how: AssignKind,
    },
    /// One of this agent's interactions went back to a queue.
    Requeued {
        interaction: InteractionId,
        reason: RequeueReason,
    },
    /// How this agent's transfer ended.
    TransferEnded {
        interaction: InteractionId,
        outcome: TransferOutcome,
    },
    /// Agents and queues for the transfer dialog.
    Roster {
        agents: Vec<RosterEntry>,
        queues: Vec<QueueId>,
    },
    /// A contact answered a conversation this agent reactivated.
    ContactAnswered {
        interaction: InteractionId,
        contact_label: String,
    },
    /// An admin changed the site's settings (codes, responses, queues, timers): read `GET /api/v1/site` again.
    SiteChanged,
    /// Supervisors and admins only: the site's live view, sent on connect and whenever it changes.
    Overview {
        overview: crate::supervision::Overview,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    #[serde(other)]
    Unknown,
}

/// A message as stored and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Message {
    pub seq: Seq,
    pub client_id: ClientMessageId,
    pub author: Author,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Milliseconds since the Unix epoch, as stamped by the edge when it stored the message.
    pub at: i64,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Author {
    Contact,
    Agent {
        id: AgentId,
        name: String,
    },
    #[serde(other)]
    Unknown,
}

impl ClientFrame {
    /// Decodes a text frame. Malformed JSON is an error; an unknown `type` is `Ok(Unknown)`.
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl ServerFrame {
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Decodes a frame on a contact's socket with the widget's small JSON reader ([`crate::json`]), which
    /// keeps serde out of the widget: the frames a contact gets, in exactly their wire form. The edge never
    /// sends agents' lifecycle news (`event`, `state`) to a contact; here they, like frames of a newer
    /// version, come out `Unknown`.
    pub fn decode_for_contact(text: &str) -> Result<Self, Malformed> {
        Self::from_json(&Json::parse(text)?).ok_or(Malformed)
    }

    /// The JSON text of this frame. Serialising these types cannot fail (no maps with non-string keys, no
    /// custom serialisers), so this returns a `String`.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"type":"error","code":"internal"}"#))
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error { code, message: message.into() }
    }
}

impl DeskFrame {
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"type":"error","code":"internal"}"#))
    }
}

impl DeskClientFrame {
    pub fn decode(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ClientFrame {
    /// The frame's JSON text, written with the small writer ([`crate::json`]) so that the widget carries no
    /// serde; the golden tests hold it to what serde writes.
    pub fn encode(&self) -> String {
        json::write(self)
    }
}

#[cfg(test)]
mod golden {
    //! One golden JSON per frame type: these strings are the contract with deployed clients. Changing one
    //! means a protocol change, not a refactor.
    use super::*;
    use crate::ids::ContactId;
    use crate::lifecycle::LogStatus;
    use serde_json::{Value, json};

    fn iid() -> InteractionId {
        InteractionId(uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef))
    }
    fn cid() -> ClientMessageId {
        ClientMessageId(uuid::Uuid::from_u128(42))
    }

    /// Encodes `value`, compares it with `golden`, and decodes `golden` back to `value`.
    fn check<T>(value: T, golden: Value)
    where
        T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        assert_eq!(serde_json::to_value(&value).expect("encodes"), golden);
        assert_eq!(serde_json::from_value::<T>(golden).expect("decodes"), value);
    }

    /// [`check`] for a conversation-socket frame, and what a contact's widget decodes of it: the frame
    /// itself, or `Unknown` for agents' lifecycle news.
    fn check_server(value: ServerFrame, golden: Value) {
        let for_contact = match &value {
            ServerFrame::Event { .. } | ServerFrame::State { .. } => ServerFrame::Unknown,
            other => other.clone(),
        };
        assert_eq!(ServerFrame::decode_for_contact(&golden.to_string()).expect("decodes"), for_contact);
        check(value, golden);
    }

    #[test]
    fn hello() {
        check(
            ClientFrame::Hello { version: 1, token: Some("t".into()), after: Some(7) },
            json!({"type": "hello", "version": 1, "token": "t", "after": 7}),
        );
        check(
            ClientFrame::Hello { version: 1, token: None, after: None },
            json!({"type": "hello", "version": 1}),
        );
    }

    #[test]
    fn send() {
        check(
            ClientFrame::Send { client_id: cid(), text: "hi".into(), attachments: Vec::new() },
            json!({"type": "send", "client_id": "00000000-0000-0000-0000-00000000002a", "text": "hi"}),
        );
    }

    #[test]
    fn welcome() {
        check_server(
            ServerFrame::Welcome {
                version: 1,
                interaction: iid(),
                contact_token: None,
                earlier: false,
                restart: false,
            },
            json!({"type": "welcome", "version": 1, "interaction": "01234567-89ab-cdef-0123-456789abcdef"}),
        );
        check_server(
            ServerFrame::Welcome {
                version: 1,
                interaction: iid(),
                contact_token: Some("t.s".into()),
                earlier: true,
                restart: true,
            },
            json!({"type": "welcome", "version": 1, "interaction": "01234567-89ab-cdef-0123-456789abcdef",
                "contact_token": "t.s", "earlier": true, "restart": true}),
        );
        check_server(ServerFrame::Page { earlier: true }, json!({"type": "page", "earlier": true}));
        check(ClientFrame::Earlier { before: 7 }, json!({"type": "earlier", "before": 7}));
    }

    #[test]
    fn message_from_contact_and_agent() {
        let from_contact = Message {
            seq: 1,
            client_id: cid(),
            author: Author::Contact,
            text: "hello".into(),
            attachments: Vec::new(),
            at: 1_000,
        };
        check_server(
            ServerFrame::Message { message: from_contact },
            json!({"type": "message", "message": {
                "seq": 1, "client_id": "00000000-0000-0000-0000-00000000002a",
                "author": {"role": "contact"}, "text": "hello", "at": 1000}}),
        );
        let author = Author::Agent { id: AgentId("ada".into()), name: "Ada".into() };
        check(author, json!({"role": "agent", "id": "ada", "name": "Ada"}));
    }

    #[test]
    fn ack() {
        check_server(
            ServerFrame::Ack { client_id: cid(), seq: 3 },
            json!({"type": "ack", "client_id": "00000000-0000-0000-0000-00000000002a", "seq": 3}),
        );
    }

    #[test]
    fn error() {
        check_server(
            ServerFrame::error(ErrorCode::MessageTooLong, "too long"),
            json!({"type": "error", "code": "message_too_long", "message": "too long"}),
        );
    }

    #[test]
    fn conversations() {
        let item = ConversationSummary {
            interaction: iid(),
            contact: Some(ContactId("v-1".into())),
            contact_label: "Visitor 4f2a".into(),
            contact_email: None,
            started_at: 5,
            last_text: Some("hi".into()),
            last_at: 6,
            status: None,
        };
        check(
            DeskFrame::Conversations { items: vec![item.clone()] },
            json!({"type": "conversations", "items": [{
                "interaction": "01234567-89ab-cdef-0123-456789abcdef", "contact": "v-1", "contact_label": "Visitor 4f2a",
                "started_at": 5, "last_text": "hi", "last_at": 6}]}),
        );
        let parked = ConversationSummary {
            status: Some(LogStatus {
                phase: Phase::Parked,
                agent: Some(AgentId("ada".into())),
                until: Some(99),
                awaiting_reply_since: None,
            }),
            ..item
        };
        check(
            DeskFrame::ConversationChanged { item: parked },
            json!({"type": "conversation_changed", "item": {
                "interaction": "01234567-89ab-cdef-0123-456789abcdef", "contact": "v-1", "contact_label": "Visitor 4f2a",
                "started_at": 5, "last_text": "hi", "last_at": 6,
                "status": {"phase": "parked", "agent": "ada", "until": 99}}}),
        );
    }

    fn photo() -> Attachment {
        Attachment { id: "att-1".into(), name: "mug.png".into(), size: 2048, kind: FileKind::Png }
    }

    #[test]
    fn send_with_attachment() {
        check(
            ClientFrame::Send { client_id: cid(), text: String::new(), attachments: vec![photo()] },
            json!({"type": "send", "client_id": "00000000-0000-0000-0000-00000000002a", "text": "",
                   "attachments": [{"id": "att-1", "name": "mug.png", "size": 2048, "kind": "png"}]}),
        );
    }

    #[test]
    fn client_typing_read_and_end() {
        check(ClientFrame::Typing { on: true }, json!({"type": "typing", "on": true}));
        check(ClientFrame::Read { seq: 9 }, json!({"type": "read", "seq": 9}));
        check(ClientFrame::End, json!({"type": "end"}));
    }

    #[test]
    fn agent_lifecycle_actions() {
        check(ClientFrame::Park, json!({"type": "park"}));
        check(ClientFrame::Unpark, json!({"type": "unpark"}));
        check(
            ClientFrame::ChooseCode { code: "sale".into() },
            json!({"type": "choose_code", "code": "sale"}),
        );
        check(ClientFrame::Notes { text: "n".into() }, json!({"type": "notes", "text": "n"}));
        check(ClientFrame::ExtendWrap, json!({"type": "extend_wrap"}));
        check(ClientFrame::Complete, json!({"type": "complete"}));
    }

    #[test]
    fn server_typing_and_read() {
        check_server(
            ServerFrame::Typing { who: Participant::Agent { name: "Ada".into() }, on: true },
            json!({"type": "typing", "who": {"role": "agent", "name": "Ada"}, "on": true}),
        );
        check_server(
            ServerFrame::Read { who: Participant::Contact, seq: 4 },
            json!({"type": "read", "who": {"role": "contact"}, "seq": 4}),
        );
    }

    #[test]
    fn chat_ended() {
        check_server(
            ServerFrame::ChatEnded { by_contact: false, at: 77 },
            json!({"type": "chat_ended", "by_contact": false, "at": 77}),
        );
    }

    #[test]
    fn lifecycle_event() {
        check_server(
            ServerFrame::Event {
                event: Event::Parked { agent: AgentId("ada".into()), until: 100, auto: true, at: 40 },
            },
            json!({"type": "event", "event": {"event": "parked", "agent": "ada", "until": 100, "auto": true, "at": 40}}),
        );
    }

    #[test]
    fn interaction_state() {
        let view = InteractionView {
            interaction: iid(),
            phase: Phase::Active,
            state: State::Active { agent: AgentId("ada".into()), since: 5, transfer: None },
            sla: None,
            wrap: None,
            codes: vec!["sale".into()],
            notes: String::new(),
        };
        check_server(
            ServerFrame::State { view: Box::new(view) },
            json!({"type": "state", "view": {
                "interaction": "01234567-89ab-cdef-0123-456789abcdef", "phase": "active",
                "state": {"state": "active", "agent": "ada", "since": 5}, "codes": ["sale"], "notes": ""}}),
        );
    }

    #[test]
    fn desk_client_frames() {
        check(DeskClientFrame::Hello { version: 1 }, json!({"type": "hello", "version": 1}));
        check(
            DeskClientFrame::SetPresence { presence: Presence::NotReady },
            json!({"type": "set_presence", "presence": "not_ready"}),
        );
        let id = "01234567-89ab-cdef-0123-456789abcdef";
        check(DeskClientFrame::Accept { interaction: iid() }, json!({"type": "accept", "interaction": id}));
        check(DeskClientFrame::Reject { interaction: iid() }, json!({"type": "reject", "interaction": id}));
        check(
            DeskClientFrame::Transfer {
                interaction: iid(),
                target: TransferTarget::Agent(AgentId("grace".into())),
            },
            json!({"type": "transfer", "interaction": id, "target": {"kind": "agent", "id": "grace"}}),
        );
        check(
            DeskClientFrame::Transfer {
                interaction: iid(),
                target: TransferTarget::Queue(QueueId("billing".into())),
            },
            json!({"type": "transfer", "interaction": id, "target": {"kind": "queue", "id": "billing"}}),
        );
        check(
            DeskClientFrame::CancelTransfer { interaction: iid() },
            json!({"type": "cancel_transfer", "interaction": id}),
        );
        assert_eq!(
            DeskClientFrame::decode(r#"{"type":"from_the_future"}"#).ok(),
            Some(DeskClientFrame::Unknown)
        );
    }

    #[test]
    fn desk_frames() {
        let id = "01234567-89ab-cdef-0123-456789abcdef";
        check(
            DeskFrame::Welcome {
                agent: AgentId("ada".into()),
                presence: Presence::Ready,
                capacity: 3,
                auto_accept: false,
            },
            json!({"type": "welcome", "agent": "ada", "presence": "ready", "capacity": 3, "auto_accept": false}),
        );
        check(
            DeskFrame::Presence { presence: Presence::Offline },
            json!({"type": "presence", "presence": "offline"}),
        );
        let card = ConversationSummary {
            interaction: iid(),
            contact: None,
            contact_label: "Visitor 0123".into(),
            contact_email: None,
            started_at: 1,
            last_text: None,
            last_at: 1,
            status: None,
        };
        check(
            DeskFrame::Offer {
                interaction: iid(),
                kind: OfferKind::Transfer { from: AgentId("ada".into()) },
                expires: 31,
                card,
            },
            json!({"type": "offer", "interaction": id, "kind": {"kind": "transfer", "from": "ada"}, "expires": 31,
                   "card": {"interaction": id, "contact_label": "Visitor 0123", "started_at": 1, "last_at": 1}}),
        );
        check(
            DeskFrame::OfferWithdrawn { interaction: iid(), reason: WithdrawReason::TimedOut },
            json!({"type": "offer_withdrawn", "interaction": id, "reason": "timed_out"}),
        );
        check(
            DeskFrame::Assigned { interaction: iid(), how: AssignKind::AutoAccepted },
            json!({"type": "assigned", "interaction": id, "how": {"kind": "auto_accepted"}}),
        );
        check(
            DeskFrame::Requeued { interaction: iid(), reason: RequeueReason::PostParking },
            json!({"type": "requeued", "interaction": id, "reason": "post_parking"}),
        );
        check(
            DeskFrame::TransferEnded {
                interaction: iid(),
                outcome: TransferOutcome::Rejected { by: AgentId("grace".into()) },
            },
            json!({"type": "transfer_ended", "interaction": id, "outcome": {"outcome": "rejected", "by": "grace"}}),
        );
        check(
            DeskFrame::Roster {
                agents: vec![RosterEntry {
                    agent: AgentId("grace".into()),
                    name: "Grace".into(),
                    presence: Presence::Ready,
                    free: 2,
                }],
                queues: vec![QueueId("billing".into())],
            },
            json!({"type": "roster", "agents": [{"agent": "grace", "name": "Grace", "presence": "ready", "free": 2}],
                   "queues": ["billing"]}),
        );
        check(
            DeskFrame::ContactAnswered { interaction: iid(), contact_label: "Visitor 0123".into() },
            json!({"type": "contact_answered", "interaction": id, "contact_label": "Visitor 0123"}),
        );
        check(
            DeskFrame::Error { code: ErrorCode::TransferRefused, message: "m".into() },
            json!({"type": "error", "code": "transfer_refused", "message": "m"}),
        );
        check(DeskFrame::SiteChanged, json!({"type": "site_changed"}));
        let overview = crate::supervision::Overview {
            targets: crate::supervision::SlaTargets::default(),
            queues: vec![crate::supervision::QueueLoad {
                queue: QueueId("default".into()),
                waiting: 1,
                oldest_since: Some(7),
            }],
            agents: vec![crate::supervision::AgentLoad {
                agent: AgentId("ada".into()),
                name: "Ada".into(),
                presence: Presence::NotReady,
                load: 1,
                capacity: 3,
            }],
            waiting: vec![crate::supervision::WaitingContact {
                interaction: iid(),
                queue: QueueId("default".into()),
                contact_label: "Visitor 0123".into(),
                since: 7,
            }],
            unanswered: Vec::new(),
        };
        check(
            DeskFrame::Overview { overview },
            json!({"type": "overview", "overview": {
                "targets": {"queue_wait_ms": 60000, "reply_ms": 120000},
                "queues": [{"queue": "default", "waiting": 1, "oldest_since": 7}],
                "agents": [{"agent": "ada", "name": "Ada", "presence": "not_ready", "load": 1, "capacity": 3}],
                "waiting": [{"interaction": id, "queue": "default", "contact_label": "Visitor 0123", "since": 7}],
                "unanswered": []}}),
        );
    }

    #[test]
    fn unknown_frames_and_codes_decode_to_unknown() {
        assert_eq!(
            ClientFrame::decode(r#"{"type":"from_the_future","x":1}"#).ok(),
            Some(ClientFrame::Unknown)
        );
        assert_eq!(ServerFrame::decode(r#"{"type":"from_the_future"}"#).ok(), Some(ServerFrame::Unknown));
        assert_eq!(DeskFrame::decode(r#"{"type":"from_the_future"}"#).ok(), Some(DeskFrame::Unknown));
        let err = ServerFrame::decode(r#"{"type":"error","code":"new_code","message":"m"}"#).ok();
        assert_eq!(err, Some(ServerFrame::error(ErrorCode::Unknown, "m")));
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        assert!(ClientFrame::decode("{not json").is_err());
        assert!(ClientFrame::decode(r#"{"type":"send"}"#).is_err());
    }
}
