//! The interaction lifecycle end to end on a real workerd: two agents on their desk sockets and a contact,
//! all speaking the real protocol. The site uses short timers so that timeouts happen within the test.

mod support;

use anyhow::Result;
use confab_protocol::frames::{DeskClientFrame, DeskFrame, ErrorCode, ServerFrame};
use confab_protocol::ids::{AgentId, InteractionId};
use confab_protocol::lifecycle::{EndedBy, Event, Phase};
use confab_protocol::routing::{Presence, TransferOutcome, TransferTarget};
use confab_tests::{DEMO_AGENTS, DEMO_SITE, DEMO_SUPERVISOR, Edge, demo_site_with_staff};
use serde_json::json;
use std::time::Duration;
use support::{Peer, edge_with_site, ready_agent, start_chat};

/// The demo site with short timers and required or optional codes.
fn site(required_codes: bool) -> serde_json::Value {
    let mut site = demo_site_with_staff("http://127.0.0.1:9");
    site["rules"] = json!({
        "offer_timeout_ms": 1500,
        "lifecycle": {
            "park_limit_ms": 60000,
            "auto_park_after_ms": null,
            "wrap": {
                "codes": [{"code": "sale", "label": "Sale"}, {"code": "support", "label": "Support"}],
                "required": required_codes,
                "multiple": false,
                "timeout_ms": 1500
            }
        }
    });
    site
}

/// A contact who has started a chat and written `text`.
async fn contact_writes(edge: &Edge, text: &str) -> Result<(InteractionId, Peer)> {
    let (chat, contact, _) = contact_writes_keeping_token(edge, text).await?;
    Ok((chat, contact))
}

/// The same, also returning the contact token the widget keeps for the next visit.
async fn contact_writes_keeping_token(edge: &Edge, text: &str) -> Result<(InteractionId, Peer, String)> {
    let chat = start_chat(edge, DEMO_SITE)?;
    let mut contact = Peer::connect(edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say(text).await?;
    contact.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    // Like every ready socket, the sender receives its own stored message too.
    contact.expect(|f| matches!(f, ServerFrame::Message { .. })).await?;
    Ok((chat.interaction, contact, chat.contact_token))
}

/// An agent's conversation socket, after hello.
async fn open_as_agent(edge: &Edge, chat: InteractionId, cookie: &str) -> Result<Peer> {
    Peer::agent(edge, &chat.to_string(), cookie).await
}

/// The agent writes `reply`; returns every frame the contact was sent before it (and not taken yet). What an
/// agent did before writing reached the contact, if at all, before the reply: an empty list proves the
/// contact was told nothing of it.
async fn contact_frames_before_reply(
    contact: &mut Peer,
    agent: &mut Peer,
    reply: &str,
) -> Result<Vec<ServerFrame>> {
    agent.say(reply).await?;
    agent.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    let (before, _) = contact
        .frames_until(|f| matches!(f, ServerFrame::Message { message } if message.text == reply))
        .await?;
    Ok(before)
}

/// The texts of `frames`, which must all be messages: a contact shown anything else (an agent's event) fails.
fn message_texts(frames: &[ServerFrame]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| match f {
            ServerFrame::Message { message } => message.text.as_str(),
            other => panic!("the contact was sent more than messages: {other:?}"),
        })
        .collect()
}

fn ada() -> AgentId {
    AgentId("ada".into())
}

