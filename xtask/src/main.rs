//! `cargo xtask`: the project's one entry point.
//!
//! - `setup`: installs the pinned toolchain (TOOLCHAIN.md), skipping what is already there;
//! - `build`: builds the widget, the agent desktop and the edge into `dist/public` and `edge/build`;
//! - `dev`: setup + build, then runs Confab locally with a demo site, a demo shop page and two demo agents;
//! - `test`: formatting, lints, unit tests, builds, then integration and browser tests against real workerd
//!   and headless Chromium;
//! - `bench`: build, then measure against the budgets (sizes of what visitors download);
//! - `mutants [FILE..]`: mutation testing (cargo-mutants) of the protocol's rules, for long runs;
//! - `deploy`: build, then `wrangler deploy`;
//! - `wrangler ARGS`: any wrangler command, with the pinned Node 22, from `edge/`.

mod bench;
mod build;
mod dev;
mod layers;
mod mutants;
mod setup;

use anyhow::{Context, Result, bail};
use confab_tests::Paths;
use std::process::Command;

fn main() {
    if let Err(e) = run() {
        eprintln!("\nxtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let paths = Paths::new();
    match args.first().map(String::as_str) {
        Some("setup") => setup::all(&paths),
        Some("build") => {
            setup::all(&paths)?;
            build::all(&paths)
        }
        Some("dev") => dev::run(&paths, &args[1..]),
        // Many contacts and agents at once through the real edge (the suite runs a small version).
        Some("soak") => {
            setup::all(&paths)?;
            build::all(&paths)?;
            let get = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
            exec(
                Command::new("cargo")
                    .args(["test", "-p", "confab-tests", "--test", "soak", "--", "--nocapture"])
                    .env("SOAK_CONTACTS", get(1, "120"))
                    .env("SOAK_AGENTS", get(2, "10"))
                    .env("SOAK_MESSAGES", get(3, "10"))
                    .env("SOAK_CAPACITY", "3")
                    .current_dir(&paths.root),
            )
        }
        // The decoders and body parsers against a long run of hostile input (not part of `test`).
        Some("fuzz") => {
            let cases = args.get(1).cloned().unwrap_or_else(|| "200000".into());
            exec(
                Command::new("cargo")
                    .args(["test", "--release", "-p", "confab-protocol", "--test", "hostile_input"])
                    .env("PROPTEST_CASES", cases)
                    .current_dir(&paths.root),
            )
        }
        Some("test") => test(&paths),
        // Mutation testing of the protocol's rules (long: not part of `test`).
        Some("mutants") => mutants::run(&paths, &args[1..]),
        Some("bench") => {
            setup::all(&paths)?;
            // `--no-build` measures what was built last (a developer measuring the same build twice).
            if !args.iter().any(|a| a == "--no-build") {
                build::all(&paths)?;
            }
            bench::run(&paths, &args[1..])
        }
        // Any wrangler command with the pinned Node 22, run from edge/ (where wrangler.toml is).
        Some("wrangler") => {
            setup::all(&paths)?;
            exec(build::wrangler(&paths).args(&args[1..]).current_dir(paths.root.join("edge")))
        }
        Some("deploy") => {
            setup::all(&paths)?;
            build::all(&paths)?;
            let mut cmd = build::wrangler(&paths);
            cmd.arg("deploy").arg("--config").arg(paths.wrangler_toml());
            exec(&mut cmd)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  setup    install the pinned tools (idempotent)\n  build    build widget, agent \
                 desktop and edge\n  dev      run Confab locally with a demo (--port 8787 --demo-port 8788)\n  test     \
                 everything CI checks\n  fuzz [N]  the decoders against N random inputs per property (200000)\n  mutants [FILE..]  mutation testing of the routing, lifecycle and delivery rules (or FILEs)\n  soak [C A M]  C contacts and A agents at once, M messages each (120 10 10)\n  bench    build, then measure against the budgets\n  deploy   build and `wrangler deploy`\n  wrangler ARGS  any wrangler command (Node 22, from edge/)"
            );
            std::process::exit(2);
        }
    }
}

/// Everything CI checks, cheapest first, so a formatting slip fails in seconds rather than after the builds.
fn test(paths: &Paths) -> Result<()> {
    setup::all(paths)?;
    step("formatting (cargo fmt --check)");
    exec(Command::new("cargo").args(["fmt", "--all", "--", "--check"]).current_dir(&paths.root))?;
    step("layers (no import cycle; the edge's layers import only downwards)");
    layers::check(&paths.root)?;
    step("lints of native crates (clippy -D warnings)");
    exec(
        Command::new("cargo")
            .args(["clippy", "--all-targets", "-p", "confab-protocol", "-p", "confab-tests", "-p", "xtask"])
            .args(["--", "-D", "warnings"])
            .current_dir(&paths.root),
    )?;
    step("lints of wasm crates (clippy -D warnings, wasm32)");
    exec(
        Command::new("cargo")
            .args(["clippy", "--release", "--target", "wasm32-unknown-unknown"])
            .args([
                "-p",
                "confab-client",
                "-p",
                "confab-edge",
                "-p",
                "confab-widget",
                "-p",
                "confab-agent-ui",
            ])
            .args(["--", "-D", "warnings"])
            .current_dir(&paths.root),
    )?;
    // Every test binary runs to the end whatever failed before it (`--no-fail-fast`), so one run names every
    // failing test; the closing tally is printed either way.
    step("unit, golden, simulation and property tests (confab-protocol)");
    let mut tally = Tally::default();
    // One run per package: a package that does not build must not hide the other's results.
    for package in ["confab-protocol", "xtask"] {
        tally.run(
            Command::new("cargo").args(["test", "--no-fail-fast", "-p", package]).current_dir(&paths.root),
        )?;
    }
    build::all(paths)?;
    step("integration and browser tests (real workerd, headless Chromium)");
    tally.run(
        Command::new("cargo")
            .args(["test", "--no-fail-fast", "-p", "confab-tests", "--", "--test-threads=2"])
            .current_dir(&paths.root),
    )?;
    // One closing line for the whole run, whatever order cargo printed its per-binary summaries in.
    tally.report()
}

/// Test counts summed over `cargo test` runs, read from their `test result:` lines, and the failing tests'
/// names from their `test NAME ... FAILED` lines.
#[derive(Debug, Default)]
struct Tally {
    passed: u64,
    failed: u64,
    failing: Vec<String>,
    /// Runs that failed without a failing test to show for it (a test binary that crashed or did not build).
    broken_runs: Vec<String>,
}

impl Tally {
    /// Runs `cargo test`, passing its output through, and adds up its summaries.
    fn run(&mut self, cmd: &mut Command) -> Result<()> {
        use std::io::{BufRead, BufReader};
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {shown}"))?;
        let failed_before = self.failed;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines() {
                let line = line?;
                println!("{line}");
                self.add(&line);
            }
        }
        let status = child.wait()?;
        if !status.success() && self.failed == failed_before {
            self.broken_runs.push(format!("{shown} failed ({status})"));
        }
        Ok(())
    }

    /// Reads `test result: ok. 3 passed; 1 failed; ...` and `test some::name ... FAILED`.
    fn add(&mut self, line: &str) {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("test ").and_then(|rest| rest.strip_suffix(" ... FAILED")) {
            self.failing.push(name.to_owned());
            return;
        }
        let Some(rest) = line.strip_prefix("test result: ") else { return };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(count)) = (words.next(), words.next()) else { continue };
            let count = count.parse::<u64>().unwrap_or(0);
            match kind {
                "passed" => self.passed += count,
                "failed" => self.failed += count,
                _ => {}
            }
        }
    }

    /// Prints the failing tests and the closing line; an error if anything failed.
    fn report(&self) -> Result<()> {
        if self.failing.is_empty() && self.broken_runs.is_empty() && self.failed == 0 {
            step("all checks passed");
        } else {
            step("failed");
            for name in &self.failing {
                println!("  FAILED {name}");
            }
            for run in &self.broken_runs {
                println!("  {run}");
            }
        }
        println!("tests: {} passed, {} failed", self.passed, self.failed);
        if self.failed > 0 || !self.broken_runs.is_empty() {
            bail!("{} tests failed, {} test runs broke", self.failed, self.broken_runs.len());
        }
        Ok(())
    }
}

/// Prints a step heading.
pub(crate) fn step(what: &str) {
    println!("\n==> {what}");
}

/// Runs a command to completion, failing with the command line if it fails.
pub(crate) fn exec(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its standard output, or `None` if it cannot run or fails.
pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn tally_reads_cargo_test_summaries() {
        let mut tally = Tally::default();
        tally.add(
            "test result: ok. 23 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.07s",
        );
        tally.add(
            "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1s",
        );
        tally.add("running 3 tests");
        tally.add("test agent_desktop::a_chat_is_offered ... FAILED");
        tally.add("test agent_desktop::a_chat_is_accepted ... ok");
        assert_eq!((tally.passed, tally.failed), (25, 1));
        assert_eq!(tally.failing, ["agent_desktop::a_chat_is_offered"]);
        assert!(tally.report().is_err(), "a run with a failed test fails");
    }
}
