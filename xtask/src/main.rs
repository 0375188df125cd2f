//! `cargo xtask`: the project's one entry point.
//!
//! - `setup`: installs the pinned toolchain (TOOLCHAIN.md), skipping what is already there;
//! - `build`: builds the widget, the agent desktop and the edge into `dist/public` and `edge/build`;
//! - `dev`: setup + build, then runs Confab locally with a demo site, a demo shop page and two demo agents;
//! - `test`: formatting, lints, unit tests, builds, then integration and browser tests against real workerd
//!   and headless Chromium;
//! - `bench`: build, then measure against the budgets (sizes of what visitors download);
//! - `deploy`: build, then `wrangler deploy`;
//! - `wrangler ARGS`: any wrangler command, with the pinned Node 22, from `edge/`.

mod bench;
mod build;
mod dev;
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
                 everything CI checks\n  fuzz [N]  the decoders against N random inputs per property (200000)\n  soak [C A M]  C contacts and A agents at once, M messages each (120 10 10)\n  bench    build, then measure against the budgets\n  deploy   build and `wrangler deploy`\n  wrangler ARGS  any wrangler command (Node 22, from edge/)"
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
    step("unit, golden, simulation and property tests (confab-protocol)");
    let mut tally = Tally::default();
    tally.run(
        Command::new("cargo").args(["test", "-p", "confab-protocol", "-p", "xtask"]).current_dir(&paths.root),
    )?;
    build::all(paths)?;
    step("integration and browser tests (real workerd, headless Chromium)");
    tally.run(
        Command::new("cargo")
            .args(["test", "-p", "confab-tests", "--", "--test-threads=2"])
            .current_dir(&paths.root),
    )?;
    step("all checks passed");
    // One closing line for the whole run, whatever order cargo printed its per-binary summaries in.
    println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// Test counts summed over `cargo test` runs, read from their `test result:` lines.
#[derive(Debug, Default)]
struct Tally {
    passed: u64,
    failed: u64,
}

impl Tally {
    /// Runs `cargo test`, passing its output through, and adds up its summaries; fails if it fails.
    fn run(&mut self, cmd: &mut Command) -> Result<()> {
        use std::io::{BufRead, BufReader};
        let shown = format!("{cmd:?}");
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("could not start {shown}"))?;
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines() {
                let line = line?;
                println!("{line}");
                self.add(&line);
            }
        }
        let status = child.wait()?;
        if !status.success() {
            bail!("{shown} failed ({status})");
        }
        Ok(())
    }

    /// Reads `test result: ok. 3 passed; 1 failed; ...`.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else { return };
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
        assert_eq!((tally.passed, tally.failed), (25, 1));
    }
}
