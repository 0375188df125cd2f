//! JSON bodies of the HTTP API (`/api/v1/...`). Errors always have the shape of [`ApiError`].

use crate::frames::ErrorCode;
use crate::ids::{AgentId, ContactId, InteractionId, QueueId, SiteId};
use crate::json::{FromJson, Json, ToJson};
use crate::lifecycle::LifecycleRules;
use crate::widget::WidgetSettings;
use serde::{Deserialize, Serialize};

/// `PUT /api/v1/admin/sites/{site}`: create or replace a site with its agents (admin token required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSetup {
    pub name: String,
    /// Origins (`https://shop.example`) whose pages may embed the widget. Checked on every widget request
    /// and used for the widget frame's `frame-ancestors`.
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub agents: Vec<AgentSetup>,
    #[serde(default)]
    pub rules: SiteRules,
    /// Identity verification: the site's backend signs its user ids with this secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityRules>,
    /// How the chat widget looks, greets and what it asks first.
    #[serde(default)]
    pub widget: WidgetSettings,
    /// Canned answers agents search and insert.
    #[serde(default)]
    pub standard_responses: Vec<StandardResponse>,
}

/// A canned answer: agents find it by its title or text and insert it into their reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardResponse {
    pub title: String,
    pub text: String,
}

impl StandardResponse {
    /// Whether it matches what the agent typed in the search box (every word, in the title or the text,
    /// ignoring case).
    pub fn matches(&self, query: &str) -> bool {
        let haystack = format!("{} {}", self.title, self.text).to_lowercase();
        query.split_whitespace().all(|word| haystack.contains(&word.to_lowercase()))
    }
}

/// How a site verifies who its contacts are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityRules {
    /// Shared with the site's backend only (never with browsers): it computes
    /// `hex(HMAC-SHA256(secret, user_id))` for each signed-in user.
    pub secret: String,
    /// Refuse chats without a verified identity.
    #[serde(default)]
    pub required: bool,
}

/// A user of the site, as its backend vouches for them (`Confab.identify(...)` on the page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `hex(HMAC-SHA256(site identity secret, user_id))`.
    pub signature: String,
}

/// What an agent desktop reads about its site (`GET /api/v1/site`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteView {
    pub site: SiteId,
    pub name: String,
    pub rules: SiteRules,
    #[serde(default)]
    pub standard_responses: Vec<StandardResponse>,
}

/// A contact's own conversations on a site, for the widget (`GET /api/v1/sites/{site}/contact`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactSession {
    pub contact: ContactId,
    /// Oldest first.
    pub conversations: Vec<InteractionId>,
    /// Agent messages the contact has not read yet, over all its conversations (the launcher's badge).
    #[serde(default)]
    pub unread: u32,
}

/// How a site routes and handles interactions. Every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteRules {
    /// How long an offer waits for Accept or Reject.
    pub offer_timeout_ms: i64,
    /// Queues besides `default`.
    pub queues: Vec<QueueId>,
    pub lifecycle: LifecycleRules,
    /// Service levels the supervisor's live view flags breaches of.
    pub sla: crate::supervision::SlaTargets,
}

impl Default for SiteRules {
    fn default() -> Self {
        SiteRules {
            offer_timeout_ms: 30_000,
            queues: Vec::new(),
            lifecycle: LifecycleRules::default(),
            sla: crate::supervision::SlaTargets::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSetup {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub password: String,
    /// Interactions at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    #[serde(default)]
    pub auto_accept: bool,
    #[serde(default)]
    pub role: crate::admin::Role,
    /// The queues this agent takes chats from (empty: all).
    #[serde(default)]
    pub queues: Vec<QueueId>,
}

fn default_capacity() -> u32 {
    3
}

/// `POST /api/v1/sites/{site}/chats`: a contact starts a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartChat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// From the pre-chat form, for the agent to follow up by mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The token from an earlier chat on this site: the new conversation belongs to the same contact (its
    /// history stays together). Sent in the body, never in a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_token: Option<String>,
    /// A verified identity: the chat belongs to this user, whatever browser they use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
}

/// The answer to [`StartChat`]. The widget keeps the token in local storage and sends it in `hello`; it
/// opens every conversation of this contact on this site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatStarted {
    pub interaction: InteractionId,
    pub contact_token: String,
}

impl ToJson for StartChat {
    fn to_json(&self) -> Json {
        let text = |s: &Option<String>| s.as_deref().map(Json::from);
        Json::object([
            ("name", text(&self.name)),
            ("email", text(&self.email)),
            ("contact_token", text(&self.contact_token)),
            ("identity", self.identity.as_ref().map(ToJson::to_json)),
        ])
    }
}

impl ToJson for Identity {
    fn to_json(&self) -> Json {
        Json::object([
            ("user_id", Some(self.user_id.to_json())),
            ("name", self.name.as_deref().map(Json::from)),
            ("email", self.email.as_deref().map(Json::from)),
            ("signature", Some(self.signature.to_json())),
        ])
    }
}

impl FromJson for ChatStarted {
    fn from_json(json: &Json) -> Option<Self> {
        Some(ChatStarted {
            interaction: InteractionId(json.field("interaction")?),
            contact_token: json.field("contact_token")?,
        })
    }
}

/// `POST /api/v1/agent/session`: sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// The signed-in agent (`GET /api/v1/agent/me`, and the answer to [`SignIn`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentProfile {
    pub id: AgentId,
    pub name: String,
    pub site: SiteId,
    #[serde(default)]
    pub role: crate::admin::Role,
}

