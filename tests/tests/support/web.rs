//! Browser helpers (find / act / check), in the style of leptos' e2e examples.

use super::PATIENCE;
use anyhow::{Result, bail};
use confab_tests::Paths;
use confab_tests::browser::Chromedriver;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

/// WebDriver's Enter key.
pub const ENTER: &str = "\u{E007}";
/// WebDriver's Shift key (held until the next key sequence ends).
pub const SHIFT: &str = "\u{E008}";

/// A new headless Chromium session with its own empty profile.
pub async fn browser(driver: &Chromedriver, paths: &Paths, profile: &str) -> Result<Client> {
    driver.session(paths, profile).await
}

/// Waits until an element at `css` exists and its text contains `expected`; returns the full text.
pub async fn wait_for_text(client: &Client, css: &str, expected: &str) -> Result<String> {
    confab_tests::browser::wait_for_text(client, css, expected, PATIENCE).await
}

/// Waits until no element matches `css`.
pub async fn wait_for_absence(client: &Client, css: &str) -> Result<()> {
    let started = Instant::now();
    while !client.find_all(Locator::Css(css)).await?.is_empty() {
        if started.elapsed() > PATIENCE {
            bail!("{css:?} is still there after {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Runs `script` (a function body that returns a value) in the page until it returns something other than
/// `null`, `false` or `""`, and returns that: a page's own state as the positive sign a test waits for.
pub async fn wait_for_script(client: &Client, script: &str) -> Result<serde_json::Value> {
    let started = Instant::now();
    loop {
        let value = client.execute(script, vec![]).await?;
        if !matches!(&value, serde_json::Value::Null | serde_json::Value::Bool(false))
            && value.as_str() != Some("")
        {
            return Ok(value);
        }
        if started.elapsed() > PATIENCE {
            bail!("{script:?} still answered {value} after {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element at `css` once it is there.
pub async fn click(client: &Client, css: &str) -> Result<()> {
    client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await?.click().await?;
    Ok(())
}

/// Opens a screen of the agent desktop from its header ("Chats", "Live view", "Records", "Settings").
pub async fn open_screen(client: &Client, label: &str) -> Result<()> {
    let xpath = format!("//nav[@class='ad-nav']/button[normalize-space()='{label}']");
    client.wait().at_most(PATIENCE).for_element(Locator::XPath(&xpath)).await?.click().await?;
    Ok(())
}

/// Signs in at the agent desktop without going Ready (supervisors and admins who only watch or configure).
pub async fn sign_in_desktop(client: &Client, edge: &confab_tests::Edge, email: &str) -> Result<()> {
    client.goto(&edge.url("/agent/")).await?;
    let field = client.wait().at_most(PATIENCE).for_element(Locator::Css("input[name=email]")).await?;
    field.send_keys(email).await?;
    client.find(Locator::Css("input[name=password]")).await?.send_keys(confab_tests::DEMO_PASSWORD).await?;
    click(client, "button[type=submit]").await?;
    wait_for_text(client, ".ad-presence", "Connected").await?;
    Ok(())
}

/// Saves a screenshot to `target/screenshots/{name}.png`, for people to look at.
pub async fn screenshot(client: &Client, paths: &Paths, name: &str) -> Result<()> {
    let png = client.screenshot().await?;
    std::fs::create_dir_all(paths.screenshots())?;
    std::fs::write(paths.screenshots().join(format!("{name}.png")), png)?;
    Ok(())
}

/// Opens the shop page, the chat, and enters the widget's frame, ready to write.
pub async fn open_widget(customer: &Client, host_origin: &str) -> Result<()> {
    open_chat(customer, host_origin).await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
    Ok(())
}

/// Opens the shop page and the chat, and enters the widget's frame (a pre-chat form may come first).
pub async fn open_chat(customer: &Client, host_origin: &str) -> Result<()> {
    customer.goto(host_origin).await?;
    customer
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("[data-confab=launcher]"))
        .await?
        .click()
        .await?;
    let frame =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css("iframe[data-confab=frame]")).await?;
    frame.enter_frame().await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-head")).await?;
    Ok(())
}

/// Signs in at the agent desktop and sets the agent Ready.
pub async fn sign_in_ready(agent: &Client, edge: &confab_tests::Edge, email: &str) -> Result<()> {
    agent.goto(&edge.url("/agent/")).await?;
    agent
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("input[name=email]"))
        .await?
        .send_keys(email)
        .await?;
    agent.find(Locator::Css("input[name=password]")).await?.send_keys(confab_tests::DEMO_PASSWORD).await?;
    agent.find(Locator::Css("button[type=submit]")).await?.click().await?;
    let presence = agent.wait().at_most(PATIENCE).for_element(Locator::Css("select[name=presence]")).await?;
    wait_for_text(agent, ".ad-presence", "Connected").await?;
    presence.select_by_value("ready").await?;
    agent
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(".ad-presence-menu[data-presence=ready]"))
        .await?;
    Ok(())
}

/// Everything a browser test stands on: the edge with the demo site, a shop page on its own origin that
/// embeds the widget with the script tag, and chromedriver. Dropping it stops them all.
pub struct Shop {
    pub paths: Paths,
    pub host_origin: String,
    pub edge: confab_tests::Edge,
    pub driver: Chromedriver,
    _host: confab_tests::HostPage,
}

/// What is special about a shop: the site's widget settings, the page's own script, its CSP.
#[derive(Default)]
pub struct ShopOptions {
    /// Fields of the site's setup (JSON) that differ from the demo site's, like `widget` or `identity`.
    pub site: Option<serde_json::Value>,
    /// HTML after the script tag, given the edge's origin.
    pub page_extra: Option<fn(&str) -> String>,
    /// HTML at the end of the page's head, before the script tag (a page's script that must run first).
    pub page_head: Option<&'static str>,
    /// The page's `Content-Security-Policy`, given the edge's origin.
    pub csp: Option<fn(&str) -> String>,
}

impl Shop {
    pub fn start(name: &str) -> Result<Shop> {
        Self::start_with(name, ShopOptions::default())
    }

    pub fn start_with(name: &str, options: ShopOptions) -> Result<Shop> {
        let paths = Paths::new();
        // Another port is another origin, as a real site is to the edge. It listens from now on, so nothing
        // else can take its port while the edge starts; the page is set once the edge's origin is known.
        let host = confab_tests::HostPage::bind(0)?;
        let host_origin = format!("http://127.0.0.1:{}", host.port());
        let mut site = confab_tests::demo_site(&host_origin);
        if let Some(serde_json::Value::Object(changes)) = options.site {
            for (key, value) in changes {
                site[key] = value;
            }
        }
        let edge = super::edge_with_site(name, site)?;
        let edge_origin = edge.origin();
        let extra = options.page_extra.map(|f| f(&edge_origin)).unwrap_or_default();
        let html = confab_tests::HostPage::demo_html_with(&edge_origin, confab_tests::DEMO_SITE, &extra)
            .replacen("</head>", &format!("{}</head>", options.page_head.unwrap_or_default()), 1);
        let headers = options
            .csp
            .map(|f| format!("content-security-policy: {}\r\n", f(&edge_origin)))
            .unwrap_or_default();
        host.set_page(html, headers);
        let driver = Chromedriver::start(&paths)?;
        Ok(Shop { paths, host_origin, edge, driver, _host: host })
    }

    /// Takes the edge down (`how`: a clean stop for a deploy, SIGKILL for a crash) and starts it again on the
    /// same port and storage. In between (`while_down`), the edge is unreachable.
    pub async fn restart_edge<F: Future<Output = Result<()>>>(
        &mut self,
        how: confab_tests::Halt,
        while_down: impl FnOnce() -> F,
    ) -> Result<()> {
        self.edge.halt(how);
        while_down().await?;
        let options = self.edge.options.clone();
        self.edge = confab_tests::Edge::start(&self.paths, options)?;
        Ok(())
    }
}

/// [`wait_for_text`] with a longer wait, for what depends on a reconnection's backoff.
pub async fn wait_longer_for_text(
    client: &Client,
    css: &str,
    expected: &str,
    within: Duration,
) -> Result<String> {
    confab_tests::browser::wait_for_text(client, css, expected, within.max(PATIENCE)).await
}
