//! Contact history (asynchronous chat): searching a contact's transcripts by keyword, with the match ranges
//! an agent's view highlights.

use crate::frames::Message;
use crate::ids::InteractionId;
use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::Author;
    use crate::ids::ClientMessageId;

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

    #[test]
    fn highlight_ranges_are_byte_ranges_of_the_original_text() {
        let text = "Größe: XL, GRÖSSE passt";
        let ranges = match_ranges(text, &query_words("größe"));
        assert_eq!(ranges.iter().map(|(s, e)| &text[*s..*e]).collect::<Vec<_>>(), vec!["Größe"]);
        let overlapping = match_ranges("abcabc", &query_words("abc bca"));
        assert_eq!(overlapping, vec![(0, 6)], "overlapping matches merge");
    }
}
