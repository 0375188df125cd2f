//! A soak run through the real edge: many contacts and auto-accepting agents at once, every contact writing a
//! few messages and each answered, then ending its chat. Afterwards, from the stored transcripts: every
//! acknowledged message is there exactly once and in order, every answer arrived, every chat was held by one
//! agent once; from the frames each agent was sent, no agent ever held more chats than its capacity and none
//! was offered a chat while Not Ready (some agents pause during the run); and the supervisor's live overview
//! (the desk's own count) agrees.
//!
//! The suite runs a small load; `cargo xtask soak` (or `SOAK_CONTACTS=… SOAK_AGENTS=… SOAK_MESSAGES=…`) a
//! large one. Loopback only, bounded in count and time.

mod support;

use anyhow::{Context, Result, bail, ensure};
use confab_protocol::api::ConversationTranscript;
use confab_protocol::frames::{Author, ClientFrame, DeskClientFrame, DeskFrame, ServerFrame};
use confab_protocol::ids::InteractionId;
use confab_protocol::lifecycle::State;
use confab_protocol::routing::Presence;
use confab_tests::{DEMO_PASSWORD, DEMO_SITE, Edge};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{DeskPeer, Peer, edge_with_site, sign_in};

struct Scale {
    agents: usize,
    capacity: u32,
    contacts: usize,
    messages: usize,
    /// The whole run must finish within this.
    limit: Duration,
}

fn scale() -> Scale {
    let var =
        |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let contacts = var("SOAK_CONTACTS", 16);
    Scale {
        agents: var("SOAK_AGENTS", 3),
        capacity: var("SOAK_CAPACITY", 2) as u32,
        contacts,
        messages: var("SOAK_MESSAGES", 5),
        limit: Duration::from_secs(120 + 3 * contacts as u64),
    }
}

/// The highest load each agent was seen with in the supervisor's overviews.
type Loads = Arc<Mutex<BTreeMap<String, u32>>>;

fn record(loads: &Loads, agent: &str, load: u32) {
    let mut loads = loads.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let max = loads.entry(agent.to_owned()).or_default();
    *max = (*max).max(load);
}

/// One chat as its agent saw it on the conversation socket: held from `since` (assigned) to `ended`.
#[derive(Debug, Clone, Copy)]
struct Held {
    interaction: InteractionId,
    since: i64,
    ended: i64,
}

/// An agent: Ready, auto-accepting; answers each contact message once; completes the wrap-up after the end.
/// Agents with an odd number go Not Ready for a moment after their first chat, and fail the run if the desk
/// gives them a chat or an offer between its "Not Ready" and its "Ready" (frames on one socket keep their
/// order, so anything after the desk's "Not Ready" was decided while Not Ready). Returns the chats it held.
async fn agent(edge: Arc<Edge>, n: usize, stop: Arc<Mutex<bool>>) -> Result<Vec<Held>> {
    let cookie = sign_in(&edge, &format!("a{n}@soak.test"))?;
    let me = format!("a{n}");
    let mut desk = DeskPeer::connect(&edge, &cookie).await?;
    desk.ready().await?;
    let mut ready = true;
    let mut pause_began: Option<Instant> = None;
    let mut chats = tokio::task::JoinSet::new();
    let mut taken = 0;
    while !*stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
        if pause_began.is_some_and(|at| at.elapsed() > Duration::from_millis(400)) {
            pause_began = None;
            desk.send(&DeskClientFrame::SetPresence { presence: Presence::Ready }).await?;
        }
        let frame = match tokio::time::timeout(Duration::from_millis(100), desk.next()).await {
            Err(_) => continue,
            Ok(frame) => frame?,
        };
        match frame {
            DeskFrame::Presence { presence } => ready = presence == Presence::Ready,
            DeskFrame::Offer { interaction, .. } | DeskFrame::Assigned { interaction, .. } if !ready => {
                bail!("{me} was offered or given {interaction} while Not Ready")
            }
            DeskFrame::Assigned { interaction, .. } => {
                taken += 1;
                if taken == 1 && n % 2 == 1 {
                    pause_began = Some(Instant::now());
                    desk.send(&DeskClientFrame::SetPresence { presence: Presence::NotReady }).await?;
                }
                let (edge, cookie, me) = (edge.clone(), cookie.clone(), me.clone());
                chats.spawn(async move { answer(&edge, interaction, &cookie, &me).await });
            }
            _ => {}
        }
    }
    let mut held = Vec::new();
    while let Some(done) = chats.join_next().await {
        held.push(done??);
    }
    Ok(held)
}

