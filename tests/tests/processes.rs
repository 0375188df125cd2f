//! The servers a test, `cargo xtask dev` or a benchmark starts never outlive it, however it ends: killed
//! with SIGKILL (no destructor, no signal handler runs), the process leaves no wrangler or workerd behind.

use anyhow::{Context, Result, bail};
use confab_tests::{Edge, EdgeOptions, Paths};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the helper prints before its group number, and before the secrets its edge was given.
const GROUP_LINE: &str = "confab-edge-group ";
const SECRETS_LINE: &str = "confab-edge-secrets ";

/// Not a test of its own: the test below runs it in a child process, which starts an edge, says the edge's
/// process group and waits to be killed.
#[test]
#[ignore = "a helper: run by wrangler_and_workerd_end_with_the_process_that_started_them_even_on_sigkill"]
fn helper_starts_an_edge_and_waits_to_be_killed() -> Result<()> {
    let paths = Paths::new();
    let options = EdgeOptions::for_test(&paths, "processes-helper")?;
    println!("{SECRETS_LINE}{} {}", options.secret, options.admin_token);
    let edge = Edge::start(&paths, options)?;
    println!("{GROUP_LINE}{}", edge.process_group());
    std::thread::sleep(Duration::from_secs(120));
    bail!("the helper was not killed")
}

/// The command lines of the processes in process group `group` (from `/proc`, as `ps` shows them).
fn command_lines_of_group(group: u32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().chars().all(|c| c.is_ascii_digit()))
        .filter(|e| {
            // `stat`: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so read after its ')'.
            std::fs::read_to_string(e.path().join("stat")).ok().and_then(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2)?.parse::<u32>().ok())
            }) == Some(group)
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|line| String::from_utf8_lossy(&line).replace('\0', " "))
        .collect()
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
    let mut secrets = Vec::new();
    let group = BufReader::new(stdout).lines().map_while(std::result::Result::ok).find_map(|line| {
        if let Some(given) = line.strip_prefix(SECRETS_LINE) {
            secrets = given.split_whitespace().map(str::to_owned).collect();
        }
        line.strip_prefix(GROUP_LINE).and_then(|g| g.trim().parse::<u32>().ok())
    });
    let Some(group) = group else {
        let _ = helper.kill();
        let _ = helper.wait();
        bail!("the helper did not start an edge");
    };
    assert!(group_alive(group), "the edge runs while its starter does");
    // The secrets reach wrangler through a file only it can read, never on a command line that every user
    // of the machine can list.
    let lines = command_lines_of_group(group);
    let wrangler_seen = lines.iter().any(|l| l.contains("wrangler"));
    let leaked: Vec<&String> =
        lines.iter().filter(|l| secrets.iter().any(|s| l.contains(s.as_str()))).collect();
    if !wrangler_seen || secrets.len() != 2 || !leaked.is_empty() {
        let _ = helper.kill();
        let _ = helper.wait();
        bail!(
            "wrangler's command lines ({} seen, secrets {}) show a secret: {leaked:?}",
            lines.len(),
            secrets.len()
        );
    }
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
