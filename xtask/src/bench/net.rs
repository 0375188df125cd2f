//! The edge under load on loopback, each figure beside a baseline measured in the same run: message
//! delivery latency against a bare workerd broadcast Durable Object (`bench/baseline`), stored messages per
//! second through one conversation as participants are added, chats routed per second through one Desk,
//! idle hibernated contact sockets held by one workerd, and the time from `wrangler dev` to the first
//! answered chat.
//!
//! Rate limits meant for strangers (new chats per address, a contact's messages) are lifted for the run
//! through the deployment variables that set them: one process on one address plays thousands of contacts.

use anyhow::{Context, Result, bail};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::api::ChatStarted;
use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, ServerFrame};
use confab_protocol::ids::{ClientMessageId, InteractionId};
use confab_protocol::routing::Presence;
use confab_tests::{DEMO_PASSWORD, DEMO_SITE, Edge, EdgeOptions, Paths};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Sink = SplitSink<Ws, WsMessage>;
type Stream = SplitStream<Ws>;

/// How long any single expected frame may take before the benchmark gives up (a hang is a failure).
const STEP: Duration = Duration::from_secs(20);
/// Messages measured for latency (after a warm-up of [`WARM_UP`]).
pub(crate) const LATENCY_MESSAGES: usize = 1_000;
const WARM_UP: usize = 50;
/// Messages pushed through one conversation for throughput, and how many may be unacknowledged at once.
const THROUGHPUT_MESSAGES: usize = 3_000;
const WINDOW: usize = 64;
/// Participants besides the contact: the agent alone, then more agents' sockets watching.
const PARTICIPANTS: [usize; 3] = [1, 4, 16];
/// The Desk: agents (capacity 20 each, the most an account may have; agent-0 already holds the chats of the
/// latency and throughput runs) and chats started at once.
const DESK_AGENTS: usize = 20;
const DESK_CHATS: usize = 300;
const DESK_CONCURRENCY: usize = 24;
/// The limits lifted for the run (burst / period in ms; a period of 0 never refuses).
const UNLIMITED: &str = "1000000/0";

/// Latency samples in milliseconds, sorted.
pub(crate) struct Latency {
    pub(crate) sorted_ms: Vec<f64>,
}

impl Latency {
    pub(crate) fn new(mut samples: Vec<f64>) -> Latency {
        samples.sort_by(f64::total_cmp);
        Latency { sorted_ms: samples }
    }

    pub(crate) fn percentile(&self, p: f64) -> f64 {
        let n = self.sorted_ms.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.sorted_ms[rank.clamp(1, n) - 1]
    }

    pub(crate) fn max(&self) -> f64 {
        self.sorted_ms.last().copied().unwrap_or(0.0)
    }
}

pub(crate) struct Throughput {
    /// Participants besides the contact.
    pub(crate) participants: usize,
    pub(crate) per_second: f64,
}

pub(crate) struct DeskFigures {
    pub(crate) chats: usize,
    pub(crate) agents: usize,
    /// Offers made (and accepted) per second over the busy window.
    pub(crate) offers_per_second: f64,
    /// Chats started per second beforehand, while the waiting chats were prepared (not routing: told apart).
    pub(crate) starts_per_second: f64,
}

pub(crate) struct Idle {
    pub(crate) sockets: usize,
    pub(crate) held: bool,
    pub(crate) rss_before_mb: f64,
    pub(crate) rss_after_mb: f64,
    pub(crate) open_seconds: f64,
}

impl Idle {
    pub(crate) fn kb_per_socket(&self) -> f64 {
        (self.rss_after_mb - self.rss_before_mb) * 1024.0 / self.sockets.max(1) as f64
    }
}

pub(crate) struct ColdStart {
    /// Baseline: a bare Worker's first answered request.
    pub(crate) baseline_ready_s: f64,
    pub(crate) edge_ready_s: f64,
    /// From spawning `wrangler dev` to the contact reading the agent's first answer.
    pub(crate) first_answer_s: f64,
}