/// The most chats held at one moment (holding ends when the chat ends; the next may start at that moment).
fn most_held_at_once(held: &[Held]) -> usize {
    let mut moments: Vec<(i64, i32)> = held.iter().flat_map(|h| [(h.since, 1), (h.ended, -1)]).collect();
    // Ends before starts at the same millisecond.
    moments.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, change) in moments {
        now += change;
        most = most.max(now);
    }
    most as usize
}

async fn answer(edge: &Edge, interaction: InteractionId, cookie: &str, me: &str) -> Result<Held> {
    let mut chat = Peer::connect(edge, &interaction.to_string(), Some(cookie)).await?;
    chat.hello(None, None).await?;
    // The conversation learns of the assignment a moment after the desk says so; answers wait for it.
    let mut since = None;
    let mut waiting = Vec::new();
    let mut answered = BTreeSet::new();
    loop {
        let Some(frame) = chat.next_within(scale().limit).await? else { bail!("{interaction} went quiet") };
        match frame {
            ServerFrame::Message { message }
                if message.author == Author::Contact && answered.insert(message.seq) =>
            {
                waiting.push(message.text);
            }
            ServerFrame::State { view } => match view.state {
                State::Active { agent, since: at, .. } if agent.as_str() == me => since = Some(at),
                State::Active { agent, .. } => bail!("{interaction}, given to {me}, is active with {agent}"),
                State::Ended { at, .. } => {
                    chat.send(&ClientFrame::Complete).await?;
                    let since = since.with_context(|| format!("{interaction} ended before {me} held it"))?;
                    return Ok(Held { interaction, since, ended: at });
                }
                _ => {}
            },
            _ => {}
        }
        if since.is_some() {
            for text in waiting.drain(..) {
                chat.say(&format!("re: {text}")).await?;
            }
        }
    }
}

