//! The widget's JSON conversions (`confab_protocol::json`, derived from the same serde attributes) against
//! serde's derives, which the edge uses: the same text written, the same values read, for every type the
//! widget reads or writes, and the same refusals.

use confab_protocol::api::{ApiError, ChatStarted, Identity, StartChat};
use confab_protocol::attachments::FileKind;
use confab_protocol::delivery::Outgoing;
use confab_protocol::frames::{Attachment, ClientFrame, ErrorCode, ServerFrame};
use confab_protocol::ids::{ClientMessageId, InteractionId};
use confab_protocol::json::{self, FromJson, ToJson};
use confab_protocol::widget::{ContactDetails, Field, Position, PreChatForm, WidgetSettings};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `value` is written as serde writes it, and serde's text reads back as `value`.
fn same_both_ways<T>(value: &T)
where
    T: ToJson + FromJson + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let serde_text = serde_json::to_string(value).expect("serde writes it");
    assert_eq!(json::write(value), serde_text);
    assert_eq!(json::read::<T>(&serde_text).as_ref(), Some(value), "{serde_text}");
}

/// serde's text of `value` reads back as `value`.
fn reads_serde<T>(value: &T)
where
    T: FromJson + Serialize + PartialEq + std::fmt::Debug,
{
    let serde_text = serde_json::to_string(value).expect("serde writes it");
    assert_eq!(json::read::<T>(&serde_text).as_ref(), Some(value), "{serde_text}");
}

/// `value` is written as serde writes it.
fn writes_as_serde<T: ToJson + Serialize>(value: &T) {
    assert_eq!(json::write(value), serde_json::to_string(value).expect("serde writes it"));
}

fn photo() -> Attachment {
    Attachment { id: "a1".into(), name: "cat \"1\".png".into(), size: 12_345, kind: FileKind::Png }
}

#[test]
fn every_error_code_and_file_kind_has_serdes_name() {
    for code in ErrorCode::ALL.into_iter().chain([ErrorCode::Unknown]) {
        assert_eq!(serde_json::to_string(&code).expect("writes"), format!("\"{}\"", code.as_str()));
        assert_eq!(json::read::<ErrorCode>(&format!("\"{}\"", code.as_str())), Some(code));
    }
    assert_eq!(json::read::<ErrorCode>("\"from_the_future\""), Some(ErrorCode::Unknown));
    for kind in FileKind::ALL {
        same_both_ways(&photo_of(kind));
    }
    assert_eq!(json::read::<FileKind>("\"exe\""), None, "an unknown kind is refused, as by serde");
}

fn photo_of(kind: FileKind) -> Attachment {
    Attachment { kind, ..photo() }
}

#[test]
fn the_client_frames_encode_as_serde_writes_them() {
    let frames = [
        ClientFrame::Hello { version: 1, token: Some("tok".into()), after: Some(7) },
        ClientFrame::Hello { version: 1, token: None, after: None },
        ClientFrame::Send {
            client_id: ClientMessageId(uuid::Uuid::from_u128(42)),
            text: "line one\nline \"two\" \\ é 😀 \u{1}".into(),
            attachments: Vec::new(),
        },
        ClientFrame::Send {
            client_id: ClientMessageId(uuid::Uuid::from_u128(u128::MAX)),
            text: String::new(),
            attachments: vec![photo(), photo_of(FileKind::Pdf)],
        },
        ClientFrame::Typing { on: true },
        ClientFrame::Read { seq: u64::MAX },
        ClientFrame::End,
        ClientFrame::Park,
        ClientFrame::Unpark,
        ClientFrame::ChooseCode { code: "sale".into() },
        ClientFrame::Notes { text: "n".into() },
        ClientFrame::ExtendWrap,
        ClientFrame::Complete,
        ClientFrame::Unknown,
    ];
    for frame in frames {
        assert_eq!(frame.encode(), serde_json::to_string(&frame).expect("serde writes it"));
    }
}

