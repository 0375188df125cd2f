//! The agent desktop in real headless Chromium, two agents (Ada, Grace) each in their own browser, and a
//! contact speaking the protocol: offers with Accept and Reject, standard responses, park and the automatic
//! unpark when the contact replies, a transfer rejected then accepted with both desktops checked, the end
//! with its duration, a wrap-up whose required code blocks Complete, and contacts with history search and
//! a follow-up that reaches the contact.

mod support;

use anyhow::Result;
use confab_protocol::frames::ServerFrame;
use confab_tests::browser::Chromedriver;
use confab_tests::{DEMO_AGENTS, Halt, Paths, demo_site};
use fantoccini::{Client, Locator};
use std::time::Duration;
use support::web::{
    ENTER, browser, click, screenshot, sign_in_ready, wait_for_absence, wait_for_text, wait_longer_for_text,
};
use support::{PATIENCE, Peer, edge_with_site, start_chat};

/// The demo site with required wrap codes and standard responses.
fn site() -> serde_json::Value {
    let mut site = demo_site("http://127.0.0.1:9");
    site["rules"] = serde_json::json!({"lifecycle": {"wrap": {
        "codes": [{"code": "refund", "label": "Refund issued"}, {"code": "info", "label": "Information given"}],
        "required": true}}});
    site["standard_responses"] = serde_json::json!([
        {"title": "Refund on its way", "text": "I've issued a refund: it reaches your account in 3-5 working days."},
        {"title": "Opening hours", "text": "We're here Monday to Friday, 9:00 to 17:00."},
    ]);
    site
}

