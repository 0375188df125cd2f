//! The servers a test, `cargo xtask dev` or a benchmark starts never outlive it, however it ends: killed
//! with SIGKILL (no destructor, no signal handler runs), the process leaves no wrangler or workerd behind.

use anyhow::{Context, Result, bail};
use confab_tests::{Edge, EdgeOptions, Paths};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the helper prints before its group number.
const GROUP_LINE: &str = "confab-edge-group ";

/// Not a test of its own: the test below runs it in a child process, which starts an edge, says the edge's
/// process group and waits to be killed.
#[test]
#[ignore = "a helper: run by wrangler_and_workerd_end_with_the_process_that_started_them_even_on_sigkill"]
fn helper_starts_an_edge_and_waits_to_be_killed() -> Result<()> {
    let paths = Paths::new();
    let edge = Edge::start(&paths, EdgeOptions::for_test(&paths, "processes-helper")?)?;
    println!("{GROUP_LINE}{}", edge.process_group());
    std::thread::sleep(Duration::from_secs(120));
    bail!("the helper was not killed")
}

/// Whether any process is left in process group `group`.
fn group_alive(group: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn wrangler_and_workerd_end_with_the_process_that_started_them_even_on_sigkill() -> Result<()> {
    let mut helper = Command::new(std::env::current_exe()?)
        .args(["--exact", "helper_starts_an_edge_and_waits_to_be_killed", "--ignored", "--nocapture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = helper.stdout.take().context("the helper's output")?;
    let group = BufReader::new(stdout)
        .lines()
        .map_while(std::result::Result::ok)
        .find_map(|line| line.strip_prefix(GROUP_LINE).and_then(|g| g.trim().parse::<u32>().ok()));
    let Some(group) = group else {
        let _ = helper.kill();
        let _ = helper.wait();
        bail!("the helper did not start an edge");
    };
    assert!(group_alive(group), "the edge runs while its starter does");
    helper.kill()?; // SIGKILL
    helper.wait()?;
    let killed = Instant::now();
    while group_alive(group) {
        if killed.elapsed() > Duration::from_secs(20) {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{group}")]).status();
            bail!("wrangler and workerd (group {group}) outlived the process that started them");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
