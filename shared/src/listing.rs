//! How a conversation is listed in the agents' logs (the desk socket's items, the supervisor's overview).

use crate::ids::{ContactId, InteractionId};
use crate::lifecycle::LogStatus;
use serde::{Deserialize, Serialize};

/// One line in an agent's conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub interaction: InteractionId,
    /// The contact whose conversation this is (its history groups by this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactId>,
    /// How the contact is shown to agents (name from the pre-chat form, or a short visitor label).
    pub contact_label: String,
    /// From the pre-chat form or the site's identity, for agents to follow up by mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    /// The latest message's text, shortened for the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_text: Option<String>,
    #[serde(default)]
    pub last_at: i64,
    /// Where the interaction stands, for the agents' logs (absent from older edges).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LogStatus>,
}
