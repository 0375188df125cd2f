//! Hostile input shown inertly: a corpus of HTML and script injection strings written by a contact (as its
//! name, its email, a file's name and messages), by an agent, and by a site owner (title, greeting, codes,
//! standard responses, agent names), in real headless Chromium on every screen that shows them: the widget,
//! the desktop's log, conversation, info panel and wrap-up, the live view, records, contacts and settings.
//! Nothing runs and no markup renders: each string reads back exactly as typed, as text.

mod support;

use anyhow::{Context, Result};
use confab_tests::{DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SUPERVISOR};
use fantoccini::{Client, Locator};
use serde_json::json;
use support::PATIENCE;
use support::web::{
    ENTER, Shop, ShopOptions, browser, click, open_chat, open_screen, screenshot, sign_in_desktop,
    sign_in_ready, wait_for_absence, wait_for_text,
};

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

/// A PDF's first bytes: enough for the edge's content check. (A document, not a photo: its name is shown as
/// text, where a photo is shown as a picture.)
const PDF: &[u8] = b"%PDF-1.7\n%%EOF\n";

/// Waits until `css` shows `text` exactly as typed, then checks nothing injected rendered there.
async fn shown_as_text(client: &Client, css: &str, text: &str) -> Result<()> {
    wait_for_text(client, css, text).await.with_context(|| format!("{text:?} in {css}"))?;
    inert(client, css).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_strings_in_settings_names_emails_and_files_are_text_on_every_screen() -> Result<()> {
    // Each place a site owner, an agent or a contact can put text into, filled with the corpus.
    let (title, greeting, agent_name, code_label, response_title, response_text) =
        (CORPUS[1], CORPUS[2], CORPUS[5], CORPUS[6], CORPUS[7], CORPUS[3]);
    let contact_name = CORPUS[0];
    // Markup in an email is refused at the door (it could also add recipients to the agent's mail link);
    // what an address may hold is then still shown as text, and stays a plain mail link.
    let markup_email = r#""><img/src=x/onerror=window.__pwned=1>@evil.test"#;
    let email = "'||'{{7*7}}'$x=1@evil.test";
    let file_name = r#"<img src=x onerror=window.__pwned=1>.pdf"#;
    let shop = Shop::start_with(
        "hostile-everywhere",
        ShopOptions {
            site: Some(json!({
                "widget": {"title": title, "greeting": greeting,
                           "pre_chat": {"name": "required", "email": "required"}},
                "rules": {"lifecycle": {"wrap": {"codes": [{"code": "odd", "label": code_label}],
                                                 "required": true}}},
                "standard_responses": [{"title": response_title, "text": response_text}],
                "agents": [
                    {"id": "ada", "name": agent_name, "email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD},
                    {"id": "margaret", "name": DEMO_SUPERVISOR.1, "email": DEMO_SUPERVISOR.0,
                     "password": DEMO_PASSWORD, "role": "supervisor"},
                    {"id": "sam", "name": DEMO_ADMIN.1, "email": DEMO_ADMIN.0, "password": DEMO_PASSWORD,
                     "role": "admin"},
                ],
            })),
            ..Default::default()
        },
    )?;
    let paths = &shop.paths;
    let ada = browser(&shop.driver, paths, "ada").await?;
    ada.set_window_size(1366, 900).await?;
    sign_in_ready(&ada, &shop.edge, DEMO_AGENTS[0].0).await?;
    shown_as_text(&ada, ".ad-shell", agent_name).await?;

    // The widget: the site's title and greeting; the contact's name and email in the pre-chat form; a file.
    let customer = browser(&shop.driver, paths, "attacker").await?;
    open_chat(&customer, &shop.host_origin).await?;
    shown_as_text(&customer, ".cw-title", title).await?;
    let fields = customer.find_all(Locator::Css(".cw-field input")).await?;
    assert_eq!(fields.len(), 2, "name and email");
    fields[0].send_keys(contact_name).await?;
    fields[1].send_keys(markup_email).await?;
    customer.find(Locator::Css(".cw-start")).await?.click().await?;
    shown_as_text(&customer, ".cw-problem", "doesn't look right").await?;
    assert_eq!(fields[1].attr("aria-invalid").await?.as_deref(), Some("true"));
    fields[1].clear().await?;
    fields[1].send_keys(email).await?;
    customer.find(Locator::Css(".cw-start")).await?.click().await?;
    let input = customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
    shown_as_text(&customer, ".cw-list", greeting).await?;
    input.send_keys(&format!("Hello{ENTER}")).await?;
    customer
        .execute(
            "const [bytes, name] = arguments;
             const file = new File([new Uint8Array(bytes)], name, {type: 'application/pdf'});
             const files = new DataTransfer(); files.items.add(file);
             const picker = document.querySelector('.cw-file');
             picker.files = files.files;
             picker.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![json!(PDF.to_vec()), json!(file_name)],
        )
        .await?;
    shown_as_text(&customer, ".cw-list", file_name).await?;

    // The desktop: the offer card, the conversation (transcript with the file, the info panel with the
    // email link), the standard responses, and the wrap-up's codes.
    shown_as_text(&ada, ".ad-offer", contact_name).await?;
    click(&ada, ".ad-offer .ad-accept").await?;
    shown_as_text(&ada, ".ad-transcript", file_name).await?;
    shown_as_text(&ada, ".ad-email", email).await?;
    let href = ada.find(Locator::Css(".ad-email")).await?.attr("href").await?.unwrap_or_default();
    assert_eq!(href, format!("mailto:{email}"), "the email stays a plain mail link");
    click(&ada, ".ad-responses-toggle").await?;
    shown_as_text(&ada, ".ad-responses", response_title).await?;
    click(&ada, ".ad-response").await?;
    let composed = ada.find(Locator::Css(".ad-input")).await?.prop("value").await?.unwrap_or_default();
    assert_eq!(composed, response_text, "a standard response is inserted as typed");
    ada.find(Locator::Css(".ad-input")).await?.send_keys(ENTER).await?;
    shown_as_text(&customer, ".cw-theirs", response_text).await?;
    shown_as_text(&customer, ".cw-list", agent_name).await?;
    click(&ada, ".ad-end").await?;
    click(&ada, ".ad-end-confirm").await?;
    shown_as_text(&ada, ".ad-wrap", code_label).await?;
    click(&ada, ".ad-codes input").await?;
    click(&ada, ".ad-complete").await?;
    wait_for_absence(&ada, ".ad-wrap").await?;
    inert(&ada, ".ad-shell").await?;
    screenshot(&ada, paths, "hostile-3-desktop-settings-names-files").await?;
    customer.enter_parent_frame().await?;
    let host_clean = customer.execute("return window.__pwned === undefined", vec![]).await?;
    assert_eq!(host_clean, json!(true), "nothing ran on the host page");
    screenshot(&customer, paths, "hostile-4-widget-settings").await?;

    // The supervisor's screens: the live view (agent names), the records (names, codes), the contacts.
    let margaret = browser(&shop.driver, paths, "margaret").await?;
    margaret.set_window_size(1366, 900).await?;
    sign_in_desktop(&margaret, &shop.edge, DEMO_SUPERVISOR.0).await?;
    open_screen(&margaret, "Live view").await?;
    shown_as_text(&margaret, ".ad-shell", agent_name).await?;
    open_screen(&margaret, "Records").await?;
    shown_as_text(&margaret, ".ad-shell", contact_name).await?;
    shown_as_text(&margaret, ".ad-shell", code_label).await?;
    screenshot(&margaret, paths, "hostile-5-records").await?;
    open_screen(&margaret, "Chats").await?;
    let contacts = "//button[.//span[normalize-space()='Contacts and history']]";
    margaret.wait().at_most(PATIENCE).for_element(Locator::XPath(contacts)).await?.click().await?;
    shown_as_text(&margaret, ".ad-shell", contact_name).await?;

    // The admin's settings: every list shows the corpus as typed.
    let sam = browser(&shop.driver, paths, "sam").await?;
    sam.set_window_size(1366, 900).await?;
    sign_in_desktop(&sam, &shop.edge, DEMO_ADMIN.0).await?;
    open_screen(&sam, "Settings").await?;
    shown_as_text(&sam, ".ad-shell", agent_name).await?;
    shown_as_text(&sam, ".ad-shell", response_title).await?;
    screenshot(&sam, paths, "hostile-6-settings").await?;
    Ok(())
}