fn grace() -> AgentId {
    AgentId("grace".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_offer_goes_to_the_other_agent_and_a_silent_one_times_out_to_not_ready() -> Result<()> {
    let edge = edge_with_site("reject", site(false))?;
    let (_, mut desk_ada) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, _contact) = contact_writes(&edge, "Hello?").await?;
    desk_ada.offered(chat).await?;
    let (_, mut desk_grace) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    desk_ada.send(&DeskClientFrame::Reject { interaction: chat }).await?;
    desk_ada
        .expect(|f| matches!(f, DeskFrame::OfferWithdrawn { interaction, .. } if *interaction == chat))
        .await?;
    desk_grace.offered(chat).await?;
    // Grace does not answer: after the offer timeout the chat leaves her and she is set Not Ready.
    desk_grace
        .expect(|f| matches!(f, DeskFrame::OfferWithdrawn { interaction, .. } if *interaction == chat))
        .await?;
    desk_grace.expect(|f| matches!(f, DeskFrame::Presence { presence: Presence::NotReady })).await?;
    // A new round starts after the pause, and ada (Ready) gets it again.
    desk_ada.offered(chat).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_transfer_moves_the_chat_and_the_contact_sees_nothing() -> Result<()> {
    let edge = edge_with_site("transfer", site(false))?;
    let (ada_cookie, mut desk_ada) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact) = contact_writes(&edge, "I need billing").await?;
    desk_ada.offered(chat).await?;
    desk_ada.accept(chat).await?;
    let mut ada_chat = open_as_agent(&edge, chat, &ada_cookie).await?;
    ada_chat.say("Let me transfer you.").await?;
    ada_chat.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    contact
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text == "Let me transfer you."))
        .await?;

    let (grace_cookie, mut desk_grace) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    desk_ada
        .send(&DeskClientFrame::Transfer { interaction: chat, target: TransferTarget::Agent(grace()) })
        .await?;
    let offer = desk_grace.offered(chat).await?;
    assert!(matches!(
        offer,
        DeskFrame::Offer { kind: confab_protocol::routing::OfferKind::Transfer { .. }, .. }
    ));
    // The receiving agent sees the full transcript before accepting.
    let mut grace_chat = open_as_agent(&edge, chat, &grace_cookie).await?;
    grace_chat
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text == "I need billing"))
        .await?;
    desk_grace.accept(chat).await?;
    let ended = desk_ada.expect(|f| matches!(f, DeskFrame::TransferEnded { .. })).await?;
    assert!(matches!(ended, DeskFrame::TransferEnded { outcome: TransferOutcome::Accepted { .. }, .. }));

    // The sender can no longer write; the receiver can.
    ada_chat.say("still me").await?;
    let refused = ada_chat.expect(|f| matches!(f, ServerFrame::Error { .. })).await?;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::Unauthorized, .. }), "{refused:?}");
    grace_chat.say("Hi, Grace from billing here.").await?;
    grace_chat.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    // The contact received the new agent's message and nothing at all about the transfer.
    let next = contact.next().await?;
    assert!(
        matches!(&next, ServerFrame::Message { message } if message.text == "Hi, Grace from billing here."),
        "{next:?}"
    );
    contact.expect_silence(Duration::from_millis(500)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_transfer_leaves_the_chat_with_the_sender() -> Result<()> {
    let edge = edge_with_site("transfer-rejected", site(false))?;
    let (ada_cookie, mut desk_ada) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact) = contact_writes(&edge, "Hello").await?;
    desk_ada.offered(chat).await?;
    desk_ada.accept(chat).await?;
    let (_, mut desk_grace) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    desk_ada
        .send(&DeskClientFrame::Transfer { interaction: chat, target: TransferTarget::Agent(grace()) })
        .await?;
    desk_grace.offered(chat).await?;
    desk_grace.send(&DeskClientFrame::Reject { interaction: chat }).await?;
    let ended = desk_ada.expect(|f| matches!(f, DeskFrame::TransferEnded { .. })).await?;
    assert!(matches!(ended, DeskFrame::TransferEnded { outcome: TransferOutcome::Rejected { .. }, .. }));
    let mut ada_chat = open_as_agent(&edge, chat, &ada_cookie).await?;
    let before = contact_frames_before_reply(&mut contact, &mut ada_chat, "Still with you.").await?;
    assert!(before.is_empty(), "the contact was told of the rejected transfer: {before:?}");
    // Transfers to agents who are not Ready are refused with a clear error.
    desk_grace.send(&DeskClientFrame::SetPresence { presence: Presence::NotReady }).await?;
    desk_grace.expect(|f| matches!(f, DeskFrame::Presence { presence: Presence::NotReady })).await?;
    desk_ada
        .send(&DeskClientFrame::Transfer { interaction: chat, target: TransferTarget::Agent(grace()) })
        .await?;
    let refused = desk_ada.expect(|f| matches!(f, DeskFrame::Error { .. })).await?;
    assert!(matches!(refused, DeskFrame::Error { code: ErrorCode::TransferRefused, .. }), "{refused:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_reply_unparks_the_chat_back_to_its_agent() -> Result<()> {
    let edge = edge_with_site("park", site(false))?;
    let (cookie, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact) = contact_writes(&edge, "Question").await?;
    desk.offered(chat).await?;
    desk.accept(chat).await?;
    let mut agent = open_as_agent(&edge, chat, &cookie).await?;
    agent.send(&confab_protocol::frames::ClientFrame::Park).await?;
    let parked = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Parked { .. } })).await?;
    assert!(matches!(parked, ServerFrame::Event { event: Event::Parked { auto: false, .. } }));
    contact.say("Are you there?").await?;
    let unparked =
        agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Unparked { .. } })).await?;
    assert!(matches!(unparked, ServerFrame::Event { event: Event::Unparked { by_contact: true, .. } }));
    // The contact was sent its own message back (ack and echo), then the reply: nothing of the park.
    let before = contact_frames_before_reply(&mut contact, &mut agent, "Yes, back with you.").await?;
    let of_the_park: Vec<_> = before
        .iter()
        .filter(|f| match f {
            ServerFrame::Ack { .. } => false,
            ServerFrame::Message { message } => message.text != "Are you there?",
            _ => true,
        })
        .collect();
    assert!(of_the_park.is_empty(), "the contact was told of the park: {of_the_park:?}");
    assert_eq!(before.len(), 2, "its ack and its own message: {before:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_ends_the_chat_and_required_codes_block_complete() -> Result<()> {
    let edge = edge_with_site("wrap-required", site(true))?;
    let (cookie, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact) = contact_writes(&edge, "Thanks, that's all").await?;
    desk.offered(chat).await?;
    desk.accept(chat).await?;
    let mut agent = open_as_agent(&edge, chat, &cookie).await?;
    contact.send(&confab_protocol::frames::ClientFrame::End).await?;
    let ended = contact.expect(|f| matches!(f, ServerFrame::ChatEnded { .. })).await?;
    assert!(matches!(ended, ServerFrame::ChatEnded { by_contact: true, .. }));
    let event = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Ended { .. } })).await?;
    assert!(matches!(event, ServerFrame::Event { event: Event::Ended { by: EndedBy::Contact, .. } }));
    agent.expect(|f| matches!(f, ServerFrame::State { view } if view.phase == Phase::Wrap)).await?;
    use confab_protocol::frames::ClientFrame::{ChooseCode, Complete};
    agent.send(&Complete).await?;
    let refused = agent.expect(|f| matches!(f, ServerFrame::Error { .. })).await?;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::NotAllowedNow, .. }), "{refused:?}");
    agent.send(&ChooseCode { code: "support".into() }).await?;
    agent.send(&Complete).await?;
    let done = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Completed { .. } })).await?;
    let ServerFrame::Event { event: Event::Completed { record } } = done else { unreachable!() };
    assert_eq!(
        (record.codes, record.auto_closed, record.agent),
        (vec!["support".to_owned()], false, Some(ada()))
    );
    // The contact was told the chat ended, and nothing of the refused completion, the code or the record.
    let before =
        contact_frames_before_reply(&mut contact, &mut agent, "One more thing about your order.").await?;
    assert!(before.is_empty(), "the contact was told of the wrap-up: {before:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_wrap_closes_by_itself_and_an_agent_can_reactivate_the_chat() -> Result<()> {
    let edge = edge_with_site("wrap-timer", site(false))?;
    let (cookie, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact, token) = contact_writes_keeping_token(&edge, "Bye").await?;
    desk.offered(chat).await?;
    desk.accept(chat).await?;
    let mut agent = open_as_agent(&edge, chat, &cookie).await?;
    agent.send(&confab_protocol::frames::ClientFrame::Notes { text: "Said goodbye.".into() }).await?;
    agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::NotesChanged { .. } })).await?;
    agent.send(&confab_protocol::frames::ClientFrame::End).await?;
    // The contact is told the chat ended, and nothing of the notes before it.
    let (before, _) = contact.frames_until(|f| matches!(f, ServerFrame::ChatEnded { .. })).await?;
    assert!(before.is_empty(), "the contact was told of the notes: {before:?}");
    // The wrap timer (1.5 s) runs out: the progress is saved and the interaction closes.
    let done = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Completed { .. } })).await?;
    let ServerFrame::Event { event: Event::Completed { record } } = done else { unreachable!() };
    assert!(record.auto_closed);
    assert_eq!(record.notes, "Said goodbye.");
    drop(contact);

    // Days later, ada writes in the ended conversation (asynchronous chat)...
    agent.say("Your refund went through today.").await?;
    agent.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Reactivated { .. } })).await?;
    // ... and the contact, coming back with the token its widget kept, finds the whole thread with it.
    let mut back = Peer::connect(&edge, &chat.to_string(), None).await?;
    back.hello(Some(&token), None).await?;
    let (replayed, _) = back
        .frames_until(|f| matches!(f, ServerFrame::Message { message } if message.text == "Your refund went through today."))
        .await?;
    assert_eq!(message_texts(&replayed), ["Bye"], "the thread before the new reply, and none of the wrap-up");
    // When it answers, a new session starts and goes to ada first, who reactivated it.
    back.say("Great, thanks!").await?;
    desk.offered(chat).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_accept_assigns_at_once_and_capacity_limits_what_an_agent_gets() -> Result<()> {
    let mut setup = site(false);
    setup["agents"][0]["auto_accept"] = json!(true);
    setup["agents"][0]["capacity"] = json!(1);
    let edge = edge_with_site("auto-accept", setup)?;
    let (_, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (first, mut first_contact) = contact_writes(&edge, "first").await?;
    desk.expect(|f| matches!(f, DeskFrame::Assigned { interaction, .. } if *interaction == first)).await?;
    let mut supervisor =
        support::DeskPeer::connect(&edge, &support::sign_in(&edge, DEMO_SUPERVISOR.0)?).await?;
    let (second, _c2) = contact_writes(&edge, "second").await?;
    // The desk has routed the second chat once the supervisor sees it waiting: it stays in the queue, and
    // Ada, at capacity, was neither offered nor given it.
    supervisor
        .expect(|f| matches!(f, DeskFrame::Overview { overview } if overview.waiting.iter().any(|w| w.interaction == second)))
        .await?;
    desk.expect_none(Duration::from_millis(200), |f| {
        matches!(f, DeskFrame::Offer { interaction, .. } | DeskFrame::Assigned { interaction, .. } if *interaction == second)
    })
    .await?;
    // Her first chat ends and is wrapped up (1.5 s): the second is hers at once.
    first_contact.send(&confab_protocol::frames::ClientFrame::End).await?;
    desk.expect(|f| matches!(f, DeskFrame::Assigned { interaction, .. } if *interaction == second)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_chat_is_auto_parked_and_ends_when_the_park_limit_passes() -> Result<()> {
    let mut setup = site(false);
    setup["rules"]["lifecycle"]["auto_park_after_ms"] = json!(1000);
    setup["rules"]["lifecycle"]["park_limit_ms"] = json!(1500);
    let edge = edge_with_site("auto-park", setup)?;
    let (cookie, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (chat, mut contact) = contact_writes(&edge, "Can you check?").await?;
    desk.offered(chat).await?;
    desk.accept(chat).await?;
    let mut agent = open_as_agent(&edge, chat, &cookie).await?;
    // Answered: nothing from the contact is waiting, so inactivity parks the chat by itself...
    agent.say("Checked: all fine. Anything else?").await?;
    let parked = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Parked { .. } })).await?;
    assert!(matches!(parked, ServerFrame::Event { event: Event::Parked { auto: true, .. } }));
    // ... and with no reply before the park limit, it ends; the contact is told the chat ended.
    let ended = agent.expect(|f| matches!(f, ServerFrame::Event { event: Event::Ended { .. } })).await?;
    assert!(matches!(ended, ServerFrame::Event { event: Event::Ended { by: EndedBy::Timeout, .. } }));
    let (before, notice) = contact.frames_until(|f| matches!(f, ServerFrame::ChatEnded { .. })).await?;
    assert!(matches!(notice, ServerFrame::ChatEnded { by_contact: false, .. }));
    assert_eq!(message_texts(&before), ["Checked: all fine. Anything else?"], "nothing of the park");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_desktop_is_gone_is_offered_nothing_and_its_open_offer_moves_on_at_once() -> Result<()>
{
    // Offers wait two minutes for an answer: only taking the offer back at once gets it to Grace in time.
    let mut setup = site(false);
    setup["rules"]["offer_timeout_ms"] = json!(120_000);
    let edge = edge_with_site("desktop-gone", setup)?;
    let (_, mut ada_desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let (first, _first_contact) = contact_writes(&edge, "Anyone there?").await?;
    ada_desk.offered(first).await?;
    let (_, mut grace_desk) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    // Ada closes the browser while Ready and offered a chat: it goes to Grace now, and so does the next.
    drop(ada_desk);
    grace_desk.offered(first).await?;
    let (second, _second_contact) = contact_writes(&edge, "Hello?").await?;
    grace_desk.offered(second).await?;
    Ok(())
}
