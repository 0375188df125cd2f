//! The walking skeleton, as people use it: a customer on a shop page (another origin) writes in the widget,
//! an agent signs in to the agent desktop, sets itself Ready, accepts the offered chat, replies, and the
//! customer sees the reply.
//! Two real headless Chromium sessions against a real workerd. Screenshots go to target/screenshots/.

mod support;

use anyhow::Result;
use confab_tests::DEMO_AGENTS;
use fantoccini::Locator;
use support::PATIENCE;
use support::web::{ENTER, Shop, browser, screenshot, sign_in_ready, wait_for_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_message_reaches_the_agent_and_the_reply_comes_back() -> Result<()> {
    let shop = Shop::start("skeleton")?;
    let (paths, host_origin, edge, driver) = (&shop.paths, &shop.host_origin, &shop.edge, &shop.driver);

    // The customer opens the shop and the chat, and writes.
    let customer = browser(driver, paths, "customer").await?;
    customer.goto(host_origin).await?;
    let launcher =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css("[data-confab=launcher]")).await?;
    launcher.click().await?;
    let frame =
        customer.wait().at_most(PATIENCE).for_element(Locator::Css("iframe[data-confab=frame]")).await?;
    frame.enter_frame().await?;
    let input = customer.wait().at_most(PATIENCE).for_element(Locator::Css(".cw-input")).await?;
    input.send_keys("Hello, do you ship to Norway?").await?;
    input.send_keys(ENTER).await?;
    // Delivered: acknowledged by the edge, no longer marked as sending.
    wait_for_text(&customer, ".cw-mine[data-pending=false] .cw-text", "Hello, do you ship to Norway?")
        .await?;
    assert_eq!(input.prop("value").await?.as_deref(), Some(""), "Enter sends and clears the composer");
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "skeleton-1-customer-wrote").await?;

    // The agent signs in, finds the chat in the list and opens it.
    let agent = browser(driver, paths, "agent").await?;
    // Ready: the waiting chat is offered as a card; Accept opens it.
    sign_in_ready(&agent, edge, DEMO_AGENTS[0].0).await?;
    wait_for_text(&agent, ".ad-offer .ad-preview", "Hello, do you ship to Norway?").await?;
    screenshot(&agent, paths, "skeleton-2a-agent-offered").await?;
    agent.find(Locator::Css(".ad-offer .ad-accept")).await?.click().await?;
    wait_for_text(&agent, ".ad-from-contact .ad-text", "Hello, do you ship to Norway?").await?;

    // The agent replies with Enter.
    let reply = agent.find(Locator::Css(".ad-input")).await?;
    reply.send_keys("We do! Delivery to Norway takes 3-5 days.").await?;
    reply.send_keys(ENTER).await?;
    wait_for_text(&agent, ".ad-from-agent:not([data-pending]) .ad-text", "Delivery to Norway").await?;
    screenshot(&agent, paths, "skeleton-2-agent-replied").await?;

    // The customer sees the reply, with the agent's name.
    customer.enter_frame(0).await?;
    let seen = wait_for_text(&customer, ".cw-theirs", "Delivery to Norway takes 3-5 days.").await?;
    assert!(seen.contains("Ada Lovelace"), "the reply shows who wrote it: {seen:?}");
    customer.enter_parent_frame().await?;
    screenshot(&customer, paths, "skeleton-3-customer-got-reply").await?;

    // The desktop's tab has Confab's icon (the one its page names, and no 404 in the console for it).
    let icon = agent
        .execute("return document.querySelector('link[rel=icon]')?.href ?? ''", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(icon.starts_with(&shop.edge.origin()), "the desktop names its icon: {icon:?}");
    let answer = support::http_client().get(&icon).call()?;
    assert_eq!(answer.status().as_u16(), 200, "{icon}");
    let kind = answer.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(kind.starts_with("image/svg+xml"), "{icon} is an image: {kind}");

    customer.close().await?;
    agent.close().await?;
    Ok(())
}
