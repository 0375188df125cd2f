//! `cargo xtask bench`: measurements against the budgets in DESIGN.md. Sizes are exact (compressed as a CDN
//! would, from the built files), so they are checked; they are written to `target/bench/sizes.json` too.

use crate::step;
use anyhow::{Context, Result};
use confab_tests::Paths;
use std::io::Write;
use std::path::Path;

/// The loader, compressed either way, at most (DESIGN.md: "Loader ≤ 2 KB compressed").
const LOADER_BUDGET: usize = 2 * 1024;
/// Everything the widget needs on first open, brotli (DESIGN.md: "≤ 80 KB brotli in total").
const WIDGET_BUDGET: usize = 80 * 1024;
/// What others ship for the same first open (DESIGN.md), as baselines.
const BASELINES: [(&str, usize); 2] = [("Crisp", 125 * 1024), ("Chatwoot", 170 * 1024)];

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

pub(crate) fn run(paths: &Paths) -> Result<()> {
    step("sizes (built files, compressed as a CDN serves them)");
    let public = paths.public();
    let loader = measure_file(&public, "widget.js")?;
    println!("loader:");
    print_rows(std::slice::from_ref(&loader));

    let frame = include_str!("../../edge/src/widget_frame.html").replace(
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

    println!("\nbudgets:");
    let loader_worst = loader.gzip.max(loader.brotli);
    let checks = [
        ("loader, compressed (worse of gzip and brotli)", loader_worst, LOADER_BUDGET),
        ("widget first open, brotli", widget_total, WIDGET_BUDGET),
    ];
    for (what, size, budget) in checks {
        let verdict = if size <= budget { "within" } else { "OVER" };
        println!(
            "  {what}: {} of {} ({:.2}× the budget) — {verdict}",
            kb(size),
            kb(budget),
            size as f64 / budget as f64
        );
    }
    for (who, size) in BASELINES {
        println!("  widget first open vs {who} ({}): {:.2}×", kb(size), widget_total as f64 / size as f64);
    }

    let out = paths.target().join("bench");
    std::fs::create_dir_all(&out)?;
    let row =
        |r: &Sized| serde_json::json!({"file": r.name, "raw": r.raw, "gzip": r.gzip, "brotli": r.brotli});
    let report = serde_json::json!({
        "loader": row(&loader),
        "widget_first_open": {"files": widget.iter().map(row).collect::<Vec<_>>(), "brotli_total": widget_total},
        "agent_first_open": agent.iter().map(row).collect::<Vec<_>>(),
        "budgets": {"loader": LOADER_BUDGET, "widget_first_open_brotli": WIDGET_BUDGET},
    });
    std::fs::write(out.join("sizes.json"), serde_json::to_string_pretty(&report)?)?;
    println!("\nwritten to {}", out.join("sizes.json").display());

    let over: Vec<&str> =
        checks.iter().filter(|(_, size, budget)| size > budget).map(|(what, _, _)| *what).collect();
    anyhow::ensure!(over.is_empty(), "over budget: {}", over.join("; "));
    Ok(())
}
