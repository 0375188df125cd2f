//! Hostile input shown inertly: a corpus of HTML and script injection strings written by a contact (as its
//! name and as messages) and by an agent, in real headless Chromium on both sides. Nothing runs and no markup
//! renders: each string reads back exactly as typed, as text.

mod support;

use anyhow::{Context, Result};
use confab_tests::DEMO_AGENTS;
use fantoccini::{Client, Locator};
use serde_json::json;
use support::PATIENCE;
use support::web::{ENTER, Shop, ShopOptions, browser, open_chat, screenshot, sign_in_ready, wait_for_text};

/// Each would run script or draw markup if a UI put text into HTML.
const CORPUS: [&str; 8] = [
    r#"<img src=x onerror="window.__pwned=1">"#,
    "<script>window.__pwned=1</script>",
    r#""><svg onload=window.__pwned=1>"#,
    "<iframe srcdoc=\"<script>parent.__pwned=1</script>\"></iframe>",
    "javascript:window.__pwned=1",
    "<b>not bold</b> &lt;i&gt; &amp;",
    "{{constructor.constructor('window.__pwned=1')()}}",
    "<a href=\"javascript:window.__pwned=1\">click me</a>",
];

/// No injected element anywhere in `css`, and no script ran in this page.
async fn inert(client: &Client, css: &str) -> Result<()> {
    let injected =
        format!("{css} img, {css} script, {css} svg, {css} iframe, {css} a[href^=javascript], {css} b");
    let found = client.find_all(Locator::Css(&injected)).await.context("looking for markup")?;
    assert!(found.is_empty(), "markup rendered in {css}");
    // A parent of another origin (the widget's host page) is checked from there.
    let clean =
        client.execute("return window.__pwned === undefined", vec![]).await.context("checking for script")?;
    assert_eq!(clean, json!(true), "a script ran");
    Ok(())
}

/// The texts of the elements at `css`, in order.
async fn texts(client: &Client, css: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await? {
        out.push(element.text().await?);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_strings_are_shown_as_text_in_the_widget_and_the_desktop() -> Result<()> {
    let shop = Shop::start_with(
        "hostile-corpus",
        ShopOptions {
            site: Some(json!({"widget": {"pre_chat": {"name": "required"}}})),
            ..Default::default()
        },
    )?;
    let paths = &shop.paths;
    let ada = browser(&shop.driver, paths, "ada").await?;
    ada.set_window_size(1366, 900).await?;
    sign_in_ready(&ada, &shop.edge, DEMO_AGENTS[0].0).await?;

    // The contact's name is the first attack; then every string of the corpus as a message.
    let customer = browser(&shop.driver, paths, "attacker").await?;
    open_chat(&customer, &shop.host_origin).await?;
    let name = CORPUS[0];
    customer
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(".cw-field input"))
        .await?
        .send_keys(name)
        .await?;
    customer.find(Locator::Css(".cw-start")).await?.click().await?;
    let input = customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
    for text in CORPUS {
        input.send_keys(&format!("{text}{ENTER}")).await?;
    }
    wait_for_text(&customer, ".cw-mine:last-of-type .cw-text", CORPUS[CORPUS.len() - 1]).await?;

    // The agent's desktop: the offer card, the log and the transcript show the strings as text.
    wait_for_text(&ada, ".ad-offer .ad-contact", name).await?;
    ada.find(Locator::Css(".ad-offer .ad-accept")).await?.click().await?;
    wait_for_text(&ada, ".ad-transcript", CORPUS[CORPUS.len() - 1]).await?;
    assert_eq!(texts(&ada, ".ad-from-contact .ad-text").await?, CORPUS.map(str::to_owned));
    wait_for_text(&ada, ".ad-conv-title h1", name).await?;
    inert(&ada, ".ad-shell").await?;
    screenshot(&ada, paths, "hostile-1-desktop").await?;

    // The agent answers with the corpus: the contact sees it as text, too.
    let reply = ada.find(Locator::Css(".ad-input")).await?;
    for text in CORPUS {
        reply.send_keys(&format!("{text}{ENTER}")).await?;
    }
    wait_for_text(&customer, ".cw-theirs:last-of-type .cw-text", CORPUS[CORPUS.len() - 1]).await?;
    assert_eq!(texts(&customer, ".cw-theirs .cw-text").await?, CORPUS.map(str::to_owned));
    assert_eq!(texts(&customer, ".cw-mine .cw-text").await?, CORPUS.map(str::to_owned));
    inert(&customer, ".cw-list").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "hostile-2-widget").await?;
    let host_clean = customer.execute("return window.__pwned === undefined", vec![]).await?;
    assert_eq!(host_clean, json!(true), "nothing ran on the host page either");
    Ok(())
}
