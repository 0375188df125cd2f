//! Fuzzing every decoder a stranger can reach: the frames of both sockets (and the contact's subset) and the
//! JSON bodies of the HTTP API. Whatever the input (random text, malformed UTF-8 turned text, JSON of the
//! right shape with wrong values, known `type`s with random fields), decoding returns a value or an error:
//! it never panics, and anything it accepts encodes and decodes back to itself.
//!
//! The suite runs a few hundred cases per property; a long run is
//! `PROPTEST_CASES=200000 cargo test --release -p confab-protocol --test hostile_input` (or `cargo xtask fuzz`).

use confab_protocol::admin::{AgentChanges, FirstRun, NewAgent, SiteSettings};
use confab_protocol::api::{RecordQuery, SignIn, SiteSetup, StartChat};
use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, ServerFrame};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Every `type` the frames know, so random fields meet real variants, not only `unknown`.
const TYPES: [&str; 24] = [
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
    "welcome",
    "message",
    "ack",
    "error",
    "chat_ended",
    "event",
    "state",
    "set_presence",
    "accept",
    "reject",
    "transfer",
    "offer",
    "overview",
];

/// Random JSON, a few levels deep, with the field names the protocol uses among random ones.
fn json_value() -> impl Strategy<Value = Value> {
    let names = prop_oneof![
        Just("type".to_owned()),
        Just("text".to_owned()),
        Just("client_id".to_owned()),
        Just("seq".to_owned()),
        Just("token".to_owned()),
        Just("attachments".to_owned()),
        Just("interaction".to_owned()),
        Just("presence".to_owned()),
        Just("code".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::from),
        proptest::sample::select(TYPES.to_vec()).prop_map(Value::from),
        Just(Value::from("00000000-0000-0000-0000-000000000001")),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// An object with a known frame `type` and random other fields.
fn typed_frame() -> impl Strategy<Value = String> {
    (proptest::sample::select(TYPES.to_vec()), json_value()).prop_map(|(kind, value)| {
        let mut object = match value {
            Value::Object(map) => map,
            other => [("value".to_owned(), other)].into_iter().collect(),
        };
        object.insert("type".into(), json!(kind));
        Value::Object(object).to_string()
    })
}

/// A few hundred cases in the suite; `PROPTEST_CASES` for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

/// Decodes `text` as every frame type and body: never a panic; what decodes survives a round trip.
fn decode_everything(text: &str) {
    if let Ok(frame) = ClientFrame::decode(text) {
        assert_eq!(ClientFrame::decode(&frame.encode()).ok(), Some(frame));
    }
    let served = ServerFrame::decode(text);
    if let Ok(frame) = &served {
        assert_eq!(ServerFrame::decode(&frame.encode()).ok().as_ref(), Some(frame));
    }
    // The widget's small reader agrees with serde on every frame a contact can get. (serde also takes an
    // array whose first item is the type; frames are objects, and the small reader takes only those.)
    let for_contact = ServerFrame::decode_for_contact(text);
    let object = text.trim_start().starts_with('{');
    match served {
        Ok(ServerFrame::Event { .. } | ServerFrame::State { .. }) => {}
        Ok(frame) if object => assert_eq!(for_contact, Ok(frame), "{text}"),
        Ok(_) => {}
        Err(_) => assert!(for_contact.is_err() || for_contact == Ok(ServerFrame::Unknown), "{text}"),
    }
    if let Ok(frame) = DeskClientFrame::decode(text) {
        assert_eq!(DeskClientFrame::decode(&frame.encode()).ok(), Some(frame));
    }
    if let Ok(frame) = DeskFrame::decode(text) {
        assert_eq!(DeskFrame::decode(&frame.encode()).ok(), Some(frame));
    }
    // The HTTP API's bodies; checks that follow decoding must not panic either.
    if let Ok(settings) = serde_json::from_str::<SiteSettings>(text) {
        let _ = settings.check(true);
    }
    if let Ok(setup) = serde_json::from_str::<SiteSetup>(text) {
        let _ = setup.widget.check();
    }
    if let Ok(new) = serde_json::from_str::<NewAgent>(text) {
        let _ = new.account();
    }
    if let Ok(run) = serde_json::from_str::<FirstRun>(text) {
        let _ = run.admin();
    }
    let _ = serde_json::from_str::<AgentChanges>(text);
    let _ = serde_json::from_str::<StartChat>(text);
    let _ = serde_json::from_str::<SignIn>(text);
    if let Ok(query) = serde_json::from_str::<RecordQuery>(text) {
        assert!((1..=RecordQuery::MAX_LIMIT).contains(&query.limit()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in ".{0,300}") {
        decode_everything(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        // What a socket or body reader makes of malformed UTF-8.
        decode_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_json_never_panics(value in json_value()) {
        decode_everything(&value.to_string());
    }

    #[test]
    fn known_types_with_random_fields_never_panic(text in typed_frame()) {
        decode_everything(&text);
    }
}

#[test]
fn deep_nesting_and_huge_numbers_are_errors_not_crashes() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    decode_everything(&deep);
    let deep_object = format!("{}1{}", r#"{"type":"send","text":"#.repeat(2_000), "}".repeat(2_000));
    decode_everything(&deep_object);
    decode_everything(r#"{"type":"read","seq":1e400}"#);
    decode_everything(r#"{"type":"read","seq":-1}"#);
    decode_everything(r#"{"type":"send","client_id":"not-a-uuid","text":"x"}"#);
    decode_everything("\u{0}\u{feff}{\"type\":\"hello\",\"version\":1}");
}
