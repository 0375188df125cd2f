//! The benchmark's report: one table of figures, each with its baseline, ratio and budget (DESIGN.md), the
//! date and the machine; a latency chart; the figures as JSON for tools.

use super::net::{Latency, NetFigures};
use super::{LOADER_BUDGET, Sizes, WIDGET_BUDGET};
use anyhow::Result;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// DESIGN.md's budgets that are times, rates and counts.
const P50_RATIO_BUDGET: f64 = 1.2;
const P99_BUDGET_MS: f64 = 5.0;
const STORED_PER_SECOND_BUDGET: f64 = 2_800.0;
const OFFERS_PER_SECOND_BUDGET: f64 = 500.0;
pub(crate) const IDLE_SOCKETS_BUDGET: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Within,
    Over,
    /// No budget: a figure to watch.
    Info,
    NotMeasured,
}

impl Status {
    fn of(ok: bool) -> Status {
        if ok { Status::Within } else { Status::Over }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Within => "within",
            Status::Over => "**OVER**",
            Status::Info => "—",
            Status::NotMeasured => "not measured yet",
        }
    }
}

struct Row {
    what: String,
    confab: String,
    baseline: String,
    ratio: String,
    budget: String,
    status: Status,
}

fn row(what: &str, confab: String, baseline: String, ratio: String, budget: &str, status: Status) -> Row {
    Row { what: what.to_owned(), confab, baseline, ratio, budget: budget.to_owned(), status }
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

fn ms(value: f64) -> String {
    format!("{value:.2} ms")
}

fn times(ratio: f64) -> String {
    format!("{ratio:.2}×")
}

pub(crate) struct Report {
    rows: Vec<Row>,
    header: String,
    chart: Option<String>,
    json: serde_json::Value,
}

impl Report {
    pub(crate) fn new(sizes: &Sizes, net: Option<&NetFigures>, took: Duration) -> Report {
        let mut rows = Vec::new();
        let loader = sizes.loader.gzip.max(sizes.loader.brotli);
        rows.push(row(
            "loader `widget.js`, compressed (worse of gzip, brotli)",
            kb(loader),
            String::new(),
            String::new(),
            "≤ 2 KB",
            Status::of(loader <= LOADER_BUDGET),
        ));
        let (crisp, crisp_size) = super::BASELINES[0];
        rows.push(row(
            "widget first open, brotli (frame page, CSS, JS, wasm)",
            kb(sizes.widget_total),
            format!("{crisp} {}", kb(crisp_size)),
            times(sizes.widget_total as f64 / crisp_size as f64),
            "≤ 80 KB",
            Status::of(sizes.widget_total <= WIDGET_BUDGET),
        ));
        rows.push(row(
            "agent desktop first load, brotli",
            kb(sizes.agent_total()),
            String::new(),
            String::new(),
            "",
            Status::Info,
        ));
        let mut json = serde_json::json!({
            "sizes": {"loader_compressed": loader, "widget_first_open_brotli": sizes.widget_total,
                      "agent_first_load_brotli": sizes.agent_total(),
                      "widget_files": sizes.widget.iter().map(|r| serde_json::json!({"file": r.name, "raw": r.raw, "gzip": r.gzip, "brotli": r.brotli})).collect::<Vec<_>>()},
        });
        if let Some(net) = net {
            net_rows(&mut rows, net);
            json["latency_ms"] = serde_json::json!({
                "confab": percentiles(&net.latency), "bare_broadcast": percentiles(&net.baseline_latency)});
            json["throughput_per_second"] = net
                .throughput
                .iter()
                .zip(&net.baseline_throughput)
                .map(|(c, b)| serde_json::json!({"participants": c.participants, "confab_stored": c.per_second, "bare_broadcast": b.per_second}))
                .collect();
            json["desk"] = serde_json::json!({"chats": net.desk.chats, "agents": net.desk.agents,
                "offers_per_second": net.desk.offers_per_second, "starts_per_second": net.desk.starts_per_second});
            json["idle"] = serde_json::json!({"sockets": net.idle.sockets, "held": net.idle.held,
                "rss_before_mb": net.idle.rss_before_mb, "rss_after_mb": net.idle.rss_after_mb,
                "kb_per_socket": net.idle.kb_per_socket()});
            json["cold_start_s"] = serde_json::json!({"bare_worker_ready": net.cold.baseline_ready_s,
                "edge_ready": net.cold.edge_ready_s, "first_answered_chat": net.cold.first_answer_s});
            let b = &net.browser;
            json["browser"] = serde_json::json!({"click_to_composer_ms": b.click_to_composer_ms,
                "lighthouse_without_widget": b.lighthouse_without, "lighthouse_with_widget": b.lighthouse_with,
                "agent_first_visit_interactive_ms": b.agent_interactive_ms,
                "agent_frame_ms": percentiles(&b.agent_frames), "messages_per_second": b.messages_per_second});
        } else {
            rows.push(row(
                "edge and browser figures (latency, throughput, Desk, idle sockets, cold start, UIs)",
                String::new(),
                String::new(),
                String::new(),
                "",
                Status::NotMeasured,
            ));
        }
        let header = format!(
            "Measured {} on {}, in {:.0} s (`cargo xtask bench`).",
            today(),
            machine(),
            took.as_secs_f64()
        );
        json["measured"] = serde_json::json!({"date": today(), "machine": machine()});
        let chart = net.map(|n| latency_chart(&n.latency, &n.baseline_latency));
        Report { rows, header, chart, json }
    }

    /// The table as Markdown, with its header line.
    pub(crate) fn table(&self) -> String {
        let mut out = format!(
            "{}\n\n| figure | Confab | baseline | ratio | budget | status |\n|---|---|---|---|---|---|\n",
            self.header
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.what,
                r.confab,
                r.baseline,
                r.ratio,
                r.budget,
                r.status.label()
            ));
        }
        out
    }

    pub(crate) fn missed(&self) -> Vec<String> {
        self.rows.iter().filter(|r| r.status == Status::Over).map(|r| r.what.clone()).collect()
    }

    pub(crate) fn write(&self, out: &Path) -> Result<()> {
        let mut md = format!("# Confab benchmark\n\n{}", self.table());
        if let Some(chart) = &self.chart {
            std::fs::write(out.join("latency.svg"), chart)?;
            md.push_str("\n![Delivery latency, Confab and the bare broadcast baseline](latency.svg)\n");
        }
        std::fs::write(out.join("report.md"), md)?;
        std::fs::write(out.join("figures.json"), serde_json::to_string_pretty(&self.json)?)?;
        Ok(())
    }
}

