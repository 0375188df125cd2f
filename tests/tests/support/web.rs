//! Browser helpers (find / act / check), in the style of leptos' e2e examples.

use super::PATIENCE;
use anyhow::{Context, Result, bail};
use confab_tests::Paths;
use confab_tests::browser::Chromedriver;
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::{Duration, Instant};

/// WebDriver's Enter key.
pub const ENTER: &str = "\u{E007}";
/// WebDriver's Shift key (held until the next key sequence ends).
pub const SHIFT: &str = "\u{E008}";

/// A new headless Chromium session with its own empty profile.
pub async fn browser(driver: &Chromedriver, paths: &Paths, profile: &str) -> Result<Client> {
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(driver.capabilities(paths, profile))
        .connect(&driver.url())
        .await
        .context("starting a Chromium session")
}

/// Waits until an element at `css` exists and its text contains `expected`; returns the full text.
pub async fn wait_for_text(client: &Client, css: &str, expected: &str) -> Result<String> {
    let started = Instant::now();
    loop {
        for element in client.find_all(Locator::Css(css)).await? {
            let text = element.text().await.unwrap_or_default();
            if text.contains(expected) {
                return Ok(text);
            }
        }
        if started.elapsed() > PATIENCE {
            bail!("no {css:?} with text {expected:?} after {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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

/// Saves a screenshot to `target/screenshots/{name}.png`, for people to look at.
pub async fn screenshot(client: &Client, paths: &Paths, name: &str) -> Result<()> {
    let png = client.screenshot().await?;
    std::fs::create_dir_all(paths.screenshots())?;
    std::fs::write(paths.screenshots().join(format!("{name}.png")), png)?;
    Ok(())
}

/// Opens the shop page, the chat, and enters the widget's frame.
pub async fn open_widget(customer: &Client, host_origin: &str) -> Result<()> {
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
    customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
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

impl Shop {
    pub fn start(name: &str) -> Result<Shop> {
        let paths = Paths::new();
        // Another port is another origin, as a real site is to the edge.
        let host_port = confab_tests::free_port()?;
        let host_origin = format!("http://127.0.0.1:{host_port}");
        let edge = super::edge_with_demo(name, &host_origin)?;
        let host = confab_tests::HostPage::start(host_port, &edge.origin(), confab_tests::DEMO_SITE)?;
        let driver = Chromedriver::start(&paths)?;
        Ok(Shop { paths, host_origin, edge, driver, _host: host })
    }
}
