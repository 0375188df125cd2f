//! `cargo xtask setup`: the pinned toolchain of TOOLCHAIN.md, each step skipped when already in place.
//! Tools go where they survive between CI runs on the same machine: `$CARGO_HOME/bin` for cargo-installed
//! binaries, npm's cache for npm packages, Debian's packages for Chromium.

use crate::{exec, output, step};
use anyhow::{Result, bail};
use confab_tests::Paths;
use std::path::Path;
use std::process::Command;

pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";
pub(crate) const WORKER_BUILD_VERSION: &str = "0.8.7";

pub(crate) fn all(paths: &Paths) -> Result<()> {
    step("setup: checking the toolchain");
    wasm_target()?;
    wasm_bindgen(paths)?;
    worker_build(paths)?;
    npm_tools(paths)?;
    chromium(paths)?;
    Ok(())
}

fn ok(what: &str) {
    println!("  ✓ {what}");
}

fn installing(what: &str, how_long: &str) {
    println!("  … installing {what} ({how_long})");
}

fn wasm_target() -> Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        ok("Rust target wasm32-unknown-unknown");
        return Ok(());
    }
    installing("the Rust target wasm32-unknown-unknown", "~30 s");
    exec(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn wasm_bindgen(paths: &Paths) -> Result<()> {
    let bin = paths.cargo_bin("wasm-bindgen");
    let version = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if version == format!("wasm-bindgen {WASM_BINDGEN_VERSION}") {
        ok(&version);
        return Ok(());
    }
    installing(&format!("wasm-bindgen-cli {WASM_BINDGEN_VERSION}"), "~6 min");
    // Without --locked: its lock file wants a crate version the registry index lacks (TOOLCHAIN.md).
    exec(Command::new("cargo").args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        WASM_BINDGEN_VERSION,
        "--force",
    ]))
}

fn worker_build(paths: &Paths) -> Result<()> {
    let bin = paths.cargo_bin("worker-build");
    let version = output(Command::new(&bin).arg("--version")).unwrap_or_default();
    if version == WORKER_BUILD_VERSION {
        ok(&format!("worker-build {version}"));
        return Ok(());
    }
    installing(&format!("worker-build {WORKER_BUILD_VERSION}"), "~6 min");
    exec(Command::new("cargo").args([
        "install",
        "--locked",
        &format!("worker-build@{WORKER_BUILD_VERSION}"),
        "--force",
    ]))
}

/// Node 22, wrangler, binaryen and Lighthouse (for `cargo xtask bench`), exactly as `package-lock.json` pins
/// them. npm runs only when the lock file changed since the last install (a copy of it is kept in
/// `node_modules`).
///
/// `npm ci`, which installs the lock as it is and never rewrites it, so setup leaves a fresh clone's tree
/// clean (the lock lists every platform's optional workerd package; npm fetches only this one's).
fn npm_tools(paths: &Paths) -> Result<()> {
    let lock = std::fs::read(paths.root.join("package-lock.json"))?;
    let stamp = paths.node_modules().join(".confab-installed-lock.json");
    let lighthouse = paths.node_modules().join("lighthouse/cli/index.js");
    let tools_present = [paths.node(), paths.wrangler(), paths.wasm_opt(), paths.esbuild(), lighthouse]
        .iter()
        .all(|p| p.exists());
    if tools_present && std::fs::read(&stamp).ok().as_deref() == Some(&lock[..]) {
        let node = output(Command::new(paths.node()).arg("--version")).unwrap_or_default();
        ok(&format!("Node {node}, wrangler, binaryen, Lighthouse (node_modules matches package-lock.json)"));
        return Ok(());
    }
    if output(Command::new("npm").arg("--version")).is_none() {
        bail!(
            "npm is needed to install wrangler and Node 22 from the npm registry: `apt-get install -y npm`"
        );
    }
    installing("Node 22, wrangler, binaryen and Lighthouse with npm", "~1 min, less from npm's cache");
    exec(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&paths.root)
            .env("WRANGLER_SEND_METRICS", "false"),
    )?;
    std::fs::write(&stamp, &lock)?;
    Ok(())
}

/// Debian packages the browser tests need: the browser, its driver, and an emoji font (without it, emoji in
/// the screenshots people look at are empty boxes).
const BROWSER_PACKAGES: [&str; 3] = ["chromium", "chromium-driver", "fonts-noto-color-emoji"];
const EMOJI_FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";

fn chromium(paths: &Paths) -> Result<()> {
    if paths.chromium().exists() && paths.chromedriver().exists() && Path::new(EMOJI_FONT).exists() {
        let version = output(Command::new(paths.chromium()).arg("--version")).unwrap_or_default();
        ok(&format!("{version}, chromedriver and an emoji font"));
        return Ok(());
    }
    let is_root = output(Command::new("id").arg("-u")).as_deref() == Some("0");
    if !is_root {
        bail!(
            "Chromium is needed for the browser tests: run `sudo apt-get install -y {}`",
            BROWSER_PACKAGES.join(" ")
        );
    }
    installing("Chromium, chromedriver and an emoji font from Debian", "~1 min");
    exec(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    exec(
        Command::new("apt-get")
            .args(["install", "-y"])
            .args(BROWSER_PACKAGES)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
