//! JSON bodies of the HTTP API (`/api/v1/...`). Errors always have the shape of [`ApiError`].

use crate::errors::ErrorCode;
pub use crate::history::ConversationTranscript;
use crate::ids::{AgentId, ContactId, InteractionId, QueueId, SiteId};
use crate::json::{FromJson, ToJson};
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToJson)]
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
    /// The token renewed (it is in use): keep this one instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_token: Option<String>,
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
    /// How many chats may wait for an agent at once; a new chat beyond them is refused (`queue_full`).
    pub max_waiting_chats: u32,
    /// How much may be uploaded per day, by whom.
    pub uploads: crate::quota::UploadQuotas,
}

/// The waiting chats a site takes unless it says otherwise: far beyond any real queue, and a bound on what a
/// stranger starting chats can make a site keep.
pub const DEFAULT_MAX_WAITING_CHATS: u32 = 1_000;

impl Default for SiteRules {
    fn default() -> Self {
        SiteRules {
            offer_timeout_ms: 30_000,
            queues: Vec::new(),
            lifecycle: LifecycleRules::default(),
            sla: crate::supervision::SlaTargets::default(),
            max_waiting_chats: DEFAULT_MAX_WAITING_CHATS,
            uploads: crate::quota::UploadQuotas::default(),
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
    pub role: crate::role::Role,
    /// The queues this agent takes chats from (empty: all).
    #[serde(default)]
    pub queues: Vec<QueueId>,
}

fn default_capacity() -> u32 {
    3
}

/// `POST /api/v1/sites/{site}/chats`: a contact starts a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToJson)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ChatStarted {
    pub interaction: InteractionId,
    pub contact_token: String,
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
    pub role: crate::role::Role,
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

    /// The filters from the request's query parameters, `param(name)` giving each one's value. An empty
    /// value is no filter (a form's blank field); a time or limit that is not a whole number is refused,
    /// naming the first of `from`, `to`, `limit` that is wrong; the limit is held to `1..=MAX_LIMIT`.
    pub fn from_params(param: impl Fn(&str) -> Option<String>) -> Result<RecordQuery, String> {
        let number = |name: &str| match param(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("{name} must be milliseconds since 1970, not {v:?}")),
        };
        // Blank is no filter; other values are passed on as given.
        let text = |name: &str| param(name).filter(|v| !v.trim().is_empty());
        let (from, to, limit) = (number("from")?, number("to")?, number("limit")?);
        Ok(RecordQuery {
            from,
            to,
            agent: text("agent").map(AgentId),
            code: text("code"),
            text: text("q"),
            limit: limit.map(|l| l.clamp(1, i64::from(Self::MAX_LIMIT)) as u32),
        })
    }
}

/// A signed, short-lived download link of an attachment (`GET .../attachments/{id}/link`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
pub struct FileLink {
    /// A path on the edge, with its signature and expiry in the query.
    pub url: String,
    /// When the link stops working, milliseconds since 1970.
    pub expires: i64,
}

/// The operator's view of a site (its `GET`, and the answer to its `PUT`): how many accounts it has, and the
/// revision a replacing `PUT` names (`If-Match`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteStored {
    pub site: SiteId,
    pub agents: usize,
    pub revision: u64,
}

/// What erasing a contact deleted (`DELETE /api/v1/contacts/{contact}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactErased {
    pub contact: ContactId,
    pub conversations: usize,
    pub files: usize,
}

/// `GET /api/v1/health`: the edge serves, and speaks this protocol version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
    pub protocol: u32,
}

/// Every non-2xx answer of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ApiErrorBody {
    pub code: ErrorCode,
    pub message: String,
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
            ErrorCode::TooManyRequests | ErrorCode::UploadQuota => 429,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
            ErrorCode::Misconfigured | ErrorCode::QueueFull => 503,
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

    fn params<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn record_queries_read_their_filters_from_the_query_string() {
        assert_eq!(RecordQuery::from_params(params(&[])), Ok(RecordQuery::default()));
        let all = [
            ("from", "1000"),
            ("to", "-5"),
            ("agent", "ada"),
            ("code", "sale"),
            ("q", "blue mug"),
            ("limit", "20"),
        ];
        assert_eq!(
            RecordQuery::from_params(params(&all)),
            Ok(RecordQuery {
                from: Some(1000),
                to: Some(-5),
                agent: Some(AgentId("ada".into())),
                code: Some("sale".into()),
                text: Some("blue mug".into()),
                limit: Some(20),
            })
        );
        let blank = [("from", ""), ("to", ""), ("limit", ""), ("agent", " "), ("code", ""), ("q", "\t")];
        assert_eq!(
            RecordQuery::from_params(params(&blank)),
            Ok(RecordQuery::default()),
            "blank is no filter"
        );
        let spaced = RecordQuery::from_params(params(&[("q", " mug ")])).map(|q| q.text);
        assert_eq!(spaced, Ok(Some(" mug ".into())), "the search trims its words itself");
    }

    #[test]
    fn record_query_limits_are_held_in_range() {
        let limit = |v: &str| RecordQuery::from_params(params(&[("limit", v)])).map(|q| q.limit);
        assert_eq!(limit("0"), Ok(Some(1)));
        assert_eq!(limit("-3"), Ok(Some(1)));
        assert_eq!(limit("500"), Ok(Some(RecordQuery::MAX_LIMIT)));
        assert_eq!(limit("99999999999"), Ok(Some(RecordQuery::MAX_LIMIT)), "beyond u32, still held");
    }

    #[test]
    fn a_bad_number_is_refused_naming_the_first_wrong_filter() {
        let query = |pairs: &[(&str, &str)]| RecordQuery::from_params(params(pairs));
        assert_eq!(
            query(&[("from", "yesterday")]),
            Err(r#"from must be milliseconds since 1970, not "yesterday""#.into())
        );
        assert_eq!(
            query(&[("limit", "x"), ("to", "1.5"), ("from", "1")]),
            Err(r#"to must be milliseconds since 1970, not "1.5""#.into()),
            "from, then to, then limit"
        );
        assert_eq!(
            query(&[("limit", " 5")]),
            Err(r#"limit must be milliseconds since 1970, not " 5""#.into())
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
