//! `cargo xtask build`: the two front ends (cargo → wasm-bindgen → wasm-opt, plus their static files) into
//! `dist/public`, and the edge (worker-build) into `edge/build`.
//!
//! Each part is built again only when one of its inputs changed: wasm-opt alone takes most of a minute on
//! an unchanged edge, and `cargo xtask dev` builds before every start. A part's inputs are hashed (every file
//! of its crates and static folders, the workspace's manifests and lock file, this file) and the hash kept
//! beside its output; the same hash and the output still there mean the output is current.

use crate::{exec, step};
use anyhow::{Context, Result};
use confab_tests::Paths;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The front ends: (cargo package, folder under `dist/public`, static files folder).
const FRONT_ENDS: [(&str, &str, &str); 2] =
    [("confab-widget", "widget", "widget/static"), ("confab-agent-ui", "agent", "agent-ui/static")];

/// What every part's build depends on, besides its own crates.
const WORKSPACE_INPUTS: [&str; 5] =
    ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "shared/src", "shared/Cargo.toml"];
const FRONT_END_INPUTS: [&str; 7] = [
    "client/src",
    "client/Cargo.toml",
    "widget",
    "agent-ui",
    "package-lock.json",
    "node_modules/binaryen/package.json",
    "node_modules/esbuild/package.json",
];
const EDGE_INPUTS: [&str; 2] = ["edge/src", "edge/Cargo.toml"];

pub(crate) fn all(paths: &Paths) -> Result<()> {
    let front = Part {
        name: "the widget and the agent desktop",
        stamp: paths.root.join("dist/.built"),
        output: paths.public().join("widget.js"),
    };
    front.build_unless_current(paths, &FRONT_END_INPUTS, || front_ends(paths))?;
    let edge_part = Part {
        name: "the edge",
        stamp: paths.root.join("edge/build/.built"),
        output: paths.root.join("edge/build/worker/shim.mjs"),
    };
    edge_part.build_unless_current(paths, &EDGE_INPUTS, || edge(paths))
}

/// A part of the build, its output and where the hash of the inputs it was last built from is kept.
struct Part {
    name: &'static str,
    stamp: PathBuf,
    output: PathBuf,
}

impl Part {
    fn build_unless_current(
        &self,
        paths: &Paths,
        inputs: &[&str],
        build: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let hash = inputs_hash(&paths.root, WORKSPACE_INPUTS.iter().chain(inputs))?.to_string();
        let built = std::fs::read_to_string(&self.stamp).ok();
        if built.as_deref() == Some(hash.as_str()) && self.output.exists() {
            step(&format!("{} is current (no input changed since it was built)", self.name));
            return Ok(());
        }
        // Gone first: a build that fails half-way must not leave a stamp that calls it current.
        let _ = std::fs::remove_file(&self.stamp);
        build()?;
        if let Some(folder) = self.stamp.parent() {
            std::fs::create_dir_all(folder)?;
        }
        std::fs::write(&self.stamp, hash).with_context(|| format!("writing {}", self.stamp.display()))
    }
}

/// One hash of the files at `inputs` (files, or folders walked in name order) under `root`, their paths
/// included, and of this build's own code (a changed step builds again).
fn inputs_hash<'a>(root: &Path, inputs: impl Iterator<Item = &'a &'a str>) -> Result<u64> {
    fn add(hasher: &mut DefaultHasher, root: &Path, path: &Path) -> Result<()> {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> =
                std::fs::read_dir(path)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<_>>()?;
            entries.sort();
            for entry in entries {
                add(hasher, root, &entry)?;
            }
        } else if path.is_file() {
            hasher.write(path.strip_prefix(root).unwrap_or(path).as_os_str().as_encoded_bytes());
            hasher.write(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
        }
        Ok(())
    }
    let mut hasher = DefaultHasher::new();
    hasher.write(include_str!("build.rs").as_bytes());
    for input in inputs {
        add(&mut hasher, root, &root.join(input))?;
    }
    Ok(hasher.finish())
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
    // The agent desktop's security headers, where static assets look for them.
    std::fs::copy(paths.root.join("agent-ui/_headers"), public.join("_headers"))
        .context("placing _headers")?;
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