fn percentiles(l: &Latency) -> serde_json::Value {
    serde_json::json!({"p50": l.percentile(50.0), "p90": l.percentile(90.0), "p99": l.percentile(99.0), "max": l.max(), "samples": l.sorted_ms.len()})
}

fn net_rows(rows: &mut Vec<Row>, net: &NetFigures) {
    let (c, b) = (&net.latency, &net.baseline_latency);
    for (p, budget) in [(50.0, "≤ 1.2× baseline"), (90.0, ""), (99.0, "≤ 5 ms")] {
        let (confab, bare) = (c.percentile(p), b.percentile(p));
        let status = match p as u32 {
            50 => Status::of(confab / bare <= P50_RATIO_BUDGET),
            99 => Status::of(confab <= P99_BUDGET_MS),
            _ => Status::Info,
        };
        rows.push(row(
            &format!("delivery contact → agent, p{p}, {} messages", c.sorted_ms.len()),
            ms(confab),
            format!("bare broadcast DO {}", ms(bare)),
            times(confab / bare),
            budget,
            status,
        ));
    }
    rows.push(row(
        "delivery contact → agent, max",
        ms(c.max()),
        format!("bare broadcast DO {}", ms(b.max())),
        times(c.max() / b.max()),
        "",
        Status::Info,
    ));
    for (confab, bare) in net.throughput.iter().zip(&net.baseline_throughput) {
        let first = confab.participants == 1;
        rows.push(row(
            &format!("one conversation, stored messages/s, {} reading", confab.participants),
            format!("{:.0}/s", confab.per_second),
            format!("bare broadcast {:.0}/s", bare.per_second),
            times(confab.per_second / bare.per_second),
            if first { "≥ 2,800/s" } else { "" },
            if first { Status::of(confab.per_second >= STORED_PER_SECOND_BUDGET) } else { Status::Info },
        ));
    }
    rows.push(row(
        &format!("one Desk: offers accepted/s ({} chats, {} agents)", net.desk.chats, net.desk.agents),
        format!("{:.0}/s", net.desk.offers_per_second),
        format!("(chats started beforehand at {:.0}/s)", net.desk.starts_per_second),
        String::new(),
        "≥ 500/s",
        Status::of(net.desk.offers_per_second >= OFFERS_PER_SECOND_BUDGET),
    ));
    let idle = &net.idle;
    rows.push(row(
        "idle hibernated contact sockets held by one workerd",
        format!("{}{}", idle.sockets, if idle.held { "" } else { " (some lost)" }),
        match super::net::open_files_hard_limit() {
            Some(limit) if idle.sockets < IDLE_SOCKETS_BUDGET => {
                format!("the most this machine's open-file limit ({limit} per process) allows")
            }
            _ => String::new(),
        },
        String::new(),
        "10,000",
        Status::of(idle.held && idle.sockets >= IDLE_SOCKETS_BUDGET),
    ));
    rows.push(row(
        "memory per idle contact (chat + socket), workerd RSS",
        format!("{:.1} KB", idle.kb_per_socket()),
        format!("{:.0} MB → {:.0} MB", idle.rss_before_mb, idle.rss_after_mb),
        String::new(),
        "",
        Status::Info,
    ));
    let cold = &net.cold;
    rows.push(row(
        "cold start: `wrangler dev` to first answered request",
        format!("{:.2} s", cold.edge_ready_s),
        format!("bare Worker {:.2} s", cold.baseline_ready_s),
        times(cold.edge_ready_s / cold.baseline_ready_s),
        "",
        Status::Info,
    ));
    rows.push(row(
        "cold start: `wrangler dev` to first answered chat (sign-in, offer, accept, answer)",
        format!("{:.2} s", cold.first_answer_s),
        String::new(),
        String::new(),
        "",
        Status::Info,
    ));
    let b = &net.browser;
    rows.push(row(
        "widget: launcher click to a composer taking input (first open, empty cache, median)",
        format!("{:.0} ms", b.click_to_composer_median_ms()),
        String::new(),
        String::new(),
        "",
        Status::Info,
    ));
    rows.push(row(
        "shop page Lighthouse performance score with the widget (median of 3)",
        format!("{:.0}", b.lighthouse_with),
        format!("without the widget {:.0}", b.lighthouse_without),
        format!("{:+.0} points", b.lighthouse_with - b.lighthouse_without),
        "within 1 point",
        Status::of(b.lighthouse_with >= b.lighthouse_without - 1.0),
    ));
    rows.push(row(
        "agent desktop: first visit to a sign-in form taking input",
        format!("{:.0} ms", b.agent_interactive_ms),
        String::new(),
        String::new(),
        "",
        Status::Info,
    ));
    rows.push(row(
        &format!(
            "agent desktop: frame time while a chat receives {} messages/s, p50 / p99 / max",
            b.messages_per_second
        ),
        format!(
            "{:.1} / {:.1} / {:.1} ms",
            b.agent_frames.percentile(50.0),
            b.agent_frames.percentile(99.0),
            b.agent_frames.max()
        ),
        String::new(),
        String::new(),
        "",
        Status::Info,
    ));
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|d| d.trim().to_owned())
        .unwrap_or_else(|| "(date unknown)".into())
}

