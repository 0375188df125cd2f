//! The two UIs in headless Chromium, as their users meet them: the widget's time from a click on the launcher
//! to a composer one can type in (a visitor's first open, cold cache), Lighthouse's performance score of a
//! shop page with and without the widget's script tag, the agent desktop's time to interactive on a first
//! visit, and its frame times while an open chat receives 50 messages a second.

use super::net::{self, Latency};
use anyhow::{Context, Result, bail};
use confab_protocol::frames::ClientFrame;
use confab_protocol::ids::ClientMessageId;
use confab_tests::browser::{Chromedriver, wait_for_text};
use confab_tests::{DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, Edge, HostPage, Paths};
use fantoccini::{Client, Locator};
use futures_util::SinkExt;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long any one thing on a page may take before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(30);
/// How often a wait looks again: short, since the waits are what is measured.
const POLL: Duration = Duration::from_millis(5);
/// First opens measured (each in a fresh profile: an empty cache, as a first visit).
const OPENS: usize = 3;
/// Lighthouse runs per page (alternating with and without the widget; the median is reported).
const LIGHTHOUSE_RUNS: usize = 3;
/// Messages a second into the agent's open chat, and for how long.
const MESSAGES_PER_SECOND: u64 = 50;
const BUSY_SECONDS: u64 = 5;

pub(crate) struct BrowserFigures {
    /// Launcher click to an interactive composer, per first open, in ms (sorted).
    pub(crate) click_to_composer_ms: Vec<f64>,
    /// Lighthouse performance scores (0–100), medians.
    pub(crate) lighthouse_without: f64,
    pub(crate) lighthouse_with: f64,
    /// First visit of `/agent/` to its sign-in form taking input, in ms.
    pub(crate) agent_interactive_ms: f64,
    /// Time between animation frames while a chat receives [`MESSAGES_PER_SECOND`].
    pub(crate) agent_frames: Latency,
    pub(crate) messages_per_second: u64,
}

impl BrowserFigures {
    pub(crate) fn click_to_composer_median_ms(&self) -> f64 {
        self.click_to_composer_ms[self.click_to_composer_ms.len() / 2]
    }
}

/// The shop page from the browser tests without its script tag: the page Lighthouse compares against.
fn without_widget(html: &str) -> String {
    html.lines().filter(|l| !l.contains("/widget.js")).collect::<Vec<_>>().join("\n")
}

