//! `cargo xtask mutants [--iterate] [FILE..]`: mutation testing of the protocol's rules with cargo-mutants. Each file is
//! mutated on its own (`shared/src/routing.rs`, `lifecycle.rs` and `delivery.rs` unless FILEs are given);
//! every mutant that the tests of `confab-protocol` do not catch is a rule no test explains. Mutants known to
//! be equivalent (no behaviour a user could notice changes) are excluded in `.cargo/mutants.toml`, each with
//! the reason. A long run (tens of minutes a file on two cores): not part of `cargo xtask test`.

use crate::{exec, output, step};
use anyhow::{Context, Result, bail};
use confab_tests::Paths;
use std::process::Command;

const CARGO_MUTANTS_VERSION: &str = "27.1.0";
const RULE_FILES: [&str; 3] = ["shared/src/routing.rs", "shared/src/lifecycle.rs", "shared/src/delivery.rs"];

pub(crate) fn run(paths: &Paths, args: &[String]) -> Result<()> {
    install(paths)?;
    // `--iterate` (and any other `--` option) goes to cargo mutants: it retests only what the last run of
    // the file did not catch, and what is new.
    let (options, files): (Vec<String>, Vec<String>) =
        args.iter().cloned().partition(|a| a.starts_with("--"));
    let files: Vec<String> =
        if files.is_empty() { RULE_FILES.iter().map(|f| (*f).to_owned()).collect() } else { files };
    let mut figures = Vec::new();
    for file in &files {
        step(&format!("mutants of {file}"));
        let out = paths.root.join("target/mutants").join(file.replace('/', "_"));
        std::fs::create_dir_all(&out)?;
        // cargo-mutants exits non-zero when a mutant was missed: read its outcomes either way.
        let _ = Command::new("cargo")
            .args(["mutants", "--package", "confab-protocol", "--file", file, "--no-shuffle"])
            .args(&options)
            .arg("--output")
            .arg(&out)
            // Its own build folder, in its copy of the tree: builds of mutants sharing the project's target
            // folder overwrite (and are overwritten by) the project's own test binaries.
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(&paths.root)
            .status()
            .context("running cargo mutants")?;
        let outcomes = out.join("mutants.out/outcomes.json");
        let text = std::fs::read_to_string(&outcomes)
            .with_context(|| format!("cargo mutants wrote no {}", outcomes.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let count = |key: &str| json[key].as_u64().unwrap_or(0);
        figures.push(Figures {
            file: file.clone(),
            mutants: count("total_mutants"),
            caught: count("caught"),
            missed: count("missed"),
            timeouts: count("timeout"),
            unviable: count("unviable"),
        });
        let missed = std::fs::read_to_string(out.join("mutants.out/missed.txt")).unwrap_or_default();
        for line in missed.lines() {
            println!("  MISSED {line}");
        }
    }
    step("mutation testing: figures");
    println!("| file | mutants | caught | missed | timeouts | unviable |");
    println!("|---|---|---|---|---|---|");
    for f in &figures {
        println!(
            "| `{}` | {} | {} | {} | {} | {} |",
            f.file, f.mutants, f.caught, f.missed, f.timeouts, f.unviable
        );
    }
    // A timeout is a mutant the tests stopped (an endless loop): caught, but shown apart.
    let missed: u64 = figures.iter().map(|f| f.missed).sum();
    if missed > 0 {
        bail!("{missed} mutants were not caught (listed above as MISSED)");
    }
    Ok(())
}

struct Figures {
    file: String,
    mutants: u64,
    caught: u64,
    missed: u64,
    timeouts: u64,
    unviable: u64,
}

/// cargo-mutants at the pinned version, from the registry (a few minutes, once).
fn install(paths: &Paths) -> Result<()> {
    let version = output(Command::new(paths.cargo_bin("cargo-mutants")).args(["mutants", "--version"]))
        .unwrap_or_default();
    if version == format!("cargo-mutants {CARGO_MUTANTS_VERSION}") {
        return Ok(());
    }
    println!("  … installing cargo-mutants {CARGO_MUTANTS_VERSION} (~4 min)");
    exec(Command::new("cargo").args([
        "install",
        "--locked",
        &format!("cargo-mutants@{CARGO_MUTANTS_VERSION}"),
        "--force",
    ]))
}
