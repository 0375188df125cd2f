//! `cargo xtask bench`: measurements against the budgets in DESIGN.md, written to `target/bench/report.md`
//! (with a latency chart, `latency.svg`) and `target/bench/figures.json`. Sizes are exact (compressed as a CDN
//! would, from the built files). Times are taken on this machine beside a baseline measured in the same run
//! (`net`), and the budgets that are ratios are checked as ratios. A missed budget is reported, and the
//! command exits non-zero after writing the whole report.

mod browser;
mod net;
mod report;

use crate::step;
use anyhow::{Context, Result};
use confab_tests::Paths;
use std::io::Write;
use std::path::Path;

/// The loader, compressed either way, at most (DESIGN.md: "Loader ≤ 2 KB compressed").
pub(crate) const LOADER_BUDGET: usize = 2 * 1024;
/// Everything the widget needs on first open, brotli (DESIGN.md: "≤ 80 KB brotli in total").
pub(crate) const WIDGET_BUDGET: usize = 80 * 1024;
/// What others ship for the same first open (DESIGN.md), as baselines.
pub(crate) const BASELINES: [(&str, usize); 2] = [("Crisp", 125 * 1024), ("Chatwoot", 170 * 1024)];

/// The files a browser downloads when a customer first opens the chat (besides the loader, already there):
/// the frame page, then what it loads. The frame page is measured as the edge serves it, settings inlined.
const WIDGET_FILES: [&str; 4] =
    ["widget/widget.css", "widget/boot.js", "widget/app.js", "widget/app_bg.wasm"];
const AGENT_FILES: [&str; 5] =
    ["agent/index.html", "agent/agent.css", "agent/boot.js", "agent/app.js", "agent/app_bg.wasm"];

struct Sized {
    name: String,
    raw: usize,
    gzip: usize,
    brotli: usize,
}

fn measure(name: &str, bytes: &[u8]) -> Result<Sized> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    let gzip = gz.finish()?.len();
    let mut brotli = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut brotli, &params)?;
    Ok(Sized { name: name.to_owned(), raw: bytes.len(), gzip, brotli: brotli.len() })
}

fn measure_file(public: &Path, file: &str) -> Result<Sized> {
    let bytes = std::fs::read(public.join(file)).with_context(|| format!("reading dist/public/{file}"))?;
    measure(file, &bytes)
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

fn print_rows(rows: &[Sized]) {
    for r in rows {
        println!(
            "  {:<28} {:>10} raw {:>10} gzip {:>10} brotli",
            r.name,
            kb(r.raw),
            kb(r.gzip),
            kb(r.brotli)
        );
    }
}

/// The sizes part of the report.
pub(crate) struct Sizes {
    loader: Sized,
    widget: Vec<Sized>,
    widget_total: usize,
    agent: Vec<Sized>,
}

impl Sizes {
    fn agent_total(&self) -> usize {
        self.agent.iter().map(|r| r.brotli).sum()
    }
}

fn sizes(paths: &Paths) -> Result<Sizes> {
    step("sizes (built files, compressed as a CDN serves them)");
    let public = paths.public();
    let loader = measure_file(&public, "widget.js")?;
    println!("loader:");
    print_rows(std::slice::from_ref(&loader));

    let frame = include_str!("../../edge/src/api/widget_frame.html").replace(
        "{{SETTINGS}}",
        &serde_json::to_string(&confab_protocol::widget::WidgetSettings::default())?,
    );
    let mut widget = vec![measure("widget frame page", frame.as_bytes())?];
    for file in WIDGET_FILES {
        widget.push(measure_file(&public, file)?);
    }
    let widget_total: usize = widget.iter().map(|r| r.brotli).sum();
    println!("widget, first open:");
    print_rows(&widget);
    println!("  {:<28} {:>43} brotli", "total", kb(widget_total));

    let agent = AGENT_FILES.iter().map(|f| measure_file(&public, f)).collect::<Result<Vec<_>>>()?;
    println!("agent desktop, first open (no budget):");
    print_rows(&agent);
    for (who, size) in BASELINES {
        println!("  widget first open vs {who} ({}): {:.2}×", kb(size), widget_total as f64 / size as f64);
    }
    Ok(Sizes { loader, widget, widget_total, agent })
}

/// `cargo xtask bench [--sizes] [--idle N] [--only PART,...]`: `--sizes` measures the sizes only (seconds,
/// no servers); `--idle N` holds N idle contact sockets instead of the budget's 10,000 (or fewer, when the
/// machine's open-file limit allows fewer: `net::idle_sockets_this_machine_allows`); `--only` runs some
/// of the network parts (`net::PARTS`) and prints them without a report.
pub(crate) fn run(paths: &Paths, args: &[String]) -> Result<()> {
    // Interrupted (Ctrl-C, or the terminal closed), the bench exits without running destructors: stop the
    // wrangler and chromedriver groups it started, or they would run on, holding ports and memory.
    ctrlc::set_handler(|| {
        eprintln!("\nxtask bench: interrupted; stopping what it started");
        confab_tests::stop_started_groups();
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")?;
    let sizes_only = args.iter().any(|a| a == "--sizes");
    let idle = match args.iter().position(|a| a == "--idle") {
        Some(i) => {
            args.get(i + 1).and_then(|n| n.parse().ok()).context("--idle takes a number of sockets")?
        }
        None => report::IDLE_SOCKETS_BUDGET.min(net::idle_sockets_this_machine_allows()),
    };
    let only: Option<Vec<String>> = match args.iter().position(|a| a == "--only") {
        Some(i) => Some(
            args.get(i + 1)
                .context("--only takes parts, e.g. latency,throughput")?
                .split(',')
                .map(String::from)
                .collect(),
        ),
        None => None,
    };
    let started = std::time::Instant::now();
    let sizes = sizes(paths)?;
    if let Some(parts) = &only {
        net::run(paths, idle, Some(parts))?;
        return Ok(());
    }
    let net = if sizes_only { None } else { net::run(paths, idle, None)? };
    let report = report::Report::new(&sizes, net.as_ref(), started.elapsed());
    let out = paths.target().join("bench");
    std::fs::create_dir_all(&out)?;
    report.write(&out)?;
    println!("\n{}", report.table());
    println!("written to {}", out.join("report.md").display());
    let missed = report.missed();
    anyhow::ensure!(missed.is_empty(), "over budget: {}", missed.join("; "));
    Ok(())
}
