//! Input limits. Everything a client sends passes through here before the edge stores or forwards it, and
//! each refusal maps to a stable [`ErrorCode`].

use crate::errors::ErrorCode;
use thiserror::Error;

/// Longest message text, in characters (Unicode scalar values, so a limit a person can reason about).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// Largest WebSocket frame the edge will parse, in bytes. A full message in 4-byte characters plus its
/// envelope fits comfortably.
pub const MAX_FRAME_BYTES: usize = 20 * 1024;
/// Most files attached to one message.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;
/// Longest site or agent slug.
pub const MAX_SLUG_LEN: usize = 40;

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Invalid {
    #[error("the message is empty")]
    EmptyMessage,
    #[error("the message is {chars} characters long; the limit is {MAX_MESSAGE_CHARS}")]
    MessageTooLong { chars: usize },
    #[error("the frame is {bytes} bytes; the limit is {MAX_FRAME_BYTES}")]
    FrameTooLarge { bytes: usize },
    #[error("ids are 1 to {MAX_SLUG_LEN} characters of a-z, 0-9 and '-', starting with a letter or digit")]
    BadSlug,
    #[error("a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} files")]
    TooManyAttachments,
}

impl Invalid {
    /// The wire code a client receives for this refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            Invalid::EmptyMessage => ErrorCode::EmptyMessage,
            Invalid::MessageTooLong { .. } => ErrorCode::MessageTooLong,
            Invalid::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            Invalid::BadSlug | Invalid::TooManyAttachments => ErrorCode::BadRequest,
        }
    }
}

/// Checks a message's text and returns it with surrounding blank lines removed (what a person means; inner
/// newlines from Shift+Enter are kept).
pub fn message_text(text: &str) -> Result<&str, Invalid> {
    let trimmed = text.trim_matches(|c: char| c == '\n' || c == '\r' || c.is_whitespace());
    if trimmed.is_empty() {
        return Err(Invalid::EmptyMessage);
    }
    let chars = trimmed.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(Invalid::MessageTooLong { chars });
    }
    Ok(trimmed)
}

/// Checks a message: its text, which may be empty when files are attached, and the number of files.
pub fn message(text: &str, attachments: usize) -> Result<&str, Invalid> {
    if attachments > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(Invalid::TooManyAttachments);
    }
    match message_text(text) {
        Err(Invalid::EmptyMessage) if attachments > 0 => Ok(""),
        other => other,
    }
}

/// Checks the size of a raw frame before it is parsed.
pub fn frame_size(bytes: usize) -> Result<(), Invalid> {
    if bytes > MAX_FRAME_BYTES { Err(Invalid::FrameTooLarge { bytes }) } else { Ok(()) }
}

/// Checks a site or agent slug: lowercase ASCII letters, digits and '-', not starting with '-'.
pub fn slug(s: &str) -> Result<&str, Invalid> {
    let ok = !s.is_empty()
        && s.len() <= MAX_SLUG_LEN
        && !s.starts_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(s) } else { Err(Invalid::BadSlug) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_keeps_inner_newlines_and_trims_blank_edges() {
        assert_eq!(message_text("\n  hello\nworld  \n"), Ok("hello\nworld"));
    }

    #[test]
    fn blank_message_is_refused() {
        assert_eq!(message_text(" \n\t "), Err(Invalid::EmptyMessage));
        assert_eq!(Invalid::EmptyMessage.code(), ErrorCode::EmptyMessage);
    }

    #[test]
    fn message_limit_counts_characters_not_bytes() {
        let at_limit = "é".repeat(MAX_MESSAGE_CHARS);
        assert!(message_text(&at_limit).is_ok());
        let over = "é".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(message_text(&over), Err(Invalid::MessageTooLong { chars: MAX_MESSAGE_CHARS + 1 }));
    }

    #[test]
    fn a_message_of_files_alone_needs_no_text_but_at_most_ten_files() {
        assert_eq!(message("", 1), Ok(""));
        assert_eq!(message(" ", 0), Err(Invalid::EmptyMessage));
        assert_eq!(message("hi", MAX_ATTACHMENTS_PER_MESSAGE + 1), Err(Invalid::TooManyAttachments));
    }

    #[test]
    fn oversized_frames_are_refused_before_parsing() {
        assert!(frame_size(MAX_FRAME_BYTES).is_ok());
        assert_eq!(
            frame_size(MAX_FRAME_BYTES + 1),
            Err(Invalid::FrameTooLarge { bytes: MAX_FRAME_BYTES + 1 })
        );
    }

    #[test]
    fn slugs_are_lowercase_words() {
        assert!(slug("demo-shop").is_ok());
        for bad in ["", "-x", "Demo", "a b", "a/b", &"a".repeat(MAX_SLUG_LEN + 1)] {
            assert_eq!(slug(bad), Err(Invalid::BadSlug), "{bad:?}");
        }
    }
}
