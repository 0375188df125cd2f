//! WebSocket frames between the clients (widget, agent desktop) and the edge.
//!
//! Every frame is a JSON object with a `"type"` tag. Decoding never fails on a frame type or error code this
//! build does not know: it becomes `Unknown`, which receivers ignore. That is what lets an old widget cached
//! in a customer's browser talk to a newer edge.

use crate::ids::{AgentId, ClientMessageId, InteractionId, Seq};
use serde::{Deserialize, Serialize};

/// Frames a client sends on a conversation socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    Send { client_id: ClientMessageId, text: String },
    #[serde(other)]
    Unknown,
}

/// Frames the edge sends on a conversation socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Answer to `hello`: the socket is authenticated; the backlog after the requested `seq` follows.
    Welcome { version: u32, interaction: InteractionId },
    /// A stored message, sent to everyone in its audience in `seq` order.
    Message { message: Message },
    /// The message with this `client_id` is durably stored as `seq`.
    Ack { client_id: ClientMessageId, seq: Seq },
    /// Something the client sent was refused. The socket stays open unless the code says otherwise.
    Error { code: ErrorCode, message: String },
    #[serde(other)]
    Unknown,
}

/// Frames the edge sends on an agent's desk socket (the agent desktop's live view of its site).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskFrame {
    /// The conversations the agent can open, newest activity first. Sent whole on connect and on change.
    Conversations {
        items: Vec<ConversationSummary>,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    #[serde(other)]
    Unknown,
}

/// One line in an agent's conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub interaction: InteractionId,
    /// How the contact is shown to agents (name from the pre-chat form, or a short visitor label).
    pub contact_label: String,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    /// The latest message's text, shortened for the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_text: Option<String>,
    #[serde(default)]
    pub last_at: i64,
}

/// A message as stored and delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub seq: Seq,
    pub client_id: ClientMessageId,
    pub author: Author,
    pub text: String,
    /// Milliseconds since the Unix epoch, as stamped by the edge when it stored the message.
    pub at: i64,
}

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Stable error codes. Clients branch on these; the human-readable text may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame or request body is not valid JSON of a known shape.
    BadFrame,
    /// A request parameter is malformed.
    BadRequest,
    /// No valid credentials, or they do not grant this.
    Unauthorized,
    /// The request's origin is not allowed for this site.
    OriginNotAllowed,
    /// The site, conversation or resource does not exist.
    NotFound,
    /// A frame other than `hello` arrived before `hello`.
    HelloRequired,
    EmptyMessage,
    MessageTooLong,
    FrameTooLarge,
    /// Wrong email or password.
    BadCredentials,
    /// The file type is not allowed, or the content does not match the name.
    AttachmentType,
    /// The file is larger than 100 MB.
    AttachmentTooLarge,
    /// The action does not fit the interaction's state (for example, completing a wrap-up with no
    /// disposition code when codes are required, or writing in a chat that was transferred away).
    NotAllowedNow,
    /// The transfer target cannot take the interaction (not Ready, no free capacity, unknown).
    TransferRefused,
    /// The edge failed; retrying may help.
    Internal,
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

impl ClientFrame {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod golden {
    //! One golden JSON per frame type: these strings are the contract with deployed clients. Changing one
    //! means a protocol change, not a refactor.
    use super::*;
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
            ClientFrame::Send { client_id: cid(), text: "hi".into() },
            json!({"type": "send", "client_id": "00000000-0000-0000-0000-00000000002a", "text": "hi"}),
        );
    }

    #[test]
    fn welcome() {
        check(
            ServerFrame::Welcome { version: 1, interaction: iid() },
            json!({"type": "welcome", "version": 1, "interaction": "01234567-89ab-cdef-0123-456789abcdef"}),
        );
    }

    #[test]
    fn message_from_contact_and_agent() {
        let from_contact =
            Message { seq: 1, client_id: cid(), author: Author::Contact, text: "hello".into(), at: 1_000 };
        check(
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
        check(
            ServerFrame::Ack { client_id: cid(), seq: 3 },
            json!({"type": "ack", "client_id": "00000000-0000-0000-0000-00000000002a", "seq": 3}),
        );
    }

    #[test]
    fn error() {
        check(
            ServerFrame::error(ErrorCode::MessageTooLong, "too long"),
            json!({"type": "error", "code": "message_too_long", "message": "too long"}),
        );
    }

    #[test]
    fn conversations() {
        let item = ConversationSummary {
            interaction: iid(),
            contact_label: "Visitor 4f2a".into(),
            started_at: 5,
            last_text: Some("hi".into()),
            last_at: 6,
        };
        check(
            DeskFrame::Conversations { items: vec![item] },
            json!({"type": "conversations", "items": [{
                "interaction": "01234567-89ab-cdef-0123-456789abcdef", "contact_label": "Visitor 4f2a",
                "started_at": 5, "last_text": "hi", "last_at": 6}]}),
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