pub(crate) struct NetFigures {
    pub(crate) baseline_latency: Latency,
    pub(crate) latency: Latency,
    pub(crate) baseline_throughput: Vec<Throughput>,
    pub(crate) throughput: Vec<Throughput>,
    pub(crate) desk: DeskFigures,
    pub(crate) idle: Idle,
    pub(crate) cold: ColdStart,
    pub(crate) browser: super::browser::BrowserFigures,
}

/// The site the benchmark runs on: the demo site with `agents` agents.
fn bench_site(agents: usize) -> serde_json::Value {
    let agents: Vec<serde_json::Value> = (0..agents)
        .map(|i| {
            serde_json::json!({"id": format!("agent-{i}"), "name": format!("Agent {i}"),
                "email": format!("agent-{i}@bench.confab.test"), "password": DEMO_PASSWORD, "capacity": 20})
        })
        .collect();
    serde_json::json!({"name": "Bench", "allowed_origins": ["http://127.0.0.1:9"], "agents": agents})
}

pub(crate) fn start_edge(paths: &Paths, name: &str, config: Option<std::path::PathBuf>) -> Result<Edge> {
    let mut options = EdgeOptions::for_test(paths, name)?;
    options.config = config;
    options.vars = vec![
        ("CONFAB_LIMIT_CHAT_STARTS_PER_ADDRESS".into(), UNLIMITED.into()),
        ("CONFAB_LIMIT_CONTACT_MESSAGES".into(), UNLIMITED.into()),
    ];
    Edge::start(paths, options)
}

/// The parts of the run, for `--only` (a developer measuring one thing while changing it).
pub(crate) const PARTS: [&str; 6] = ["cold", "latency", "throughput", "desk", "idle", "browser"];

/// Runs every part, or with `only` just those named (then prints the figures and returns `None`: a report
/// needs them all).
pub(crate) fn run(paths: &Paths, idle_sockets: usize, only: Option<&[String]>) -> Result<Option<NetFigures>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match only {
        None => runtime.block_on(run_all(paths, idle_sockets)).map(Some),
        Some(parts) => runtime.block_on(run_some(paths, idle_sockets, parts)).map(|()| None),
    }
}

async fn run_some(paths: &Paths, idle_sockets: usize, parts: &[String]) -> Result<()> {
    let has = |part: &str| parts.iter().any(|p| p == part);
    if let Some(unknown) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
        bail!("--only knows {}, not {unknown:?}", PARTS.join(", "));
    }
    if has("cold") {
        cold_start(paths, 0.0).await.map(|c| print_cold(&c))?;
    }
    if has("latency") || has("throughput") || has("desk") {
        let mut baseline =
            start_edge(paths, "bench-baseline", Some(paths.root.join("bench/baseline/wrangler.toml")))?;
        let edge = start_edge(paths, "bench-edge", None)?;
        edge.seed_site(DEMO_SITE, &bench_site(DESK_AGENTS))?;
        if has("latency") {
            print_latency(&baseline_latency(&baseline).await?, &confab_latency(&edge).await?);
        }
        if has("throughput") {
            for participants in PARTICIPANTS {
                let bare = baseline_throughput_with(&baseline, participants).await?;
                let stored = confab_throughput_with(&edge, participants).await?;
                print_throughput(participants, bare, stored);
            }
        }
        baseline.stop();
        if has("desk") {
            print_desk(&desk_throughput(&edge).await?);
        }
    }
    if has("idle") {
        print_idle(&idle_capacity(paths, idle_sockets).await?);
    }
    if has("browser") {
        super::browser::run(paths).await?;
    }
    Ok(())
}

fn print_cold(cold: &ColdStart) {
    println!(
        "  bare Worker answers after {:.2} s; Confab answers after {:.2} s, first chat answered after {:.2} s",
        cold.baseline_ready_s, cold.edge_ready_s, cold.first_answer_s
    );
}

fn print_latency(baseline: &Latency, confab: &Latency) {
    for (who, l) in [("bare broadcast DO", baseline), ("Confab contact → agent", confab)] {
        println!(
            "  {who:<24} p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            l.percentile(50.0),
            l.percentile(90.0),
            l.percentile(99.0),
            l.max()
        );
    }
}

fn print_throughput(participants: usize, bare: f64, stored: f64) {
    println!(
        "  {participants:>2} reading: bare broadcast {bare:>6.0} msg/s, Confab stored {stored:>6.0} msg/s"
    );
}

