//! The widget as a site owner sets it up, in real headless Chromium: the site's colour, corner, title,
//! greeting and language; hidden agent names; the pre-chat form; the emoji picker; a phone-sized screen; a
//! page with a strict Content-Security-Policy that identifies its signed-in user.

mod support;

use anyhow::Result;
use confab_protocol::frames::DeskFrame;
use confab_tests::DEMO_AGENTS;
use fantoccini::{Client, Locator};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::web::{
    ENTER, Shop, ShopOptions, browser, open_chat, screenshot, wait_for_absence, wait_for_script,
    wait_for_text,
};
use support::{PATIENCE, Peer, ready_agent};

/// A computed style property of the first element at `css`.
async fn style_of(client: &Client, css: &str, property: &str) -> Result<String> {
    let value = client
        .execute(
            "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue(arguments[1])",
            vec![css.into(), property.into()],
        )
        .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

/// Waits until the script `js` returns `expected` (messages between the page and the frame take a moment).
async fn wait_for_value(client: &Client, js: &str, expected: &str) -> Result<()> {
    let check = format!("return (function () {{ {js} }})() === {}", serde_json::to_string(expected)?);
    wait_for_script(client, &check).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_wears_the_sites_colour_words_and_language_and_asks_first() -> Result<()> {
    let shop = Shop::start_with(
        "widget-settings",
        ShopOptions {
            site: Some(serde_json::json!({"widget": {
                "title": "Keramik-Hilfe",
                "greeting": "Grüß Gott! Fragen zu Glasuren?",
                "color": "#0f766e",
                "position": "left",
                "locale": "de",
                "show_agent_names": false,
                "pre_chat": {"name": "required", "email": "optional"},
            }})),
            ..ShopOptions::default()
        },
    )?;
    let (paths, host_origin, edge) = (&shop.paths, &shop.host_origin, &shop.edge);
    let (cookie, mut desk) = ready_agent(edge, DEMO_AGENTS[0].0).await?;
    let customer = browser(&shop.driver, paths, "customer").await?;

    // The launcher: the site's colour, in the left corner, labelled in German.
    customer.goto(host_origin).await?;
    let launcher =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css("[data-confab=launcher]")).await?;
    assert_eq!(style_of(&customer, "[data-confab=launcher]", "background-color").await?, "rgb(15, 118, 110)");
    assert_eq!(style_of(&customer, "[data-confab=launcher]", "left").await?, "20px");
    assert_eq!(launcher.attr("aria-label").await?.as_deref(), Some("Chat öffnen"));

    // The window: title, greeting, German words, and the pre-chat form before anything else.
    customer.find(Locator::Css("[data-confab=launcher]")).await?.click().await?;
    customer
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css("iframe[data-confab=frame]"))
        .await?
        .enter_frame()
        .await?;
    wait_for_text(&customer, ".cw-title", "Keramik-Hilfe").await?;
    wait_for_text(&customer, ".cw-greeting", "Grüß Gott! Fragen zu Glasuren?").await?;
    assert_eq!(style_of(&customer, ".cw-head", "background-color").await?, "rgb(15, 118, 110)");
    let html_lang = customer.execute("return document.documentElement.lang", vec![]).await?;
    assert_eq!(html_lang.as_str(), Some("de"));
    assert!(customer.find_all(Locator::Css(".cw-input")).await?.is_empty(), "no composer before the form");
    // Opened from the launcher, the keyboard is in the form's first field, ready to type.
    wait_for_script(
        &customer,
        "return document.activeElement === document.querySelector('.cw-prechat input')",
    )
    .await?;
    let start = customer.find(Locator::Css(".cw-start")).await?;
    assert_eq!(start.text().await?, "Chat starten");
    // The name is required; a mistyped email is caught; both are said plainly.
    start.click().await?;
    wait_for_text(&customer, ".cw-problem", "Bitte geben Sie Ihren Namen ein.").await?;
    let fields = customer.find_all(Locator::Css(".cw-field input")).await?;
    fields[0].send_keys("Mia Berger").await?;
    fields[1].send_keys("mia@").await?;
    start.click().await?;
    wait_for_text(&customer, ".cw-problem", "E-Mail-Adresse scheint nicht zu stimmen").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "widget-8-pre-chat-de").await?;
    customer.enter_frame(0).await?;
    fields[1].send_keys("example.at").await?;
    start.click().await?;

    // The composer: emoji go where the cursor is; the message starts a chat with the form's answers.
    let input = customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
    // After Start chat the keyboard is in the message box (not lost, four Tabs away).
    wait_for_script(&customer, "return document.activeElement === document.querySelector('.cw-input')")
        .await?;
    assert_eq!(input.attr("placeholder").await?.as_deref(), Some("Nachricht schreiben…"));
    input.send_keys("Ist die Vase frostfest? ").await?;
    customer.find(Locator::Css(".cw-emoji-toggle")).await?.click().await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-emoji-grid")).await?;
    customer.find(Locator::XPath("//button[@class='cw-emoji' and text()='🙏']")).await?.click().await?;
    wait_for_absence(&customer, ".cw-emoji-grid").await?;
    assert_eq!(input.prop("value").await?.as_deref(), Some("Ist die Vase frostfest? 🙏"));
    input.send_keys(ENTER).await?;
    wait_for_text(&customer, ".cw-mine[data-pending=false] .cw-text", "frostfest? 🙏").await?;
    wait_for_text(&customer, ".cw-status", "Gesendet").await?;
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, card, .. } = offer else { unreachable!() };
    assert_eq!(card.contact_label, "Mia Berger");

    // The site hides agent names: the reply is signed with the window's title.
    desk.accept(interaction).await?;
    let mut agent = Peer::agent(edge, &interaction.to_string(), &cookie).await?;
    agent.say("Ja, sie ist frostfest.").await?;
    let reply = wait_for_text(&customer, ".cw-theirs", "frostfest.").await?;
    assert!(reply.starts_with("Keramik-Hilfe"), "{reply}");
    assert!(!reply.contains("Ada"), "{reply}");
    agent.send(&confab_protocol::frames::ClientFrame::Read { seq: 1 }).await?;
    wait_for_text(&customer, ".cw-status", "Gelesen").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "widget-9-themed-de").await?;

    // On a phone the chat fills the screen and no input is under 16 px (phones zoom into those).
    customer.set_window_size(390, 844).await?;
    customer.refresh().await?;
    open_chat(&customer, host_origin).await?;
    customer.enter_parent_frame().await?;
    let panel = customer.find(Locator::Css("#confab-panel")).await?;
    let (_, _, width, height) = panel.rectangle().await?;
    let viewport = customer.execute("return [innerWidth, innerHeight]", vec![]).await?;
    assert_eq!(Some(width as u64), viewport[0].as_u64());
    assert_eq!(Some(height as u64), viewport[1].as_u64());
    screenshot(&customer, paths, "widget-10-phone").await?;
    customer.enter_frame(0).await?;
    wait_for_text(&customer, ".cw-theirs", "frostfest.").await?;
    assert_eq!(style_of(&customer, ".cw-input", "font-size").await?, "16px");
    // The chat covers the launcher here: its own close button hides it, and the launcher is back, focused.
    let panel_display = "return getComputedStyle(document.querySelector('#confab-panel')).display";
    customer.find(Locator::Css(".cw-close")).await?.click().await?;
    customer.enter_parent_frame().await?;
    wait_for_value(&customer, panel_display, "none").await?;
    wait_for_value(&customer, "return document.activeElement.dataset.confab", "launcher").await?;
    // From the keyboard, Escape does the same.
    customer.find(Locator::Css("[data-confab=launcher]")).await?.click().await?;
    wait_for_value(&customer, panel_display, "block").await?;
    customer.enter_frame(0).await?;
    customer.find(Locator::Css(".cw-input")).await?.send_keys("\u{E00C}").await?;
    customer.enter_parent_frame().await?;
    wait_for_value(&customer, panel_display, "none").await?;
    customer.close().await?;
    Ok(())
}

