//! `cargo xtask dev`: Confab running locally, with a demo.
//!
//! The edge runs on `wrangler dev` with its state in `.confab/state` (kept between runs); a demo shop page
//! is served from a different origin (another port) and embeds the widget with the one-line script tag; the
//! demo site and two agents are (re)created through the admin API on every start.

use crate::{build, setup, step};
use anyhow::{Context, Result, bail};
use confab_tests::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, EdgeOptions, HostPage, Paths,
    demo_site_showcase,
};
use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

pub(crate) fn run(paths: &Paths, args: &[String]) -> Result<()> {
    let port = flag(args, "--port")?.unwrap_or(8787);
    let demo_port = flag(args, "--demo-port")?.unwrap_or(8788);
    // Fail fast, before minutes of building, if the ports are taken.
    for p in [port, demo_port] {
        if confab_tests::port_in_use(p) {
            bail!(
                "port {p} on 127.0.0.1 is already in use (another `cargo xtask dev`?). Stop it or choose \
                   another with --port / --demo-port"
            );
        }
    }
    setup::all(paths)?;
    build::all(paths)?;

    step("starting the edge (wrangler dev)");
    let state = paths.dev_state();
    std::fs::create_dir_all(&state)?;
    let secrets = dev_secrets(&state.join("dev-secrets.json"))?;
    let options = EdgeOptions {
        port,
        state_dir: state.join("state"),
        log_file: state.join("wrangler.log"),
        secret: secrets.0,
        admin_token: secrets.1,
        config: None,
        vars: Vec::new(),
    };
    let mut edge = Edge::start(paths, options)?;
    let host = HostPage::start(demo_port, &edge.origin(), DEMO_SITE)?;
    edge.seed_site(DEMO_SITE, &demo_site_showcase(&host.origin()))?;

    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context(
        "installing the Ctrl-C handler (also SIGTERM and SIGHUP: a closed terminal stops wrangler too)",
    )?;

    println!(
        "\nConfab is running.\n\n  Demo shop (the customer's view):  {host}/\n  Agent desktop:                    {edge}/agent/\n\n  \
         Sign in as (password {pw}):\n    agents      {a}, {b}\n    supervisor  {sup} (also: Live view, Records)\n    \
         admin       {adm} (also: Settings)\n\n  Setup token (a new site: \"Set up a new site\" on the sign-in page): {token}\n  \
         Edge log: {log}\n\nOpen the demo shop, click the chat button and write; answer from the agent desktop.\n\
         Press Ctrl-C to stop.",
        host = host.origin(),
        edge = edge.origin(),
        a = DEMO_AGENTS[0].0,
        b = DEMO_AGENTS[1].0,
        sup = DEMO_SUPERVISOR.0,
        adm = DEMO_ADMIN.0,
        pw = DEMO_PASSWORD,
        token = edge.options.admin_token,
        log = edge.options.log_file.display(),
    );
    loop {
        if stop_rx.recv_timeout(Duration::from_millis(500)).is_ok() {
            println!("\nStopping…");
            break;
        }
        if !edge.is_running() {
            bail!("wrangler stopped unexpectedly:\n{}", edge.log_tail(30));
        }
    }
    drop(host);
    edge.stop();
    println!("Stopped. Local data is kept in {}.", paths.dev_state().display());
    Ok(())
}

fn flag(args: &[String], name: &str) -> Result<Option<u16>> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => {
            let value = args.get(i + 1).with_context(|| format!("{name} needs a port number"))?;
            Ok(Some(value.parse().with_context(|| format!("{name}: {value:?} is not a port number"))?))
        }
    }
}

/// The dev edge's signing secret and admin token: random on first run, then kept so that sessions and
/// contact tokens stay valid across restarts.
fn dev_secrets(file: &std::path::Path) -> Result<(String, String)> {
    let saved =
        std::fs::read_to_string(file).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    if let Some(v) = saved
        && let (Some(s), Some(t)) = (v["secret"].as_str(), v["admin_token"].as_str())
    {
        return Ok((s.to_owned(), t.to_owned()));
    }
    let (secret, token) = (random_hex()?, random_hex()?);
    std::fs::write(file, serde_json::json!({"secret": secret, "admin_token": token}).to_string())?;
    Ok((secret, token))
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