fn print_desk(desk: &DeskFigures) {
    println!(
        "  {:.0} offers/s accepted (the chats were started beforehand at {:.0}/s)",
        desk.offers_per_second, desk.starts_per_second
    );
}

fn print_idle(idle: &Idle) {
    println!(
        "  {} sockets {} after idling; workerd {:.0} MB → {:.0} MB ({:.1} KB per idle contact); opened in {:.0} s",
        idle.sockets,
        if idle.held { "all held" } else { "NOT all held" },
        idle.rss_before_mb,
        idle.rss_after_mb,
        idle.kb_per_socket(),
        idle.open_seconds
    );
}

async fn run_all(paths: &Paths, idle_sockets: usize) -> Result<NetFigures> {
    let baseline_config = paths.root.join("bench/baseline/wrangler.toml");

    crate::step("cold start: `wrangler dev` to the first answered request (bare Worker) and chat (Confab)");
    let started = Instant::now();
    let mut baseline = start_edge(paths, "bench-baseline", Some(baseline_config))?;
    let baseline_ready_s = started.elapsed().as_secs_f64();
    let cold = cold_start(paths, baseline_ready_s).await?;
    print_cold(&cold);

    let edge = start_edge(paths, "bench-edge", None)?;
    edge.seed_site(DEMO_SITE, &bench_site(DESK_AGENTS))?;

    crate::step(&format!("delivery latency, {LATENCY_MESSAGES} messages one at a time"));
    let baseline_latency = baseline_latency(&baseline).await?;
    let latency = confab_latency(&edge).await?;
    print_latency(&baseline_latency, &latency);

    crate::step(&format!(
        "throughput of one conversation, {THROUGHPUT_MESSAGES} messages, {WINDOW} in flight"
    ));
    let mut baseline_throughput = Vec::new();
    let mut throughput = Vec::new();
    for participants in PARTICIPANTS {
        let bare = baseline_throughput_with(&baseline, participants).await?;
        let stored = confab_throughput_with(&edge, participants).await?;
        print_throughput(participants, bare, stored);
        baseline_throughput.push(Throughput { participants, per_second: bare });
        throughput.push(Throughput { participants, per_second: stored });
    }
    baseline.stop();

    crate::step(&format!("one Desk: {DESK_CHATS} chats offered to and accepted by {DESK_AGENTS} agents"));
    let desk = desk_throughput(&edge).await?;
    print_desk(&desk);
    drop(edge);

    crate::step(&format!("idle capacity: {idle_sockets} contact sockets on one workerd"));
    let idle = idle_capacity(paths, idle_sockets).await?;
    print_idle(&idle);
    let browser = super::browser::run(paths).await?;
    Ok(NetFigures { baseline_latency, latency, baseline_throughput, throughput, desk, idle, cold, browser })
}

async fn connect(url: &str, cookie: Option<&str>) -> Result<Ws> {
    let mut request = url.into_client_request()?;
    if let Some(cookie) = cookie {
        request.headers_mut().insert("cookie", cookie.parse()?);
    }
    let (ws, _) = tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request))
        .await
        .context("opening a socket timed out")??;
    Ok(ws)
}

/// The next text frame within [`STEP`].
async fn next_text(stream: &mut Stream) -> Result<String> {
    loop {
        match tokio::time::timeout(STEP, stream.next()).await.context("no frame in time")? {
            Some(Ok(WsMessage::Text(text))) => return Ok(text.to_string()),
            Some(Ok(WsMessage::Close(frame))) => bail!("the socket closed: {frame:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the socket ended"),
        }
    }
}

/// Reads and drops whatever arrives, so the server never waits on a full socket.
pub(crate) fn drain(mut stream: Stream) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} })
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

pub(crate) fn start_chat(edge: &Edge) -> Result<ChatStarted> {
    let mut resp = http()
        .post(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/chats")))
        .send_json(serde_json::json!({}))?;
    anyhow::ensure!(resp.status().as_u16() == 201, "starting a chat: {}", resp.body_mut().read_to_string()?);
    Ok(resp.body_mut().read_json()?)
}

fn sign_in(edge: &Edge, email: &str) -> Result<String> {
    let resp = http()
        .post(&edge.url("/api/v1/agent/session"))
        .send_json(serde_json::json!({"email": email, "password": DEMO_PASSWORD}))?;
    let cookie = resp.headers().get("set-cookie").context("no session cookie")?.to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_owned())
}

