//! # confab-tests
//!
//! The harness that runs Confab for real, used by the integration and browser tests in `tests/` and by
//! `cargo xtask dev`:
//! - [`Paths`]: where the workspace, the built bundles and the pinned tools are;
//! - [`Edge`]: `wrangler dev` (workerd) on a loopback port with its own state folder, in its own process
//!   group, stopped with the whole group when dropped;
//! - [`HostPage`]: a tiny HTTP server for a site owner's page on a *different origin* from the edge;
//! - [`free_port`]: listening ports that no other test of the run and no client socket can take.
//!
//! Everything here is synchronous std code, so xtask can use it without an async runtime.

pub mod browser;
mod edge;
mod host_page;
mod paths;

pub use edge::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, EdgeOptions, Halt,
    admin_seed_site, demo_site, demo_site_showcase, demo_site_with_staff,
};
pub use host_page::HostPage;
pub use paths::Paths;

/// A TCP port on 127.0.0.1 that was free a moment ago, and that this process has not handed out before.
///
/// Chosen outside the kernel's range for outgoing connections (`ip_local_port_range`), so that no client
/// socket of any process (Chromium, workerd, the tests themselves) can land on it, and never twice in one
/// process, so that a server restarted on its old port cannot lose it to another test of the same run. The
/// only way left for the port to be taken before it is used is another server started at that moment on the
/// same port: servers started on a port from here retry on a fresh one when that happens ([`Edge::start`],
/// [`browser::Chromedriver::start`]).
pub fn free_port() -> anyhow::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static HANDED_OUT: AtomicU32 = AtomicU32::new(0);
    let (low, high) = listening_port_range();
    let span = u32::from(high - low) + 1;
    // Each process starts at its own place in the range, so that two runs at once rarely meet.
    let start = (std::process::id().wrapping_mul(7919)) % span;
    for _ in 0..span {
        let n = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        let port = low + ((start + n) % span) as u16;
        if !port_in_use(port) {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port between {low} and {high} on 127.0.0.1")
}

/// The ports [`free_port`] chooses from: below the kernel's range for outgoing connections, above the
/// well-known and commonly configured ones.
fn listening_port_range() -> (u16, u16) {
    const LOWEST: u16 = 10_000;
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|low| low.parse::<u16>().ok()))
        .unwrap_or(32_768);
    if ephemeral_low > LOWEST + 1_000 { (LOWEST, ephemeral_low - 1) } else { (61_000, 65_000) }
}

/// Whether something is already listening on 127.0.0.1:`port`.
pub fn port_in_use(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_err()
}

/// The process groups this process started (wrangler with its workerd, chromedriver) and has not stopped,
/// so that a Ctrl-C handler can stop them before the process exits ([`stop_started_groups`]), each with the
/// pipe its watcher waits on ([`watch_over`]).
static STARTED_GROUPS: std::sync::Mutex<Vec<(u32, Option<Watcher>)>> = std::sync::Mutex::new(Vec::new());

/// A shell in a started group that stops the group when this process ends, and the end of its pipe.
struct Watcher {
    shell: std::process::Child,
    _pipe: std::process::ChildStdin,
}

/// Notes a process group started with `process_group(0)`, and makes it end with this process however this
/// process ends ([`watch_over`]); [`stop_group`] forgets it.
pub fn started_group(child: &std::process::Child) {
    let watcher = watch_over(child.id()).ok();
    if let Ok(mut groups) = STARTED_GROUPS.lock() {
        groups.push((child.id(), watcher));
    }
}

/// Starts a shell in `group` that waits for the end of a pipe only this process holds (Rust opens pipes
/// close-on-exec, so no other child inherits it), then stops the group, itself included. A process killed
/// with SIGKILL runs no destructor and no signal handler, but the kernel closes its pipes: without this,
/// `kill -9` of `cargo xtask dev` or of a test would leave wrangler and workerd running, orphaned.
/// (`PR_SET_PDEATHSIG` on wrangler would not do: wrangler starts a second node process that owns workerd.)
fn watch_over(group: u32) -> std::io::Result<Watcher> {
    use std::os::unix::process::CommandExt;
    let script =
        "trap '' TERM; cat >/dev/null; env kill -TERM -- -\"$0\"; sleep 2; env kill -KILL -- -\"$0\"";
    let mut shell = std::process::Command::new("sh")
        .args(["-c", script, &group.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(group as i32)
        .spawn()?;
    let pipe = shell.stdin.take().ok_or_else(|| std::io::Error::other("the watcher has no stdin"))?;
    Ok(Watcher { shell, _pipe: pipe })
}

/// Kills every process group noted by [`started_group`] and not stopped yet: for a signal handler, when the
/// process is about to exit without running its destructors (`cargo xtask bench` on Ctrl-C).
pub fn stop_started_groups() {
    let groups = STARTED_GROUPS.lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default();
    for (group, _watcher) in groups {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Stops a process group started with `process_group(0)`: TERM, up to `grace` to exit, then KILL.
pub fn stop_group(child: &mut std::process::Child, grace: std::time::Duration) {
    // The watcher is in the group: it goes with it below (and, its pipe closed, would stop the group anyway).
    let watcher = STARTED_GROUPS.lock().ok().and_then(|mut groups| {
        let at = groups.iter().position(|(g, _)| *g == child.id())?;
        groups.remove(at).1
    });
    let group = format!("-{}", child.id());
    // `kill` complains when the group is already gone, which is fine: silence it.
    let signal = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .args([sig, "--", &group])
            .stderr(std::process::Stdio::null())
            .status();
    };
    let reap_watcher = || {
        if let Some(mut watcher) = watcher {
            let _ = watcher.shell.wait();
        }
    };
    if matches!(child.try_wait(), Ok(Some(_))) {
        // The leader is gone but its children (workerd, esbuild) may not be.
        signal("-KILL");
        return reap_watcher();
    }
    signal("-TERM");
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    signal("-KILL");
    let _ = child.wait();
    reap_watcher();
}
