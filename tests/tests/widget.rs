//! The customer widget in real headless Chromium, on a shop page of another origin, with an agent speaking
//! the protocol: Enter vs Shift+Enter, formatting, typing indicators and read receipts both ways, ending the
//! chat with a confirmation, the ended state surviving a reload, and writing again.

mod support;

use anyhow::Result;
use confab_protocol::frames::{ClientFrame, DeskFrame, Participant, ServerFrame};
use confab_protocol::lifecycle::{EndedBy, Event};
use confab_tests::DEMO_AGENTS;
use fantoccini::Locator;
use support::web::{ENTER, SHIFT, Shop, browser, open_widget, screenshot, wait_for_absence, wait_for_text};
use support::{PATIENCE, Peer, ready_agent};

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
    let mut agent = Peer::connect(edge, &interaction.to_string(), Some(&cookie)).await?;
    agent.hello(None, None).await?;

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
    // A photo is uploaded, sent, and previewed in the widget.
    picker.send_keys(&photo.display().to_string()).await?;
    let preview =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-mine .att-image img")).await?;
    let src = preview.attr("src").await?.unwrap_or_default();
    assert!(src.starts_with("/api/v1/files/"), "{src}");
    let offer = desk.expect(|f| matches!(f, DeskFrame::Offer { .. })).await?;
    let DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    let mut agent = Peer::connect(edge, &interaction.to_string(), Some(&cookie)).await?;
    agent.hello(None, None).await?;
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
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
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
    let mut agent = Peer::connect(edge, &interaction.to_string(), Some(&cookie)).await?;
    agent.hello(None, None).await?;

    // The customer closes the chat; the agent answers meanwhile: a badge, and the reply is not marked read.
    customer.enter_parent_frame().await?;
    customer.find(Locator::Css("[data-confab=launcher]")).await?.click().await?;
    agent.say("Yes, it is dishwasher safe.").await?;
    wait_for_text(&customer, "[data-confab=badge]", "1").await?;
    agent
        .expect_none(
            std::time::Duration::from_millis(500),
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
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(!customer.find(Locator::Css("[data-confab=badge]")).await?.is_displayed().await?);
    customer.close().await?;
    Ok(())
}