/// A conversation socket that said hello (a contact with its token, or an agent by its cookie).
pub(crate) async fn chat_socket(
    edge: &Edge,
    interaction: InteractionId,
    token: Option<&str>,
    cookie: Option<&str>,
) -> Result<(Sink, Stream)> {
    let ws = connect(&edge.ws_url(&format!("/api/v1/chats/{interaction}/socket")), cookie).await?;
    let (mut sink, mut stream) = ws.split();
    let hello =
        ClientFrame::Hello { version: PROTOCOL_VERSION, token: token.map(str::to_owned), after: None };
    sink.send(WsMessage::text(hello.encode())).await?;
    while !matches!(ServerFrame::decode(&next_text(&mut stream).await?)?, ServerFrame::Welcome { .. }) {}
    Ok((sink, stream))
}

/// An agent's desk socket, Ready.
async fn ready_desk(edge: &Edge, cookie: &str) -> Result<(Sink, Stream)> {
    let ws = connect(&edge.ws_url("/api/v1/desk/socket"), Some(cookie)).await?;
    let (mut sink, mut stream) = ws.split();
    sink.send(WsMessage::text(DeskClientFrame::Hello { version: PROTOCOL_VERSION }.encode())).await?;
    sink.send(WsMessage::text(DeskClientFrame::SetPresence { presence: Presence::Ready }.encode())).await?;
    while !matches!(
        DeskFrame::decode(&next_text(&mut stream).await?)?,
        DeskFrame::Presence { presence: Presence::Ready }
    ) {}
    Ok((sink, stream))
}

/// A started chat taken by `agent`: the contact's and the agent's conversation sockets.
struct LiveChat {
    contact: (Sink, Stream),
    agent: (Sink, Stream),
    interaction: InteractionId,
    agent_cookie: String,
}

async fn live_chat(edge: &Edge) -> Result<LiveChat> {
    let agent_cookie = sign_in(edge, "agent-0@bench.confab.test")?;
    let (mut desk_sink, mut desk) = ready_desk(edge, &agent_cookie).await?;
    let chat = start_chat(edge)?;
    let (mut contact_sink, contact_stream) =
        chat_socket(edge, chat.interaction, Some(&chat.contact_token), None).await?;
    let first = ClientFrame::Send {
        client_id: ClientMessageId(uuid::Uuid::new_v4()),
        text: "hello".into(),
        attachments: Vec::new(),
    };
    contact_sink.send(WsMessage::text(first.encode())).await?;
    loop {
        match DeskFrame::decode(&next_text(&mut desk).await?)? {
            DeskFrame::Offer { interaction, .. } if interaction == chat.interaction => {
                desk_sink.send(WsMessage::text(DeskClientFrame::Accept { interaction }.encode())).await?;
            }
            DeskFrame::Assigned { interaction, .. } if interaction == chat.interaction => break,
            _ => {}
        }
    }
    drop(desk_sink);
    drain(desk);
    let agent = chat_socket(edge, chat.interaction, None, Some(&agent_cookie)).await?;
    Ok(LiveChat {
        contact: (contact_sink, contact_stream),
        agent,
        interaction: chat.interaction,
        agent_cookie,
    })
}

