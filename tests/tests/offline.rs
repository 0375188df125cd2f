//! The browser's network cut with Chromium's own offline emulation (the edge stays up), for the widget and
//! for the agent desktop: each says it is offline, keeps what its person writes, and when the network is
//! back delivers it once and in order and shows what arrived meanwhile.

mod support;

use anyhow::Result;
use confab_protocol::frames::{Author, ServerFrame};
use confab_tests::DEMO_AGENTS;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use std::time::Duration;
use support::web::{ENTER, Shop, browser, open_widget, sign_in_ready, wait_for_text, wait_longer_for_text};
use support::{Peer, ready_agent, start_chat};

/// chromedriver's network emulation (`POST /session/{id}/chromium/network_conditions`).
#[derive(Debug)]
struct NetworkConditions {
    offline: bool,
}

impl WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/chromium/network_conditions", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (ureq::http::Method, Option<String>) {
        let body = serde_json::json!({"network_conditions": {
            "offline": self.offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1}});
        (ureq::http::Method::POST, Some(body.to_string()))
    }
}

async fn set_offline(client: &Client, offline: bool) -> Result<()> {
    client.issue_cmd(NetworkConditions { offline }).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_rides_out_a_network_cut() -> Result<()> {
    let shop = Shop::start("offline-widget")?;
    let (ada, mut desk) = ready_agent(&shop.edge, DEMO_AGENTS[0].0).await?;
    let customer = browser(&shop.driver, &shop.paths, "customer").await?;
    open_widget(&customer, &shop.host_origin).await?;
    let input = customer.find(Locator::Css(".cw-input")).await?;
    input.send_keys(&format!("Is the celadon bowl in stock?{ENTER}")).await?;
    wait_for_text(&customer, ".cw-mine[data-pending=false]", "celadon").await?;
    let offer = desk.expect(|f| matches!(f, confab_protocol::frames::DeskFrame::Offer { .. })).await?;
    let confab_protocol::frames::DeskFrame::Offer { interaction, .. } = offer else { unreachable!() };
    desk.accept(interaction).await?;
    let mut agent = Peer::agent(&shop.edge, &interaction.to_string(), &ada).await?;

    // The network goes: the widget says so; what the customer writes waits as "Sending…".
    set_offline(&customer, true).await?;
    wait_longer_for_text(&customer, ".cw-link[data-link=offline]", "Offline", Duration::from_secs(30))
        .await?;
    let waiting = ["Two of them, please.", "And a vase."];
    for text in waiting {
        input.send_keys(&format!("{text}{ENTER}")).await?;
    }
    wait_for_text(&customer, ".cw-mine[data-pending=true]", waiting[1]).await?;
    agent.say("Checking the shelf now.").await?;

    // Back online: both go out, in order, once; the reply written meanwhile shows.
    set_offline(&customer, false).await?;
    wait_longer_for_text(&customer, ".cw-link", "Online", Duration::from_secs(30)).await?;
    wait_longer_for_text(&customer, ".cw-theirs", "Checking the shelf", Duration::from_secs(10)).await?;
    wait_longer_for_text(&customer, ".cw-mine[data-pending=false]", waiting[1], Duration::from_secs(10))
        .await?;
    let mut received = Vec::new();
    while received.len() < 2 {
        if let ServerFrame::Message { message } = agent.next().await?
            && message.author == Author::Contact
        {
            received.push(message.text);
        }
    }
    assert_eq!(received, waiting);
    assert_eq!(customer.find_all(Locator::Css(".cw-mine")).await?.len(), 3, "no message doubled");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_desktop_rides_out_a_network_cut() -> Result<()> {
    let shop = Shop::start("offline-desktop")?;
    let ada = browser(&shop.driver, &shop.paths, "ada").await?;
    ada.set_window_size(1366, 860).await?;
    sign_in_ready(&ada, &shop.edge, DEMO_AGENTS[0].0).await?;
    let chat = start_chat(&shop.edge, confab_tests::DEMO_SITE)?;
    let mut contact = Peer::connect(&shop.edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say("My order never came.").await?;
    ada.wait()
        .at_most(support::PATIENCE)
        .for_element(Locator::Css(".ad-offer .ad-accept"))
        .await?
        .click()
        .await?;
    wait_for_text(&ada, ".ad-from-contact .ad-text", "never came").await?;

    // A short cut (well inside the desk's grace period): the desktop says it is reconnecting; the agent's
    // reply waits; the contact's new message arrives when the network is back.
    set_offline(&ada, true).await?;
    wait_longer_for_text(&ada, ".ad-presence", "Connecting", Duration::from_secs(30)).await?;
    let reply = ada.find(Locator::Css(".ad-input")).await?;
    reply.send_keys(&format!("Let me look it up.{ENTER}")).await?;
    contact.say("Order 5521.").await?;
    set_offline(&ada, false).await?;
    wait_longer_for_text(&ada, ".ad-presence", "Connected", Duration::from_secs(30)).await?;
    wait_longer_for_text(&ada, ".ad-from-contact .ad-text", "Order 5521", Duration::from_secs(15)).await?;
    let from_agent = contact
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.author != Author::Contact))
        .await?;
    assert!(matches!(from_agent, ServerFrame::Message { message } if message.text == "Let me look it up."));
    contact
        .expect_none(
            Duration::from_millis(800),
            |f| matches!(f, ServerFrame::Message { message } if message.author != Author::Contact),
        )
        .await?;
    // Still Ready, still holding the chat: the cut was shorter than the grace period.
    ada.wait()
        .at_most(support::PATIENCE)
        .for_element(Locator::Css(".ad-presence-menu[data-presence=ready]"))
        .await?;
    Ok(())
}