#[test]
fn the_widgets_bodies_and_stored_values_match_serde() {
    let identity = Identity {
        user_id: "u-1".into(),
        name: Some("Grace".into()),
        email: None,
        signature: "ab".repeat(32),
    };
    writes_as_serde(&StartChat::default());
    writes_as_serde(&StartChat {
        name: Some("Grace".into()),
        email: Some("g@example.com".into()),
        contact_token: Some("t".into()),
        identity: Some(identity),
    });
    reads_serde(&ChatStarted {
        interaction: InteractionId(uuid::Uuid::from_u128(7)),
        contact_token: "secret".into(),
    });
    reads_serde(&ApiError::new(ErrorCode::TooManyRequests, "slow down"));
    same_both_ways(&ContactDetails::default());
    same_both_ways(&ContactDetails { name: Some("Ada".into()), email: Some("a@example.com".into()) });
    let outgoing = Outgoing {
        client_id: ClientMessageId(uuid::Uuid::from_u128(9)),
        text: "hi".into(),
        attachments: vec![photo()],
        written_at: 1_700_000_000_000,
    };
    same_both_ways(&vec![outgoing.clone(), Outgoing { attachments: Vec::new(), ..outgoing }]);
    same_both_ways(&vec!["recent".to_owned(), "queues".to_owned()]);
}

#[test]
fn widget_settings_read_as_serde_reads_them_with_defaults_for_what_is_missing() {
    reads_serde(&WidgetSettings::default());
    reads_serde(&WidgetSettings {
        title: "Shop".into(),
        greeting: "Hi".into(),
        color: "#112233".into(),
        position: Position::Left,
        show_agent_names: false,
        pre_chat: PreChatForm { name: Field::Required, email: Field::Optional },
        locale: "de".into(),
    });
    for text in ["{}", r#"{"title":"T"}"#, r#"{"pre_chat":{"email":"required"}}"#, r#"{"x":[1,{"y":null}]}"#]
    {
        let serde: WidgetSettings = serde_json::from_str(text).expect("serde reads it");
        assert_eq!(json::read::<WidgetSettings>(text), Some(serde), "{text}");
    }
    for text in [r#"{"position":"middle"}"#, r#"{"show_agent_names":"yes"}"#, "null", "\"x\""] {
        assert!(serde_json::from_str::<WidgetSettings>(text).is_err(), "{text}");
        assert_eq!(json::read::<WidgetSettings>(text), None, "{text}");
    }
}

proptest! {
    /// Whatever a contact or agent types (any Unicode, control characters, quotes), the frame carries it
    /// exactly as serde would, and the stored outbox reads back the same.
    #[test]
    fn any_text_is_written_as_serde_writes_it(text in any::<String>(), at in any::<i64>(), id in any::<u128>()) {
        let frame = ClientFrame::Send { client_id: ClientMessageId(uuid::Uuid::from_u128(id)), text: text.clone(), attachments: Vec::new() };
        prop_assert_eq!(frame.encode(), serde_json::to_string(&frame).expect("serde writes it"));
        let outgoing = vec![Outgoing { client_id: ClientMessageId(uuid::Uuid::from_u128(id)), text, attachments: Vec::new(), written_at: at }];
        let serde_text = serde_json::to_string(&outgoing).expect("serde writes it");
        prop_assert_eq!(json::write(&outgoing), serde_text.clone());
        prop_assert_eq!(json::read::<Vec<Outgoing>>(&serde_text), Some(outgoing));
    }
}

/// Reads `text` with both readers: the same value, or both refuse it.
fn reads_as_serde_does<T>(text: &str)
where
    T: FromJson + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(json::read::<T>(text), serde_json::from_str::<T>(text).ok(), "{text}");
}

/// What a contact's socket decodes, with both readers. Agents' lifecycle news (`event`, `state`), which the
/// edge never sends a contact, the widget does not read at all: it is `Unknown`, well-formed or not.
fn contact_frame_as_serde_reads_it(text: &str) {
    let news_for_agents = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|value| matches!(value.get("type").and_then(|t| t.as_str()), Some("event" | "state")));
    let serde = match ServerFrame::decode(text) {
        _ if news_for_agents => Some(ServerFrame::Unknown),
        Ok(frame) => Some(frame),
        Err(_) => None,
    };
    assert_eq!(ServerFrame::decode_for_contact(text).ok(), serde, "{text}");
}

