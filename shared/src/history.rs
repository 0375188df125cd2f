//! Contact history (asynchronous chat): searching a contact's transcripts by keyword, with the match ranges
//! an agent's view highlights; what a session's record is searched by; a transcript exported as text.

use crate::frames::{Author, Message};
use crate::ids::{InteractionId, Millis};
use serde::{Deserialize, Serialize};

/// One conversation's transcript (also `GET /api/v1/chats/{interaction}/transcript`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationTranscript {
    pub interaction: InteractionId,
    pub contact_label: String,
    pub started_at: i64,
    /// The newest [`MAX_TRANSCRIPT_MESSAGES`] at most, oldest first.
    pub messages: Vec<Message>,
    /// Older messages exist than `messages` holds (the conversation is longer than a transcript shows).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub earlier: bool,
}

/// The most messages a transcript (history, export) holds: the newest. Longer conversations are read a page
/// at a time on their socket.
pub const MAX_TRANSCRIPT_MESSAGES: usize = 5_000;

/// A message that matched a search, with where in its text the words matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub interaction: InteractionId,
    pub message: Message,
    /// Byte ranges `[start, end)` of `message.text` to highlight, in order, not overlapping.
    pub ranges: Vec<(usize, usize)>,
}

/// The words of a query: split on white space, at most 8, each at most 64 characters, lower-cased.
pub fn query_words(query: &str) -> Vec<String> {
    query.split_whitespace().take(8).map(|w| w.chars().take(64).collect::<String>().to_lowercase()).collect()
}

