//! `cargo xtask build`: the two front ends (cargo → wasm-bindgen → wasm-opt, plus their static files) into
//! `dist/public`, and the edge (worker-build) into `edge/build`.

use crate::{exec, step};
use anyhow::{Context, Result};
use confab_tests::Paths;
use std::path::Path;
use std::process::Command;

/// The front ends: (cargo package, folder under `dist/public`, static files folder).
const FRONT_ENDS: [(&str, &str, &str); 2] =
    [("confab-widget", "widget", "widget/static"), ("confab-agent-ui", "agent", "agent-ui/static")];

pub(crate) fn all(paths: &Paths) -> Result<()> {
    front_ends(paths)?;
    edge(paths)
}

fn front_ends(paths: &Paths) -> Result<()> {
    step("building the widget and the agent desktop (wasm32, profile front)");
    let mut cargo = Command::new("cargo");
    cargo
        .args(["build", "--profile", "front", "--target", "wasm32-unknown-unknown"])
        .current_dir(&paths.root);
    for (package, _, _) in FRONT_ENDS {
        cargo.args(["-p", package]);
    }
    exec(&mut cargo)?;
    let public = paths.public();
    for (package, folder, statics) in FRONT_ENDS {
        let out = public.join(folder);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out)?;
        let wasm = paths.target().join("wasm32-unknown-unknown/front").join(format!("{package}.wasm"));
        exec(
            Command::new(paths.cargo_bin("wasm-bindgen"))
                .args(["--target", "web", "--no-typescript", "--out-name", "app", "--out-dir"])
                .arg(&out)
                .arg(&wasm),
        )?;
        let bundle = out.join("app_bg.wasm");
        exec(
            Command::new(paths.wasm_opt())
                .arg("-Oz")
                // The features Rust's wasm32 target emits; wasm-opt must accept them, not add others.
                .args(["--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext"])
                .args(["--enable-reference-types", "--enable-multivalue", "--enable-mutable-globals"])
                .arg(&bundle)
                .arg("-o")
                .arg(&bundle),
        )?;
        copy_static(&paths.root.join(statics), &out)?;
        minify_in_place(paths, &out.join("app.js"))?;
        for entry in std::fs::read_dir(&out)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "css") {
                minify_in_place(paths, &path)?;
            }
        }
        let size = std::fs::metadata(&bundle)?.len();
        println!("  {folder}: app_bg.wasm {} KB (before compression)", size / 1024);
    }
    // The loader lives at the site root, where the one-line script tag points. It is minified: every byte of
    // it is downloaded by every visitor of every page that embeds the widget.
    std::fs::remove_file(public.join("widget/widget.js")).context("placing the loader")?;
    exec(
        Command::new(paths.esbuild())
            .arg(paths.root.join("widget/static/widget.js"))
            .args(["--minify", "--target=es2017", "--log-level=warning"])
            .arg(format!("--outfile={}", public.join("widget.js").display())),
    )?;
    let loader = std::fs::metadata(public.join("widget.js"))?.len();
    println!("  loader: widget.js {loader} bytes (minified, before compression)");
    Ok(())
}

/// Minifies a JS module (wasm-bindgen's glue: a third of its brotli size is whitespace and comments) or a
/// style sheet where it lies. Every visitor downloads these.
fn minify_in_place(paths: &Paths, file: &Path) -> Result<()> {
    exec(
        Command::new(paths.esbuild())
            .arg(file)
            .args(["--minify", "--log-level=warning", "--allow-overwrite"])
            .args(if file.extension().is_some_and(|e| e == "js") {
                &["--format=esm", "--target=es2020"][..]
            } else {
                &[]
            })
            .arg(format!("--outfile={}", file.display())),
    )
}

fn copy_static(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn edge(paths: &Paths) -> Result<()> {
    step("building the edge (worker-build, release)");
    exec(
        Command::new(paths.cargo_bin("worker-build"))
            .arg("--release")
            .current_dir(paths.root.join("edge"))
            // Without these worker-build downloads its own tools, which fails offline (TOOLCHAIN.md).
            .env("WASM_BINDGEN_BIN", paths.cargo_bin("wasm-bindgen"))
            .env("WASM_OPT_BIN", paths.wasm_opt())
            .env("ESBUILD_BIN", paths.esbuild()),
    )
}

/// `node wrangler.js` with Node 22 first on the PATH and telemetry off.
pub(crate) fn wrangler(paths: &Paths) -> Command {
    let node_bin = paths.node().parent().map(Path::to_path_buf).unwrap_or_default();
    let mut cmd = Command::new(paths.node());
    cmd.arg(paths.wrangler())
        .current_dir(&paths.root)
        .env("PATH", format!("{}:{}", node_bin.display(), std::env::var("PATH").unwrap_or_default()))
        .env("WRANGLER_SEND_METRICS", "false");
    cmd
}