#[test]
fn odd_values_read_as_serde_reads_them() {
    for text in [
        r#"{"title":null}"#,
        r#"{"pre_chat":null}"#,
        r#"{"pre_chat":{"name":null}}"#,
        r#"{"locale":7}"#,
        // Not `[]`: serde also reads a struct from an array of its fields, which nothing writes; the small
        // reader reads structs from objects only.
        "null",
    ] {
        reads_as_serde_does::<WidgetSettings>(text);
    }
    for text in [r#"{"name":null}"#, r#"{"email":"e","x":1}"#, "{}", r#"{"name":1}"#] {
        reads_as_serde_does::<ContactDetails>(text);
    }
    for text in [
        r#"{"interaction":"01234567-89ab-cdef-0123-456789abcdef","contact_token":"t","more":true}"#,
        r#"{"interaction":"not-a-uuid","contact_token":"t"}"#,
        r#"{"interaction":"01234567-89ab-cdef-0123-456789abcdef"}"#,
    ] {
        reads_as_serde_does::<ChatStarted>(text);
    }
    for text in
        [r#"{"error":{"code":"from_the_future","message":"m"}}"#, r#"{"error":{"code":3,"message":"m"}}"#]
    {
        reads_as_serde_does::<ApiError>(text);
    }
    let id = "00000000-0000-0000-0000-00000000002a";
    for text in [
        format!(r#"[{{"client_id":"{id}","text":"t","written_at":1,"attachments":null}}]"#),
        format!(r#"[{{"client_id":"{id}","text":"t","written_at":1.5}}]"#),
        format!(r#"[{{"client_id":"{id}","text":"t","written_at":-1}}]"#),
    ] {
        reads_as_serde_does::<Vec<Outgoing>>(&text);
    }
    for text in [
        r#"{"type":"nothing_yet"}"#.to_owned(),
        r#"{"type":7}"#.to_owned(),
        r#"{"version":1}"#.to_owned(),
        r#"{"type":"message"}"#.to_owned(),
        r#"{"type":"typing","who":{"role":"robot"},"on":true}"#.to_owned(),
        r#"{"type":"typing","who":{"role":"agent"},"on":true}"#.to_owned(),
        r#"{"type":"read","who":{"role":"contact"},"seq":-1}"#.to_owned(),
        r#"{"type":"error","code":"from_the_future","message":"m"}"#.to_owned(),
        r#"{"type":"event","event":{"kind":"whatever"}}"#.to_owned(),
        format!(r#"{{"type":"ack","client_id":"{id}","seq":2,"extra":[1]}}"#),
        format!(
            r#"{{"type":"message","message":{{"seq":1,"client_id":"{id}","author":{{"role":"agent","id":"a","name":"A"}},"text":"t","at":5,"attachments":[{{"id":"f","name":"n","size":1,"kind":"exe"}}]}}}}"#
        ),
    ] {
        contact_frame_as_serde_reads_it(&text);
    }
}

/// Fields that frames, settings and stored values have, and values of the shapes they take (and others).
const KEYS: &[&str] = &[
    "type",
    "version",
    "interaction",
    "message",
    "client_id",
    "seq",
    "code",
    "who",
    "on",
    "by_contact",
    "at",
    "title",
    "position",
    "pre_chat",
    "name",
    "email",
    "text",
    "attachments",
    "written_at",
    "author",
    "role",
];

fn any_field_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::json;
    prop::sample::select(vec![
        json!(null),
        json!(true),
        json!(3),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!("left"),
        json!("required"),
        json!("message"),
        json!("typing"),
        json!("chat_ended"),
        json!("contact"),
        json!("00000000-0000-0000-0000-00000000002a"),
        json!({"role": "contact"}),
        json!({"role": "agent", "name": "A", "id": "a"}),
        json!({"name": "optional"}),
        json!([]),
        json!([{"id": "f", "name": "n", "size": 1, "kind": "png"}]),
        json!({"seq": 1, "client_id": "00000000-0000-0000-0000-00000000002a", "author": {"role": "contact"}, "text": "t", "at": 2}),
    ])
}

proptest! {
    /// Any object of these fields and values: both readers read the same, or both refuse.
    #[test]
    fn any_object_reads_as_serde_reads_it(fields in prop::collection::vec((prop::sample::select(KEYS), any_field_value()), 0..7)) {
        // Arrays only where a list belongs: serde would also read a struct from an array of its fields
        // (`"pre_chat": []`), which nothing writes and the small reader does not.
        let object: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(key, value)| {
                let value = if value.is_array() && key != "attachments" { serde_json::Value::Null } else { value };
                (key.to_owned(), value)
            })
            .collect();
        let text = serde_json::Value::Object(object).to_string();
        contact_frame_as_serde_reads_it(&text);
        reads_as_serde_does::<WidgetSettings>(&text);
        reads_as_serde_does::<ContactDetails>(&text);
        reads_as_serde_does::<Outgoing>(&text);
        reads_as_serde_does::<Attachment>(&text);
    }
}
