//! Hostile HTTP and WebSocket requests on a real workerd: oversized and non-UTF-8 bodies, tampered and forged
//! session cookies, a desk socket opened from another site's page, a binary frame, and an upload whose name
//! tries to climb out of its folder. Each gets a clear error; nothing is stored that should not be.

mod support;

use anyhow::Result;
use confab_protocol::frames::{ErrorCode, ServerFrame};
use confab_tests::{DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, Edge};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use support::{Peer, edge_with_demo, sign_in, start_chat};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn send(
    edge: &Edge,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Value)> {
    let agent = support::http_client();
    let url = edge.url(path);
    let mut resp = match method {
        "POST" => {
            let mut request = agent.post(&url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body)?
        }
        _ => {
            let mut request = agent.get(&url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()?
        }
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_broken_and_forged_requests_get_clear_errors() -> Result<()> {
    let edge = edge_with_demo("hostile-requests", "http://127.0.0.1:9")?;
    let json = [("content-type", "application/json")];

    // A sign-in body of 100 KB is refused by its length; bytes that are not UTF-8, and JSON of another
    // shape, are bad requests.
    let padded = format!(r#"{{"email": "{}", "password": "{}"}}"#, "a".repeat(100_000), DEMO_PASSWORD);
    let (status, answer) = send(&edge, "POST", "/api/v1/agent/session", &json, padded.as_bytes())?;
    assert_eq!((status, code(&answer)), (413, "frame_too_large"));
    let (status, answer) = send(&edge, "POST", "/api/v1/agent/session", &json, b"{\"email\": \"\xff\xfe\"}")?;
    assert_eq!((status, code(&answer)), (400, "bad_request"));
    assert!(answer["error"]["message"].as_str().unwrap_or("").contains("UTF-8"));
    let (status, answer) = send(&edge, "POST", "/api/v1/agent/session", &json, b"[1, 2, 3]")?;
    assert_eq!((status, code(&answer)), (400, "bad_request"));
    let (status, answer) =
        send(&edge, "POST", &format!("/api/v1/sites/{DEMO_SITE}/chats"), &json, b"{\"name\": ")?;
    assert_eq!((status, code(&answer)), (400, "bad_request"));
    let (status, _) = send(&edge, "POST", &format!("/api/v1/sites/{DEMO_SITE}/chats"), &[], b"")?;
    assert_eq!(status, 201, "an empty body is a chat with nothing asked first");

    // A session cookie changed by one character, or made up, opens nothing.
    let cookie = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let (status, _) = send(&edge, "GET", "/api/v1/agent/me", &[("cookie", &cookie)], b"")?;
    assert_eq!(status, 200);
    let (name, token) = cookie.split_once('=').unwrap_or_default();
    let (payload, mac) = token.split_once('.').unwrap_or_default();
    let mut tampered_payload: Vec<char> = payload.chars().collect();
    tampered_payload[3] = if tampered_payload[3] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{name}={}.{mac}", tampered_payload.into_iter().collect::<String>());
    for forged in
        [tampered.as_str(), "__Host-confab_session=eyJzaXRlIjoiZGVtbyJ9.AAAA", "__Host-confab_session="]
    {
        let (status, answer) = send(&edge, "GET", "/api/v1/agent/me", &[("cookie", forged)], b"")?;
        assert_eq!((status, code(&answer)), (401, "unauthorized"), "{forged}");
    }

    // The desk socket from another site's page, with a valid cookie (cross-site WebSocket hijacking).
    let mut hijack = edge.ws_url("/api/v1/desk/socket").into_client_request()?;
    hijack.headers_mut().insert("cookie", cookie.parse()?);
    hijack.headers_mut().insert("origin", "https://evil.example".parse()?);
    assert_eq!(
        support::refused_upgrade(hijack).await?,
        (403, "origin_not_allowed".to_owned()),
        "a foreign page must not open the desk socket"
    );

    // A binary frame is refused with an error; the conversation goes on.
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    let mut raw = edge.ws_url(&format!("/api/v1/chats/{}/socket", chat.interaction)).into_client_request()?;
    raw.headers_mut().remove("origin");
    let (mut ws, _) = tokio_tungstenite::connect_async(raw).await?;
    ws.send(WsMessage::binary(vec![0u8, 159, 146, 150])).await?;
    let answer = tokio::time::timeout(support::PATIENCE, ws.next()).await?;
    let Some(Ok(WsMessage::Text(text))) = answer else { panic!("expected an error frame, got {answer:?}") };
    let refused = ServerFrame::decode(&text)?;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::BadFrame, .. }), "{refused:?}");
    // The keep-alive docs/api.md describes: the text frame `ping` is answered `pong`, even before `hello`.
    ws.send(WsMessage::text("ping")).await?;
    let answer = tokio::time::timeout(support::PATIENCE, ws.next()).await?;
    assert!(matches!(&answer, Some(Ok(WsMessage::Text(t))) if t.as_str() == "pong"), "{answer:?}");
    drop(ws);
    // The binary frame stored nothing: the next message is the conversation's first.
    let still_fine = contact.say("still fine").await?;
    let ack = contact.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    assert!(
        matches!(ack, ServerFrame::Ack { client_id, seq: 1 } if client_id == still_fine),
        "the message after a refused binary frame is stored as the first: {ack:?}"
    );

    // An upload named to climb out of its folder is stored under its base name only, in its conversation.
    let auth = format!("Bearer {}", chat.contact_token);
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let path = format!("/api/v1/chats/{}/attachments?name=..%2F..%2F..%2Fetc%2Fpasswd.png", chat.interaction);
    let (status, stored) = send(&edge, "POST", &path, &[("authorization", &auth)], png)?;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(stored["name"], "passwd.png");
    // A file that says it is a PNG but is a script is refused.
    let path = format!("/api/v1/chats/{}/attachments?name=photo.png", chat.interaction);
    let (status, answer) =
        send(&edge, "POST", &path, &[("authorization", &auth)], b"<script>alert(1)</script>")?;
    assert_eq!((status, code(&answer)), (415, "attachment_type"));
    Ok(())
}

/// The agent desktop runs only its own code and cannot be framed by another page (which could click for the
/// signed-in agent); the session cookie is `__Host-`: this host's alone, so a sibling subdomain can neither
/// set nor shadow it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_desktop_is_never_framed_and_its_session_cookie_is_the_hosts_alone() -> Result<()> {
    let edge = edge_with_demo("hostile-headers", "http://127.0.0.1:9")?;
    let resp = support::http_client().get(&edge.url("/agent/")).call()?;
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let csp = header("content-security-policy");
    for directive in [
        "frame-ancestors 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "connect-src 'self'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp:?}");
    }
    assert_eq!(header("x-frame-options"), "DENY");
    // The widget frame takes messages from the page its `origin` names: it is served for the site's own
    // origins only, never for a page that would open it in a window of its own to drive it.
    let frame = |origin: &str| -> Result<u16> {
        let path = format!(
            "/widget/frame?site={DEMO_SITE}&origin={}",
            origin.replace(':', "%3A").replace('/', "%2F")
        );
        Ok(support::http_client().get(&edge.url(&path)).call()?.status().as_u16())
    };
    assert_eq!(frame("http://127.0.0.1:9")?, 200);
    assert_eq!(frame("https://evil.example")?, 400);

    let resp = support::http_client()
        .post(&edge.url("/api/v1/agent/session"))
        .send_json(serde_json::json!({"email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD}))?;
    let cookie = resp.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(cookie.starts_with("__Host-confab_session="), "{cookie}");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    Ok(())
}
