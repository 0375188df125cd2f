//! Message numbering, de-duplication and resume.
//!
//! The guarantees (DESIGN.md, "Protocol and delivery guarantees"):
//! - each stored message gets the next `seq` of its conversation (1, 2, 3, ...), before anyone is sent it;
//! - a `send` whose `client_id` was already stored is acknowledged with the original `seq` and not stored
//!   again, so a client may resend anything it has no acknowledgement for;
//! - a client that resumes with `after = n` receives exactly the messages with `seq > n`, in order.
//!
//! The storage (SQLite in the Durable Object, a `Vec` in tests) answers two questions — the last `seq` and
//! whether a `client_id` is already stored — and this module decides.

use crate::frames::{Attachment, Author, ClientFrame, Message};
use crate::ids::{ClientMessageId, Seq};
use crate::json::{FromJson, ToJson};
use crate::validate::{self, Invalid};
use serde::{Deserialize, Serialize};

/// What the conversation does with one `send`.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Store this message, then acknowledge it to the sender and deliver it to the audience.
    Store(Message),
    /// Already stored as `seq`: acknowledge again, store and deliver nothing.
    AlreadyStored { seq: Seq },
}

/// A `send` as it arrives, before any decision.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub client_id: ClientMessageId,
    pub text: &'a str,
    pub attachments: Vec<Attachment>,
    pub author: Author,
    /// Milliseconds since the Unix epoch, from the caller's clock.
    pub now: i64,
}

/// Decides a `send`, given the conversation's `last_seq` (0 when empty) and the `seq` already stored under the
/// same `client_id`, if any. A duplicate is recognised before the text is checked, so a resend of a message
/// that was accepted under older, looser limits is still acknowledged.
pub fn decide_send(
    submission: Submission<'_>,
    last_seq: Seq,
    already_stored: Option<Seq>,
) -> Result<SendOutcome, Invalid> {
    if let Some(seq) = already_stored {
        return Ok(SendOutcome::AlreadyStored { seq });
    }
    let text = validate::message(submission.text, submission.attachments.len())?;
    Ok(SendOutcome::Store(Message {
        seq: last_seq + 1,
        client_id: submission.client_id,
        author: submission.author,
        text: text.to_owned(),
        attachments: submission.attachments,
        at: submission.now,
    }))
}

/// The most messages one `hello` replays, or one `earlier` asks for: a long conversation is read a page at a
/// time, and no frame of a few bytes makes the edge send its whole transcript.
pub const PAGE_MESSAGES: usize = 200;

/// What a `hello`'s backlog holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// The oldest `seq` it sends.
    pub first: Seq,
    /// The `seq` of the stored message just before it (0: none, or the client holds it): agents' events
    /// after that one go with the backlog.
    pub events_after: Seq,
    /// Older messages exist that the client does not hold.
    pub earlier: bool,
    /// It does not continue what a resuming client holds (more than a page was missed).
    pub restart: bool,
}

/// The backlog of a `hello` that said `after`, given the `seq`s of the newest stored messages from
/// [`resume_from`]`(after)` on, newest first, at most [`PAGE_MESSAGES`] + 1 of them.
pub fn backlog(after: Option<Seq>, newest_first: &[Seq]) -> Backlog {
    let resume = resume_from(after);
    match newest_first.get(PAGE_MESSAGES) {
        // More than a page: the newest page only.
        Some(&before_page) => Backlog {
            first: newest_first[PAGE_MESSAGES - 1],
            events_after: before_page,
            earlier: true,
            restart: after.is_some(),
        },
        None => Backlog { first: resume, events_after: after.unwrap_or(0), earlier: false, restart: false },
    }
}

/// The first `seq` a client resuming with `after` must receive.
pub fn resume_from(after: Option<Seq>) -> Seq {
    after.map_or(1, |seq| seq.saturating_add(1))
}