/// Waits until the element at `css` is enabled (`true`) or disabled.
async fn wait_enabled(client: &Client, css: &str, enabled: bool) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        let element = client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await?;
        if element.is_enabled().await? == enabled {
            return Ok(());
        }
        anyhow::ensure!(
            started.elapsed() < PATIENCE,
            "{css} is not {}",
            if enabled { "enabled" } else { "disabled" }
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_a_chat_through_park_transfer_end_and_wrap_up() -> Result<()> {
    let paths = Paths::new();
    let edge = edge_with_site("desktop-shift", site())?;
    let driver = Chromedriver::start(&paths)?;
    let ada = browser(&driver, &paths, "ada").await?;
    let grace = browser(&driver, &paths, "grace").await?;
    ada.set_window_size(1366, 860).await?;
    grace.set_window_size(1366, 860).await?;
    sign_in_ready(&ada, &edge, DEMO_AGENTS[0].0).await?;

    // A contact writes: Ada gets a card with Accept and Reject, and reads the chat before answering.
    let mut contact = contact_writes(&edge, "I was charged twice for order 1142.").await?;
    wait_for_text(&ada, ".ad-offer .ad-preview", "charged twice").await?;
    ada.find(Locator::Css(".ad-offer .ad-reject")).await?;
    assert!(
        ada.find_all(Locator::Css(".ad-section[data-section=active] .ad-card-item")).await?.is_empty(),
        "an offered chat is not one of Ada's active chats yet"
    );
    screenshot(&ada, &paths, "agent-1-offer").await?;
    click(&ada, ".ad-offer .ad-accept").await?;
    wait_for_text(&ada, ".ad-from-contact .ad-text", "charged twice").await?;
    wait_for_text(&ada, ".ad-section[data-section=active] .ad-contact", "Visitor").await?;
    wait_for_text(&ada, ".ad-timers", "First response").await?;
    // At 1280 px the interaction id's "Copy" stays one word on one line.
    ada.set_window_size(1280, 800).await?;
    let copy_lines = ada
        .execute(
            "const range = document.createRange();
             range.selectNodeContents(document.querySelector('.ad-copy'));
             return range.getClientRects().length",
            vec![],
        )
        .await?;
    assert_eq!(copy_lines, serde_json::json!(1), "\"Copy\" wraps at 1280 px");
    ada.set_window_size(1366, 860).await?;
    // The tab shows Confab's icon: the page names one, and it is served (no favicon 404 in the console).
    let icon = ada
        .execute_async(
            "const done = arguments[0];
             const link = document.querySelector('link[rel=icon]');
             if (!link) { done('no icon link'); return; }
             fetch(link.href).then(r => done(r.status + ' ' + r.headers.get('content-type')), e => done(String(e)));",
            vec![],
        )
        .await?;
    assert!(icon.as_str().is_some_and(|i| i.starts_with("200 image/svg")), "the desktop's icon: {icon}");

    // A standard response, found by a word, goes into the reply; Enter sends it to the contact.
    click(&ada, ".ad-responses-toggle").await?;
    ada.find(Locator::Css(".ad-response-search")).await?.send_keys("refund").await?;
    wait_for_text(&ada, ".ad-response strong", "Refund on its way").await?;
    let found = ada.find_all(Locator::Css(".ad-response")).await?;
    assert_eq!(found.len(), 1, "only the matching response");
    found[0].click().await?;
    let reply = ada.find(Locator::Css(".ad-input")).await?;
    assert!(reply.prop("value").await?.unwrap_or_default().contains("issued a refund"));
    reply.send_keys(ENTER).await?;
    contact
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text.contains("issued a refund")))
        .await?;
    screenshot(&ada, &paths, "agent-2-conversation").await?;
    // The log's preview reads as the message does, without its formatting markers.
    contact.say("Great, *that* helps _a lot_").await?;
    wait_for_text(&ada, ".ad-section[data-section=active] .ad-preview", "Great, that helps a lot").await?;

    // Park: the chat moves to Parked with a red countdown (the limit is an hour); the contact's reply brings
    // it back, with a notice in the transcript.
    click(&ada, ".ad-park").await?;
    wait_for_text(&ada, ".ad-section[data-section=parked] .ad-contact", "Visitor").await?;
    wait_for_text(&ada, ".ad-phase", "Parked").await?;
    let countdown = ada.find(Locator::Css(".ad-section[data-section=parked] .ad-countdown")).await?;
    assert!(countdown.text().await?.contains(':'));
    screenshot(&ada, &paths, "agent-3-parked").await?;
    contact.say("Thanks! One more question about delivery.").await?;
    wait_for_text(&ada, ".ad-system", "The contact replied: the chat is back").await?;
    wait_for_text(&ada, ".ad-phase", "Active").await?;
    // A reload keeps the whole story: the edge replays the lifecycle's notices with the transcript.
    ada.refresh().await?;
    click(&ada, ".ad-section[data-section=active] .ad-card-item").await?;
    wait_for_text(&ada, ".ad-system", "You parked the chat until").await?;
    wait_for_text(&ada, ".ad-system", "The contact replied: the chat is back").await?;
    let notices = ada.find_all(Locator::Css(".ad-system")).await?.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ada.find_all(Locator::Css(".ad-system")).await?.len(), notices, "each notice once");

    // Transfer to Grace: she rejects, the chat stays with Ada; the second time she accepts.
    sign_in_ready(&grace, &edge, DEMO_AGENTS[1].0).await?;
    click(&ada, ".ad-transfer-open").await?;
    let grace_choice = ".ad-choice[data-target='agent:grace']";
    wait_enabled(&ada, grace_choice, true).await?;
    screenshot(&ada, &paths, "agent-4-transfer-dialog").await?;
    click(&ada, grace_choice).await?;
    wait_for_text(&ada, ".ad-pending", "Transfer to Grace Hopper pending").await?;
    wait_for_text(&grace, ".ad-offer .ad-transfer", "Transfer from Ada Lovelace").await?;
    // Grace opens the card: the whole transcript, before answering.
    click(&grace, ".ad-offer-open").await?;
    wait_for_text(&grace, ".ad-from-contact .ad-text", "charged twice").await?;
    wait_for_text(&grace, ".ad-from-agent .ad-text", "issued a refund").await?;
    // The receiver is asked to accept, and shown none of the sender's controls (its pending transfer and
    // Cancel, Park, End): both come from the same view of the chat, so once one shows, so would the other.
    wait_for_text(&grace, ".ad-blocked", "Accept the chat to write.").await?;
    assert!(grace.find_all(Locator::Css(".ad-pending")).await?.is_empty(), "no 'Transfer … pending' for her");
    for control in [".ad-park", ".ad-end", ".ad-transfer-open"] {
        let enabled = grace.find(Locator::Css(control)).await?.is_enabled().await?;
        assert!(!enabled, "the receiver's {control} is disabled before she accepts");
    }
    screenshot(&grace, &paths, "agent-5-transfer-offer-preview").await?;
    click(&grace, ".ad-offer .ad-reject").await?;
    wait_for_text(&ada, ".ad-notice", "Grace Hopper rejected the transfer; the chat stays with you.").await?;
    wait_for_absence(&ada, ".ad-pending").await?;
    wait_enabled(&ada, ".ad-input", true).await?;
    // Rejecting keeps Grace Ready: Ada tries again.
    click(&ada, ".ad-transfer-open").await?;
    wait_enabled(&ada, grace_choice, true).await?;
    click(&ada, grace_choice).await?;
    wait_for_text(&grace, ".ad-offer .ad-transfer", "Transfer from Ada Lovelace").await?;
    click(&grace, ".ad-offer .ad-accept").await?;
    wait_for_text(&ada, ".ad-notice", "Grace Hopper accepted the transfer").await?;
    wait_enabled(&ada, ".ad-input", false).await?;
    wait_for_text(&ada, ".ad-blocked", "Another agent has this chat.").await?;
    wait_for_absence(&ada, ".ad-section[data-section=active] .ad-card-item").await?;
    screenshot(&ada, &paths, "agent-6-after-transfer-sender").await?;
    wait_for_text(&grace, ".ad-section[data-section=active] .ad-contact", "Visitor").await?;
    wait_enabled(&grace, ".ad-input", true).await?;
    // The handover reads once in her transcript, as a sentence.
    wait_for_text(&grace, ".ad-system", "Ada Lovelace transferred the chat to you").await?;
    let mut handover_lines = Vec::new();
    for line in grace.find_all(Locator::Css(".ad-system")).await? {
        let text = line.text().await?;
        if text.contains("transferred the chat") || text.contains("accepted the transfer") {
            handover_lines.push(text);
        }
    }
    assert_eq!(handover_lines.len(), 1, "the handover, once: {handover_lines:?}");
    let grace_reply = grace.find(Locator::Css(".ad-input")).await?;
    grace_reply.send_keys("Hi, Grace here: delivery is on Friday.").await?;
    grace_reply.send_keys(ENTER).await?;
    let grace_said = |f: &ServerFrame| matches!(f, ServerFrame::Message { message } if message.text.contains("Grace here"));
    contact.expect(grace_said).await?;

    // Grace ends the chat: the transcript says how long it lasted; the wrap-up needs a code to complete.
    click(&grace, ".ad-end").await?;
    click(&grace, ".ad-end-confirm").await?;
    wait_for_text(&grace, ".ad-system", "You ended the chat · it lasted").await?;
    contact.expect(|f| matches!(f, ServerFrame::ChatEnded { by_contact: false, .. })).await?;
    wait_for_text(&grace, ".ad-wrap legend", "(required)").await?;
    wait_for_text(&grace, ".ad-section[data-section=wrap-up] .ad-contact", "Visitor").await?;
    wait_enabled(&grace, ".ad-complete", false).await?;
    wait_for_text(&grace, ".ad-hint", "Choose a disposition code").await?;
    screenshot(&grace, &paths, "agent-7-wrap-up").await?;
    click(&grace, ".ad-codes input[value=refund]").await?;
    grace.find(Locator::Css(".ad-notes textarea")).await?.send_keys("Double charge refunded.").await?;
    wait_enabled(&grace, ".ad-complete", true).await?;
    click(&grace, ".ad-complete").await?;
    wait_for_text(&grace, ".ad-system", "Wrap-up completed").await?;
    wait_for_absence(&grace, ".ad-wrap").await?;
    wait_for_absence(&grace, ".ad-section[data-section=wrap-up] .ad-card-item").await?;
    ada.close().await?;
    grace.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_history_search_and_a_follow_up_that_reaches_the_contact() -> Result<()> {
    let paths = Paths::new();
    let edge = edge_with_site("desktop-history", site())?;
    let driver = Chromedriver::start(&paths)?;
    let ada = browser(&driver, &paths, "ada").await?;
    ada.set_window_size(1366, 860).await?;
    sign_in_ready(&ada, &edge, DEMO_AGENTS[0].0).await?;
    let mut contact = contact_writes(&edge, "Is the celadon glaze food safe?").await?;
    click(&ada, ".ad-offer .ad-accept").await?;
    let reply = ada.wait().at_most(PATIENCE).for_element(Locator::Css(".ad-input")).await?;
    wait_enabled(&ada, ".ad-input", true).await?;
    reply.send_keys("Yes, all our glazes are food safe.").await?;
    reply.send_keys(ENTER).await?;
    contact
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text.contains("food safe.")))
        .await?;
    click(&ada, ".ad-end").await?;
    click(&ada, ".ad-end-confirm").await?;
    click(&ada, ".ad-codes input[value=info]").await?;
    wait_enabled(&ada, ".ad-complete", true).await?;
    click(&ada, ".ad-complete").await?;
    wait_for_absence(&ada, ".ad-wrap").await?;

    // Later: the contact's history, searched.
    click(&ada, ".ad-contacts-open").await?;
    click(&ada, ".ad-contact-item").await?;
    wait_for_text(&ada, ".ad-history-transcript", "celadon glaze").await?;
    ada.find(Locator::Css(".ad-history-search")).await?.send_keys("glaze").await?;
    wait_for_text(&ada, ".ad-hits mark", "glaze").await?;
    screenshot(&ada, &paths, "agent-8-history-search").await?;
    let search = ada.find(Locator::Css(".ad-history-search")).await?;
    search.clear().await?;
    search.send_keys(" ").await?;
    ada.wait().at_most(PATIENCE).for_element(Locator::Css(".ad-follow-up .ad-input")).await?;

    // A follow-up reopens the conversation: the contact gets it, and their answer is announced to Ada.
    let follow_up = ada.find(Locator::Css(".ad-follow-up .ad-input")).await?;
    follow_up.send_keys("Your celadon bowl is back in stock, by the way!").await?;
    follow_up.send_keys(ENTER).await?;
    contact
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text.contains("back in stock")))
        .await?;
    contact.say("Great, I'll order two.").await?;
    wait_for_text(&ada, ".ad-notice", "answered your follow-up").await?;
    screenshot(&ada, &paths, "agent-9-follow-up-answered").await?;
    ada.close().await?;
    Ok(())
}

