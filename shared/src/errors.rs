//! The stable error codes every refusal carries, on the wire (`frames`, `api`) and in the rules that refuse
//! (`validate`, `attachments`, `lifecycle`, `routing`).

use crate::json::FromJson;
use serde::{Deserialize, Serialize};

/// Stable error codes. Clients branch on these; the human-readable text may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, FromJson)]
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
    /// Signed in, but the account's role does not allow this (an agent on an admin endpoint).
    Forbidden,
    /// It already exists (a site id, an agent id or email taken).
    Conflict,
    /// Too many attempts; wait and retry.
    TooManyRequests,
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
    /// The deployment's settings are wrong (a variable that cannot be read): the operator must fix them.
    Misconfigured,
    /// The site's queue holds as many waiting chats as it takes: a new chat can start once some are answered.
    QueueFull,
    /// An upload beyond a day's quota of files or bytes (the contact's, its address's, the agent's or the
    /// site's); the wait says when one fits again.
    UploadQuota,
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Every code but `Unknown`, for reading a code's wire name.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::BadFrame,
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::OriginNotAllowed,
        ErrorCode::Forbidden,
        ErrorCode::Conflict,
        ErrorCode::TooManyRequests,
        ErrorCode::NotFound,
        ErrorCode::HelloRequired,
        ErrorCode::EmptyMessage,
        ErrorCode::MessageTooLong,
        ErrorCode::FrameTooLarge,
        ErrorCode::BadCredentials,
        ErrorCode::AttachmentType,
        ErrorCode::AttachmentTooLarge,
        ErrorCode::NotAllowedNow,
        ErrorCode::TransferRefused,
        ErrorCode::Internal,
        ErrorCode::Misconfigured,
        ErrorCode::QueueFull,
        ErrorCode::UploadQuota,
    ];

    /// The code on the wire (what serde writes for it).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooManyRequests => "too_many_requests",
            ErrorCode::NotFound => "not_found",
            ErrorCode::HelloRequired => "hello_required",
            ErrorCode::EmptyMessage => "empty_message",
            ErrorCode::MessageTooLong => "message_too_long",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::BadCredentials => "bad_credentials",
            ErrorCode::AttachmentType => "attachment_type",
            ErrorCode::AttachmentTooLarge => "attachment_too_large",
            ErrorCode::NotAllowedNow => "not_allowed_now",
            ErrorCode::TransferRefused => "transfer_refused",
            ErrorCode::Internal => "internal",
            ErrorCode::Misconfigured => "misconfigured",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::UploadQuota => "upload_quota",
            ErrorCode::Unknown => "unknown",
        }
    }
}