/// How often a client that is typing repeats `typing {on: true}`.
pub const TYPING_REFRESH_MS: i64 = 3_000;
/// A typing indicator not refreshed for this long is hidden (the sender may have gone without a `false`).
pub const TYPING_TIMEOUT_MS: i64 = 6_000;

/// Whether a client should send `typing {on}` now, given when it last said it was typing (0: it has said
/// nothing, or that it stopped). Starting is repeated every [`TYPING_REFRESH_MS`] so the other side's
/// indicator does not time out; stopping is said once.
pub fn typing_due(on: bool, last_sent: i64, now: i64) -> bool {
    if on { last_sent == 0 || now - last_sent >= TYPING_REFRESH_MS } else { last_sent != 0 }
}

/// Messages the reader has not read: those after `read_up_to` written by the other side.
pub fn unread(messages: &[Message], read_up_to: Option<Seq>, reader_is_contact: bool) -> usize {
    let from = resume_from(read_up_to);
    messages
        .iter()
        .filter(|m| m.seq >= from && matches!(m.author, Author::Contact) != reader_is_contact)
        .count()
}

/// Longest preview of a message in an agent's conversation list, in characters.
pub const PREVIEW_CHARS: usize = 80;

/// A one-line preview of a message for lists: newlines folded, cut at [`PREVIEW_CHARS`] with an ellipsis.
pub fn preview(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= PREVIEW_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(PREVIEW_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// How a message reads in a one-line list (an agent's log, a record): its text as a reader sees it, without
/// the `*bold*` / `_italic_` markers, or for a message of files only, "📎" and their names.
pub fn message_preview(message: &Message) -> String {
    let plain: String = crate::format::spans(&message.text).into_iter().map(|span| span.text).collect();
    if !plain.trim().is_empty() || message.attachments.is_empty() {
        return preview(&plain);
    }
    let names: Vec<&str> = message.attachments.iter().map(|a| a.name.as_str()).collect();
    preview(&format!("📎 {}", names.join(", ")))
}

/// A message written by this client and not yet acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToJson, FromJson)]
pub struct Outgoing {
    pub client_id: ClientMessageId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// When it was written, by the client's clock (shown until the edge's stamp replaces it).
    pub written_at: i64,
}

/// A client's view of one conversation: the messages it has received, in `seq` order without duplicates, and
/// its outbox of messages not yet acknowledged, in the order they were written.
///
/// On every (re)connection the client says `hello` with [`ClientLog::last_seq`] and then resends the whole
/// outbox in order ([`ClientLog::resend_frames`]); the edge's de-duplication makes resending always safe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientLog {
    pub messages: Vec<Message>,
    pub outbox: Vec<Outgoing>,
    /// Older messages exist than the log holds (a long conversation arrives a page at a time).
    #[serde(default)]
    pub earlier: bool,
}

impl ClientLog {
    /// The oldest `seq` held: where the page before it ends.
    pub fn first_seq(&self) -> Option<Seq> {
        self.messages.first().map(|m| m.seq)
    }

    /// The edge welcomed a `hello` that said `after` (`resumed`): a backlog that restarts replaces what the
    /// log held; a fresh or restarted backlog says whether older messages exist. A resume keeps what the log
    /// knew of them.
    pub fn welcomed(&mut self, resumed: bool, earlier: bool, restart: bool) {
        if restart {
            self.messages.clear();
        }
        if restart || !resumed {
            self.earlier = earlier;
        }
    }

    /// The `seq` to resume after.
    pub fn last_seq(&self) -> Option<Seq> {
        self.messages.last().map(|m| m.seq)
    }

    /// Takes a delivered message; returns `false` when it was already known. A message of this client's own
    /// leaves the outbox.
    ///
    /// The edge shows a message to the other side before storing it; if the edge then crashes, the author
    /// sends it again and it is stored under a later `seq` (the edge never reuses a number it may have
    /// shown). The copy under the earlier number goes: the message is shown once, where it was stored.
    pub fn receive(&mut self, message: Message) -> bool {
        self.outbox.retain(|o| o.client_id != message.client_id);
        self.messages.retain(|m| m.client_id != message.client_id || m.seq == message.seq);
        match self.messages.binary_search_by_key(&message.seq, |m| m.seq) {
            Ok(_) => false,
            Err(at) => {
                self.messages.insert(at, message);
                true
            }
        }
    }

    /// Queues a message the person just wrote.
    pub fn write(&mut self, outgoing: Outgoing) {
        self.outbox.push(outgoing);
    }

    /// The edge stored `client_id`: it leaves the outbox (the message itself arrives as a `message` frame).
    pub fn acknowledge(&mut self, client_id: ClientMessageId) {
        self.outbox.retain(|o| o.client_id != client_id);
    }

    /// The `send` frames that replay the outbox, oldest first.
    pub fn resend_frames(&self) -> impl Iterator<Item = ClientFrame> + '_ {
        self.outbox.iter().map(|o| ClientFrame::Send {
            client_id: o.client_id,
            text: o.text.clone(),
            attachments: o.attachments.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_backlog_is_at_most_a_page_and_a_resume_that_missed_more_starts_again() {
        let newest_first = |from: Seq, to: Seq| (from..=to).rev().collect::<Vec<Seq>>();
        // A short conversation: all of it, nothing earlier.
        let short = backlog(None, &newest_first(1, 50));
        assert_eq!(short, Backlog { first: 1, events_after: 0, earlier: false, restart: false });
        // A long one: the newest page, and older messages exist (what the query gave: a page and one).
        let total = 1_000;
        let long = backlog(None, &newest_first(total - PAGE_MESSAGES as Seq, total));
        assert_eq!(long.first, total - PAGE_MESSAGES as Seq + 1);
        assert_eq!(
            (long.events_after, long.earlier, long.restart),
            (total - PAGE_MESSAGES as Seq, true, false)
        );
        // A resume that missed a few: exactly those.
        let resume = backlog(Some(990), &newest_first(991, total));
        assert_eq!(resume, Backlog { first: 991, events_after: 990, earlier: false, restart: false });
        // A resume that missed more than a page starts again from the newest page.
        let missed = backlog(Some(10), &newest_first(total - PAGE_MESSAGES as Seq, total));
        assert!(missed.restart && missed.earlier);
    }

    #[test]
    fn a_log_keeps_what_it_knew_of_earlier_messages_across_a_resume_and_starts_over_on_a_restart() {
        let message = |seq: Seq| Message {
            seq,
            client_id: ClientMessageId(uuid::Uuid::from_u128(u128::from(seq))),
            author: Author::Contact,
            text: format!("m{seq}"),
            attachments: Vec::new(),
            at: 0,
        };
        let mut log = ClientLog::default();
        log.welcomed(false, true, false);
        for seq in 801..=1_000 {
            log.receive(message(seq));
        }
        assert!(log.earlier, "a fresh backlog of the newest page");
        assert_eq!(log.first_seq(), Some(801));
        // The page before arrives as messages, in order, before what was held.
        for seq in (601..=800).rev() {
            log.receive(message(seq));
        }
        assert_eq!(log.first_seq(), Some(601));
        assert!(log.messages.windows(2).all(|w| w[0].seq < w[1].seq));
        // A resume that missed little says nothing of earlier messages: the log still knows.
        log.welcomed(true, false, false);
        assert!(log.earlier);
        assert_eq!(log.messages.len(), 400);
        // One that missed more than a page starts again.
        log.welcomed(true, true, true);
        assert!(log.messages.is_empty() && log.earlier);
    }

    /// A conversation kept in memory with exactly the two answers the Durable Object gets from SQLite.
    #[derive(Default)]
    struct MemoryTranscript {
        messages: Vec<Message>,
    }

    impl MemoryTranscript {
        fn send(&mut self, id: u128, text: &str) -> Result<Seq, Invalid> {
            let client_id = ClientMessageId(uuid::Uuid::from_u128(id));
            let stored = self.messages.iter().find(|m| m.client_id == client_id).map(|m| m.seq);
            let last = self.messages.last().map_or(0, |m| m.seq);
            let submission =
                Submission { client_id, text, attachments: Vec::new(), author: Author::Contact, now: 0 };
            match decide_send(submission, last, stored)? {
                SendOutcome::Store(message) => {
                    let seq = message.seq;
                    self.messages.push(message);
                    Ok(seq)
                }
                SendOutcome::AlreadyStored { seq } => Ok(seq),
            }
        }

        fn after(&self, after: Option<Seq>) -> Vec<Seq> {
            let from = resume_from(after);
            self.messages.iter().filter(|m| m.seq >= from).map(|m| m.seq).collect()
        }
    }

    #[test]
    fn resend_with_same_client_id_is_acknowledged_with_original_seq_and_stored_once() {
        let mut t = MemoryTranscript::default();
        assert_eq!(t.send(1, "hello"), Ok(1));
        assert_eq!(t.send(2, "second"), Ok(2));
        assert_eq!(t.send(1, "hello"), Ok(1));
        assert_eq!(t.messages.len(), 2);
    }

    #[test]
    fn refused_messages_take_no_seq() {
        let mut t = MemoryTranscript::default();
        assert_eq!(t.send(1, "   "), Err(Invalid::EmptyMessage));
        assert_eq!(t.send(2, "ok"), Ok(1));
    }

    #[test]
    fn resume_after_returns_exactly_the_later_messages() {
        let mut t = MemoryTranscript::default();
        for i in 1..=5 {
            t.send(i, "m").expect("valid");
        }
        assert_eq!(t.after(None), vec![1, 2, 3, 4, 5]);
        assert_eq!(t.after(Some(3)), vec![4, 5]);
        assert_eq!(t.after(Some(5)), Vec::<Seq>::new());
        assert_eq!(resume_from(Some(Seq::MAX)), Seq::MAX);
    }

    #[test]
    fn unread_counts_only_the_other_sides_messages_after_the_last_read() {
        let agent = Author::Agent { id: crate::ids::AgentId("ada".into()), name: "Ada".into() };
        let mut messages: Vec<Message> = (1..=4).map(|seq| delivered(seq, u128::from(seq))).collect();
        messages[1].author = agent.clone();
        messages[3].author = agent;
        assert_eq!(unread(&messages, None, true), 2, "the contact has two agent replies to read");
        assert_eq!(unread(&messages, Some(2), true), 1);
        assert_eq!(unread(&messages, Some(4), true), 0);
        assert_eq!(unread(&messages, Some(1), false), 1, "the agent has one contact message to read");
    }

    #[test]
    fn typing_is_said_at_most_every_refresh_and_stopping_once() {
        assert!(typing_due(true, 0, 10_000));
        assert!(!typing_due(true, 10_000, 10_000 + TYPING_REFRESH_MS - 1));
        assert!(typing_due(true, 10_000, 10_000 + TYPING_REFRESH_MS));
        assert!(typing_due(false, 10_000, 10_001));
        assert!(!typing_due(false, 0, 10_001), "nothing to stop");
    }

    #[test]
    fn a_messages_preview_reads_as_shown_and_names_its_files() {
        use crate::attachments::FileKind;
        let file =
            |name: &str| Attachment { id: "f".into(), name: name.into(), size: 3, kind: FileKind::Pdf };
        let message = |text: &str, attachments: Vec<Attachment>| Message {
            seq: 1,
            client_id: ClientMessageId(uuid::Uuid::nil()),
            author: Author::Contact,
            text: text.into(),
            attachments,
            at: 0,
        };
        assert_eq!(message_preview(&message("*Thanks*, _really_!", vec![])), "Thanks, really!");
        assert_eq!(message_preview(&message("2 * 3 * 4", vec![])), "2 * 3 * 4", "no markers, no change");
        assert_eq!(message_preview(&message("", vec![file("invoice.pdf")])), "📎 invoice.pdf");
        assert_eq!(message_preview(&message("", vec![file("a.pdf"), file("b.pdf")])), "📎 a.pdf, b.pdf");
        assert_eq!(message_preview(&message("See *this*", vec![file("a.pdf")])), "See this", "text first");
    }

    #[test]
    fn preview_folds_lines_and_cuts_long_text() {
        assert_eq!(preview("a\n  b"), "a b");
        let long = "x".repeat(200);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS);
        assert!(p.ends_with('…'));
    }

    fn delivered(seq: Seq, id: u128) -> Message {
        Message {
            seq,
            client_id: ClientMessageId(uuid::Uuid::from_u128(id)),
            author: Author::Contact,
            text: format!("m{seq}"),
            attachments: Vec::new(),
            at: 0,
        }
    }

    fn outgoing(id: u128) -> Outgoing {
        Outgoing {
            client_id: ClientMessageId(uuid::Uuid::from_u128(id)),
            text: format!("o{id}"),
            attachments: Vec::new(),
            written_at: 0,
        }
    }

    #[test]
    fn client_log_ignores_duplicates_and_orders_by_seq() {
        let mut log = ClientLog::default();
        assert!(log.receive(delivered(2, 2)));
        assert!(log.receive(delivered(1, 1)));
        assert!(!log.receive(delivered(2, 2)));
        assert_eq!(log.messages.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(log.last_seq(), Some(2));
    }

    #[test]
    fn a_message_shown_then_lost_in_a_crash_appears_once_where_it_was_stored() {
        let mut log = ClientLog::default();
        assert!(log.receive(delivered(1, 1)));
        // Shown as 2, lost with the edge; the edge numbers on past its reservation, the author resends.
        assert!(log.receive(delivered(2, 2)));
        assert!(log.receive(delivered(258, 3)));
        assert!(log.receive(delivered(259, 2)));
        let shown: Vec<_> = log.messages.iter().map(|m| (m.seq, m.client_id.0.as_u128())).collect();
        assert_eq!(shown, vec![(1, 1), (258, 3), (259, 2)]);
        assert!(!log.receive(delivered(259, 2)), "the same delivery again is a duplicate");
    }

    #[test]
    fn outbox_replays_in_written_order_until_acknowledged_or_delivered() {
        let mut log = ClientLog::default();
        for id in [10, 11, 12] {
            log.write(outgoing(id));
        }
        log.acknowledge(ClientMessageId(uuid::Uuid::from_u128(10)));
        log.receive(delivered(5, 12));
        let replay: Vec<_> = log.resend_frames().collect();
        assert_eq!(
            replay,
            vec![ClientFrame::Send {
                client_id: ClientMessageId(uuid::Uuid::from_u128(11)),
                text: "o11".into(),
                attachments: Vec::new()
            }]
        );
    }

    proptest! {
        /// Whatever a flaky network makes a client resend, and in whatever order, the stored sequence is
        /// gap-free, strictly increasing, and holds each client id once.
        #[test]
        fn seq_is_gap_free_and_each_client_id_is_stored_once(sends in proptest::collection::vec(0u128..20, 0..200)) {
            let mut t = MemoryTranscript::default();
            for id in &sends {
                t.send(*id, "m").expect("valid text");
            }
            let seqs: Vec<Seq> = t.messages.iter().map(|m| m.seq).collect();
            prop_assert_eq!(seqs, (1..=t.messages.len() as Seq).collect::<Vec<_>>());
            let mut ids: Vec<_> = t.messages.iter().map(|m| m.client_id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), t.messages.len());
            let distinct: std::collections::BTreeSet<_> = sends.iter().collect();
            prop_assert_eq!(distinct.len(), t.messages.len());
        }
    }
}