/// One-way delivery times: `send(i)` goes out on `sink`, and the sample ends when `stream` yields a text
/// for which `arrived(text, i)` holds.
async fn one_way(
    sink: &mut Sink,
    stream: &mut Stream,
    send: impl Fn(usize) -> String,
    arrived: impl Fn(&str, usize) -> bool,
) -> Result<Latency> {
    let mut samples = Vec::with_capacity(LATENCY_MESSAGES);
    for i in 0..WARM_UP + LATENCY_MESSAGES {
        let frame = send(i);
        let started = Instant::now();
        sink.send(WsMessage::text(frame)).await?;
        while !arrived(&next_text(stream).await?, i) {}
        if i >= WARM_UP {
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(Latency::new(samples))
}

/// A short chat line (~50 bytes of text), marked with its number.
fn line(i: usize) -> String {
    format!("message {i:06} {}", "x".repeat(36))
}

async fn baseline_latency(baseline: &Edge) -> Result<Latency> {
    let room = baseline.ws_url("/room/latency");
    let (mut a_sink, a_stream) = connect(&room, None).await?.split();
    let (_b_sink, mut b_stream) = connect(&room, None).await?.split();
    drain(a_stream);
    one_way(&mut a_sink, &mut b_stream, line, |text, i| text == line(i)).await
}

async fn confab_latency(edge: &Edge) -> Result<Latency> {
    let chat = live_chat(edge).await?;
    let (mut contact_sink, contact_stream) = chat.contact;
    let (_agent_sink, mut agent_stream) = chat.agent;
    drain(contact_stream);
    let send = |i: usize| {
        ClientFrame::Send {
            client_id: ClientMessageId(uuid::Uuid::new_v4()),
            text: line(i),
            attachments: Vec::new(),
        }
        .encode()
    };
    // The agent's socket gets the message itself, not only the sender's acknowledgement.
    one_way(&mut contact_sink, &mut agent_stream, send, |text, i| {
        text.contains("\"type\":\"message\"") && text.contains(&line(i))
    })
    .await
}

/// Messages/s from A to `readers` other sockets in one bare room, `WINDOW` in flight (counted at one reader).
async fn baseline_throughput_with(baseline: &Edge, readers: usize) -> Result<f64> {
    let room = baseline.ws_url(&format!("/room/throughput-{readers}"));
    let (mut a_sink, a_stream) = connect(&room, None).await?.split();
    drain(a_stream);
    let (_counted_sink, mut counted) = connect(&room, None).await?.split();
    let mut others = Vec::new();
    for _ in 1..readers {
        let (sink, stream) = connect(&room, None).await?.split();
        others.push((sink, drain(stream)));
    }
    let started = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < THROUGHPUT_MESSAGES {
        while sent < THROUGHPUT_MESSAGES && sent - received < WINDOW {
            a_sink.send(WsMessage::text(line(sent))).await?;
            sent += 1;
        }
        next_text(&mut counted).await?;
        received += 1;
    }
    Ok(THROUGHPUT_MESSAGES as f64 / started.elapsed().as_secs_f64())
}

/// Stored messages/s through one conversation: the contact writes with `WINDOW` unacknowledged at once,
/// the agent and `readers - 1` more agents' sockets receive every message.
async fn confab_throughput_with(edge: &Edge, readers: usize) -> Result<f64> {
    let chat = live_chat(edge).await?;
    let (mut contact_sink, mut contact_stream) = chat.contact;
    let (_agent_sink, agent_stream) = chat.agent;
    drain(agent_stream);
    let mut watchers = Vec::new();
    for _ in 1..readers {
        let (sink, stream) = chat_socket(edge, chat.interaction, None, Some(&chat.agent_cookie)).await?;
        watchers.push((sink, drain(stream)));
    }
    let started = Instant::now();
    let (mut sent, mut acked) = (0, 0);
    while acked < THROUGHPUT_MESSAGES {
        while sent < THROUGHPUT_MESSAGES && sent - acked < WINDOW {
            let frame = ClientFrame::Send {
                client_id: ClientMessageId(uuid::Uuid::new_v4()),
                text: line(sent),
                attachments: Vec::new(),
            };
            contact_sink.send(WsMessage::text(frame.encode())).await?;
            sent += 1;
        }
        let text = next_text(&mut contact_stream).await?;
        if text.contains("\"type\":\"ack\"") {
            acked += 1;
        } else if text.contains("\"type\":\"error\"") {
            bail!("the conversation refused a message: {text}");
        }
    }
    Ok(THROUGHPUT_MESSAGES as f64 / started.elapsed().as_secs_f64())
}

/// Chats started by a pool of contacts (each: start, socket, hello, first message) while `DESK_AGENTS`
/// agents accept every offer: offers per second over the window from the first offer to the last accept.
async fn desk_throughput(edge: &Edge) -> Result<DeskFigures> {
    let mut desks = Vec::new();
    for i in 0..DESK_AGENTS {
        let cookie = sign_in(edge, &format!("agent-{i}@bench.confab.test"))?;
        desks.push(ready_desk(edge, &cookie).await?);
    }
    // Each agent accepts what it is offered and counts what it is assigned.
    let (assigned_tx, mut assigned_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let (offered_tx, mut offered_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    for (mut sink, mut stream) in desks {
        let (assigned_tx, offered_tx) = (assigned_tx.clone(), offered_tx.clone());
        tokio::spawn(async move {
            while let Some(Ok(WsMessage::Text(text))) = stream.next().await {
                match DeskFrame::decode(&text) {
                    Ok(DeskFrame::Offer { interaction, .. }) => {
                        let _ = offered_tx.send(Instant::now());
                        let accept = DeskClientFrame::Accept { interaction }.encode();
                        if sink.send(WsMessage::text(accept)).await.is_err() {
                            break;
                        }
                    }
                    Ok(DeskFrame::Assigned { .. }) => {
                        let _ = assigned_tx.send(Instant::now());
                    }
                    _ => {}
                }
            }
        });
    }
    // Chats are started and their sockets opened first (timed on their own: a chat start is not routing);
    // then every contact writes its first message at once, which queues the chat on the Desk.
    let started = Instant::now();
    let contacts = futures_util::stream::iter(0..DESK_CHATS)
        .map(|_| async {
            let chat = tokio::task::block_in_place(|| start_chat(edge))?;
            let (sink, stream) = chat_socket(edge, chat.interaction, Some(&chat.contact_token), None).await?;
            anyhow::Ok((sink, drain(stream)))
        })
        .buffer_unordered(DESK_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let started_all = started.elapsed();
    let mut contacts: Vec<_> = contacts.into_iter().collect::<Result<_>>()?;
    let writing = Instant::now();
    futures_util::stream::iter(contacts.iter_mut())
        .map(|(sink, _)| async move {
            let first = ClientFrame::Send {
                client_id: ClientMessageId(uuid::Uuid::new_v4()),
                text: "Hi".into(),
                attachments: Vec::new(),
            };
            sink.send(WsMessage::text(first.encode())).await
        })
        .buffer_unordered(DESK_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut first_offer = None;
    let mut last_assigned = started;
    let mut assigned = 0;
    while assigned < DESK_CHATS {
        let at = tokio::time::timeout(STEP, assigned_rx.recv())
            .await
            .context("assignments stopped")?
            .context("agents gone")?;
        last_assigned = at;
        assigned += 1;
    }
    while let Ok(at) = offered_rx.try_recv() {
        first_offer = Some(first_offer.map_or(at, |f: Instant| f.min(at)));
    }
    drop(contacts);
    let window = last_assigned.duration_since(first_offer.unwrap_or(writing)).as_secs_f64();
    Ok(DeskFigures {
        chats: DESK_CHATS,
        agents: DESK_AGENTS,
        offers_per_second: DESK_CHATS as f64 / window.max(1e-3),
        starts_per_second: DESK_CHATS as f64 / started_all.as_secs_f64(),
    })
}

/// Resident memory of the workerd serving `edge`, in MB.
fn workerd_rss_mb(edge: &Edge) -> Result<f64> {
    let group = edge.process_group();
    for entry in std::fs::read_dir("/proc")? {
        let path = entry?.path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else { continue };
        // pid (comm) state ppid pgrp ...
        let Some((comm, rest)) =
            stat.split_once(") ").map(|(head, rest)| (head.rsplit('(').next().unwrap_or(""), rest))
        else {
            continue;
        };
        let pgrp: Option<u32> = rest.split(' ').nth(2).and_then(|p| p.parse().ok());
        if comm.starts_with("workerd") && pgrp == Some(group) {
            let status = std::fs::read_to_string(path.join("status"))?;
            let kb: f64 = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .context("VmRSS")?;
            return Ok(kb / 1024.0);
        }
    }
    bail!("no workerd process in group {group}")
}

/// File descriptors one workerd process under `wrangler dev` holds per idle contact socket (measured: the
/// runtime holds about four, wrangler's proxy two).
const FDS_PER_IDLE_SOCKET: usize = 4;

/// How many idle sockets one workerd can hold here: its open-file limit (the hard limit, which a process
/// cannot raise without privileges) divided by what a socket costs, less a margin for everything else.
pub(crate) fn idle_sockets_this_machine_allows() -> usize {
    open_files_hard_limit().map_or(usize::MAX, |limit| limit.saturating_sub(1_000) / FDS_PER_IDLE_SOCKET)
}

pub(crate) fn open_files_hard_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(4)?.parse().ok()
}

/// Sockets per chat in the idle run: a contact with several tabs open. Starting chats is measured by the
/// Desk run (and is the slow part); this run measures what held sockets cost.
const TABS_PER_CHAT: usize = 20;

/// `sockets` contact sockets (chats of [`TABS_PER_CHAT`] tabs each) stay open without a word; after they idle,
/// a sample of them must still answer.
async fn idle_capacity(paths: &Paths, sockets: usize) -> Result<Idle> {
    let edge = start_edge(paths, "bench-idle", None)?;
    edge.seed_site(DEMO_SITE, &bench_site(1))?;
    // Warm: one chat, so the measured memory is the sockets', not the first chat's code paths.
    let warm = start_chat(&edge)?;
    drop(chat_socket(&edge, warm.interaction, Some(&warm.contact_token), None).await?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before_mb = workerd_rss_mb(&edge)?;
    let started = Instant::now();
    let mut chats = Vec::new();
    for _ in 0..sockets.div_ceil(TABS_PER_CHAT) {
        chats.push(start_chat(&edge)?);
    }
    let edge_ref = &edge;
    let opened =
        futures_util::stream::iter((0..sockets).map(|i| &chats[i / TABS_PER_CHAT]))
            .map(|chat| async move {
                chat_socket(edge_ref, chat.interaction, Some(&chat.contact_token), None).await
            })
            .buffer_unordered(DESK_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
    let open_seconds = started.elapsed().as_secs_f64();
    let mut open: Vec<(Sink, Stream)> = opened.into_iter().collect::<Result<_>>()?;
    // Idle long enough for the runtime to hibernate the objects.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let rss_after_mb = workerd_rss_mb(&edge)?;
    // Every 100th socket still answers a hello.
    let mut held = true;
    for (sink, stream) in open.iter_mut().step_by(100) {
        let hello = ClientFrame::Hello { version: PROTOCOL_VERSION, token: None, after: None };
        if sink.send(WsMessage::text(hello.encode())).await.is_err() {
            held = false;
            break;
        }
        // A second hello without the token is refused or welcomed; either way the socket is alive.
        if next_text(stream).await.is_err() {
            held = false;
            break;
        }
    }
    Ok(Idle { sockets, held, rss_before_mb, rss_after_mb, open_seconds })
}

/// Spawns `wrangler dev` on a state that already has the site and times it to the first answered chat: an
/// agent signs in and goes Ready as soon as the edge answers, a contact writes, the agent accepts and
/// answers, the contact reads the answer.
async fn cold_start(paths: &Paths, baseline_ready_s: f64) -> Result<ColdStart> {
    let mut prepared = start_edge(paths, "bench-cold", None)?;
    prepared.seed_site(DEMO_SITE, &bench_site(1))?;
    let mut options = prepared.options.clone();
    prepared.stop();
    options.port = 0; // any free port
    let spawned = Instant::now();
    let edge = Edge::start(paths, options)?;
    let edge_ready_s = spawned.elapsed().as_secs_f64();
    let chat = live_chat(&edge).await?;
    let (_contact_sink, mut contact_stream) = chat.contact;
    let (mut agent_sink, _agent_stream) = chat.agent;
    let answer = ClientFrame::Send {
        client_id: ClientMessageId(uuid::Uuid::new_v4()),
        text: "How can I help?".into(),
        attachments: Vec::new(),
    };
    agent_sink.send(WsMessage::text(answer.encode())).await?;
    while !next_text(&mut contact_stream).await?.contains("How can I help?") {}
    Ok(ColdStart { baseline_ready_s, edge_ready_s, first_answer_s: spawned.elapsed().as_secs_f64() })
}
