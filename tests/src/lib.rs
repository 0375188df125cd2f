//! # confab-tests
//!
//! The harness that runs Confab for real, used by the integration and browser tests in `tests/` and by
//! `cargo xtask dev`:
//! - [`Paths`]: where the workspace, the built bundles and the pinned tools are;
//! - [`Edge`]: `wrangler dev` (workerd) on a loopback port with its own state folder, in its own process
//!   group, stopped with the whole group when dropped;
//! - [`HostPage`]: a tiny HTTP server for a site owner's page on a *different origin* from the edge;
//! - [`free_port`] and [`admin`] helpers.
//!
//! Everything here is synchronous std code, so xtask can use it without an async runtime.

pub mod browser;
mod edge;
mod host_page;
mod paths;

pub use edge::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, EdgeOptions, admin_seed_site,
    demo_site, demo_site_showcase, demo_site_with_staff,
};
pub use host_page::HostPage;
pub use paths::Paths;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Whether something is already listening on 127.0.0.1:`port`.
pub fn port_in_use(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_err()
}

/// The process groups this process started (wrangler with its workerd, chromedriver) and has not stopped,
/// so that a Ctrl-C handler can stop them before the process exits ([`stop_started_groups`]).
static STARTED_GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Notes a process group started with `process_group(0)`; [`stop_group`] forgets it.
pub fn started_group(child: &std::process::Child) {
    if let Ok(mut groups) = STARTED_GROUPS.lock() {
        groups.push(child.id());
    }
}

/// Kills every process group noted by [`started_group`] and not stopped yet: for a signal handler, when the
/// process is about to exit without running its destructors (`cargo xtask bench` on Ctrl-C).
pub fn stop_started_groups() {
    let groups = STARTED_GROUPS.lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default();
    for group in groups {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Stops a process group started with `process_group(0)`: TERM, up to `grace` to exit, then KILL.
pub fn stop_group(child: &mut std::process::Child, grace: std::time::Duration) {
    if let Ok(mut groups) = STARTED_GROUPS.lock() {
        groups.retain(|g| *g != child.id());
    }
    let group = format!("-{}", child.id());
    // `kill` complains when the group is already gone, which is fine: silence it.
    let signal = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .args([sig, "--", &group])
            .stderr(std::process::Stdio::null())
            .status();
    };
    if matches!(child.try_wait(), Ok(Some(_))) {
        // The leader is gone but its children (workerd, esbuild) may not be.
        signal("-KILL");
        return;
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
}