/// A contact: starts a chat (waiting out the per-address limit if it must), writes, waits for every answer,
/// ends the chat. Returns the conversation and the texts it had acknowledged, in order.
async fn contact(edge: Arc<Edge>, n: usize, messages: usize) -> Result<(InteractionId, Vec<String>)> {
    let agent = support::http_client();
    let started = loop {
        let mut resp =
            agent.post(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/chats"))).send_json(json!({}))?;
        match resp.status().as_u16() {
            201 => break resp.body_mut().read_json::<confab_protocol::api::ChatStarted>()?,
            429 => tokio::time::sleep(Duration::from_millis(500)).await,
            other => bail!("contact {n}: starting a chat answered {other}"),
        }
    };
    let mut socket = Peer::connect(&edge, &started.interaction.to_string(), None).await?;
    socket.hello(Some(&started.contact_token), None).await?;
    let mut acked = Vec::new();
    for m in 0..messages {
        let text = format!("contact {n} message {m}");
        let id = socket.say(&text).await?;
        socket.expect(|f| matches!(f, ServerFrame::Ack { client_id, .. } if *client_id == id)).await?;
        acked.push(text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Every message answered before the contact leaves.
    // A contact may wait in the queue for a while: as long as the whole run may take.
    let is_answer =
        |f: &ServerFrame| matches!(f, ServerFrame::Message { message } if message.author != Author::Contact);
    let mut replies = socket.take_seen().iter().filter(|f| is_answer(f)).count();
    while replies < messages {
        let frame = socket.next_within(scale().limit / 2).await?.with_context(|| {
            format!("contact {n} ({}): {replies} of {messages} answers", started.interaction)
        })?;
        if is_answer(&frame) {
            replies += 1;
        }
    }
    socket.send(&ClientFrame::End).await?;
    socket.expect(|f| matches!(f, ServerFrame::ChatEnded { .. })).await?;
    Ok((started.interaction, acked))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_contacts_and_agents_at_once_lose_nothing_and_respect_capacity() -> Result<()> {
    let scale = scale();
    let agents: Vec<serde_json::Value> = (0..scale.agents)
        .map(|i| {
            json!({"id": format!("a{i}"), "name": format!("Agent {i}"), "email": format!("a{i}@soak.test"),
                        "password": DEMO_PASSWORD, "capacity": scale.capacity, "auto_accept": true})
        })
        .chain(std::iter::once(json!({"id": "sup", "name": "Supervisor", "email": "sup@soak.test",
                        "password": DEMO_PASSWORD, "role": "supervisor"})))
        .collect();
    let site = json!({"name": "Soak", "allowed_origins": [], "agents": agents,
                      "rules": {"lifecycle": {"wrap": {"timeout_ms": 5000}}}});
    let edge = Arc::new(edge_with_site("soak", site)?);
    let began = Instant::now();

    // The supervisor watches every overview for the agents' loads.
    let seen_by_supervisor: Loads = Arc::default();
    let stop = Arc::new(Mutex::new(false));
    let watcher = {
        let (edge, loads, stop) = (edge.clone(), seen_by_supervisor.clone(), stop.clone());
        tokio::spawn(async move {
            let mut desk = DeskPeer::connect(&edge, &sign_in(&edge, "sup@soak.test")?).await?;
            while !*stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
                // A quiet moment is fine; a socket that died is not (the run would check nothing).
                let Ok(frame) = tokio::time::timeout(Duration::from_millis(500), desk.next()).await else {
                    continue;
                };
                if let DeskFrame::Overview { overview } = frame.context("the supervisor's desk socket")? {
                    for a in overview.agents {
                        record(&loads, a.agent.as_str(), a.load);
                    }
                }
            }
            anyhow::Ok(())
        })
    };
    let mut agent_tasks = tokio::task::JoinSet::new();
    for n in 0..scale.agents {
        agent_tasks.spawn(agent(edge.clone(), n, stop.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut contacts = tokio::task::JoinSet::new();
    for n in 0..scale.contacts {
        contacts.spawn(contact(edge.clone(), n, scale.messages));
    }
    let mut conversations = Vec::new();
    while let Some(done) =
        tokio::time::timeout(scale.limit, contacts.join_next()).await.context("the soak took too long")?
    {
        conversations.push(done??);
    }
    *stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true;
    let mut held_by_agent = Vec::new();
    while let Some(done) = agent_tasks.join_next().await {
        held_by_agent.push(done??);
    }
    watcher.await??;
    // From what each agent was sent: every chat held once, by one agent, and never more at once than its
    // capacity.
    let held: Vec<InteractionId> = held_by_agent.iter().flatten().map(|h| h.interaction).collect();
    let distinct: BTreeSet<InteractionId> = held.iter().copied().collect();
    ensure!(
        held.len() == scale.contacts && distinct.len() == scale.contacts,
        "{} chats held ({} distinct) for {} contacts",
        held.len(),
        distinct.len(),
        scale.contacts
    );
    for (n, chats) in held_by_agent.iter().enumerate() {
        let most = most_held_at_once(chats);
        ensure!(
            most <= scale.capacity as usize,
            "a{n} held {most} chats at once, capacity {}",
            scale.capacity
        );
    }

    // From the stored transcripts: each acknowledged message once, in order, each followed by its answer.
    let supervisor = sign_in(&edge, "sup@soak.test")?;
    for (interaction, acked) in &conversations {
        let mut resp = ureq::get(&edge.url(&format!("/api/v1/chats/{interaction}/transcript")))
            .header("cookie", &supervisor)
            .call()?;
        let transcript: ConversationTranscript = resp.body_mut().read_json()?;
        let from_contact: Vec<&str> = transcript
            .messages
            .iter()
            .filter(|m| m.author == Author::Contact)
            .map(|m| m.text.as_str())
            .collect();
        ensure!(from_contact == *acked, "{interaction}: stored {from_contact:?}, acknowledged {acked:?}");
        let answers: BTreeSet<&str> = transcript
            .messages
            .iter()
            .filter(|m| m.author != Author::Contact)
            .filter_map(|m| m.text.strip_prefix("re: "))
            .collect();
        ensure!(answers == acked.iter().map(String::as_str).collect(), "{interaction}: answers {answers:?}");
        let seqs: Vec<u64> = transcript.messages.iter().map(|m| m.seq).collect();
        ensure!(seqs == (1..=seqs.len() as u64).collect::<Vec<_>>(), "{interaction}: seqs {seqs:?}");
    }
    // The desk's own count, as the supervisor saw it change: never over capacity, and actually used.
    let capacity = scale.capacity;
    let loads = seen_by_supervisor.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    ensure!(loads.values().any(|max| *max > 0), "the supervisor saw no load at all: {loads:?}");
    for (agent, max) in &loads {
        ensure!(*max <= capacity, "{agent} held {max} chats, capacity {capacity}");
    }
    eprintln!(
        "soak: {} contacts x {} messages, {} agents of capacity {}: all stored once and in order, in {:.1} s",
        scale.contacts,
        scale.messages,
        scale.agents,
        scale.capacity,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
