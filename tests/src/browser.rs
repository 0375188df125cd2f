//! Headless Chromium for browser tests: chromedriver in its own process group, and the capabilities that
//! make Chromium quiet on a machine without network (TOOLCHAIN.md, env notes).

use crate::{Paths, free_port, started_group, stop_group};
use anyhow::{Context, Result, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running chromedriver; dropping it stops it and every Chromium it started.
pub struct Chromedriver {
    child: Child,
    pub port: u16,
    /// Browser profiles and Chromium's temporary files, removed on drop.
    pub scratch: PathBuf,
}

impl Chromedriver {
    pub fn start(paths: &Paths) -> Result<Chromedriver> {
        for tool in [paths.chromium(), paths.chromedriver()] {
            if !tool.exists() {
                bail!(
                    "{} is missing: run `cargo xtask setup` (installs Debian's chromium and chromium-driver)",
                    tool.display()
                );
            }
        }
        // A port taken by another server between choosing and binding it: chromedriver exits; try a new one.
        let mut last_failure = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            match Self::start_on(paths, port)? {
                Ok(driver) => return Ok(driver),
                Err(failure) => last_failure = failure,
            }
        }
        bail!("chromedriver did not start: {last_failure}")
    }

    /// Starts chromedriver on `port`; `Ok(Err(why))` when it exited at start (its port was taken).
    fn start_on(paths: &Paths, port: u16) -> Result<std::result::Result<Chromedriver, String>> {
        // Short on purpose: Chromium puts its SingletonSocket under TMPDIR, and a Unix socket path must stay
        // under 108 bytes. A folder under a deep target dir (CI's) is too long and Chromium exits at start.
        let scratch = std::env::temp_dir().join(format!("confab-chrome-{port}"));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(scratch.join("tmp"))?;
        let log_path = scratch.join("chromedriver.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new(paths.chromedriver())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            // Chromium's scoped temp dirs pile up in /tmp when it is killed: keep them in our scratch folder.
            .env("TMPDIR", scratch.join("tmp"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .context("starting chromedriver")?;
        started_group(&child);
        let mut driver = Chromedriver { child, port, scratch };
        let started = Instant::now();
        // Its own "started successfully" line, not just something listening: another server on the port
        // would accept connections too, while this chromedriver fails to bind and exits.
        let ready = format!("started successfully on port {port}");
        loop {
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            if driver.child.try_wait()?.is_some() {
                return Ok(Err(format!("it exited at start on port {port}: {}", said.trim())));
            }
            if said.contains(&ready) && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Ok(driver));
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("chromedriver did not listen on port {port} within 20 s: {}", said.trim());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new headless Chromium session with its own empty profile.
    pub async fn session(&self, paths: &Paths, profile: &str) -> Result<fantoccini::Client> {
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(self.capabilities(paths, profile))
            .connect(&self.url())
            .await
            .context("starting a Chromium session")
    }

    /// WebDriver capabilities for one headless Chromium with its own empty profile.
    pub fn capabilities(&self, paths: &Paths, profile: &str) -> serde_json::Map<String, serde_json::Value> {
        chrome_capabilities(&paths.chromium(), &self.scratch.join(profile))
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        stop_group(&mut self.child, Duration::from_secs(3));
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Waits until an element at `css` exists and its text contains `expected`, for at most `within`; returns the
/// full text.
pub async fn wait_for_text(
    client: &fantoccini::Client,
    css: &str,
    expected: &str,
    within: Duration,
) -> Result<String> {
    let started = Instant::now();
    loop {
        for element in client.find_all(fantoccini::Locator::Css(css)).await? {
            let text = element.text().await.unwrap_or_default();
            if text.contains(expected) {
                return Ok(text);
            }
        }
        if started.elapsed() > within {
            bail!("no {css:?} with text {expected:?} after {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn chrome_capabilities(
    chromium: &Path,
    profile_dir: &Path,
) -> serde_json::Map<String, serde_json::Value> {
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1280,800".to_owned(),
        format!("--user-data-dir={}", profile_dir.display()),
    ];
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": chromium, "args": args },
    });
    match caps {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}