/// Where `words` occur in `text`, case-insensitively, merged and in order. Empty when any word is missing:
/// a message matches only if it contains every word.
pub fn match_ranges(text: &str, words: &[String]) -> Vec<(usize, usize)> {
    if words.is_empty() {
        return Vec::new();
    }
    // Lower-casing can change byte lengths (e.g. 'İ'), so match char by char on a folded copy that keeps
    // a map back to the original byte offsets.
    let mut folded = String::new();
    let mut origin = Vec::new(); // byte offset in `text` of each byte of `folded`
    for (at, ch) in text.char_indices() {
        for lower in ch.to_lowercase() {
            let mut buf = [0u8; 4];
            for _ in lower.encode_utf8(&mut buf).bytes() {
                origin.push(at);
            }
            folded.push(lower);
        }
    }
    origin.push(text.len());
    let mut ranges = Vec::new();
    for word in words {
        let found: Vec<(usize, usize)> = folded
            .match_indices(word.as_str())
            .map(|(start, m)| {
                let end_char = origin[start + m.len() - 1];
                let end = end_char + text[end_char..].chars().next().map_or(0, char::len_utf8);
                (origin[start], end)
            })
            .collect();
        if found.is_empty() {
            return Vec::new();
        }
        ranges.extend(found);
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// Searches transcripts (oldest conversation first, messages in `seq` order) and returns the hits, newest
/// first, at most `limit`.
pub fn search<'a>(
    transcripts: impl IntoIterator<Item = (InteractionId, &'a [Message])>,
    query: &str,
    limit: usize,
) -> Vec<Hit> {
    let words = query_words(query);
    let mut hits: Vec<Hit> = transcripts
        .into_iter()
        .flat_map(|(interaction, messages)| messages.iter().map(move |m| (interaction, m)))
        .filter_map(|(interaction, message)| {
            let ranges = match_ranges(&message.text, &words);
            (!ranges.is_empty()).then(|| Hit { interaction, message: message.clone(), ranges })
        })
        .collect();
    hits.sort_by(|a, b| b.message.at.cmp(&a.message.at).then(b.message.seq.cmp(&a.message.seq)));
    hits.truncate(limit);
    hits
}

/// Most bytes of a session's text its record keeps: the search needs the words, not every byte of a very
/// long chat.
pub const MAX_RECORD_TEXT_BYTES: usize = 64 * 1024;
/// The most messages of a session its record is made from (the first ones; the text is full long before).
pub const MAX_RECORD_MESSAGES: usize = 2_000;

/// What a completed session's record is found by and listed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordText {
    /// The session's messages, one a line, up to [`MAX_RECORD_TEXT_BYTES`]: the records search looks in it.
    pub text: String,
    /// The contact's first message of the session, as a list shows it.
    pub preview: String,
}

/// The text and preview of the session that started at `started`, from the conversation's messages (in
/// `seq` order; those before `started` belong to earlier sessions). The text stops before the first message
/// that would take it past [`MAX_RECORD_TEXT_BYTES`], so a message is never cut in half.
pub fn record_text(messages: &[Message], started: Millis) -> RecordText {
    let session = || messages.iter().filter(|m| m.at >= started);
    let mut text = String::new();
    for m in session() {
        if text.len() + m.text.len() > MAX_RECORD_TEXT_BYTES {
            break;
        }
        text.push_str(&m.text);
        text.push('\n');
    }
    let preview = session()
        .find(|m| matches!(m.author, Author::Contact))
        .map(crate::delivery::message_preview)
        .unwrap_or_default();
    RecordText { text, preview }
}

/// A transcript as a plain text file (the agent's "export"): a heading, then one line per message with its
/// UTC time, who wrote it (the contact's label, the agent's name, `?` for an author this build does not
/// know) and its text as written.
pub fn transcript_text(transcript: &ConversationTranscript) -> String {
    let mut text = format!("Conversation {} with {}\n\n", transcript.interaction, transcript.contact_label);
    if transcript.earlier {
        text.push_str(&format!(
            "(the newest {MAX_TRANSCRIPT_MESSAGES} messages; earlier ones are not included)\n\n"
        ));
    }
    for m in &transcript.messages {
        let who = match &m.author {
            Author::Contact => transcript.contact_label.as_str(),
            Author::Agent { name, .. } => name.as_str(),
            Author::Unknown => "?",
        };
        text.push_str(&format!("[{}] {who}: {}\n", crate::format::iso_8601(m.at), m.text));
    }
    text
}

/// The name [`transcript_text`] is downloaded under.
pub fn transcript_file_name(interaction: InteractionId) -> String {
    format!("conversation-{interaction}.txt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AgentId, ClientMessageId};

    fn msg(seq: u64, text: &str, at: i64) -> Message {
        Message {
            seq,
            client_id: ClientMessageId(uuid::Uuid::from_u128(u128::from(seq))),
            author: Author::Contact,
            text: text.into(),
            attachments: Vec::new(),
            at,
        }
    }

    #[test]
    fn search_is_case_insensitive_needs_every_word_and_returns_newest_first() {
        let old = InteractionId(uuid::Uuid::from_u128(1));
        let new = InteractionId(uuid::Uuid::from_u128(2));
        let first = [msg(1, "My Invoice is wrong", 10), msg(2, "thanks", 11)];
        let second = [msg(1, "the invoice again, still wrong", 50)];
        let hits = search([(old, &first[..]), (new, &second[..])], "invoice WRONG", 10);
        assert_eq!(
            hits.iter().map(|h| (h.interaction, h.message.seq)).collect::<Vec<_>>(),
            vec![(new, 1), (old, 1)]
        );
        assert_eq!(hits[1].ranges, vec![(3, 10), (14, 19)]);
        assert!(search([(old, &first[..])], "invoice refund", 10).is_empty(), "every word must match");
        assert!(search([(old, &first[..])], "   ", 10).is_empty());
    }

    fn by(author: Author, message: Message) -> Message {
        Message { author, ..message }
    }

    fn ada() -> Author {
        Author::Agent { id: AgentId("ada".into()), name: "Ada".into() }
    }

    #[test]
    fn a_record_keeps_its_sessions_text_and_the_contacts_first_words() {
        let messages = [
            msg(1, "from an earlier session", 10),
            by(ada(), msg(2, "Hello, how can I help?", 100)),
            msg(3, "My *order* is late", 101),
            msg(4, "it was due Monday", 102),
        ];
        let record = record_text(&messages, 100);
        assert_eq!(record.text, "Hello, how can I help?\nMy *order* is late\nit was due Monday\n");
        assert_eq!(record.preview, "My order is late", "the contact's first message, as a list shows it");
        let agent_only = record_text(&messages[..2], 100);
        assert_eq!((agent_only.text.as_str(), agent_only.preview.as_str()), ("Hello, how can I help?\n", ""));
        assert_eq!(record_text(&[], 0), RecordText { text: String::new(), preview: String::new() });
    }

    #[test]
    fn a_records_text_stops_before_the_message_that_would_pass_the_cap() {
        let first = "a".repeat(MAX_RECORD_TEXT_BYTES - 2);
        // A message's own line break is not counted: `first`, its line break and "b" make exactly the cap.
        let fits = [msg(1, &first, 0), msg(2, "b", 0), msg(3, "", 0), msg(4, "c", 0)];
        assert_eq!(
            record_text(&fits, 0).text,
            format!("{first}\nb\n"),
            "nothing after the cap, not even empty"
        );
        let over = [msg(1, &first, 0), msg(2, "bc", 0), msg(3, "d", 0)];
        assert_eq!(record_text(&over, 0).text, format!("{first}\n"), "stops at the first message too long");
        let huge = [msg(1, &"x".repeat(MAX_RECORD_TEXT_BYTES + 1), 0), msg(2, "hello", 0)];
        let record = record_text(&huge, 0);
        assert_eq!(record.text, "", "a message is never cut in half");
        assert_eq!(record.preview.chars().count(), crate::delivery::PREVIEW_CHARS, "the preview still is");
    }

    #[test]
    fn a_transcript_exports_as_one_line_per_message() {
        let interaction = InteractionId(uuid::Uuid::from_u128(7));
        let transcript = ConversationTranscript {
            interaction,
            contact_label: "Grace".into(),
            started_at: 1_796_210_920_000,
            messages: vec![
                msg(1, "Is the *blue* mug back?", 1_796_210_920_123),
                by(ada(), msg(2, "Yes, since Monday.", 1_796_210_980_000)),
                by(Author::Unknown, msg(3, "beep", 1_796_211_000_001)),
            ],
            earlier: false,
        };
        assert_eq!(
            transcript_text(&transcript),
            "Conversation 00000000-0000-0000-0000-000000000007 with Grace\n\n\
             [2026-12-02T11:28:40.123Z] Grace: Is the *blue* mug back?\n\
             [2026-12-02T11:29:40.000Z] Ada: Yes, since Monday.\n\
             [2026-12-02T11:30:00.001Z] ?: beep\n"
        );
        assert_eq!(
            transcript_file_name(interaction),
            "conversation-00000000-0000-0000-0000-000000000007.txt"
        );
        let long = ConversationTranscript { earlier: true, ..transcript };
        assert!(
            transcript_text(&long)
                .contains("\n\n(the newest 5000 messages; earlier ones are not included)\n\n[")
        );
    }

    #[test]
    fn highlight_ranges_are_byte_ranges_of_the_original_text() {
        let text = "Größe: XL, GRÖSSE passt";
        let ranges = match_ranges(text, &query_words("größe"));
        assert_eq!(ranges.iter().map(|(s, e)| &text[*s..*e]).collect::<Vec<_>>(), vec!["Größe"]);
        let overlapping = match_ranges("abcabc", &query_words("abc bca"));
        assert_eq!(overlapping, vec![(0, 6)], "overlapping matches merge");
    }
}