/// CPU model, cores, memory and OS, from /proc and /etc/os-release.
fn machine() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default();
    format!("{model}, {cores} cores, {mem_gib:.0} GiB, {os}")
}

/// The share of messages delivered within each time, for Confab and the baseline (SVG).
fn latency_chart(confab: &Latency, baseline: &Latency) -> String {
    let (width, height, left, bottom, top, right) = (720.0, 360.0, 60.0, 40.0, 30.0, 20.0);
    let x_max = (confab.percentile(99.5).max(baseline.percentile(99.5)) * 1.1).max(0.5);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let x = |v: f64| left + (v.min(x_max) / x_max) * plot_w;
    let y = |share: f64| top + (1.0 - share) * plot_h;
    let curve = |l: &Latency| {
        let n = l.sorted_ms.len() as f64;
        l.sorted_ms
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(*v), y((i + 1) as f64 / n)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\" font-size=\"14\">Delivery latency on loopback: share of {} messages delivered within t</text>\n",
        confab.sorted_ms.len()
    );
    for step in 0..=4 {
        let share = step as f64 / 4.0;
        svg.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e5e5e5\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>\n",
            width - right,
            y(share),
            y(share),
            left - 6.0,
            y(share) + 4.0,
            share * 100.0
        ));
    }
    for step in 0..=5 {
        let v = x_max * step as f64 / 5.0;
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{v:.1} ms</text>\n",
            x(v),
            height - bottom + 18.0
        ));
    }
    svg.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#9aa0a6\" stroke-width=\"2\" points=\"{}\"/>\n\
         <polyline fill=\"none\" stroke=\"#2b59e8\" stroke-width=\"2\" points=\"{}\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#9aa0a6\">bare broadcast DO (p50 {:.2} ms)</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#2b59e8\">Confab contact → agent, stored (p50 {:.2} ms)</text>\n</svg>\n",
        curve(baseline),
        curve(confab),
        width - right - 330.0,
        y(0.30),
        baseline.percentile(50.0),
        width - right - 330.0,
        y(0.20),
        confab.percentile(50.0)
    ));
    svg
}
