//! Faults on a real workerd: the process is stopped and started again (same storage, new port) while a
//! message is in flight, a chat is parked with its timer running, and a transfer waits for its receiver; and
//! it is killed outright (SIGKILL) while a conversation is busy storing a stream of messages.
//! Afterwards nothing acknowledged is lost, nothing is stored twice, the park timer still fires, the transfer
//! can still be accepted, and duplicated or reordered frames change nothing.

mod support;

use anyhow::{Context, Result};
use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, Participant, ServerFrame};
use confab_protocol::ids::{AgentId, ClientMessageId};
use confab_protocol::lifecycle::{EndedBy, Event, State};
use confab_protocol::routing::{TransferOutcome, TransferTarget};
use confab_tests::{
    DEMO_AGENTS, DEMO_SITE, DEMO_SUPERVISOR, Edge, Halt, Paths, demo_site, demo_site_with_staff,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use support::{DeskPeer, Peer, edge_with_site, ready_agent, sign_in, start_chat};

/// A contact who started a chat and wrote; returns its socket and ids.
async fn contact_writes(edge: &Edge, text: &str) -> Result<(confab_protocol::api::ChatStarted, Peer)> {
    let chat = start_chat(edge, DEMO_SITE)?;
    let mut contact = Peer::connect(edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say(text).await?;
    contact.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    Ok((chat, contact))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_messages_in_flight_park_timers_and_pending_transfers() -> Result<()> {
    going_down_keeps_messages_in_flight_park_timers_and_pending_transfers(Halt::Stop).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_keeps_messages_in_flight_park_timers_and_pending_transfers() -> Result<()> {
    going_down_keeps_messages_in_flight_park_timers_and_pending_transfers(Halt::Crash).await
}

/// How long a parked chat of this test waits for its contact before it ends.
const PARK_LIMIT_MS: i64 = 12_000;

async fn going_down_keeps_messages_in_flight_park_timers_and_pending_transfers(how: Halt) -> Result<()> {
    let paths = Paths::new();
    let mut site = demo_site("http://127.0.0.1:9");
    site["rules"] = json!({"offer_timeout_ms": 120000, "lifecycle": {"park_limit_ms": PARK_LIMIT_MS, "auto_park_after_ms": null}});
    let mut edge = edge_with_site(&format!("faults-restart-{how:?}"), site)?;
    let (ada, mut ada_desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;

    // Chat 1: Ada parks it; its park limit runs out while the edge is down or just after.
    let (parked, _) = contact_writes(&edge, "Back in a bit").await?;
    ada_desk.offered(parked.interaction).await?;
    ada_desk.accept(parked.interaction).await?;
    let mut ada_chat = Peer::agent(&edge, &parked.interaction.to_string(), &ada).await?;
    ada_chat.send(&ClientFrame::Park).await?;
    let parked_event =
        ada_chat.expect(|f| matches!(f, ServerFrame::Event { event: Event::Parked { .. } })).await?;
    let ServerFrame::Event { event: Event::Parked { until: park_until, at: parked_at, .. } } = parked_event
    else {
        unreachable!()
    };
    assert_eq!(park_until - parked_at, PARK_LIMIT_MS, "the park limit counts from the park");

    // Chat 2: Ada transfers it to Grace, who has not answered when the edge goes down.
    let (moving, _) = contact_writes(&edge, "I need billing").await?;
    ada_desk.offered(moving.interaction).await?;
    ada_desk.accept(moving.interaction).await?;
    Peer::agent(&edge, &moving.interaction.to_string(), &ada).await?;
    let (grace, mut grace_desk) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    let to_grace = TransferTarget::Agent(AgentId("grace".into()));
    ada_desk.send(&DeskClientFrame::Transfer { interaction: moving.interaction, target: to_grace }).await?;
    grace_desk.offered(moving.interaction).await?;

    // Chat 3: a message leaves the contact and the edge stops before the contact hears back.
    let (flying, mut contact) = contact_writes(&edge, "first").await?;
    let in_flight = ClientMessageId(uuid::Uuid::new_v4());
    let send = ClientFrame::Send { client_id: in_flight, text: "in flight".into(), attachments: Vec::new() };
    contact.send(&send).await?;
    let mut options = edge.options.clone();
    edge.halt(how);
    drop((contact, ada_chat, ada_desk, grace_desk));
    options.port = 0; // any free port
    let edge = Edge::start(&paths, options)?;

    // The contact comes back and resends what it has no acknowledgement for: stored once, whichever side of
    // the stop it was stored on.
    let mut contact = Peer::connect(&edge, &flying.interaction.to_string(), None).await?;
    contact.hello(Some(&flying.contact_token), None).await?;
    contact.send(&send).await?;
    contact.send(&send).await?; // and once more, as a confused client would
    let first = contact
        .expect(|f| matches!(f, ServerFrame::Ack { client_id, .. } if *client_id == in_flight))
        .await?;
    let second = contact
        .expect(|f| matches!(f, ServerFrame::Ack { client_id, .. } if *client_id == in_flight))
        .await?;
    let seq = |f: &ServerFrame| if let ServerFrame::Ack { seq, .. } = f { *seq } else { 0 };
    assert_eq!((seq(&first), seq(&second)), (2, 2), "one message, one seq");
    let mut agent_view =
        Peer::connect(&edge, &flying.interaction.to_string(), Some(&sign_in(&edge, DEMO_AGENTS[0].0)?))
            .await?;
    agent_view.hello(None, None).await?;
    let mut texts = Vec::new();
    while texts.len() < 2 {
        if let ServerFrame::Message { message } = agent_view.next().await? {
            texts.push(message.text);
        }
    }
    assert_eq!(texts, ["first", "in flight"]);
    agent_view.expect_none(Duration::from_millis(500), |f| matches!(f, ServerFrame::Message { .. })).await?;

    // The transfer is still waiting for Grace after the restart; she accepts and Ada is told.
    let mut ada_desk = DeskPeer::connect(&edge, &ada).await?;
    let mut grace_desk = DeskPeer::connect(&edge, &grace).await?;
    grace_desk.offered(moving.interaction).await?;
    grace_desk.accept(moving.interaction).await?;
    let ended = ada_desk.expect(|f| matches!(f, DeskFrame::TransferEnded { .. })).await?;
    assert!(
        matches!(ended, DeskFrame::TransferEnded { outcome: TransferOutcome::Accepted { .. }, .. }),
        "{ended:?}"
    );

    // The parked chat's timer fired (or fires now) on the restarted edge: it ends by timeout, not before its
    // limit, and not much after it (the edge was down for a few seconds at most).
    let mut watcher = Peer::connect(&edge, &parked.interaction.to_string(), Some(&ada)).await?;
    watcher.hello(None, None).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (by, ended_at) = loop {
        let frame = tokio::time::timeout_at(deadline, watcher.next())
            .await
            .context("the parked chat did not end within 30 s of the restart")??;
        if let ServerFrame::State { view } = frame
            && let State::Ended { by, at } = view.state
        {
            break (by, at);
        }
    };
    assert_eq!(by, EndedBy::Timeout, "a parked chat nobody answered ends by its timer");
    assert!(ended_at >= park_until, "ended at {ended_at}, before its limit {park_until}");
    assert!(
        ended_at - park_until < 30_000,
        "ended at {ended_at}, {} ms after its limit",
        ended_at - park_until
    );
    Ok(())
}

/// Reads acknowledgements into `acks`, and the messages the peer was shown into `shown` (by `seq`), until
/// the socket dies or `quiet` passes without a frame.
async fn collect_acks(
    peer: &mut Peer,
    quiet: Duration,
    acks: &mut HashMap<ClientMessageId, u64>,
    shown: &mut HashMap<u64, ClientMessageId>,
) {
    while let Ok(Some(frame)) = peer.next_within(quiet).await {
        match frame {
            ServerFrame::Ack { client_id, seq } => {
                acks.insert(client_id, seq);
            }
            ServerFrame::Message { message } => {
                shown.insert(message.seq, message.client_id);
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_write_loses_no_acknowledged_message_and_stores_none_twice() -> Result<()> {
    let paths = Paths::new();
    let mut edge = edge_with_site("faults-crash", demo_site("http://127.0.0.1:9"))?;
    let (ada, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact) = contact_writes(&edge, "before").await?;
    desk.offered(chat.interaction).await?;
    desk.accept(chat.interaction).await?;
    let mut agent = Peer::agent(&edge, &chat.interaction.to_string(), &ada).await?;
    agent.hello(None, None).await?;

    // Both sides write as fast as their sockets take it (the contact within its burst allowance), and
    // workerd is killed with SIGKILL while the conversation is still storing them.
    let message = |who: &str, i: usize| ClientFrame::Send {
        client_id: ClientMessageId(uuid::Uuid::new_v4()),
        text: format!("{who} {i}"),
        attachments: Vec::new(),
    };
    let from_contact: Vec<ClientFrame> = (0..20).map(|i| message("contact", i)).collect();
    let from_agent: Vec<ClientFrame> = (0..300).map(|i| message("agent", i)).collect();
    for (i, frame) in from_agent.iter().enumerate() {
        agent.send(frame).await?;
        if let Some(frame) = from_contact.get(i) {
            contact.send(frame).await?;
        }
    }
    let id = |f: &ClientFrame| {
        if let ClientFrame::Send { client_id, .. } = f { *client_id } else { unreachable!() }
    };
    let mut acked = HashMap::new();
    let mut shown = HashMap::new();
    while acked.len() < 40 {
        match agent.next().await? {
            ServerFrame::Ack { client_id, seq } => {
                acked.insert(client_id, seq);
            }
            ServerFrame::Message { message } => {
                shown.insert(message.seq, message.client_id);
            }
            _ => {}
        }
    }
    let mut options = edge.options.clone();
    edge.crash();
    collect_acks(&mut agent, Duration::from_millis(300), &mut acked, &mut shown).await;
    collect_acks(&mut contact, Duration::from_millis(300), &mut acked, &mut shown).await;
    let acked_before_crash = acked.clone();
    assert!(acked.len() < from_agent.len() + from_contact.len(), "the crash came before the last write");
    drop((contact, agent, desk));

    options.port = 0; // any free port
    let edge = Edge::start(&paths, options)?;
    // Each side resends what it has no acknowledgement for, in order, as the clients' outboxes do.
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    let ada = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let mut agent = Peer::agent(&edge, &chat.interaction.to_string(), &ada).await?;
    agent.hello(None, None).await?;
    let mut resent = 0;
    for (peer, frames) in [(&mut contact, &from_contact), (&mut agent, &from_agent)] {
        let unacked: Vec<&ClientFrame> = frames.iter().filter(|f| !acked.contains_key(&id(f))).collect();
        for frame in &unacked {
            peer.send(frame).await?;
        }
        resent += unacked.len();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while frames.iter().any(|f| !acked.contains_key(&id(f))) {
            let frame =
                tokio::time::timeout_at(deadline, peer.next()).await.context("acknowledgements")??;
            if let ServerFrame::Ack { client_id, seq } = frame {
                acked.insert(client_id, seq);
            }
        }
    }
    assert!(resent > 0, "some messages were cut off by the crash");

    // The stored transcript: every message exactly once, each side's in the order written, acknowledged
    // ones at the seq they were acknowledged with, seqs increasing. A message may have been shown to the
    // other side before it was stored (and lost with the crash, then resent): its number is never given
    // to another message (the restarted edge numbers past its reservation).
    let transcript: Value = support::http_client()
        .get(&edge.url(&format!("/api/v1/chats/{}/transcript", chat.interaction)))
        .header("cookie", &ada)
        .call()?
        .body_mut()
        .read_json()?;
    let stored: Vec<(ClientMessageId, u64, String)> = transcript["messages"]
        .as_array()
        .context("messages")?
        .iter()
        .map(|m| {
            Ok((
                serde_json::from_value(m["client_id"].clone())?,
                m["seq"].as_u64().context("seq")?,
                m["text"].as_str().context("text")?.to_owned(),
            ))
        })
        .collect::<Result<_>>()?;
    let seqs: Vec<u64> = stored.iter().map(|(_, seq, _)| *seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seqs increase, none repeated: {seqs:?}");
    for (client_id, seq) in stored.iter().map(|(c, s, _)| (c, s)) {
        if let Some(shown_as) = shown.get(seq) {
            assert_eq!(shown_as, client_id, "seq {seq} was shown as another message before the crash");
        }
    }
    assert!(!shown.is_empty(), "the sides saw each other's messages before the crash");
    assert_eq!(stored.len(), 1 + from_contact.len() + from_agent.len(), "every message once");
    for (client_id, seq) in &acked_before_crash {
        assert!(
            stored.iter().any(|(c, s, _)| c == client_id && s == seq),
            "acknowledged before the crash, kept"
        );
    }
    for (who, frames) in [("contact", &from_contact), ("agent", &from_agent)] {
        let written: Vec<String> = (0..frames.len()).map(|i| format!("{who} {i}")).collect();
        let kept: Vec<String> = stored
            .iter()
            .filter(|(_, _, t)| t.starts_with(&format!("{who} ")))
            .map(|(_, _, t)| t.clone())
            .collect();
        assert_eq!(kept, written, "the {who}'s messages in the order written");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_frames_change_nothing() -> Result<()> {
    let edge = edge_with_site("faults-frames", demo_site_with_staff("http://127.0.0.1:9"))?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    let ids: Vec<ClientMessageId> = (0..4).map(|_| ClientMessageId(uuid::Uuid::new_v4())).collect();
    let send =
        |i: usize| ClientFrame::Send { client_id: ids[i], text: format!("m{i}"), attachments: Vec::new() };
    // Each message twice, the second copies out of order, plus reads for the future and the past.
    for frame in [send(0), send(1), send(0), send(2), send(1), send(3), send(2), send(3)] {
        contact.send(&frame).await?;
    }
    // Read receipts for a message that does not exist yet, then for none: what agents are told the contact
    // read is the last message there is, never a number beyond it, and never goes back.
    contact.send(&ClientFrame::Read { seq: 99 }).await?;
    contact.send(&ClientFrame::Read { seq: 0 }).await?;
    let mut acks = Vec::new();
    while acks.len() < 8 {
        if let ServerFrame::Ack { client_id, seq } = contact.next().await? {
            acks.push((client_id, seq));
        }
    }
    for (i, id) in ids.iter().enumerate() {
        let seqs: Vec<u64> = acks.iter().filter(|(c, _)| c == id).map(|(_, s)| *s).collect();
        assert_eq!(seqs, [i as u64 + 1, i as u64 + 1], "m{i} is acknowledged twice with one seq");
    }
    // A second hello and a resume from the middle replay exactly what is missing.
    let mut again = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    again.hello(Some(&chat.contact_token), Some(2)).await?;
    let mut replayed = Vec::new();
    while replayed.len() < 2 {
        if let ServerFrame::Message { message } = again.next().await? {
            replayed.push(message.text);
        }
    }
    assert_eq!(replayed, ["m2", "m3"]);
    again.expect_none(Duration::from_millis(500), |f| matches!(f, ServerFrame::Message { .. })).await?;
    let ada_cookie = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let mut ada_view = Peer::connect(&edge, &chat.interaction.to_string(), Some(&ada_cookie)).await?;
    ada_view.hello(None, None).await?;
    let read = ada_view.expect(|f| matches!(f, ServerFrame::Read { .. })).await?;
    assert!(
        matches!(read, ServerFrame::Read { who: Participant::Contact, seq: 4 }),
        "the contact read up to the last message, 4: {read:?}"
    );
    let (_, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    desk.offered(chat.interaction).await?;
    // A duplicated accept is harmless: assigned once, the second refused or ignored, capacity counted once.
    desk.send(&DeskClientFrame::Accept { interaction: chat.interaction }).await?;
    desk.send(&DeskClientFrame::Accept { interaction: chat.interaction }).await?;
    desk.expect(|f| matches!(f, DeskFrame::Assigned { .. })).await?;
    // The second accept is refused (the offer is gone); the desk answers in order, so by then a second
    // assignment would have arrived.
    desk.expect(|f| matches!(f, DeskFrame::Error { .. })).await?;
    desk.expect_none(Duration::from_millis(100), |f| matches!(f, DeskFrame::Assigned { .. })).await?;
    let mut supervisor = DeskPeer::connect(&edge, &sign_in(&edge, DEMO_SUPERVISOR.0)?).await?;
    let overview = supervisor.expect(|f| matches!(f, DeskFrame::Overview { .. })).await?;
    let DeskFrame::Overview { overview } = overview else { unreachable!() };
    let load = overview.agents.iter().find(|a| a.agent.as_str() == "ada").map(|a| a.load);
    assert_eq!(load, Some(1), "one chat accepted twice is one chat of Ada's capacity: {overview:?}");
    Ok(())
}