/// A contact of a site, as the contacts list shows it (`GET /api/v1/contacts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactSummary {
    pub contact: ContactId,
    pub label: String,
    pub conversations: u32,
    pub last_at: i64,
}

/// A contact's history (`GET /api/v1/contacts/{contact}/history`): every conversation, oldest first, each
/// with its transcript; with `?q=`, only the matching messages, newest first, with highlight ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactHistory {
    pub contact: ContactId,
    pub conversations: Vec<ConversationTranscript>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<Vec<crate::history::Hit>>,
}

/// One conversation's transcript (also `GET /api/v1/chats/{interaction}/transcript`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationTranscript {
    pub interaction: InteractionId,
    pub contact_label: String,
    pub started_at: i64,
    pub messages: Vec<crate::frames::Message>,
}

/// A completed interaction, as the records search lists it (`GET /api/v1/records`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSummary {
    pub record: crate::lifecycle::InteractionRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactId>,
    pub contact_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// The contact's first message of the session, shortened.
    #[serde(default)]
    pub preview: String,
}

/// The filters of `GET /api/v1/records` (query parameters of the same names; times in milliseconds since
/// the Unix epoch, `to` exclusive). Every filter is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    /// A disposition code the interaction was wrapped up with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Words in the transcript or the contact's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl RecordQuery {
    /// Most records one search answers.
    pub const MAX_LIMIT: u32 = 500;

    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(100).clamp(1, Self::MAX_LIMIT)
    }
}

/// Every non-2xx answer of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

impl FromJson for ApiError {
    fn from_json(json: &Json) -> Option<Self> {
        let body = json.get("error")?;
        Some(ApiError { error: ApiErrorBody { code: body.field("code")?, message: body.field("message")? } })
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { error: ApiErrorBody { code, message: message.into() } }
    }

    /// The HTTP status that goes with a code.
    pub fn status(&self) -> u16 {
        match self.error.code {
            ErrorCode::BadFrame
            | ErrorCode::BadRequest
            | ErrorCode::EmptyMessage
            | ErrorCode::MessageTooLong
            | ErrorCode::HelloRequired => 400,
            ErrorCode::Unauthorized | ErrorCode::BadCredentials => 401,
            ErrorCode::OriginNotAllowed | ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::FrameTooLarge | ErrorCode::AttachmentTooLarge => 413,
            ErrorCode::AttachmentType => 415,
            ErrorCode::NotAllowedNow | ErrorCode::TransferRefused | ErrorCode::Conflict => 409,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
            ErrorCode::Misconfigured => 503,
        }
    }
}

#[cfg(test)]
mod golden {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_error_shape_and_status() {
        let e = ApiError::new(ErrorCode::NotFound, "no such site");
        assert_eq!(
            serde_json::to_value(&e).expect("encodes"),
            json!({"error": {"code": "not_found", "message": "no such site"}})
        );
        assert_eq!(e.status(), 404);
        assert_eq!(ApiError::new(ErrorCode::OriginNotAllowed, "").status(), 403);
    }

    #[test]
    fn chat_started() {
        let started =
            ChatStarted { interaction: InteractionId(uuid::Uuid::from_u128(1)), contact_token: "tok".into() };
        assert_eq!(
            serde_json::to_value(&started).expect("encodes"),
            json!({"interaction": "00000000-0000-0000-0000-000000000001", "contact_token": "tok"})
        );
    }

    #[test]
    fn standard_responses_match_every_word_anywhere_ignoring_case() {
        let shipping = StandardResponse {
            title: "Shipping times".into(),
            text: "Orders ship within 2 working days.".into(),
        };
        assert!(shipping.matches("shipping"));
        assert!(shipping.matches("SHIP days"));
        assert!(shipping.matches(""));
        assert!(!shipping.matches("refund"));
        assert!(!shipping.matches("ship refund"));
    }
}
