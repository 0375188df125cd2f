//! Rate limits on a real workerd: wrong passwords (per email, then per address), chat starts per address, a
//! contact's uploads, and a contact flooding a conversation, which is slowed down without losing or
//! duplicating a single message.

mod support;

use anyhow::{Result, bail};
use confab_protocol::frames::{ClientFrame, ErrorCode, ServerFrame};
use confab_protocol::ids::ClientMessageId;
use confab_protocol::limits::{
    CHAT_STARTS_PER_IP, CONTACT_MESSAGES, CONTACT_UPLOADS, SIGN_IN_PER_EMAIL_AND_ADDRESS,
};
use confab_tests::{DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, Edge, EdgeOptions, Halt, Paths};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::{Peer, edge_with_demo, ready_agent, start_chat};

fn post(edge: &Edge, path: &str, body: Value) -> Result<(u16, Option<String>, Value)> {
    let agent = support::http_client();
    let mut resp = agent.post(&edge.url(path)).send_json(body)?;
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string()?;
    Ok((status, retry, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// A limit written wrong is refused, not silently replaced by its default (a load test would measure the
/// default without knowing): the edge answers every request `503 misconfigured` naming the variable and
/// how to write it, its health check first; once fixed, it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_limit_stops_the_edge_serving_until_it_is_fixed() -> Result<()> {
    let paths = Paths::new();
    let mut options = EdgeOptions::for_test(&paths, "limits-unreadable")?;
    options.vars.push(("CONFAB_LIMIT_CONTACT_MESSAGES".into(), "30:200".into()));
    let mut edge = Edge::start(&paths, options.clone())?;
    let start_chat = format!("/api/v1/sites/{DEMO_SITE}/chats");
    for (method, path) in [("GET", "/api/v1/health"), ("POST", start_chat.as_str()), ("GET", "/api/v1/site")]
    {
        let (status, answer) = support::api(&edge, method, path, None, Some(json!({})))?;
        assert_eq!((status, support::code(&answer)), (503, "misconfigured"), "{method} {path}: {answer}");
        let said = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            said.starts_with("CONFAB_LIMIT_CONTACT_MESSAGES is \"30:200\": write BURST/EVERY_MS"),
            "{method} {path}: {said}"
        );
    }
    edge.halt(Halt::Stop);
    options.vars = vec![("CONFAB_LIMIT_CONTACT_MESSAGES".into(), "30/200".into())];
    options.port = 0;
    let edge = Edge::start(&paths, options)?;
    let (status, answer) = support::api(&edge, "GET", "/api/v1/health", None, None)?;
    assert_eq!((status, answer), (200, json!({"ok": true, "protocol": 1})));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_email_for_a_while_but_not_its_owners_browser_nor_the_others() -> Result<()>
{
    let edge = edge_with_demo("limits-sign-in", "http://127.0.0.1:9")?;
    let sign_in = |email: &str, password: &str| {
        post(&edge, "/api/v1/agent/session", json!({"email": email, "password": password}))
    };
    // Ada signed in from her browser before: it keeps the cookie of a known browser.
    let resp = support::http_client()
        .post(&edge.url("/api/v1/agent/session"))
        .send_json(json!({"email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD}))?;
    let known_browser = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-confab_browser="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let Some(known_browser) = known_browser else { bail!("no known-browser cookie: {:?}", resp.headers()) };
    // Every attempt from this address counts, Ada's own first one included.
    for attempt in 2..=SIGN_IN_PER_EMAIL_AND_ADDRESS.burst {
        let (status, _, answer) = sign_in(DEMO_AGENTS[0].0, "guess")?;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (401, Some("bad_credentials")),
            "try {attempt}"
        );
    }
    // The next try is refused before the password is looked at, even the right one, with a Retry-After.
    let (status, retry, answer) = sign_in(DEMO_AGENTS[0].0, "guess")?;
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("too_many_requests")));
    let secs: i64 = retry.unwrap_or_default().parse()?;
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    let (status, _, _) = sign_in(&DEMO_AGENTS[0].0.to_uppercase(), DEMO_PASSWORD)?;
    assert_eq!(status, 429, "the same email in other letters is the same email");
    // Grace, from the same address, is not locked out by Ada's guesser.
    let (status, _, answer) = sign_in(DEMO_AGENTS[1].0, DEMO_PASSWORD)?;
    assert_eq!(status, 200, "{answer}");
    // Nor is Ada, from the browser she signed in with before (the guesser's attempts are not counted there).
    let resp = support::http_client()
        .post(&edge.url("/api/v1/agent/session"))
        .header("cookie", &known_browser)
        .send_json(json!({"email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD}))?;
    assert_eq!(resp.status().as_u16(), 200, "the owner's known browser still signs in");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_starts_and_uploads_are_limited_with_a_clear_error() -> Result<()> {
    let edge = edge_with_demo("limits-starts", "http://127.0.0.1:9")?;
    let path = format!("/api/v1/sites/{DEMO_SITE}/chats");
    for n in 1..=CHAT_STARTS_PER_IP.burst {
        let (status, _, answer) = post(&edge, &path, json!({}))?;
        assert_eq!(status, 201, "chat {n}: {answer}");
    }
    let (status, retry, answer) = post(&edge, &path, json!({}))?;
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("too_many_requests")));
    assert!(retry.is_some());

    // Uploads: a contact's burst, then a refusal (an agent of the site is not limited).
    let chat = start_chat_after_wait(&edge)?;
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let agent = support::http_client();
    let url = edge.url(&format!("/api/v1/chats/{}/attachments?name=a.png", chat.interaction));
    let upload =
        || agent.post(&url).header("authorization", &format!("Bearer {}", chat.contact_token)).send(png);
    for n in 1..=CONTACT_UPLOADS.burst {
        assert_eq!(upload()?.status().as_u16(), 201, "upload {n}");
    }
    let mut refused = upload()?;
    assert_eq!(refused.status().as_u16(), 429);
    let body: Value = refused.body_mut().read_json()?;
    assert_eq!(body["error"]["code"], "too_many_requests");
    Ok(())
}

/// Starts a chat once the address may start one again (the test above used its burst).
fn start_chat_after_wait(edge: &Edge) -> Result<confab_protocol::api::ChatStarted> {
    let started = Instant::now();
    loop {
        let (status, _, answer) = post(edge, &format!("/api/v1/sites/{DEMO_SITE}/chats"), json!({}))?;
        if status == 201 {
            return Ok(serde_json::from_value(answer)?);
        }
        if started.elapsed() > support::PATIENCE {
            bail!("still refused: {answer}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_contact_is_slowed_and_every_message_arrives_once_in_order() -> Result<()> {
    let edge = edge_with_demo("limits-flood", "http://127.0.0.1:9")?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    let total = CONTACT_MESSAGES.burst as usize * 2;
    let ids: Vec<ClientMessageId> = (0..total).map(|_| ClientMessageId(uuid::Uuid::new_v4())).collect();
    let send = |i: usize| ClientFrame::Send {
        client_id: ids[i],
        text: format!("flood {i}"),
        attachments: Vec::new(),
    };
    // Everything at once, as a script would.
    for i in 0..total {
        contact.send(&send(i)).await?;
    }
    let mut acked: Vec<ClientMessageId> = Vec::new();
    let mut refusals = 0;
    let started = Instant::now();
    // Then, like the widget's outbox once refused: the rest goes one at a time, each after the previous one
    // is acknowledged, waiting a moment after a refusal.
    while acked.len() < total {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("only {} of {total} acknowledged", acked.len());
        }
        match tokio::time::timeout(Duration::from_millis(700), contact.next()).await {
            Ok(frame) => match frame? {
                ServerFrame::Ack { client_id, .. } if !acked.contains(&client_id) => {
                    acked.push(client_id);
                    if refusals > 0
                        && let Some(next) = (0..total).find(|i| !acked.contains(&ids[*i]))
                    {
                        contact.send(&send(next)).await?;
                    }
                }
                ServerFrame::Error { code: ErrorCode::TooManyRequests, .. } => refusals += 1,
                _ => {}
            },
            Err(_) => {
                if let Some(next) = (0..total).find(|i| !acked.contains(&ids[*i])) {
                    contact.send(&send(next)).await?;
                }
            }
        }
    }
    assert!(refusals > 0, "a flood of {total} is slowed down");
    assert_eq!(acked.iter().collect::<BTreeSet<_>>().len(), total);
    // The agent's transcript: each message once, in the order sent.
    let (cookie, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    desk.offered(chat.interaction).await?;
    desk.accept(chat.interaction).await?;
    let mut agent = Peer::connect(&edge, &chat.interaction.to_string(), Some(&cookie)).await?;
    agent.hello(None, None).await?;
    let mut texts = Vec::new();
    while texts.len() < total {
        if let ServerFrame::Message { message } = agent.next().await? {
            texts.push(message.text);
        }
    }
    // Stored in the order acknowledged, which is the order sent.
    let in_ack_order: Vec<String> = acked
        .iter()
        .map(|id| format!("flood {}", ids.iter().position(|x| x == id).unwrap_or(total)))
        .collect();
    assert_eq!(texts, in_ack_order);
    let expected: Vec<String> = (0..total).map(|i| format!("flood {i}")).collect();
    assert_eq!(texts, expected);
    agent.expect_none(Duration::from_millis(500), |f| matches!(f, ServerFrame::Message { .. })).await?;
    Ok(())
}

/// A site's queue holds at most its `max_waiting_chats`: a stranger starting chats by the hundred cannot make
/// it keep more, and the next customer is told plainly, in their language's words in the widget, with a code
/// (`503 queue_full`); once a waiting chat leaves, new ones start again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_turns_new_chats_away_with_a_clear_answer_until_there_is_room() -> Result<()> {
    let mut site = confab_tests::demo_site_with_staff("http://127.0.0.1:9");
    site["rules"] = json!({"max_waiting_chats": 2});
    let edge = support::edge_with_site("limits-queue-full", site)?;
    let supervisor = support::sign_in(&edge, confab_tests::DEMO_SUPERVISOR.0)?;
    let mut watch = support::DeskPeer::connect(&edge, &supervisor).await?;
    let mut waiting = Vec::new();
    for n in 1..=2 {
        let chat = start_chat(&edge, DEMO_SITE)?;
        let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
        contact.hello(Some(&chat.contact_token), None).await?;
        contact.say("Anyone there?").await?;
        watch
            .expect(|f| matches!(f, confab_protocol::frames::DeskFrame::Overview { overview } if overview.queues[0].waiting == n))
            .await?;
        waiting.push(contact);
    }
    let path = format!("/api/v1/sites/{DEMO_SITE}/chats");
    let (status, _, answer) = post(&edge, &path, json!({}))?;
    assert_eq!((status, answer["error"]["code"].as_str()), (503, Some("queue_full")), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or("").contains("queue is full"), "{answer}");

    // The first customer gives up: there is room again.
    waiting[0].send(&ClientFrame::End).await?;
    watch
        .expect(|f| matches!(f, confab_protocol::frames::DeskFrame::Overview { overview } if overview.queues[0].waiting == 1))
        .await?;
    let (status, _, answer) = post(&edge, &path, json!({}))?;
    assert_eq!(status, 201, "{answer}");
    Ok(())
}
