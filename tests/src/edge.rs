//! Running the edge for real: `wrangler dev` (workerd) on a loopback port.

use crate::{Paths, free_port, port_in_use, started_group, stop_group};
use anyhow::{Context, Result, bail};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long wrangler may take to answer its first request (it is ~2 s on a quiet machine; a busy CI machine
/// building in parallel is much slower).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct EdgeOptions {
    /// 0: any free port ([`Edge::start`] picks one, and picks again if another server takes it first).
    pub port: u16,
    /// `--persist-to`: Durable Object storage and R2 live here and survive restarts.
    pub state_dir: PathBuf,
    /// wrangler's and workerd's output.
    pub log_file: PathBuf,
    /// Signs contact tokens and agent sessions.
    pub secret: String,
    /// Bearer token of the admin API.
    pub admin_token: String,
    /// Another Worker's `wrangler.toml` instead of the edge's (the benchmark's baseline).
    pub config: Option<PathBuf>,
    /// More `--var NAME:VALUE` for the Worker (deployment settings such as rate limits).
    pub vars: Vec<(String, String)>,
}

impl EdgeOptions {
    /// Options for a test: a free port, a fresh state folder under `scratch/name`, random-enough secrets.
    pub fn for_test(paths: &Paths, name: &str) -> Result<Self> {
        let dir = paths.scratch().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let nonce =
            format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos());
        Ok(EdgeOptions {
            // Picked by `Edge::start`, which tries again if another server takes it first.
            port: 0,
            state_dir: dir.join("state"),
            log_file: dir.join("wrangler.log"),
            secret: format!("test-secret-{nonce}"),
            // At least 32 bytes: the setup routes refuse to work with a shorter token.
            admin_token: format!("test-admin-token-{nonce:0>24}"),
            config: None,
            vars: Vec::new(),
        })
    }
}

/// How a test takes the edge down before starting it again on the same storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// `SIGTERM`: workerd shuts down cleanly (a deploy, a stopped dev server).
    Stop,
    /// `SIGKILL`: no shutdown at all; whatever was being written is cut off wherever it was (a crash).
    Crash,
}

/// A running `wrangler dev`. Dropping it stops wrangler and workerd (the whole process group).
pub struct Edge {
    child: Child,
    pub options: EdgeOptions,
}

/// How many times [`Edge::start`] tries fresh ports when another server took the ones it picked.
const START_ATTEMPTS: u32 = 5;

/// Why one attempt to start wrangler failed.
enum StartFailure {
    /// Another process took the port or the inspector's port between choosing it and wrangler binding it.
    PortTaken,
    Other(anyhow::Error),
}

impl From<anyhow::Error> for StartFailure {
    fn from(e: anyhow::Error) -> Self {
        StartFailure::Other(e)
    }
}

impl From<std::io::Error> for StartFailure {
    fn from(e: std::io::Error) -> Self {
        StartFailure::Other(e.into())
    }
}