/// A contact who starts a chat and writes its first message.
async fn contact_writes(edge: &confab_tests::Edge, text: &str) -> Result<Peer> {
    let chat = start_chat(edge, confab_tests::DEMO_SITE)?;
    let mut contact = Peer::connect(edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say(text).await?;
    Ok(contact)
}

async fn set_presence(agent: &Client, presence: &str) -> Result<()> {
    agent.find(Locator::Css("select[name=presence]")).await?.select_by_value(presence).await?;
    let shown = format!(".ad-presence-menu[data-presence={presence}]");
    agent.wait().at_most(PATIENCE).for_element(Locator::Css(&shown)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_auto_accept_capacity_and_the_wrap_timer() -> Result<()> {
    let paths = Paths::new();
    let mut site = site();
    site["agents"][0]["capacity"] = 1.into();
    site["agents"][1]["auto_accept"] = true.into();
    // A supervisor watches the queue (through the protocol) to know when the desk has routed a chat.
    let (email, name) = confab_tests::DEMO_SUPERVISOR;
    if let Some(agents) = site["agents"].as_array_mut() {
        agents.push(serde_json::json!({"id": "margaret", "name": name, "email": email,
            "password": confab_tests::DEMO_PASSWORD, "role": "supervisor"}));
    }
    site["rules"]["lifecycle"]["wrap"] = serde_json::json!({
        "codes": [{"code": "info", "label": "Information given"}], "required": false, "timeout_ms": 8000});
    let edge = edge_with_site("desktop-routing", site)?;
    let driver = Chromedriver::start(&paths)?;
    let ada = browser(&driver, &paths, "ada").await?;
    let grace = browser(&driver, &paths, "grace").await?;
    ada.set_window_size(1366, 860).await?;
    grace.set_window_size(1366, 860).await?;
    sign_in_ready(&ada, &edge, DEMO_AGENTS[0].0).await?;
    sign_in_ready(&grace, &edge, DEMO_AGENTS[1].0).await?;
    set_presence(&grace, "not_ready").await?;

    // Ada rejects; Grace, Ready again and auto-accepting, gets the chat opened for her, with no Reject.
    let _first = contact_writes(&edge, "Do you ship to Iceland?").await?;
    wait_for_text(&ada, ".ad-offer .ad-preview", "Iceland").await?;
    click(&ada, ".ad-offer .ad-reject").await?;
    wait_for_absence(&ada, ".ad-offer").await?;
    set_presence(&grace, "ready").await?;
    wait_for_text(&grace, ".ad-from-contact .ad-text", "Iceland").await?;
    wait_for_text(&grace, ".ad-section[data-section=active] .ad-contact", "Visitor").await?;
    assert!(grace.find_all(Locator::Css(".ad-reject")).await?.is_empty(), "auto-accept shows no Reject");
    set_presence(&grace, "not_ready").await?;

    // Ada's capacity is one chat: while she has one, the next waits.
    let _second = contact_writes(&edge, "Can I change my order?").await?;
    wait_for_text(&ada, ".ad-offer .ad-preview", "change my order").await?;
    click(&ada, ".ad-offer .ad-accept").await?;
    wait_for_text(&ada, ".ad-load", "1 / 1 chats").await?;
    let mut supervisor =
        support::DeskPeer::connect(&edge, &support::sign_in(&edge, confab_tests::DEMO_SUPERVISOR.0)?).await?;
    let _third = contact_writes(&edge, "Where is my parcel?").await?;
    // The desk has routed the third chat once the supervisor sees it waiting (an offered chat is not
    // waiting): it stays in the queue, and Ada's desktop shows no offer.
    supervisor
        .expect(|f| matches!(f, confab_protocol::frames::DeskFrame::Overview { overview } if overview.waiting.len() == 1))
        .await?;
    assert!(ada.find_all(Locator::Css(".ad-offer")).await?.is_empty(), "a full agent gets no offer");
    screenshot(&ada, &paths, "agent-10-at-capacity").await?;

    // Ending frees the slot (the wrap-up does not hold it): the waiting chat is offered. The wrap-up counts
    // down; Extend restarts it; at zero it closes by itself.
    click(&ada, ".ad-end").await?;
    click(&ada, ".ad-end-confirm").await?;
    wait_for_text(&ada, ".ad-offer .ad-preview", "parcel").await?;
    ada.wait().at_most(PATIENCE).for_element(Locator::Css(".ad-wrap .ad-countdown")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = ada.find(Locator::Css(".ad-wrap .ad-countdown")).await?.text().await?;
    click(&ada, ".ad-extend").await?;
    let started = std::time::Instant::now();
    loop {
        let after = ada.find(Locator::Css(".ad-wrap .ad-countdown")).await?.text().await?;
        if after > before {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < PATIENCE,
            "Extend did not restart the countdown ({before} → {after})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_text(&ada, ".ad-system", "Wrap-up closed by its timer").await?;
    wait_for_absence(&ada, ".ad-wrap").await?;
    ada.close().await?;
    grace.close().await?;
    Ok(())
}

/// The edge goes away under a Ready agent's desktop for longer than the reconnection backoff's longest wait
/// (30 s). Meanwhile the desktop shows the presence as unknown (no green "Ready" it cannot vouch for beside
/// "Connecting…"), and the menu cannot be used; once the edge is back, the desktop is too within seconds
/// (it asks the edge's health check every ~2 s during a long wait), with the presence the desk has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_long_outage_the_desktop_is_back_with_the_edge_and_never_shows_a_presence_it_cannot_know()
-> Result<()> {
    let paths = Paths::new();
    let driver = Chromedriver::start(&paths)?;
    let mut edge = edge_with_site("desktop-outage", site())?;
    let ada = browser(&driver, &paths, "ada").await?;
    sign_in_ready(&ada, &edge, DEMO_AGENTS[0].0).await?;
    let presence_shown = || async {
        let menu = ada.find(Locator::Css(".ad-presence-menu")).await?;
        let select = ada.find(Locator::Css("select[name=presence]")).await?;
        anyhow::Ok((menu.attr("data-presence").await?, select.is_enabled().await?))
    };
    assert_eq!(presence_shown().await?, (Some("ready".to_owned()), true));

    let options = edge.options.clone();
    edge.halt(Halt::Stop);
    wait_for_text(&ada, ".ad-presence", "Connecting…").await?;
    assert_eq!(presence_shown().await?, (Some("unknown".to_owned()), false), "while disconnected");
    let shown = ada.find(Locator::Css("select[name=presence]")).await?.prop("value").await?;
    assert_eq!(shown.as_deref(), Some("unknown"), "the menu says \"Presence unknown\"");
    screenshot(&ada, &paths, "agent-12-outage-presence-unknown").await?;
    // A long outage: by its end every retry waits 15-30 s.
    tokio::time::sleep(Duration::from_secs(35)).await;
    let _edge = confab_tests::Edge::start(&paths, options)?;
    wait_longer_for_text(&ada, ".ad-presence", "Connected", Duration::from_secs(10)).await?;
    let (presence, enabled) = presence_shown().await?;
    assert!(
        enabled && matches!(presence.as_deref(), Some("ready" | "not_ready" | "offline")),
        "back, the desktop shows the desk's presence: {presence:?}"
    );
    ada.close().await?;
    Ok(())
}

/// A long conversation opens on its newest page in the desktop too: after a reload the agent sees the newest
/// 200 messages and "Show earlier messages"; the earlier ones come in above, the button goes once all are
/// there, and what the agent was reading stays in view.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_opens_on_its_newest_page_and_shows_earlier_ones_on_request() -> Result<()> {
    let paths = Paths::new();
    let edge = edge_with_site("desktop-pages", site())?;
    let driver = Chromedriver::start(&paths)?;
    let ada = browser(&driver, &paths, "ada-pages").await?;
    ada.set_window_size(1366, 860).await?;
    sign_in_ready(&ada, &edge, DEMO_AGENTS[0].0).await?;
    let chat = start_chat(&edge, confab_tests::DEMO_SITE)?;
    let interaction = chat.interaction.to_string();
    let mut contact = Peer::connect(&edge, &interaction, None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say("Hello, a long story follows").await?;
    wait_for_text(&ada, ".ad-offer .ad-preview", "long story").await?;
    click(&ada, ".ad-offer .ad-accept").await?;
    wait_for_text(&ada, ".ad-from-contact .ad-text", "long story").await?;
    // Ada's replies, written from another of her sessions (agents are not rate-limited).
    let cookie = support::sign_in(&edge, DEMO_AGENTS[0].0)?;
    let mut writer = Peer::agent(&edge, &interaction, &cookie).await?;
    for n in 1..=230 {
        writer.say(&format!("reply {n}")).await?;
    }
    wait_longer_for_text(
        &ada,
        ".ad-transcript > li:last-child .ad-text",
        "reply 230",
        Duration::from_secs(60),
    )
    .await?;

    ada.refresh().await?;
    click(&ada, ".ad-section[data-section=active] .ad-card-item").await?;
    wait_for_text(&ada, ".ad-earlier-button", "Show earlier messages").await?;
    wait_for_text(&ada, ".ad-transcript > li:last-child .ad-text", "reply 230").await?;
    assert_eq!(ada.find_all(Locator::Css(".ad-transcript .ad-msg")).await?.len(), 200, "the newest page");
    ada.execute("document.querySelector('.ad-transcript').scrollTop = 0;", vec![]).await?;
    screenshot(&ada, &paths, "agent-pages-1-newest").await?;
    click(&ada, ".ad-earlier-button").await?;
    wait_for_text(&ada, ".ad-from-contact .ad-text", "long story").await?;
    wait_for_absence(&ada, ".ad-earlier-button").await?;
    assert_eq!(ada.find_all(Locator::Css(".ad-transcript .ad-msg")).await?.len(), 231);
    let in_view = ada
        .execute(
            "const list = document.querySelector('.ad-transcript').getBoundingClientRect();
             const line = [...document.querySelectorAll('.ad-msg .ad-text')].find(e => e.textContent === 'reply 31');
             const r = line.getBoundingClientRect(); return r.top >= list.top && r.bottom <= list.bottom;",
            vec![],
        )
        .await?;
    assert_eq!(in_view, serde_json::Value::Bool(true), "what Ada was reading stays in view");
    screenshot(&ada, &paths, "agent-pages-2-earlier").await?;
    Ok(())
}
