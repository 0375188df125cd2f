//! A conversation end to end on a real workerd: a contact and an agent on the conversation socket, the
//! delivery guarantees (ack after store, dedupe, resume), refusals, and a restart losing nothing.

mod support;

use anyhow::Result;
use confab_protocol::frames::{Author, ClientFrame, ErrorCode, ServerFrame};
use confab_protocol::lifecycle::{Event, State};
use confab_tests::{DEMO_AGENTS, DEMO_SITE, Edge, Halt, Paths};
use std::time::Duration;
use support::{Peer, edge_with_demo, ready_agent, start_chat};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn ack_seq(frame: ServerFrame) -> u64 {
    match frame {
        ServerFrame::Ack { seq, .. } => seq,
        other => panic!("expected an ack, got {other:?}"),
    }
}

fn message(frame: ServerFrame) -> confab_protocol::frames::Message {
    match frame {
        ServerFrame::Message { message } => message,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_and_agent_exchange_messages_with_acks_dedupe_and_resume() -> Result<()> {
    let edge = edge_with_demo("exchange", "http://127.0.0.1:9")?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let interaction = chat.interaction.to_string();

    let mut contact = Peer::connect(&edge, &interaction, None).await?;
    assert!(matches!(contact.hello(Some(&chat.contact_token), None).await?, ServerFrame::Welcome { .. }));
    let first = contact.say("Hello, do you ship to Norway?").await?;
    // The sender is acknowledged and, like every ready socket, receives the stored message.
    let seq = ack_seq(contact.next().await?);
    assert_eq!(seq, 1);
    let echoed = message(contact.next().await?);
    assert_eq!(
        (echoed.seq, echoed.author.clone(), echoed.text.as_str()),
        (1, Author::Contact, "Hello, do you ship to Norway?")
    );

    // An agent of the site becomes Ready, is offered the chat, accepts it, and gets the backlog.
    let (cookie, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    desk.offered(chat.interaction).await?;
    desk.accept(chat.interaction).await?;
    let mut agent = Peer::connect(&edge, &interaction, Some(&cookie)).await?;
    assert!(matches!(agent.hello(None, None).await?, ServerFrame::Welcome { .. }));
    // The backlog for an agent: the messages, the lifecycle's events each after the message it followed,
    // and last the interaction's state.
    let mut backlog = Vec::new();
    let state = loop {
        match agent.next().await? {
            state @ ServerFrame::State { .. } => break state,
            frame => backlog.push(frame),
        }
    };
    let at = |wanted: &dyn Fn(&ServerFrame) -> bool| backlog.iter().position(wanted);
    let first_message = at(
        &|f| matches!(f, ServerFrame::Message { message } if message.text == "Hello, do you ship to Norway?"),
    );
    let session_started = at(&|f| matches!(f, ServerFrame::Event { event: Event::SessionStarted { .. } }));
    assert!(first_message.is_some() && session_started.is_some(), "{backlog:?}");
    assert!(session_started < first_message, "the session started as the first message came: {backlog:?}");
    assert!(
        backlog.iter().all(|f| matches!(f, ServerFrame::Message { .. } | ServerFrame::Event { .. })),
        "{backlog:?}"
    );
    // The desk's accept reaches the conversation through its outbox: write once it knows.
    let active = |f: &ServerFrame| matches!(f, ServerFrame::State { view } if matches!(view.state, State::Active { .. }));
    if !active(&state) {
        agent.expect(active).await?;
    }

    agent.say("We do — delivery takes 3-5 days.").await?;
    assert_eq!(ack_seq(agent.next().await?), 2);
    assert_eq!(message(agent.next().await?).seq, 2);
    let reply = message(contact.next().await?);
    assert_eq!(reply.seq, 2);
    assert_eq!(
        reply.author,
        Author::Agent { id: confab_protocol::ids::AgentId("ada".into()), name: "Ada Lovelace".into() }
    );

    // A resend of an already stored message is acknowledged with its original seq and stored once.
    contact
        .send(&ClientFrame::Send {
            client_id: first,
            text: "Hello, do you ship to Norway?".into(),
            attachments: Vec::new(),
        })
        .await?;
    assert_eq!(ack_seq(contact.next().await?), 1);
    agent.expect_silence(Duration::from_millis(500)).await?;

    // A reconnecting contact resumes after the last seq it saw: exactly the later messages.
    let mut again = Peer::connect(&edge, &interaction, None).await?;
    assert!(matches!(again.hello(Some(&chat.contact_token), Some(1)).await?, ServerFrame::Welcome { .. }));
    assert_eq!(message(again.next().await?).seq, 2);
    again.expect_silence(Duration::from_millis(500)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_clear_errors() -> Result<()> {
    let edge = edge_with_demo("refusals", "http://127.0.0.1:9")?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let other = start_chat(&edge, DEMO_SITE)?;
    let interaction = chat.interaction.to_string();

    // Sending before hello.
    let mut early = Peer::connect(&edge, &interaction, None).await?;
    early.say("hi").await?;
    assert!(matches!(early.next().await?, ServerFrame::Error { code: ErrorCode::HelloRequired, .. }));

    // Another conversation's token does not open this one: error, then the socket is closed with 4401.
    let mut intruder = Peer::connect(&edge, &interaction, None).await?;
    let refused = intruder.hello(Some(&other.contact_token), None).await?;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::Unauthorized, .. }), "{refused:?}");
    assert_eq!(intruder.closed_with().await?, Some(4401));

    // Garbage, oversized and blank input each get their error, and the conversation still works after.
    let mut contact = Peer::connect(&edge, &interaction, None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    // A second hello on the same socket is refused: each would replay the whole transcript again.
    let again = contact.hello(Some(&chat.contact_token), None).await?;
    assert!(
        matches!(&again, ServerFrame::Error { code: ErrorCode::NotAllowedNow, message } if message.contains("already said hello")),
        "{again:?}"
    );
    // `end` before the first message: the chat has not started (not "already ended").
    contact.send(&ClientFrame::End).await?;
    let refused = contact.next().await?;
    assert!(
        matches!(&refused, ServerFrame::Error { code: ErrorCode::NotAllowedNow, message } if message.contains("has not started")),
        "{refused:?}"
    );
    // A frame that cannot be read is explained in the frame's own terms, not the parser's.
    for (frame, said) in [
        (
            "{not json",
            "a frame is one JSON object, such as {\"type\": \"typing\", \"on\": true}: this is not JSON",
        ),
        (
            r#"{"type": "send", "client_id": "nope", "text": "hi"}"#,
            "a \"send\" frame: \"client_id\" must be a UUID",
        ),
        (r#"{"type": "read", "seq": -1}"#, "a \"read\" frame: \"seq\" must be a whole number of at least 0"),
    ] {
        contact.send_raw(frame).await?;
        let answer = contact.next().await?;
        assert!(
            matches!(&answer, ServerFrame::Error { code: ErrorCode::BadFrame, message } if message.starts_with(said)),
            "{frame} → {answer:?}"
        );
    }
    // A JSON `ping` is a frame type the edge does not know: ignored, as docs/api.md says (the keep-alive is
    // the text frame `ping`). The next message is answered as if it had not been sent.
    contact.send_raw(r#"{"type": "ping"}"#).await?;
    contact.say(&"x".repeat(confab_protocol::validate::MAX_MESSAGE_CHARS + 1)).await?;
    assert!(matches!(contact.next().await?, ServerFrame::Error { code: ErrorCode::MessageTooLong, .. }));
    contact.send_raw(&"y".repeat(confab_protocol::validate::MAX_FRAME_BYTES + 10)).await?;
    assert!(matches!(contact.next().await?, ServerFrame::Error { code: ErrorCode::FrameTooLarge, .. }));
    contact.say("   ").await?;
    assert!(matches!(contact.next().await?, ServerFrame::Error { code: ErrorCode::EmptyMessage, .. }));
    contact.say("still here").await?;
    assert_eq!(ack_seq(contact.next().await?), 1);

    // HTTP refusals: unknown site, foreign origin, bad sign-in, unknown conversation, admin without token.
    // Each refusal is the exact status and error code a client can act on (a connection refused, or any
    // other error, fails the test).
    let refused = |r: Result<ureq::http::Response<ureq::Body>, ureq::Error>| -> Result<(u16, String)> {
        let mut resp = r?;
        let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        Ok((resp.status().as_u16(), support::code(&body).to_owned()))
    };
    let http = support::http_client();
    assert_eq!(
        refused(http.post(&edge.url("/api/v1/sites/nope/chats")).send_json(serde_json::json!({})))?,
        (404, "not_found".to_owned())
    );
    assert_eq!(
        refused(
            http.post(&edge.url("/api/v1/sites/demo/chats"))
                .header("origin", "http://evil.test")
                .send_json(serde_json::json!({}))
        )?,
        (403, "origin_not_allowed".to_owned())
    );
    assert_eq!(
        refused(
            http.post(&edge.url("/api/v1/agent/session"))
                .send_json(serde_json::json!({"email": DEMO_AGENTS[0].0, "password": "wrong-password"}))
        )?,
        (401, "bad_credentials".to_owned())
    );
    assert_eq!(
        refused(http.put(&edge.url("/api/v1/admin/sites/x")).send_json(serde_json::json!({})))?,
        (401, "unauthorized".to_owned())
    );
    // A page of another origin cannot open a conversation socket, even with a valid token.
    let mut foreign = edge.ws_url(&format!("/api/v1/chats/{interaction}/socket")).into_client_request()?;
    foreign.headers_mut().insert("origin", "http://evil.test".parse()?);
    assert_eq!(support::refused_upgrade(foreign).await?, (403, "origin_not_allowed".to_owned()));
    // A conversation that does not exist, and a path that is no conversation id at all.
    for missing in [uuid::Uuid::new_v4().to_string(), "not-a-conversation".to_owned()] {
        let request = edge.ws_url(&format!("/api/v1/chats/{missing}/socket")).into_client_request()?;
        assert_eq!(support::refused_upgrade(request).await?, (404, "not_found".to_owned()), "{missing}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_workerd_loses_nothing() -> Result<()> {
    after_workerd_goes_down_nothing_is_lost(Halt::Stop).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workerd_killed_outright_loses_nothing() -> Result<()> {
    after_workerd_goes_down_nothing_is_lost(Halt::Crash).await
}

/// Three acknowledged messages, workerd taken down (`how`) and started on the same storage: all three are
/// there in order, the next is numbered after them, and resuming from the middle finds it.
async fn after_workerd_goes_down_nothing_is_lost(how: Halt) -> Result<()> {
    let paths = Paths::new();
    let mut edge = edge_with_demo(&format!("restart-{how:?}"), "http://127.0.0.1:9")?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let interaction = chat.interaction.to_string();
    {
        let mut contact = Peer::connect(&edge, &interaction, None).await?;
        contact.hello(Some(&chat.contact_token), None).await?;
        for (i, text) in ["one", "two", "three"].iter().enumerate() {
            contact.say(text).await?;
            assert_eq!(ack_seq(contact.next().await?), i as u64 + 1);
            message(contact.next().await?);
        }
    }
    // Same state folder and secrets, new process (and port).
    let mut options = edge.options.clone();
    edge.halt(how);
    options.port = 0; // any free port
    let edge = Edge::start(&paths, options)?;
    let mut contact = Peer::connect(&edge, &interaction, None).await?;
    assert!(matches!(contact.hello(Some(&chat.contact_token), None).await?, ServerFrame::Welcome { .. }));
    let texts: Vec<String> =
        [message(contact.next().await?), message(contact.next().await?), message(contact.next().await?)]
            .into_iter()
            .map(|m| m.text)
            .collect();
    assert_eq!(texts, ["one", "two", "three"]);
    contact.say("four").await?;
    // Numbered after the others; a restart soon after messages may skip the numbers the edge had reserved
    // for messages shown before they were stored (`edge/src/objects/conversation.rs`), never reuse them.
    let four = ack_seq(contact.next().await?);
    assert!(four > 3, "a new message is numbered after the stored ones, got {four}");
    let mut other_tab = Peer::connect(&edge, &interaction, None).await?;
    other_tab.hello(Some(&chat.contact_token), Some(3)).await?;
    let resumed = message(other_tab.next().await?);
    assert_eq!((resumed.text.as_str(), resumed.seq), ("four", four), "resuming after 3 finds four");
    Ok(())
}

/// The `seq`s of the messages among `frames`, in order.
fn message_seqs(frames: &[ServerFrame]) -> Vec<u64> {
    frames
        .iter()
        .filter_map(|f| if let ServerFrame::Message { message } = f { Some(message.seq) } else { None })
        .collect()
}

/// Says hello (resuming after `after`), then asks for the page before `before`: the welcome, the `seq`s of
/// every message sent until that page ended (the backlog, then the page), and whether older ones remain.
async fn hello_then_page(
    edge: &Edge,
    chat: &confab_protocol::api::ChatStarted,
    after: Option<u64>,
    before: u64,
) -> Result<(ServerFrame, Vec<u64>, bool)> {
    let mut reader = Peer::connect(edge, &chat.interaction.to_string(), None).await?;
    let welcome = reader.hello(Some(&chat.contact_token), after).await?;
    reader.send(&ClientFrame::Earlier { before }).await?;
    let (frames, page) = reader.frames_until(|f| matches!(f, ServerFrame::Page { .. })).await?;
    let ServerFrame::Page { earlier } = page else { unreachable!("the marker") };
    Ok((welcome, message_seqs(&frames), earlier))
}

/// A long conversation is read a page at a time: a `hello` replays the newest 200 messages and says older
/// ones exist; `earlier` brings the page before, then says whether more remain; a resume gets exactly what it
/// missed, unless it missed more than a page, when it starts again from the newest page. No small frame makes
/// the edge send the whole transcript.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_is_read_a_page_at_a_time() -> Result<()> {
    let paths = Paths::new();
    let mut options = confab_tests::EdgeOptions::for_test(&paths, "conversation-pages")?;
    options.vars.push(("CONFAB_LIMIT_CONTACT_MESSAGES".into(), "100000/0".into()));
    let edge = Edge::start(&paths, options)?;
    edge.seed_site(DEMO_SITE, &confab_tests::demo_site("http://127.0.0.1:9"))?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    let mut last = None;
    for n in 1..=450 {
        last = Some(contact.say(&format!("message {n}")).await?);
    }
    let last = last.expect("sent");
    contact.expect(|f| matches!(f, ServerFrame::Ack { client_id, seq: 450 } if *client_id == last)).await?;

    let page = |from: u64, to: u64| (from..=to).collect::<Vec<u64>>();
    let (welcome, seqs, earlier) = hello_then_page(&edge, &chat, None, 251).await?;
    assert!(matches!(welcome, ServerFrame::Welcome { earlier: true, restart: false, .. }), "{welcome:?}");
    assert_eq!(seqs, [page(251, 450), page(51, 250)].concat(), "the newest page, then the one before");
    assert!(earlier, "50 remain");
    let (_, seqs, earlier) = hello_then_page(&edge, &chat, None, 51).await?;
    assert_eq!(&seqs[200..], page(1, 50), "the last page is what remains");
    assert!(!earlier);
    let (_, seqs, earlier) = hello_then_page(&edge, &chat, None, 1).await?;
    assert_eq!((seqs.len(), earlier), (200, false), "nothing before the first");

    // A resume gets what it missed, and says nothing of earlier messages (the client holds them).
    let (welcome, seqs, _) = hello_then_page(&edge, &chat, Some(440), 441).await?;
    assert!(matches!(welcome, ServerFrame::Welcome { earlier: false, restart: false, .. }), "{welcome:?}");
    assert_eq!(seqs, [page(441, 450), page(241, 440)].concat());
    // One that missed more than a page starts again from the newest page.
    let (welcome, seqs, _) = hello_then_page(&edge, &chat, Some(10), 251).await?;
    assert!(matches!(welcome, ServerFrame::Welcome { earlier: true, restart: true, .. }), "{welcome:?}");
    assert_eq!(seqs, [page(251, 450), page(51, 250)].concat());
    Ok(())
}