impl Edge {
    /// Starts `wrangler dev` and waits until it answers. With `options.port` 0 it picks a free port, and picks
    /// again when another server takes it before wrangler binds it (ports chosen by binding port 0 and letting
    /// go can be taken by any other process in between); `edge.options.port` then holds the port it got.
    pub fn start(paths: &Paths, mut options: EdgeOptions) -> Result<Edge> {
        if let Some(missing) = paths.missing_build() {
            bail!(missing);
        }
        for tool in [paths.node(), paths.wrangler()] {
            if !tool.exists() {
                bail!("{} is missing: run `cargo xtask setup`", tool.display());
            }
        }
        let any_port = options.port == 0;
        if !any_port && port_in_use(options.port) {
            bail!(
                "port {} on 127.0.0.1 is already in use (another `cargo xtask dev`?). Stop it, or pick another \
                 port with --port",
                options.port
            );
        }
        std::fs::create_dir_all(&options.state_dir)?;
        if let Some(parent) = options.log_file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        for attempt in 1..=START_ATTEMPTS {
            if any_port {
                options.port = free_port()?;
            }
            let mut edge = Edge { child: spawn_wrangler(paths, &options)?, options: options.clone() };
            match edge.wait_ready() {
                Ok(()) => return Ok(edge),
                Err(StartFailure::PortTaken) if any_port && attempt < START_ATTEMPTS => edge.stop(),
                Err(StartFailure::PortTaken) => {
                    bail!(
                        "port {} or wrangler's inspector port was taken:\n{}",
                        options.port,
                        edge.log_tail(40)
                    )
                }
                Err(StartFailure::Other(e)) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Waits until *this* wrangler says it listens on its port and answers there: a server that took the port
    /// first would answer too, but wrangler would then report the address in use instead of being ready.
    fn wait_ready(&mut self) -> Result<(), StartFailure> {
        let started = Instant::now();
        // Any answer means it serves (a misconfigured edge answers `503` and says why).
        let probe = self.url("/api/v1/health");
        let ready_line = format!("Ready on {}", self.origin());
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build(),
        );
        while started.elapsed() < READY_TIMEOUT {
            let log = std::fs::read_to_string(&self.options.log_file).unwrap_or_default();
            if log.contains("Address already in use") {
                return Err(StartFailure::PortTaken);
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(anyhow::anyhow!(
                    "wrangler exited ({status}) before answering:\n{}",
                    self.log_tail(40)
                )
                .into());
            }
            // After a failed build wrangler stays up, waiting for the files to change: don't wait for it.
            if log.contains("[ERROR]") || log.contains("ERROR\u{1b}") || log.contains("Build failed") {
                return Err(
                    anyhow::anyhow!("wrangler failed to start the edge:\n{}", self.log_tail(40)).into()
                );
            }
            if log.contains(&ready_line) {
                match agent.get(&probe).call() {
                    Ok(_) | Err(ureq::Error::StatusCode(_)) => return Ok(()),
                    Err(_) => {}
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(anyhow::anyhow!("wrangler did not answer within {READY_TIMEOUT:?}:\n{}", self.log_tail(40))
            .into())
    }

    /// The last `lines` lines of wrangler's output, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.options.log_file).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    pub fn port(&self) -> u16 {
        self.options.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.options.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// `ws://127.0.0.1:PORT{path}`
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.options.port)
    }

    /// Creates or replaces a site through the admin API.
    pub fn seed_site(&self, site: &str, setup: &serde_json::Value) -> Result<()> {
        admin_seed_site(&self.origin(), &self.options.admin_token, site, setup)
    }

    /// Stops wrangler and workerd.
    pub fn stop(&mut self) {
        stop_group(&mut self.child, Duration::from_secs(5));
    }

    /// Kills wrangler and workerd at once (`SIGKILL` to the whole group): no clean shutdown, whatever was
    /// being written is cut off wherever it was.
    pub fn crash(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }

    /// Stops wrangler and workerd the way `how` says: what a restart test goes through.
    pub fn halt(&mut self, how: Halt) {
        match how {
            Halt::Stop => self.stop(),
            Halt::Crash => self.crash(),
        }
    }

    /// The process group of wrangler and workerd (wrangler's pid).
    pub fn process_group(&self) -> u32 {
        self.child.id()
    }

    /// Whether wrangler is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `wrangler dev` for `options` in its own process group, with a fresh inspector port.
fn spawn_wrangler(paths: &Paths, options: &EdgeOptions) -> Result<Child> {
    let log = std::fs::File::create(&options.log_file)
        .with_context(|| format!("creating {}", options.log_file.display()))?;
    let xdg = options.state_dir.join("xdg");
    let node_bin = paths.node().parent().map(PathBuf::from).unwrap_or_default();
    let path = format!("{}:{}", node_bin.display(), std::env::var("PATH").unwrap_or_default());
    let child = Command::new(paths.node())
        .arg(paths.wrangler())
        .arg("dev")
        .arg("--config")
        .arg(options.config.clone().unwrap_or_else(|| paths.wrangler_toml()))
        .args(["--ip", "127.0.0.1", "--port", &options.port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .arg("--persist-to")
        .arg(&options.state_dir)
        // Secrets go in a file only this user can read, not on the command line that `ps` shows everyone.
        .arg("--env-file")
        .arg(write_secrets(options)?)
        .args(options.vars.iter().flat_map(|(name, value)| ["--var".to_owned(), format!("{name}:{value}")]))
        .arg("--show-interactive-dev-session=false")
        .current_dir(&paths.root)
        .env("PATH", path)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        // wrangler traces every Durable Object event into SQLite by default: slow, and not needed here.
        .env("X_LOCAL_OBSERVABILITY", "false")
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("XDG_CACHE_HOME", xdg.join("cache"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting wrangler with {}", paths.node().display()))?;
    started_group(&child);
    Ok(child)
}

/// Writes the edge's secrets as a dotenv file (mode 0600) in its state folder, for `wrangler dev --env-file`.
fn write_secrets(options: &EdgeOptions) -> Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = options.state_dir.join("secrets.env");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    for (name, value) in [("CONFAB_SECRET", &options.secret), ("CONFAB_ADMIN_TOKEN", &options.admin_token)] {
        if value.contains(['\n', '"', '\'', '\\', '$', '#']) {
            bail!("{name} holds a character a dotenv file cannot carry as it is (newline, quote, $, #, \\)");
        }
        writeln!(file, "{name}={value}")?;
    }
    Ok(path)
}

/// Sets up `site` with the admin token: `PUT /api/v1/admin/sites/{site}` creates it, or, if it exists (a dev
/// edge's kept state), replaces it at the revision its `GET` reports.
pub fn admin_seed_site(origin: &str, admin_token: &str, site: &str, setup: &serde_json::Value) -> Result<()> {
    let url = format!("{origin}/api/v1/admin/sites/{site}");
    let bearer = format!("Bearer {admin_token}");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut found = agent.get(&url).header("authorization", &bearer).call()?;
    let mut put = agent.put(&url).header("authorization", &bearer);
    if found.status().as_u16() == 200 {
        let current: serde_json::Value = found.body_mut().read_json()?;
        put = put.header("if-match", &current["revision"].to_string());
    }
    let mut resp = put.send_json(setup)?;
    if resp.status().as_u16() != 200 {
        bail!("seeding site {site:?} failed: {} {}", resp.status(), resp.body_mut().read_to_string()?);
    }
    Ok(())
}

/// The demo site: two agents, embeddable from `host_origin`.
pub fn demo_site(host_origin: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "Demo Shop",
        "allowed_origins": [host_origin],
        "agents": [
            {"id": "ada", "name": "Ada Lovelace", "email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD},
            {"id": "grace", "name": "Grace Hopper", "email": DEMO_AGENTS[1].0, "password": DEMO_PASSWORD},
        ],
    })
}

/// The demo site with a supervisor and an admin besides its two agents.
pub fn demo_site_with_staff(host_origin: &str) -> serde_json::Value {
    let mut site = demo_site(host_origin);
    let staff = [("margaret", DEMO_SUPERVISOR, "supervisor"), ("sam", DEMO_ADMIN, "admin")];
    for (id, (email, name), role) in staff {
        if let Some(agents) = site["agents"].as_array_mut() {
            agents.push(serde_json::json!({
                "id": id, "name": name, "email": email, "password": DEMO_PASSWORD, "role": role
            }));
        }
    }
    site
}

/// The demo site as `cargo xtask dev` shows it to people: the plain demo site plus what makes every feature
/// worth trying (a greeting, disposition codes, a second queue, standard responses, a pre-chat name).
pub fn demo_site_showcase(host_origin: &str) -> serde_json::Value {
    let mut site = demo_site_with_staff(host_origin);
    site["rules"] = serde_json::json!({
        "queues": ["billing"],
        "lifecycle": {"wrap": {
            "codes": [
                {"code": "answered", "label": "Question answered"},
                {"code": "order", "label": "Order placed"},
                {"code": "refund", "label": "Refund issued"},
                {"code": "follow-up", "label": "Needs follow-up"}
            ],
            "required": false, "multiple": true, "timeout_ms": 120000}}
    });
    site["standard_responses"] = serde_json::json!([
        {"title": "Greeting", "text": "Hi! Thanks for getting in touch. How can I help you today?"},
        {"title": "Delivery times", "text": "Orders ship within 2 working days; delivery in Europe takes 3-5 days."},
        {"title": "Dishwasher safe", "text": "All our stoneware and porcelain is dishwasher and microwave safe."},
        {"title": "Refund issued", "text": "I've issued a refund: it reaches your account in 3-5 working days."},
        {"title": "Goodbye", "text": "Thanks for chatting with us. Have a lovely day!"}
    ]);
    site["widget"] = serde_json::json!({
        "title": "Demo Shop",
        "greeting": "Hi! Questions about sizes, glazes or delivery? We usually answer within a few minutes.",
        "pre_chat": {"name": "optional"}
    });
    site
}

/// The demo site's id, agents (email, name) and their password.
pub const DEMO_SITE: &str = "demo";
pub const DEMO_AGENTS: [(&str, &str); 2] =
    [("ada@demo.confab.test", "Ada Lovelace"), ("grace@demo.confab.test", "Grace Hopper")];
pub const DEMO_PASSWORD: &str = "confab-demo-password";
/// The demo site's supervisor and admin (email, name).
pub const DEMO_SUPERVISOR: (&str, &str) = ("margaret@demo.confab.test", "Margaret Hamilton");
pub const DEMO_ADMIN: (&str, &str) = ("sam@demo.confab.test", "Sam Owner");
