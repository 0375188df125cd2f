//! What was wrong with a frame that did not decode, said in the frame's own terms: its `type` and the field
//! at fault. The parser's own wording names Rust types, UUID internals and byte columns ("invalid type:
//! string \"x\", expected u64 at line 1 column 30") that a client written from `docs/api.md` cannot act on.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The `bad_frame` error message for `text`, which does not decode as a `T` (a socket's client frames).
pub fn explain<T: DeserializeOwned>(text: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return "a frame is one JSON object, such as {\"type\": \"typing\", \"on\": true}: this is not JSON"
            .to_owned();
    };
    let Some(object) = value.as_object() else {
        return "a frame is a JSON object with a \"type\", not a list, string or number".to_owned();
    };
    let Some(kind) = object.get("type").and_then(Value::as_str) else {
        return "a frame needs a \"type\" string, such as \"send\"".to_owned();
    };
    let Err(error) = serde_json::from_value::<T>(value.clone()) else {
        return format!("a \"{kind}\" frame that could not be read");
    };
    let said = error.to_string();
    if let Some(field) = quoted_after(&said, "missing field `") {
        return format!("a \"{kind}\" frame needs \"{field}\"");
    }
    match culprit::<T>(object) {
        Some(field) => format!("a \"{kind}\" frame: \"{field}\" must be {}", expected(&said)),
        None => format!("a \"{kind}\" frame: a field must be {}", expected(&said)),
    }
}

/// The field whose value is at fault: the first one without which the frame decodes, or is only missing it.
fn culprit<T: DeserializeOwned>(object: &Map<String, Value>) -> Option<&str> {
    object.keys().filter(|key| *key != "type").map(String::as_str).find(|key| {
        let mut without = object.clone();
        without.remove(*key);
        match serde_json::from_value::<T>(Value::Object(without)) {
            Ok(_) => true,
            Err(error) => quoted_after(&error.to_string(), "missing field `") == Some(*key),
        }
    })
}

/// What serde expected, in words for people: "a whole number", "true or false", "one of \"ready\", ...".
fn expected(said: &str) -> String {
    if said.contains("UUID") {
        return "a UUID, such as \"0b7c6f1e-3d2a-4c5b-9e8f-1a2b3c4d5e6f\"".to_owned();
    }
    let wanted = said.split_once("expected ").map_or("", |(_, rest)| rest);
    let wanted = wanted.split(" at line ").next().unwrap_or(wanted).trim();
    match wanted {
        "u8" | "u16" | "u32" | "u64" | "i32" | "i64" => "a whole number of at least 0".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a string" => "a string".to_owned(),
        "a sequence" => "a list".to_owned(),
        "" => "of another form".to_owned(),
        other if other.starts_with("one of ") => other.replace('`', "\""),
        other if other.starts_with("struct ") || other.starts_with("internally tagged") => {
            "an object as in docs/api.md".to_owned()
        }
        other => other.replace('`', "\""),
    }
}

/// The text between `prefix` and the next backtick.
fn quoted_after<'a>(said: &'a str, prefix: &str) -> Option<&'a str> {
    let (_, rest) = said.split_once(prefix)?;
    rest.split_once('`').map(|(field, _)| field)
}

#[cfg(test)]
mod tests {
    use super::explain;
    use crate::frames::{ClientFrame, DeskClientFrame};

    #[test]
    fn names_the_frame_and_the_field_in_the_frames_own_terms() {
        let cases = [
            (
                "{not json",
                "a frame is one JSON object, such as {\"type\": \"typing\", \"on\": true}: this is not JSON",
            ),
            ("[1, 2]", "a frame is a JSON object with a \"type\", not a list, string or number"),
            ("{\"on\": true}", "a frame needs a \"type\" string, such as \"send\""),
            ("{\"type\": \"send\", \"text\": \"hi\"}", "a \"send\" frame needs \"client_id\""),
            (
                "{\"type\": \"send\", \"client_id\": \"nope\", \"text\": \"hi\"}",
                "a \"send\" frame: \"client_id\" must be a UUID, such as \"0b7c6f1e-3d2a-4c5b-9e8f-1a2b3c4d5e6f\"",
            ),
            (
                "{\"type\": \"read\", \"seq\": \"7\"}",
                "a \"read\" frame: \"seq\" must be a whole number of at least 0",
            ),
            (
                "{\"type\": \"read\", \"seq\": -1}",
                "a \"read\" frame: \"seq\" must be a whole number of at least 0",
            ),
            ("{\"type\": \"typing\", \"on\": \"yes\"}", "a \"typing\" frame: \"on\" must be true or false"),
            (
                "{\"type\": \"hello\", \"version\": 1, \"after\": \"x\"}",
                "a \"hello\" frame: \"after\" must be a whole number of at least 0",
            ),
        ];
        for (frame, said) in cases {
            assert_eq!(explain::<ClientFrame>(frame), said, "{frame}");
        }
        assert_eq!(
            explain::<DeskClientFrame>("{\"type\": \"set_presence\", \"presence\": \"busy\"}"),
            "a \"set_presence\" frame: \"presence\" must be one of \"ready\", \"not_ready\", \"offline\""
        );
    }

    #[test]
    fn never_repeats_the_parsers_wording() {
        for frame in [
            "{\"type\": \"send\", \"client_id\": 5, \"text\": \"hi\"}",
            "{\"type\": \"send\", \"client_id\": \"0b7c6f1e-3d2a-4c5b-9e8f-1a2b3c4d5e6f\", \"text\": 5}",
            "{\"type\": \"send\", \"client_id\": \"0b7c6f1e-3d2a-4c5b-9e8f-1a2b3c4d5e6f\", \"text\": \"\", \"attachments\": [{}]}",
            "{\"type\": \"choose_code\", \"code\": null}",
        ] {
            let said = explain::<ClientFrame>(frame);
            for internal in ["line 1", "column", "u64", "u32", "UUID parsing", "invalid type", "struct "] {
                assert!(!said.contains(internal), "{frame} → {said}");
            }
        }
    }
}
