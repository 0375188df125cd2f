//! `docs/api.md` is what integrators write clients from: every frame example in it must be a frame of the
//! protocol, written exactly as the edge writes it, and every frame type must have an example. A renamed
//! field, a new frame or a changed shape fails here until the docs say the same.

use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, ServerFrame};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeSet;

const API_DOCS: &str = include_str!("../../docs/api.md");

/// Which socket, and which way, the examples under a line of the docs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    ToConversation,
    FromConversation,
    ToDesk,
    FromDesk,
}

/// The inline code spans of `line` that are frames (`{"type": ...}`).
fn frame_examples(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2).filter(|span| span.starts_with("{\"type\""))
}

/// Every frame example of the WebSocket section, with the direction the text around it gives.
fn examples() -> Vec<(Direction, &'static str)> {
    let section = API_DOCS.split_once("## WebSockets").map(|(_, rest)| rest).expect("a WebSockets section");
    let mut direction = None;
    let mut found = Vec::new();
    for line in section.lines() {
        let starts = |s: &str| line.starts_with(s);
        if starts("Client → edge") {
            direction = Some(Direction::ToConversation);
        } else if starts("Edge → client") {
            direction = Some(Direction::FromConversation);
        } else if starts("Agent → edge") {
            direction = Some(Direction::ToDesk);
        } else if starts("Edge → agent") || starts("Supervisors and admins also get") {
            direction = Some(Direction::FromDesk);
        }
        for example in frame_examples(line) {
            let direction = direction.unwrap_or_else(|| panic!("{example}: not under a \"… → …:\" line"));
            found.push((direction, example));
        }
    }
    found
}

/// Decodes `example` as a `T`, and checks that encoding it again gives the same JSON: no field misnamed
/// (serde would ignore it), none missing, none of another shape.
fn check<T: DeserializeOwned + Serialize + std::fmt::Debug>(example: &str) -> T {
    let json: Value = serde_json::from_str(example).unwrap_or_else(|e| panic!("{example}: not JSON: {e}"));
    let frame: T = serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{example}: {e}"));
    let again = serde_json::to_value(&frame).expect("frames encode");
    assert_eq!(again, json, "{example} is read as {frame:?}, which the edge writes differently");
    frame
}

// One arm per frame type, without a catch-all: a new frame type does not compile until it is named here,
// and the test below then asks the docs for its example.
fn client_tag(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "hello",
        ClientFrame::Send { .. } => "send",
        ClientFrame::Typing { .. } => "typing",
        ClientFrame::Read { .. } => "read",
        ClientFrame::End => "end",
        ClientFrame::Park => "park",
        ClientFrame::Unpark => "unpark",
        ClientFrame::ChooseCode { .. } => "choose_code",
        ClientFrame::Notes { .. } => "notes",
        ClientFrame::ExtendWrap => "extend_wrap",
        ClientFrame::Complete => "complete",
        ClientFrame::Earlier { .. } => "earlier",
        ClientFrame::Unknown => "unknown",
    }
}
const CLIENT_TAGS: &[&str] = &[
    "hello",
    "send",
    "typing",
    "read",
    "end",
    "park",
    "unpark",
    "choose_code",
    "notes",
    "extend_wrap",
    "complete",
    "earlier",
];

fn server_tag(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::Welcome { .. } => "welcome",
        ServerFrame::Message { .. } => "message",
        ServerFrame::Ack { .. } => "ack",
        ServerFrame::Error { .. } => "error",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::Read { .. } => "read",
        ServerFrame::ChatEnded { .. } => "chat_ended",
        ServerFrame::Event { .. } => "event",
        ServerFrame::State { .. } => "state",
        ServerFrame::Page { .. } => "page",
        ServerFrame::Unknown => "unknown",
    }
}
const SERVER_TAGS: &[&str] =
    &["welcome", "message", "ack", "error", "typing", "read", "chat_ended", "event", "state", "page"];

fn desk_client_tag(frame: &DeskClientFrame) -> &'static str {
    match frame {
        DeskClientFrame::Hello { .. } => "hello",
        DeskClientFrame::SetPresence { .. } => "set_presence",
        DeskClientFrame::Accept { .. } => "accept",
        DeskClientFrame::Reject { .. } => "reject",
        DeskClientFrame::Transfer { .. } => "transfer",
        DeskClientFrame::CancelTransfer { .. } => "cancel_transfer",
        DeskClientFrame::Unknown => "unknown",
    }
}
const DESK_CLIENT_TAGS: &[&str] =
    &["hello", "set_presence", "accept", "reject", "transfer", "cancel_transfer"];

fn desk_tag(frame: &DeskFrame) -> &'static str {
    match frame {
        DeskFrame::Welcome { .. } => "welcome",
        DeskFrame::Presence { .. } => "presence",
        DeskFrame::Conversations { .. } => "conversations",
        DeskFrame::ConversationChanged { .. } => "conversation_changed",
        DeskFrame::Offer { .. } => "offer",
        DeskFrame::OfferWithdrawn { .. } => "offer_withdrawn",
        DeskFrame::Assigned { .. } => "assigned",
        DeskFrame::Requeued { .. } => "requeued",
        DeskFrame::TransferEnded { .. } => "transfer_ended",
        DeskFrame::Roster { .. } => "roster",
        DeskFrame::ContactAnswered { .. } => "contact_answered",
        DeskFrame::SiteChanged => "site_changed",
        DeskFrame::Overview { .. } => "overview",
        DeskFrame::Error { .. } => "error",
        DeskFrame::Unknown => "unknown",
    }
}
const DESK_TAGS: &[&str] = &[
    "welcome",
    "presence",
    "conversations",
    "conversation_changed",
    "offer",
    "offer_withdrawn",
    "assigned",
    "requeued",
    "transfer_ended",
    "roster",
    "contact_answered",
    "site_changed",
    "overview",
    "error",
];

#[test]
fn every_frame_example_in_the_api_docs_is_a_frame_as_the_edge_writes_it() {
    let mut documented: BTreeSet<(Direction, &str)> = BTreeSet::new();
    for (direction, example) in examples() {
        let tag = match direction {
            Direction::ToConversation => client_tag(&check::<ClientFrame>(example)),
            Direction::FromConversation => server_tag(&check::<ServerFrame>(example)),
            Direction::ToDesk => desk_client_tag(&check::<DeskClientFrame>(example)),
            Direction::FromDesk => desk_tag(&check::<DeskFrame>(example)),
        };
        assert_ne!(tag, "unknown", "{example}: no such frame type ({direction:?})");
        documented.insert((direction, tag));
    }
    for (direction, tags) in [
        (Direction::ToConversation, CLIENT_TAGS),
        (Direction::FromConversation, SERVER_TAGS),
        (Direction::ToDesk, DESK_CLIENT_TAGS),
        (Direction::FromDesk, DESK_TAGS),
    ] {
        for tag in tags {
            assert!(
                documented.contains(&(direction, *tag)),
                "docs/api.md has no example of {tag:?} ({direction:?})"
            );
        }
    }
}

#[test]
fn a_misnamed_field_in_an_example_would_fail() {
    // The check above is only as good as its round trip: a field serde ignores must not pass.
    let misnamed = r#"{"type": "read", "seq": 7, "sequence": 8}"#;
    let caught = std::panic::catch_unwind(|| check::<ClientFrame>(misnamed));
    assert!(caught.is_err(), "an unknown field in an example is caught");
}