const IDENTITY_SECRET: &str = "shop-backend-identity-secret";
const NONCE: &str = "r4nd0m-n0nce";

fn signature(user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(IDENTITY_SECRET.as_bytes()).expect("any key length");
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A site whose questions are all optional puts no form in the way: the message box has the keyboard, the
/// questions stand above it, and the first message starts the chat with what was answered (a mistyped email
/// is pointed out first, and nothing is sent until it is right or left empty).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_optional_questions_only_the_first_message_starts_the_chat() -> Result<()> {
    let shop = Shop::start_with(
        "widget-optional-questions",
        ShopOptions {
            site: Some(
                serde_json::json!({"widget": {"pre_chat": {"name": "optional", "email": "optional"}}}),
            ),
            ..ShopOptions::default()
        },
    )?;
    let (_, mut desk) = ready_agent(&shop.edge, DEMO_AGENTS[0].0).await?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    open_chat(&customer, &shop.host_origin).await?;
    assert!(customer.find_all(Locator::Css(".cw-start")).await?.is_empty(), "no Start chat step");
    wait_for_script(&customer, "return document.activeElement === document.querySelector('.cw-input')")
        .await?;
    let fields = customer.find_all(Locator::Css(".cw-details .cw-field input")).await?;
    assert_eq!(fields.len(), 2, "both questions, above the message box");
    fields[0].send_keys("Noor").await?;
    fields[1].send_keys("noor@").await?;
    let input = customer.find(Locator::Css(".cw-input")).await?;
    input.send_keys("Is the teapot dishwasher safe?").await?;
    input.send_keys(ENTER).await?;
    wait_for_text(&customer, ".cw-problem", "email address doesn't look right").await?;
    assert!(customer.find_all(Locator::Css(".cw-mine")).await?.is_empty(), "nothing sent with a bad email");
    customer.enter_parent_frame().await?;
    screenshot(&customer, &shop.paths, "widget-8b-optional-questions").await?;
    customer.enter_frame(0).await?;
    fields[1].send_keys("example.com").await?;
    input.send_keys(ENTER).await?;
    wait_for_text(&customer, ".cw-mine[data-pending=false] .cw-text", "dishwasher safe").await?;
    wait_for_absence(&customer, ".cw-details").await?;
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { card, .. } = offer else { unreachable!() };
    assert_eq!(
        (card.contact_label.as_str(), card.contact_email.as_deref()),
        ("Noor", Some("noor@example.com"))
    );
    customer.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_strict_page_csp_the_widget_works_and_knows_the_signed_in_user() -> Result<()> {
    // The CSP docs/embed.md tells site owners to add: the edge for scripts, requests and frames.
    fn csp(edge: &str) -> String {
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src {edge} 'nonce-{NONCE}'; \
             connect-src {edge}; frame-src {edge}"
        )
    }
    // The page identifies its signed-in user, with the signature its backend computed.
    fn page(_edge: &str) -> String {
        format!(
            r#"<script nonce="{NONCE}">
function identify() {{
  Confab.identify({{user_id: "4711", name: "Mia Berger", email: "mia@example.at", signature: "{}"}});
}}
if (window.Confab) identify(); else addEventListener("confab:ready", identify);
</script>"#,
            signature("4711")
        )
    }
    let shop = Shop::start_with(
        "widget-csp",
        ShopOptions {
            site: Some(serde_json::json!({
                "identity": {"secret": IDENTITY_SECRET, "required": true},
                "widget": {"color": "#7c2d12", "pre_chat": {"email": "required"}},
            })),
            page_extra: Some(page),
            csp: Some(csp),
            page_head: None,
        },
    )?;
    let (cookie, mut desk) = ready_agent(&shop.edge, DEMO_AGENTS[0].0).await?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    open_chat(&customer, &shop.host_origin).await?;
    customer.enter_parent_frame().await?;
    // The settings request passed the CSP: the launcher wears the site's colour.
    assert_eq!(style_of(&customer, "[data-confab=launcher]", "background-color").await?, "rgb(124, 45, 18)");
    customer.enter_frame(0).await?;
    // An identified user is not asked the pre-chat form, and a site that requires identities accepts them.
    let input = customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
    input.send_keys("Where is my order 1234?").await?;
    input.send_keys(ENTER).await?;
    wait_for_text(&customer, ".cw-mine[data-pending=false] .cw-text", "order 1234").await?;
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, card, .. } = offer else { unreachable!() };
    assert_eq!(card.contact_label, "Mia Berger");
    assert_eq!(card.contact.map(|c| c.0).as_deref(), Some("u-4711"));
    desk.accept(interaction).await?;
    let mut agent = Peer::agent(&shop.edge, &interaction.to_string(), &cookie).await?;
    agent.say("It ships today.").await?;
    wait_for_text(&customer, ".cw-theirs", "ships today").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, &shop.paths, "widget-11-strict-csp").await?;

    // The user signs out on the site: the page calls Confab.reset(), and the conversation is forgotten here.
    customer.execute("Confab.reset()", vec![]).await?;
    wait_for_value(&customer, "return String(localStorage.getItem('confab:demo'))", "null").await?;
    customer.enter_frame(0).await?;
    wait_for_absence(&customer, ".cw-msg").await?;
    let kept = customer
        .execute("return Object.keys(localStorage).filter(k => k.startsWith('confab.')).length", vec![])
        .await?;
    assert_eq!(kept.as_u64(), Some(0), "nothing of the conversation stays in this browser");
    customer.close().await?;
    Ok(())
}