pub(crate) async fn run(paths: &Paths) -> Result<BrowserFigures> {
    // Both pages listen before anything else starts, so no other server can take their ports.
    let page_with = HostPage::bind(0)?;
    let page_without = HostPage::bind(0)?;
    let with_origin = format!("http://127.0.0.1:{}", page_with.port());
    let edge = net::start_edge(paths, "bench-browser", None)?;
    edge.seed_site(DEMO_SITE, &confab_tests::demo_site(&with_origin))?;
    let html = HostPage::demo_html(&edge.origin(), DEMO_SITE);
    page_with.set_page(html.clone(), String::new());
    page_without.set_page(without_widget(&html), String::new());
    let driver = Chromedriver::start(paths)?;

    crate::step(&format!("widget: launcher click to an interactive composer, {OPENS} first opens"));
    let mut click_to_composer_ms = Vec::new();
    for i in 0..OPENS {
        let client = driver.session(paths, &format!("open-{i}")).await?;
        let result = click_to_composer(&client, &with_origin).await;
        client.close().await?;
        click_to_composer_ms.push(result?);
    }
    click_to_composer_ms.sort_by(f64::total_cmp);
    println!(
        "  {}",
        click_to_composer_ms.iter().map(|ms| format!("{ms:.0} ms")).collect::<Vec<_>>().join(", ")
    );

    crate::step(&format!(
        "Lighthouse performance, the shop page without and with the widget, {LIGHTHOUSE_RUNS} runs each"
    ));
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..LIGHTHOUSE_RUNS {
        without.push(lighthouse(paths, &format!("http://127.0.0.1:{}/", page_without.port()))?);
        with.push(lighthouse(paths, &format!("{with_origin}/"))?);
    }
    let (lighthouse_without, lighthouse_with) = (median(without), median(with));
    println!("  without {lighthouse_without:.0}, with {lighthouse_with:.0}");

    crate::step(&format!(
        "agent desktop: first visit to interactive, frame times at {MESSAGES_PER_SECOND} messages/s"
    ));
    let agent = driver.session(paths, "agent").await?;
    agent.set_window_size(1366, 860).await?;
    let measured = agent_desktop(&agent, &edge).await;
    agent.close().await?;
    let (agent_interactive_ms, agent_frames) = measured?;
    println!(
        "  interactive after {agent_interactive_ms:.0} ms; frames p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        agent_frames.percentile(50.0),
        agent_frames.percentile(99.0),
        agent_frames.max()
    );
    Ok(BrowserFigures {
        click_to_composer_ms,
        lighthouse_without,
        lighthouse_with,
        agent_interactive_ms,
        agent_frames,
        messages_per_second: MESSAGES_PER_SECOND,
    })
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn element(client: &Client, css: &str) -> Result<fantoccini::elements::Element> {
    client
        .wait()
        .at_most(PATIENCE)
        .every(POLL)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for {css}"))
}

async fn click_to_composer(client: &Client, host_origin: &str) -> Result<f64> {
    client.goto(host_origin).await?;
    let launcher = element(client, "[data-confab=launcher]").await?;
    let clicked = Instant::now();
    launcher.click().await?;
    element(client, "iframe[data-confab=frame]").await?.enter_frame().await?;
    let composer = element(client, ".cw-input").await?;
    // Interactive: it takes what is typed.
    composer.send_keys("a").await?;
    Ok(clicked.elapsed().as_secs_f64() * 1000.0)
}

/// Lighthouse's performance score for `url` (mobile emulation and simulated throttling, its defaults).
fn lighthouse(paths: &Paths, url: &str) -> Result<f64> {
    let cli = paths.node_modules().join("lighthouse/cli/index.js");
    if !cli.exists() {
        bail!("{} is missing: run `cargo xtask setup`", cli.display());
    }
    let scratch = paths.target().join("bench/lighthouse");
    std::fs::create_dir_all(&scratch)?;
    let report = scratch.join("report.json");
    let status = Command::new(paths.node())
        .arg(&cli)
        .arg(url)
        .args(["--quiet", "--output=json", "--only-categories=performance"])
        .arg(format!("--output-path={}", report.display()))
        .arg("--chrome-flags=--headless=new --no-sandbox --disable-gpu")
        .env("CHROME_PATH", paths.chromium())
        .env("XDG_CONFIG_HOME", &scratch)
        .env("TMPDIR", &scratch)
        .status()
        .context("running Lighthouse")?;
    if !status.success() {
        bail!("Lighthouse failed on {url} ({status})");
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
    let score = json["categories"]["performance"]["score"].as_f64().context("no performance score")?;
    Ok(score * 100.0)
}

/// The agent's first visit until the sign-in form takes input; then, signed in, Ready and in an accepted
/// chat, the frame times while the contact writes [`MESSAGES_PER_SECOND`] for [`BUSY_SECONDS`].
async fn agent_desktop(agent: &Client, edge: &Edge) -> Result<(f64, Latency)> {
    let started = Instant::now();
    agent.goto(&edge.url("/agent/")).await?;
    let email = element(agent, "input[name=email]").await?;
    email.send_keys(DEMO_AGENTS[0].0).await?;
    let interactive_ms = started.elapsed().as_secs_f64() * 1000.0;
    agent.find(Locator::Css("input[name=password]")).await?.send_keys(DEMO_PASSWORD).await?;
    agent.find(Locator::Css("button[type=submit]")).await?.click().await?;
    let presence = element(agent, "select[name=presence]").await?;
    wait_for_text(agent, ".ad-presence", "Connected", PATIENCE).await?;
    presence.select_by_value("ready").await?;
    element(agent, ".ad-presence-menu[data-presence=ready]").await?;

    let chat = net::start_chat(edge)?;
    let (mut contact, contact_stream) =
        net::chat_socket(edge, chat.interaction, Some(&chat.contact_token), None).await?;
    net::drain(contact_stream);
    let say = |text: String| {
        WsMessage::text(
            ClientFrame::Send {
                client_id: ClientMessageId(uuid::Uuid::new_v4()),
                text,
                attachments: Vec::new(),
            }
            .encode(),
        )
    };
    contact.send(say("Hello, a question about my order".into())).await?;
    element(agent, ".ad-offer .ad-accept").await?.click().await?;
    wait_for_text(agent, ".ad-from-contact .ad-text", "a question about my order", PATIENCE).await?;

    agent
        .execute(
            "window.__confabFrames = []; let last = performance.now();
             const tick = (t) => { window.__confabFrames.push(t - last); last = t;
                                   if (window.__confabRecording) requestAnimationFrame(tick); };
             window.__confabRecording = true; requestAnimationFrame(tick);",
            vec![],
        )
        .await?;
    let total = MESSAGES_PER_SECOND * BUSY_SECONDS;
    let every = Duration::from_millis(1000 / MESSAGES_PER_SECOND);
    let mut ticker = tokio::time::interval(every);
    for i in 0..total {
        ticker.tick().await;
        contact.send(say(format!("line {i} of a long story"))).await?;
    }
    wait_for_text(agent, ".ad-from-contact .ad-text", &format!("line {} of", total - 1), PATIENCE).await?;
    let frames =
        agent.execute("window.__confabRecording = false; return window.__confabFrames;", vec![]).await?;
    let frames: Vec<f64> = serde_json::from_value(frames)?;
    // The first interval starts before the first frame was drawn.
    let frames = frames.into_iter().skip(1).collect::<Vec<_>>();
    if frames.len() < 10 {
        bail!("the agent desktop drew only {} frames in {BUSY_SECONDS} s", frames.len());
    }
    Ok((interactive_ms, Latency::new(frames)))
}
