//! The customer widget in real headless Chromium, on a shop page of another origin, with an agent speaking
//! the protocol: Enter vs Shift+Enter, formatting, typing indicators and read receipts both ways, ending the
//! chat with a confirmation, the ended state surviving a reload, and writing again; files; the unread badge;
//! a transfer the customer never notices; an outbox that waits out an outage; two tabs in step.

mod support;

use anyhow::Result;
use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, Participant, ServerFrame};
use confab_protocol::ids::{AgentId, InteractionId};
use confab_protocol::lifecycle::{EndedBy, Event};
use confab_protocol::routing::TransferTarget;
use confab_tests::{DEMO_AGENTS, Halt};
use fantoccini::Locator;
use std::time::Duration;
use support::web::{
    ENTER, SHIFT, Shop, browser, open_widget, screenshot, wait_for_absence, wait_for_script, wait_for_text,
    wait_longer_for_text,
};
use support::{PATIENCE, Peer, ready_agent};

fn grace() -> AgentId {
    AgentId("grace".into())
}

/// Releases held modifier keys in a WebDriver key sequence.
const RELEASE: &str = "\u{E000}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_formats_shows_typing_and_receipts_and_ends_clearly() -> Result<()> {
    let shop = Shop::start("widget")?;
    let (paths, host_origin, edge, driver) = (&shop.paths, &shop.host_origin, &shop.edge, &shop.driver);
    let (cookie, mut desk) = ready_agent(edge, DEMO_AGENTS[0].0).await?;

    let customer = browser(driver, paths, "customer").await?;
    open_widget(&customer, host_origin).await?;
    let input = customer.find(Locator::Css(".cw-input")).await?;
    // Shift+Enter is a new line inside the same message; Enter sends.
    input.send_keys(&format!("Two questions:{SHIFT}{ENTER}{RELEASE}sizes and delivery?")).await?;
    input.send_keys(ENTER).await?;
    let sent =
        wait_for_text(&customer, ".cw-mine[data-pending=false] .cw-text", "sizes and delivery?").await?;
    assert_eq!(sent, "Two questions:\nsizes and delivery?");
    assert_eq!(customer.find_all(Locator::Css(".cw-mine")).await?.len(), 1, "one message, not two");

    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    let mut agent = Peer::agent(edge, &interaction.to_string(), &cookie).await?;

    // The agent types: the customer sees who.
    agent.send(&ClientFrame::Typing { on: true }).await?;
    wait_for_text(&customer, ".cw-typing", "Ada Lovelace is typing").await?;
    // The reply arrives formatted; the indicator goes; the customer's widget reports it read.
    agent.say("Sizes S to XL. Your order is *shipped* and _on its way_.").await?;
    agent.send(&ClientFrame::Typing { on: false }).await?;
    wait_for_text(&customer, ".cw-theirs strong", "shipped").await?;
    wait_for_text(&customer, ".cw-theirs em", "on its way").await?;
    wait_for_absence(&customer, ".cw-typing").await?;
    let read = agent.expect(|f| matches!(f, ServerFrame::Read { who: Participant::Contact, .. })).await?;
    assert!(matches!(read, ServerFrame::Read { seq: 2, .. }), "{read:?}");
    // The agent reads the customer's message: it shows as Seen.
    wait_for_text(&customer, ".cw-mine .cw-status", "Sent").await?;
    agent.send(&ClientFrame::Read { seq: 1 }).await?;
    wait_for_text(&customer, ".cw-mine .cw-status", "Seen").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "widget-1-formatted-and-seen").await?;

    // Ending asks first; the agent sees who ended it; the customer sees a clear ended state.
    customer.enter_frame(0).await?;
    customer.find(Locator::Css(".cw-end")).await?.click().await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-confirm")).await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "widget-2-confirm-end").await?;
    customer.enter_frame(0).await?;
    customer.find(Locator::Css(".cw-confirm-end")).await?.click().await?;
    let ended = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Ended { .. } })).await?;
    assert!(matches!(ended, ServerFrame::Event { event: Event::Ended { by: EndedBy::Contact, .. } }));
    wait_for_text(&customer, ".cw-ended", "You ended the chat.").await?;
    wait_for_absence(&customer, ".cw-end").await?;

    // After a reload the conversation and its ended state are still there.
    customer.refresh().await?;
    open_widget(&customer, host_origin).await?;
    wait_for_text(&customer, ".cw-theirs", "Sizes S to XL").await?;
    wait_for_text(&customer, ".cw-ended", "You ended the chat.").await?;
    wait_for_text(&customer, ".cw-mine .cw-status", "Seen").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "widget-3-ended-after-reload").await?;

    // Writing again starts a new session in the same thread: it is offered to the agent again.
    customer.enter_frame(0).await?;
    let input = customer.find(Locator::Css(".cw-input")).await?;
    input.send_keys("One more thing!").await?;
    input.send_keys(ENTER).await?;
    wait_for_absence(&customer, ".cw-ended").await?;
    desk.offered(interaction).await?;
    customer.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_sends_a_photo_that_both_sides_see_and_a_refused_file_is_explained() -> Result<()> {
    let shop = Shop::start("widget-files")?;
    let (paths, host_origin, edge, driver) = (&shop.paths, &shop.host_origin, &shop.edge, &shop.driver);
    let (cookie, mut desk) = ready_agent(edge, DEMO_AGENTS[0].0).await?;
    // Files on disk for the file picker.
    let dir = paths.scratch().join(format!("widget-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let photo = dir.join("mug.png");
    std::fs::copy(paths.root.join("tests/fixtures/mug.png"), &photo)?;
    let program = dir.join("setup.exe");
    std::fs::write(&program, b"MZ\x90\0")?;

    let customer = browser(driver, paths, "customer").await?;
    open_widget(&customer, host_origin).await?;
    let picker = customer.find(Locator::Css(".cw-file")).await?;
    // A type that is not allowed is explained before anything is uploaded.
    picker.send_keys(&program.display().to_string()).await?;
    wait_for_text(&customer, ".cw-notice", "setup.exe").await?;
    // So is a file over 100 MB (a real one, made in the page): nothing is uploaded.
    customer
        .execute(
            "const file = new File([new Uint8Array(101 * 1024 * 1024)], 'catalogue.pdf', {type: 'application/pdf'});
             const files = new DataTransfer(); files.items.add(file);
             const picker = document.querySelector('.cw-file');
             picker.files = files.files;
             picker.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await?;
    let notice = wait_for_text(&customer, ".cw-notice", "catalogue.pdf").await?;
    assert!(notice.contains("too large"), "{notice}");
    assert!(customer.find_all(Locator::Css(".cw-upload, .cw-mine")).await?.is_empty(), "nothing was sent");
    // A photo is uploaded, sent, and previewed in the widget.
    picker.send_keys(&photo.display().to_string()).await?;
    let preview =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-mine .att-image img")).await?;
    let src = preview.attr("src").await?.unwrap_or_default();
    assert!(src.starts_with("/api/v1/files/"), "{src}");
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    let mut agent = Peer::agent(edge, &interaction.to_string(), &cookie).await?;
    let message = agent.expect(|f| matches!(f, ServerFrame::Message { .. })).await?;
    let ServerFrame::Message { message } = message else { unreachable!() };
    assert_eq!(message.attachments.len(), 1);
    assert_eq!(message.attachments[0].name, "mug.png");
    assert_eq!(message.attachments[0].size, std::fs::metadata(&photo)?.len());
    // The image really loads: its decoded width is the photo's.
    let started = std::time::Instant::now();
    loop {
        let width = customer
            .execute("return document.querySelector('.cw-mine .att-image img').naturalWidth", vec![])
            .await?;
        if width.as_u64() == Some(96) {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the preview never loaded (width {width})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "widget-4-photo-sent").await?;
    customer.close().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_while_the_chat_is_closed_shows_as_an_unread_badge_even_after_a_reload() -> Result<()> {
    let shop = Shop::start("widget-unread")?;
    let (paths, host_origin, edge, driver) = (&shop.paths, &shop.host_origin, &shop.edge, &shop.driver);
    let (cookie, mut desk) = ready_agent(edge, DEMO_AGENTS[0].0).await?;

    let customer = browser(driver, paths, "customer").await?;
    open_widget(&customer, host_origin).await?;
    let input = customer.find(Locator::Css(".cw-input")).await?;
    input.send_keys("Is the celadon bowl dishwasher safe?").await?;
    input.send_keys(ENTER).await?;
    wait_for_text(&customer, ".cw-mine[data-pending=false] .cw-text", "dishwasher").await?;
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    let mut agent = Peer::agent(edge, &interaction.to_string(), &cookie).await?;

    // The customer closes the chat; the agent answers meanwhile: a badge, and the reply is not marked read.
    customer.enter_parent_frame().await?;
    customer.find(Locator::Css("[data-confab=launcher]")).await?.click().await?;
    agent.say("Yes, it is dishwasher safe.").await?;
    wait_for_text(&customer, "[data-confab=badge]", "1").await?;
    agent
        .expect_none(
            Duration::from_millis(500),
            |f| matches!(f, ServerFrame::Read { who: Participant::Contact, seq } if *seq >= 2),
        )
        .await?;

    // Days later (a reload): the badge is there before the chat is opened.
    customer.refresh().await?;
    wait_for_text(&customer, "[data-confab=badge]", "1").await?;
    screenshot(&customer, paths, "widget-5-unread-badge").await?;
    // Opening shows the reply, clears the badge, and only now is the reply read.
    customer.find(Locator::Css("[data-confab=launcher]")).await?.click().await?;
    let frame = customer.find(Locator::Css("iframe[data-confab=frame]")).await?;
    frame.enter_frame().await?;
    wait_for_text(&customer, ".cw-theirs", "dishwasher safe").await?;
    let read = agent.expect(|f| matches!(f, ServerFrame::Read { who: Participant::Contact, .. })).await?;
    assert!(matches!(read, ServerFrame::Read { seq: 2, .. }), "{read:?}");
    customer.enter_parent_frame().await?;
    assert!(!customer.find(Locator::Css("[data-confab=badge]")).await?.is_displayed().await?);
    // Read now: the next visit shows no badge.
    customer.refresh().await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css("[data-confab=launcher]")).await?;
    // Once the loader has its answer to "are replies waiting?", it shows no badge (and preloads no frame).
    wait_for_script(
        &customer,
        "return performance.getEntriesByType('resource')\
           .some(e => e.name.endsWith('/contact') && e.responseEnd > 0)",
    )
    .await?;
    assert!(!customer.find(Locator::Css("[data-confab=badge]")).await?.is_displayed().await?);
    assert!(customer.find_all(Locator::Css("iframe[data-confab=frame]")).await?.is_empty());
    customer.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_customer_is_told_only_of_the_replies_since_they_last_read() -> Result<()> {
    let shop = Shop::start("widget-unread-since")?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    let (_, mut ada, _desk) = customer_chat_with_ada(&shop, &customer, "Do you ship to Norway?").await?;
    // Ada answers twice while the customer watches: both read.
    for answer in ["Yes, we do.", "It takes 3-5 days."] {
        ada.say(answer).await?;
        wait_for_text(&customer, ".cw-theirs", answer).await?;
    }
    ada.expect(|f| matches!(f, ServerFrame::Read { who: Participant::Contact, seq: 3 })).await?;
    // The customer leaves the shop; Ada writes once more.
    customer.goto("about:blank").await?;
    ada.say("Your parcel left today.").await?;
    ada.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    // Back on the shop: one unread reply, and still one once the hidden chat has loaded everything.
    customer.goto(&shop.host_origin).await?;
    wait_for_text(&customer, "[data-confab=badge]", "1").await?;
    let frame =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css("iframe[data-confab=frame]")).await?;
    frame.enter_frame().await?;
    wait_for_script(
        &customer,
        "return [...document.querySelectorAll('.cw-theirs')].some(e => e.textContent.includes('left today'))",
    )
    .await?;
    customer.enter_parent_frame().await?;
    let badge = customer.find(Locator::Css("[data-confab=badge]")).await?.text().await?;
    let label = customer.find(Locator::Css("[data-confab=launcher]")).await?.attr("aria-label").await?;
    assert_eq!((badge.as_str(), label.as_deref()), ("1", Some("Open chat (1 unread)")));
    screenshot(&customer, &shop.paths, "widget-5b-unread-since-last-read").await?;
    customer.close().await?;
    Ok(())
}

/// The customer writes, Ada accepts: the conversation id and an agent link on it.
async fn customer_chat_with_ada(
    shop: &Shop,
    customer: &fantoccini::Client,
    first: &str,
) -> Result<(InteractionId, Peer, support::DeskPeer)> {
    let (cookie, mut desk) = ready_agent(&shop.edge, DEMO_AGENTS[0].0).await?;
    open_widget(customer, &shop.host_origin).await?;
    let input = customer.find(Locator::Css(".cw-input")).await?;
    input.send_keys(first).await?;
    input.send_keys(ENTER).await?;
    wait_for_text(customer, ".cw-mine[data-pending=false] .cw-text", first).await?;
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    let agent = Peer::agent(&shop.edge, &interaction.to_string(), &cookie).await?;
    Ok((interaction, agent, desk))
}

/// The transcript as the customer sees it: each line's text.
async fn transcript_lines(customer: &fantoccini::Client) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for line in customer.find_all(Locator::Css(".cw-list > li")).await? {
        lines.push(line.text().await?);
    }
    Ok(lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_while_the_customer_watches_leaves_no_trace() -> Result<()> {
    let shop = Shop::start("widget-transfer")?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    let (interaction, mut ada, mut desk_ada) =
        customer_chat_with_ada(&shop, &customer, "My invoice shows the wrong address.").await?;
    ada.say("Let me check that for you.").await?;
    wait_for_text(&customer, ".cw-theirs", "Let me check").await?;
    let before = transcript_lines(&customer).await?;

    // Ada hands the chat to Grace, who accepts; the customer's widget stays connected throughout.
    let (grace_cookie, mut desk_grace) = ready_agent(&shop.edge, DEMO_AGENTS[1].0).await?;
    desk_ada.send(&DeskClientFrame::Transfer { interaction, target: TransferTarget::Agent(grace()) }).await?;
    desk_grace.offered(interaction).await?;
    desk_grace.accept(interaction).await?;
    desk_ada.expect(|f| matches!(f, DeskFrame::TransferEnded { .. })).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(transcript_lines(&customer).await?, before, "nothing about the transfer shows");

    // The next reply simply comes from Grace.
    let mut grace = Peer::agent(&shop.edge, &interaction.to_string(), &grace_cookie).await?;
    grace.say("I've corrected the address on your invoice.").await?;
    wait_for_text(&customer, ".cw-theirs", "corrected the address").await?;
    let after = transcript_lines(&customer).await?;
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after.len(), before.len() + 1, "one new line, the reply: {after:?}");
    assert!(after.last().is_some_and(|l| l.starts_with("Grace Hopper")), "{after:?}");
    assert!(!after.join("\n").to_lowercase().contains("transfer"), "{after:?}");
    wait_for_text(&customer, ".cw-link", "Online").await?;
    customer.enter_parent_frame().await?;
    screenshot(&customer, &shop.paths, "widget-6-after-transfer").await?;
    customer.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_while_the_edge_restarts_are_sent_in_order_once_back() -> Result<()> {
    messages_written_while_the_edge_is_down_are_sent_in_order_once_back(Halt::Stop).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_written_while_the_edge_is_killed_are_sent_in_order_once_back() -> Result<()> {
    messages_written_while_the_edge_is_down_are_sent_in_order_once_back(Halt::Crash).await
}

/// The edge goes down (`how`) under an open widget and comes back on the same storage: what the customer
/// wrote meanwhile is kept, shown as not sent, then sent in order, once; what was there before stays.
async fn messages_written_while_the_edge_is_down_are_sent_in_order_once_back(how: Halt) -> Result<()> {
    let mut shop = Shop::start(&format!("widget-offline-{how:?}"))?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    let (interaction, mut ada, _desk) =
        customer_chat_with_ada(&shop, &customer, "Do you restock the ash vase?").await?;
    ada.say("Yes, next week.").await?;
    wait_for_text(&customer, ".cw-theirs", "next week").await?;

    // The edge goes away (a crash, a deploy, a lost connection): the widget says so, and what the customer
    // writes meanwhile waits, in order, marked as not sent yet.
    let waiting = ["Great, can you hold one for me?", "I'd pick it up on Friday."];
    let paths = shop.paths.clone();
    shop.restart_edge(how, || async {
        wait_longer_for_text(&customer, ".cw-link[data-link=offline]", "Offline", Duration::from_secs(30))
            .await?;
        let input = customer.find(Locator::Css(".cw-input")).await?;
        for text in waiting {
            input.send_keys(text).await?;
            input.send_keys(ENTER).await?;
        }
        wait_for_text(&customer, ".cw-mine[data-pending=true]", waiting[1]).await?;
        assert_eq!(customer.find_all(Locator::Css(".cw-mine[data-pending=true]")).await?.len(), 2);
        customer.enter_parent_frame().await?;
        screenshot(&customer, &paths, &format!("widget-7-offline-outbox-{how:?}")).await?;
        customer.enter_frame(0).await?;
        Ok(())
    })
    .await?;

    // Back: the widget reconnects by itself (backoff) and sends both, in order, once.
    wait_longer_for_text(&customer, ".cw-link", "Online", Duration::from_secs(60)).await?;
    wait_longer_for_text(&customer, ".cw-mine[data-pending=false]", waiting[1], Duration::from_secs(20))
        .await?;
    assert!(customer.find_all(Locator::Css(".cw-mine[data-pending=true]")).await?.is_empty());
    let mut ada = Peer::connect(
        &shop.edge,
        &interaction.to_string(),
        Some(&support::sign_in(&shop.edge, DEMO_AGENTS[0].0)?),
    )
    .await?;
    ada.hello(None, Some(2)).await?;
    let mut received = Vec::new();
    while received.len() < 2 {
        if let ServerFrame::Message { message } =
            ada.expect(|f| matches!(f, ServerFrame::Message { .. })).await?
        {
            received.push(message.text);
        }
    }
    assert_eq!(received, waiting);
    ada.expect_none(Duration::from_millis(500), |f| matches!(f, ServerFrame::Message { .. })).await?;
    assert_eq!(customer.find_all(Locator::Css(".cw-mine")).await?.len(), 3, "no message doubled");
    customer.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_of_the_shop_show_the_same_conversation() -> Result<()> {
    let shop = Shop::start("widget-tabs")?;
    let (cookie, mut desk) = ready_agent(&shop.edge, DEMO_AGENTS[0].0).await?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    // Two tabs with the chat open, before any conversation exists.
    open_widget(&customer, &shop.host_origin).await?;
    let first_tab = customer.window().await?;
    let second = customer.new_window(true).await?;
    customer.switch_to_window(second.handle).await?;
    open_widget(&customer, &shop.host_origin).await?;

    // The customer writes in the second tab: the first picks the conversation up without a reload.
    let input = customer.find(Locator::Css(".cw-input")).await?;
    input.send_keys("Hello from the second tab").await?;
    input.send_keys(ENTER).await?;
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    customer.switch_to_window(first_tab.clone()).await?;
    customer.enter_frame(0).await?;
    wait_for_text(&customer, ".cw-mine", "Hello from the second tab").await?;

    // A reply reaches both; ending in the first ends it in the second.
    let mut agent = Peer::agent(&shop.edge, &interaction.to_string(), &cookie).await?;
    agent.say("Hi! Both your tabs see this.").await?;
    wait_for_text(&customer, ".cw-theirs", "Both your tabs").await?;
    customer.find(Locator::Css(".cw-end")).await?.click().await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-confirm-end")).await?.click().await?;
    wait_for_text(&customer, ".cw-ended", "You ended the chat.").await?;
    let tabs = customer.windows().await?;
    let other = tabs.into_iter().find(|w| *w != first_tab).expect("the second tab");
    customer.switch_to_window(other).await?;
    customer.enter_frame(0).await?;
    wait_for_text(&customer, ".cw-theirs", "Both your tabs").await?;
    wait_for_text(&customer, ".cw-ended", "You ended the chat.").await?;
    assert_eq!(customer.find_all(Locator::Css(".cw-mine")).await?.len(), 1, "one message in each tab");
    customer.close().await?;
    Ok(())
}

/// Whether the newest line the customer sees is the agent's last reply (`null` until it is).
const NEWEST_IS_THE_LAST_REPLY: &str = "return [...document.querySelectorAll('.cw-theirs .cw-text')].pop()?.textContent === 'reply 230' || null;";

/// A long conversation opens on its newest page: a returning customer sees the newest 200 messages and
/// "Show earlier messages" where the greeting would be; the earlier ones come in above without moving what
/// the customer was reading, and once they are all there the button goes and the greeting is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_opens_on_its_newest_page_and_shows_earlier_ones_on_request() -> Result<()> {
    let shop = Shop::start("widget-pages")?;
    let customer = browser(&shop.driver, &shop.paths, "pages-customer").await?;
    let (_, mut agent, _desk) = customer_chat_with_ada(&shop, &customer, "Hi").await?;
    let mut last = None;
    for n in 1..=230 {
        last = Some(agent.say(&format!("reply {n}")).await?);
    }
    let last = last.expect("sent");
    agent.expect(|f| matches!(f, ServerFrame::Ack { client_id, .. } if *client_id == last)).await?;
    wait_for_script(&customer, NEWEST_IS_THE_LAST_REPLY).await?;

    // Back on another day: the newest page, and the way to the rest.
    open_widget(&customer, &shop.host_origin).await?;
    wait_for_text(&customer, ".cw-earlier-button", "Show earlier messages").await?;
    wait_for_script(&customer, NEWEST_IS_THE_LAST_REPLY).await?;
    let shown = customer.find_all(Locator::Css(".cw-msg")).await?.len();
    assert_eq!(shown, 200, "the newest page only");
    assert_eq!(customer.find(Locator::Css(".cw-msg .cw-text")).await?.text().await?, "reply 31");
    customer.execute("document.querySelector('.cw-list').scrollTop = 0;", vec![]).await?;
    screenshot(&customer, &shop.paths, "widget-pages-1-newest").await?;

    customer.find(Locator::Css(".cw-earlier-button")).await?.click().await?;
    wait_for_text(&customer, ".cw-mine .cw-text", "Hi").await?;
    wait_for_absence(&customer, ".cw-earlier-button").await?;
    assert_eq!(customer.find_all(Locator::Css(".cw-msg")).await?.len(), 231, "the whole conversation");
    // What the customer was reading (the oldest of the first page) is still in view, not the new top.
    let in_view = wait_for_script(
        &customer,
        "const list = document.querySelector('.cw-list').getBoundingClientRect(); \
         const line = [...document.querySelectorAll('.cw-msg .cw-text')].find(e => e.textContent === 'reply 31'); \
         const r = line.getBoundingClientRect(); return r.top >= list.top && r.bottom <= list.bottom;",
    )
    .await?;
    assert_eq!(in_view, serde_json::Value::Bool(true));
    wait_for_text(&customer, ".cw-greeting", "").await?;
    screenshot(&customer, &shop.paths, "widget-pages-2-earlier").await?;
    Ok(())
}
