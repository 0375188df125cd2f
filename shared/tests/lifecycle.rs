//! One named scenario per rule of DESIGN.md's "interaction lifecycle", run in the deterministic simulation.
//! The seed documents each rule comes from are named in the comments.

mod sim;

use confab_protocol::ids::QueueId;
use confab_protocol::lifecycle::{ContactNotice, EndedBy, Event, LifecycleRules, Phase, Refusal, State};
use confab_protocol::routing::{
    AssignKind, DeskEffect, DeskRefusal, Presence, RoutingProfile, TransferOutcome, TransferTarget,
};
use sim::{ContactSaw, DeskNote, MINUTE, OFFER_TIMEOUT, World, agent};

fn is_active_with(world: &World, id: confab_protocol::ids::InteractionId, who: &str) -> bool {
    matches!(world.state(id), State::Active { agent, .. } if agent.0 == who)
}

// ----- routing: offers, accept, reject, auto-accept, capacity (Vonage "Accepting, rejecting"; ServiceNow) -----

#[test]
fn a_new_chat_is_offered_to_a_ready_agent_who_accepts_it() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = w.new_chat("Hello?");
    assert_eq!(w.offers_to(&ada), vec![chat]);
    assert!(matches!(w.state(chat), State::Offered { .. }));
    w.accept(&ada, chat).expect("offered to ada");
    assert!(is_active_with(&w, chat, "ada"));
    assert_eq!(w.conversations[&chat].lifecycle.phase(), Phase::Active);
}

#[test]
fn a_deactivated_agents_chats_and_offers_go_to_the_others() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let active = w.new_chat("first");
    w.accept(&ada, active).expect("offered to ada");
    w.presence(&ada, Presence::NotReady);
    let grace = w.ready_agent("grace", 1);
    // The admin deactivates Ada: her active chat goes to Grace, and Ada is gone from the desk.
    w.desk.remove_agent(&ada, w.now);
    w.pump();
    assert!(!w.desk.agents.contains_key(&ada));
    assert_eq!(w.offers_to(&grace), vec![active]);
    w.accept(&grace, active).expect("offered to grace");
    assert!(is_active_with(&w, active, "grace"));
}

#[test]
fn agents_who_are_not_ready_receive_no_offers_until_ready() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    w.presence(&ada, Presence::NotReady);
    let chat = w.new_chat("Hello?");
    assert!(w.offers_to(&ada).is_empty());
    assert!(matches!(w.state(chat), State::Queued { .. }));
    w.presence(&ada, Presence::Ready);
    assert_eq!(w.offers_to(&ada), vec![chat]);
}

#[test]
fn the_oldest_waiting_chat_is_offered_first() {
    let mut w = World::new();
    let first = w.new_chat("first");
    w.advance(1_000);
    let second = w.new_chat("second");
    let ada = w.ready_agent("ada", 1);
    assert_eq!(w.offers_to(&ada), vec![first]);
    w.accept(&ada, first).expect("offered");
    assert!(matches!(w.state(second), State::Queued { .. }), "capacity 1: the second waits");
}

#[test]
fn a_rejected_chat_goes_back_to_the_queue_and_to_the_next_agent_not_the_rejecter() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let grace = w.ready_agent("grace", 2);
    let chat = w.new_chat("Hello?");
    let first = if w.offers_to(&ada) == vec![chat] { ada.clone() } else { grace.clone() };
    let other = if first == ada { grace.clone() } else { ada.clone() };
    w.reject(&first, chat).expect("offered");
    assert_eq!(w.offers_to(&other), vec![chat]);
    assert!(w.offers_to(&first).is_empty());
    assert_eq!(w.load_of(&first), 0, "rejecting frees the reserved capacity");
}

#[test]
fn a_lone_agent_who_rejected_a_chat_is_offered_it_again_only_after_a_pause() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = w.new_chat("Hello?");
    w.reject(&ada, chat).expect("offered");
    assert!(w.offers_to(&ada).is_empty());
    w.advance(OFFER_TIMEOUT - 1);
    assert!(w.offers_to(&ada).is_empty());
    w.advance(1);
    assert_eq!(w.offers_to(&ada), vec![chat]);
}

#[test]
fn an_agent_going_ready_is_told_so_before_it_is_offered_the_waiting_chat() {
    let mut w = World::new();
    let chat = w.new_chat("Anyone there?");
    w.add_agent("ada", RoutingProfile { capacity: 1, ..RoutingProfile::default() });
    let ada = agent("ada");
    w.presence(&ada, Presence::Ready);
    // The desktop shows "Ready" first, then the offer: never an offer to an agent it still shows Not Ready.
    let ready =
        DeskNote::Other(DeskEffect::PresenceChanged { agent: ada.clone(), presence: Presence::Ready });
    let notes = &w.desk_notes[&ada];
    let told_ready = notes.iter().position(|n| *n == ready).expect("told it is Ready");
    let offered = notes
        .iter()
        .position(|n| matches!(n, DeskNote::Offer { interaction, .. } if *interaction == chat))
        .expect("offered the waiting chat");
    assert!(told_ready < offered, "{notes:?}");
}

#[test]
fn an_offer_that_times_out_goes_to_the_next_agent_and_the_silent_agent_becomes_not_ready() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = w.new_chat("Hello?");
    let grace = w.ready_agent("grace", 2);
    assert_eq!(w.offers_to(&ada), vec![chat]);
    w.advance(OFFER_TIMEOUT);
    assert_eq!(w.presence_of(&ada), Presence::NotReady);
    assert!(w.desk_notes[&ada].contains(&DeskNote::Other(DeskEffect::PresenceChanged {
        agent: ada.clone(),
        presence: Presence::NotReady
    })));
    assert_eq!(w.offers_to(&grace), vec![chat]);
}

#[test]
fn auto_accept_assigns_at_once_and_has_no_reject() {
    let mut w = World::new();
    w.add_agent("ada", RoutingProfile { capacity: 2, auto_accept: true, ..RoutingProfile::default() });
    let ada = agent("ada");
    w.presence(&ada, Presence::Ready);
    let chat = w.new_chat("Hello?");
    assert!(is_active_with(&w, chat, "ada"));
    assert!(
        w.conversations[&chat]
            .events
            .iter()
            .any(|e| matches!(e, Event::Assigned { how: AssignKind::AutoAccepted, .. }))
    );
    assert_eq!(w.reject(&ada, chat), Err(DeskRefusal::NoSuchOffer));
}

#[test]
fn an_agent_at_capacity_gets_no_more_offers_until_a_chat_frees_a_slot() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let a = w.new_chat("a");
    let b = w.new_chat("b");
    let c = w.new_chat("c");
    w.accept(&ada, a).expect("offered");
    w.accept(&ada, b).expect("offered");
    assert!(w.offers_to(&ada).is_empty());
    assert!(matches!(w.state(c), State::Queued { .. }));
    w.act(a, |i, now| i.end(EndedBy::Agent(agent("ada")), now)).expect("ada ends");
    assert_eq!(w.offers_to(&ada), vec![c], "ending frees capacity; wrap-up does not count");
}

#[test]
fn an_agent_handles_several_chats_at_once() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 3);
    let chats: Vec<_> = (0..3).map(|i| w.new_chat(&format!("chat {i}"))).collect();
    for chat in &chats {
        w.accept(&ada, *chat).expect("offered");
    }
    for chat in &chats {
        w.agent_says(&ada, *chat, "Hi!").expect("active");
    }
    assert!(chats.iter().all(|c| is_active_with(&w, *c, "ada")));
}

// ----- transfer (Vonage "Transferring chats"; DESIGN: the customer is never notified) -----

fn active_chat(w: &mut World, who: &sim::AgentIdAlias) -> confab_protocol::ids::InteractionId {
    let chat = w.new_chat("I need help with an invoice");
    w.accept(who, chat).expect("offered");
    w.agent_says(who, chat, "Let me look.").expect("active");
    chat
}

#[test]
fn an_accepted_transfer_moves_the_chat_and_the_sender_can_no_longer_write() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    let grace = w.ready_agent("grace", 1);
    w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())).expect("grace is ready");
    assert!(
        w.desk_notes[&grace]
            .contains(&DeskNote::Offer { interaction: chat, transfer_from: Some(ada.clone()) })
    );
    w.accept(&grace, chat).expect("offered");
    assert!(is_active_with(&w, chat, "grace"));
    assert!(w.desk_notes[&ada].contains(&DeskNote::Other(DeskEffect::TransferEnded {
        from: ada.clone(),
        interaction: chat,
        ticket: w.conversations[&chat].lifecycle.ticket,
        outcome: TransferOutcome::Accepted { by: grace.clone() }
    })));
    assert_eq!(w.agent_says(&ada, chat, "still me?"), Err(Refusal::NotYours));
    assert_eq!(w.load_of(&ada), 0, "the chat left the sender's log");
    w.agent_says(&grace, chat, "Hi, I'm Grace from billing.").expect("grace holds it");
}

#[test]
fn a_rejected_transfer_leaves_the_chat_with_the_sender() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    let grace = w.ready_agent("grace", 1);
    w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())).expect("grace is ready");
    w.reject(&grace, chat).expect("offered");
    assert!(is_active_with(&w, chat, "ada"));
    assert!(
        w.conversations[&chat]
            .events
            .iter()
            .any(|e| matches!(e, Event::TransferEnded { outcome: TransferOutcome::Rejected { .. }, .. }))
    );
    w.agent_says(&ada, chat, "Still with you.").expect("ada keeps it");
    assert_eq!(w.load_of(&grace), 0);
}

#[test]
fn refused_transfers_carry_the_transfer_refused_code() {
    use confab_protocol::frames::ErrorCode;
    for refusal in [DeskRefusal::TargetNotReady, DeskRefusal::TargetFull, DeskRefusal::TransferToSelf] {
        assert_eq!(refusal.code(), ErrorCode::TransferRefused, "{refusal:?}");
    }
    assert_eq!(DeskRefusal::NotYours.code(), ErrorCode::Unauthorized);
    assert_eq!(DeskRefusal::NoSuchOffer.code(), ErrorCode::NotAllowedNow);
}

#[test]
fn transfers_go_only_to_ready_agents_with_free_capacity() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    let grace = w.ready_agent("grace", 1);
    w.presence(&grace, Presence::NotReady);
    assert_eq!(
        w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())),
        Err(DeskRefusal::TargetNotReady)
    );
    w.presence(&grace, Presence::Ready);
    let busy = w.new_chat("another customer");
    w.accept(&grace, busy).expect("offered to grace");
    assert_eq!(w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())), Err(DeskRefusal::TargetFull));
    assert_eq!(w.transfer(&ada, chat, TransferTarget::Agent(ada.clone())), Err(DeskRefusal::TransferToSelf));
    assert_eq!(
        w.transfer(&grace, chat, TransferTarget::Queue(QueueId("billing".into()))),
        Err(DeskRefusal::NotYours)
    );
}

#[test]
fn a_transfer_to_a_queue_is_offered_to_its_agents_but_never_to_the_sender() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = active_chat(&mut w, &ada);
    w.transfer(&ada, chat, TransferTarget::Queue(QueueId("billing".into()))).expect("queue exists");
    assert!(w.offers_to(&ada).is_empty(), "not offered back to the sender");
    assert!(is_active_with(&w, chat, "ada"), "the sender keeps it while it waits");
    let grace = w.ready_agent("grace", 2);
    assert_eq!(w.offers_to(&grace), vec![chat]);
    w.accept(&grace, chat).expect("offered");
    assert!(is_active_with(&w, chat, "grace"));
}

#[test]
fn the_contact_sees_nothing_of_a_transfer() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    let before = w.conversations[&chat].contact_saw.clone();
    let grace = w.ready_agent("grace", 1);
    w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())).expect("ready");
    w.accept(&grace, chat).expect("offered");
    assert_eq!(
        w.conversations[&chat].contact_saw, before,
        "no frame reached the contact because of the transfer"
    );
    assert!(w.conversations[&chat].events.iter().any(|e| matches!(e, Event::TransferRequested { .. })));
}

// ----- park (Vonage "Parking and auto-parking") -----

#[test]
fn parking_frees_capacity_and_the_chat_ends_when_the_park_limit_passes() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&agent("ada"), now)).expect("active");
    let State::Parked { until, .. } = w.state(chat).clone() else { panic!("parked") };
    assert_eq!(until, w.now + 60 * MINUTE);
    assert_eq!(w.load_of(&ada), 0);
    let next = w.new_chat("another customer");
    assert_eq!(w.offers_to(&ada), vec![next], "parked chats do not count against capacity");
    w.advance(60 * MINUTE);
    assert!(matches!(w.state(chat), State::Ended { by: EndedBy::Timeout, .. }));
    assert_eq!(w.conversations[&chat].lifecycle.phase(), Phase::Wrap);
}

#[test]
fn the_park_countdown_turns_red_under_ten_minutes() {
    use confab_protocol::lifecycle::countdown;
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&agent("ada"), now)).expect("active");
    let State::Parked { until, .. } = w.state(chat).clone() else { panic!("parked") };
    assert!(!countdown(until, w.now + 50 * MINUTE).urgent);
    assert!(countdown(until, w.now + 50 * MINUTE + 1).urgent);
    assert_eq!(countdown(until, until + 5).remaining_ms, 0);
}

#[test]
fn the_wrap_countdown_turns_red_only_in_its_last_half_minute() {
    use confab_protocol::lifecycle::wrap_countdown;
    let until = 10 * MINUTE;
    assert!(!wrap_countdown(until, until - 2 * MINUTE).urgent, "2:00 left is not red");
    assert!(!wrap_countdown(until, until - 30_000).urgent);
    assert!(wrap_countdown(until, until - 29_999).urgent);
    assert_eq!(wrap_countdown(until, until + 1).remaining_ms, 0);
}

#[test]
fn a_contact_reply_unparks_the_chat_to_its_agent_who_is_notified() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&agent("ada"), now)).expect("active");
    w.advance(5 * MINUTE);
    w.contact_says(chat, "Sorry, I was away. Still there?");
    assert!(is_active_with(&w, chat, "ada"));
    assert!(
        w.conversations[&chat].events.iter().any(|e| matches!(e, Event::Unparked { by_contact: true, .. }))
    );
}

#[test]
fn a_contact_reply_goes_to_the_queue_when_the_parking_agent_has_no_room() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&agent("ada"), now)).expect("active");
    let other = w.new_chat("another customer");
    w.accept(&ada, other).expect("offered");
    let grace = w.ready_agent("grace", 1);
    w.contact_says(chat, "Hello again");
    assert!(w.conversations[&chat].events.iter().any(|e| matches!(e, Event::ReturnedToQueue { .. })));
    assert_eq!(w.offers_to(&grace), vec![chat], "the post-parking plan routes it to another agent");
}

/// Found by the slow-link property test: ada parks a chat and, before the desk hears of it, goes offline.
/// The desk requeues what it thinks ada holds and grace takes it; then the park's release arrives. The chat
/// stays parked with ada (a reply brings it back), and nobody is counted as holding it.
#[test]
fn parking_while_going_offline_leaves_the_chat_parked_however_the_messages_cross() {
    for grace_takes_it in [false, true] {
        let mut w = World::new();
        w.link_delay = 250;
        let ada = w.ready_agent("ada", 1);
        let grace = w.ready_agent("grace", 2);
        let chat = w.new_chat("hello");
        w.advance(1_000);
        w.accept(&ada, chat).expect("offered to ada, the first with room");
        w.advance(1_000);
        w.act(chat, |i, now| i.park(&ada, now)).expect("active with ada");
        w.presence(&ada, Presence::Offline);
        if grace_takes_it {
            assert_eq!(w.offers_to(&grace), vec![chat], "the desk has not heard of the park yet");
            w.accept(&grace, chat).expect("offered");
        }
        w.advance(1_000);
        assert!(
            matches!(w.state(chat), State::Parked { agent, reclaiming: false, .. } if *agent == ada),
            "grace took it: {grace_takes_it}; state {:?}",
            w.state(chat)
        );
        assert_eq!(w.load_of(&grace), 0, "grace is not counted as holding a parked chat");
        assert!(w.offers_to(&grace).is_empty());
        // The contact's reply: ada is offline, so the post-parking plan routes it to grace.
        w.contact_says(chat, "still there?");
        w.advance(1_000);
        assert_eq!(w.offers_to(&grace), vec![chat], "grace took it: {grace_takes_it}");
    }
}

#[test]
fn auto_park_after_inactivity_but_never_with_an_unanswered_contact() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = w.new_chat("Question?");
    w.accept(&ada, chat).expect("offered");
    w.advance(30 * MINUTE);
    assert!(is_active_with(&w, chat, "ada"), "the contact is waiting for an answer: no auto-park");
    w.agent_says(&ada, chat, "Answer. Anything else?").expect("active");
    w.advance(10 * MINUTE - 1);
    assert!(is_active_with(&w, chat, "ada"));
    w.advance(1);
    assert!(matches!(w.state(chat), State::Parked { .. }));
    assert!(w.conversations[&chat].events.iter().any(|e| matches!(e, Event::Parked { auto: true, .. })));
}

// ----- ending and wrap-up (Vonage "Ending", "Logging digital interactions") -----

#[test]
fn the_contact_ends_the_chat_and_the_agent_wraps_up_with_the_session_duration() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    let started =
        w.conversations[&chat].lifecycle.session.as_ref().map(|s| s.sla.started).unwrap_or_default();
    w.advance(7 * MINUTE);
    w.act(chat, |i, now| i.end(EndedBy::Contact, now)).expect("active");
    assert!(w.conversations[&chat].events.contains(&Event::Ended {
        by: EndedBy::Contact,
        at: w.now,
        duration_ms: w.now - started
    }));
    assert_eq!(w.conversations[&chat].lifecycle.phase(), Phase::Wrap);
    assert_eq!(
        w.conversations[&chat].contact_saw.last(),
        Some(&ContactSaw::Notice(ContactNotice::ChatEnded { by_contact: true, at: w.now }))
    );
}

#[test]
fn the_agent_ends_the_chat_and_the_contact_is_told() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    let grace = w.ready_agent("grace", 1);
    assert_eq!(w.act(chat, |i, now| i.end(EndedBy::Agent(grace.clone()), now)), Err(Refusal::NotYours));
    w.act(chat, |i, now| i.end(EndedBy::Agent(ada.clone()), now)).expect("ada holds it");
    assert_eq!(
        w.conversations[&chat].contact_saw.last(),
        Some(&ContactSaw::Notice(ContactNotice::ChatEnded { by_contact: false, at: w.now }))
    );
}

#[test]
fn required_disposition_codes_block_complete_until_one_is_chosen() {
    let mut rules = sim::rules();
    rules.wrap.required = true;
    let mut w = World::with_rules(rules);
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.end(EndedBy::Agent(agent("ada")), now)).expect("active");
    assert_eq!(w.conversations[&chat].lifecycle.deadline(), None, "required codes: no countdown");
    assert_eq!(w.act(chat, |i, now| i.complete(&agent("ada"), now)), Err(Refusal::DispositionRequired));
    assert_eq!(
        w.act(chat, |i, _| i.choose_code(&agent("ada"), "bogus")),
        Err(Refusal::UnknownCode("bogus".into()))
    );
    w.act(chat, |i, _| i.choose_code(&agent("ada"), "support")).expect("known code");
    w.act(chat, |i, now| i.complete(&agent("ada"), now)).expect("a code is chosen");
    let record = w.conversations[&chat].events.iter().find_map(|e| match e {
        Event::Completed { record } => Some(record.clone()),
        _ => None,
    });
    assert_eq!(record.map(|r| (r.codes, r.auto_closed)), Some((vec!["support".to_owned()], false)));
    assert_eq!(w.conversations[&chat].lifecycle.phase(), Phase::Completed);
}

#[test]
fn with_single_codes_only_the_last_choice_is_kept_and_with_multiple_all_are() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    // Codes can be chosen while the chat is still active.
    w.act(chat, |i, _| i.choose_code(&agent("ada"), "sale")).expect("known");
    w.act(chat, |i, _| i.choose_code(&agent("ada"), "support")).expect("known");
    assert_eq!(
        w.conversations[&chat].lifecycle.session.as_ref().map(|s| s.codes.clone()),
        Some(vec!["support".to_owned()])
    );

    let mut rules = sim::rules();
    rules.wrap.multiple = true;
    let mut w = World::with_rules(rules);
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, _| i.choose_code(&agent("ada"), "sale")).expect("known");
    w.act(chat, |i, _| i.choose_code(&agent("ada"), "support")).expect("known");
    assert_eq!(w.conversations[&chat].lifecycle.session.as_ref().map(|s| s.codes.len()), Some(2));
}

#[test]
fn optional_codes_run_a_wrap_countdown_that_extend_resets_and_zero_saves_progress() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.end(EndedBy::Agent(agent("ada")), now)).expect("active");
    w.act(chat, |i, _| i.write_notes(&agent("ada"), "Asked about invoice 1142.")).expect("wrapping");
    let shown = w.conversations[&chat].lifecycle.codes_and_notes().1.to_owned();
    assert_eq!(shown, "Asked about invoice 1142.", "the desktop shows the wrap-up's notes");
    let status = w.conversations[&chat].lifecycle.log_status();
    assert_eq!((status.phase, status.agent), (Phase::Wrap, Some(agent("ada"))), "in Ada's log, as wrap-up");
    assert_eq!(status.until, Some(w.now + 2 * MINUTE), "counting down to the automatic close");
    w.advance(90_000);
    w.act(chat, |i, now| i.extend_wrap(&agent("ada"), now)).expect("wrapping");
    w.advance(2 * MINUTE - 1);
    assert_eq!(w.conversations[&chat].lifecycle.phase(), Phase::Wrap, "extended: not closed yet");
    w.advance(1);
    let record = w.conversations[&chat].events.iter().find_map(|e| match e {
        Event::Completed { record } => Some(record.clone()),
        _ => None,
    });
    let record = record.expect("closed by the timer");
    assert!(record.auto_closed);
    assert_eq!(record.notes, "Asked about invoice 1142.", "progress is saved");
}

#[test]
fn an_agent_receives_new_chats_while_wrapping_up() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.end(EndedBy::Contact, now)).expect("active");
    let next = w.new_chat("next customer");
    assert_eq!(w.offers_to(&ada), vec![next]);
}

// ----- asynchronous chat (Genesys "Asynchronous Chat") -----

#[test]
fn an_agent_reactivates_an_ended_chat_and_the_contacts_answer_goes_to_that_agent() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let grace = w.ready_agent("grace", 2);
    let chat = w.new_chat("Can you check my order?");
    let first = w.offers_to(&ada).contains(&chat);
    let (handler, other) = if first { (ada.clone(), grace.clone()) } else { (grace.clone(), ada.clone()) };
    w.accept(&handler, chat).expect("offered");
    w.act(chat, |i, now| i.end(EndedBy::Contact, now)).expect("active");
    w.act(chat, |i, now| i.complete(&handler, now)).expect("optional codes");
    w.advance(24 * 60 * MINUTE);
    // The *other* agent finds the contact in history and writes: that reactivates the conversation.
    w.agent_says(&other, chat, "Your order shipped today!").expect("ended conversations can be reactivated");
    assert!(w.conversations[&chat].events.iter().any(|e| matches!(e, Event::Reactivated { .. })));
    assert_eq!(
        w.conversations[&chat].contact_saw.last(),
        Some(&ContactSaw::Message { from_agent: true, text: "Your order shipped today!".into() })
    );
    w.contact_says(chat, "Thanks!");
    assert!(
        w.conversations[&chat]
            .events
            .iter()
            .any(|e| matches!(e, Event::ReactivationAnswered { agent, .. } if *agent == other))
    );
    assert_eq!(w.offers_to(&other), vec![chat], "routed to the agent who reactivated it first");
    assert_eq!(w.conversations[&chat].lifecycle.session.as_ref().map(|s| s.number), Some(2));
}

#[test]
fn a_contact_who_comes_back_and_writes_again_starts_a_new_session_in_the_same_thread() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.end(EndedBy::Contact, now)).expect("active");
    w.advance(3 * 24 * 60 * MINUTE);
    w.contact_says(chat, "Me again, about the same invoice.");
    assert_eq!(w.offers_to(&ada), vec![chat]);
    assert_eq!(w.conversations[&chat].transcript.len(), 3, "the thread keeps every message");
}

// ----- SLA timers (Voiso "Service Level timers") -----

#[test]
fn sla_timers_measure_first_response_reply_and_resolution() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = w.new_chat("Hi");
    w.advance(20_000);
    w.accept(&ada, chat).expect("offered");
    w.advance(40_000);
    let sla = |w: &World| w.conversations[&chat].lifecycle.session.clone().map(|s| s.sla).unwrap_or_default();
    assert_eq!(sla(&w).time_to_first_response(w.now), 60_000, "running while unanswered");
    assert_eq!(sla(&w).time_to_reply(w.now), Some(60_000));
    w.agent_says(&ada, chat, "Hello!").expect("active");
    w.advance(5_000);
    assert_eq!(sla(&w).time_to_first_response(w.now), 60_000, "fixed once answered");
    assert_eq!(sla(&w).time_to_reply(w.now), None);
    w.contact_says(chat, "One more thing");
    w.advance(3_000);
    w.contact_says(chat, "and another");
    w.advance(2_000);
    assert_eq!(sla(&w).time_to_reply(w.now), Some(5_000), "since the oldest unanswered message");
    w.act(chat, |i, now| i.end(EndedBy::Contact, now)).expect("active");
    let resolved = sla(&w).time_to_resolution(w.now);
    w.advance(MINUTE);
    assert_eq!(sla(&w).time_to_resolution(w.now), resolved, "fixed at the end");
}

// ----- presence -----

#[test]
fn an_agent_going_offline_returns_its_chats_and_offers_to_the_queue() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = active_chat(&mut w, &ada);
    let offered = w.new_chat("waiting");
    assert_eq!(w.offers_to(&ada), vec![offered]);
    let grace = w.ready_agent("grace", 2);
    w.presence(&ada, Presence::Offline);
    assert_eq!(w.load_of(&ada), 0);
    let mut to_grace = w.offers_to(&grace);
    to_grace.sort();
    let mut expected = vec![chat, offered];
    expected.sort();
    assert_eq!(to_grace, expected);
}

#[test]
fn an_agent_whose_desktop_vanishes_goes_offline_after_the_grace_period_but_not_after_a_reload() {
    use confab_protocol::routing::DISCONNECT_GRACE_MS;
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    // A reload: back within the grace period, nothing changes.
    let now = w.now;
    w.desk.agent_disconnected(&ada, now);
    w.advance(DISCONNECT_GRACE_MS / 2);
    let now = w.now;
    w.desk.agent_connected(&ada, now);
    w.advance(DISCONNECT_GRACE_MS);
    assert_eq!(w.presence_of(&ada), Presence::Ready);
    // Gone for good: Offline, and the chat goes to someone else.
    let grace = w.ready_agent("grace", 1);
    let now = w.now;
    w.desk.agent_disconnected(&ada, now);
    w.advance(DISCONNECT_GRACE_MS);
    assert_eq!(w.presence_of(&ada), Presence::Offline);
    assert_eq!(w.offers_to(&grace), vec![chat]);
}

#[test]
fn timers_are_harmless_when_handled_twice_or_early() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&agent("ada"), now)).expect("active");
    let before = w.state(chat).clone();
    let now = w.now;
    w.act(chat, |i, _| {
        i.handle_timeout(now);
        i.handle_timeout(now + 1);
    });
    w.desk.handle_timeout(now);
    w.desk.handle_timeout(now);
    w.pump();
    assert_eq!(w.state(chat), &before);
    let _ = LifecycleRules::default();
}

#[test]
fn only_the_agent_who_has_the_chat_may_show_the_contact_typing_or_seen() {
    let (ada, grace) = (agent("ada"), agent("grace"));
    let active = State::Active { agent: ada.clone(), since: 0, transfer: None };
    assert_eq!(active.agent_may_signal(&ada), Ok(()));
    assert_eq!(
        active.agent_may_signal(&grace),
        Err(Refusal::NotYours),
        "an onlooker is not the chat's agent"
    );
    let offered = State::Offered { agent: ada.clone(), since: 0 };
    assert_eq!(offered.agent_may_signal(&grace), Err(Refusal::NotYours));
    let queued = State::Queued { since: 0 };
    assert!(queued.agent_may_signal(&ada).is_err(), "nobody has a queued chat yet");
    // After the end, any agent of the site may follow up, and so type.
    let ended = State::Ended { by: EndedBy::Contact, at: 0 };
    assert_eq!(ended.agent_may_signal(&grace), Ok(()));
}

#[test]
fn an_agent_who_does_not_have_the_chat_is_told_not_yours_whatever_the_chat_is_doing() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let grace = w.ready_agent("grace", 2);
    let chat = w.new_chat("Hello");
    let holder = if w.offers_to(&ada).contains(&chat) { ada.clone() } else { grace.clone() };
    let onlooker = if holder == ada { grace.clone() } else { ada.clone() };
    w.accept(&holder, chat).expect("offered");
    // Active with the holder: nothing is parked and no wrap-up runs, yet the onlooker hears "not yours",
    // not "not now" (nor, for a code, "no such code").
    assert_eq!(w.act(chat, |i, _| i.unpark(&onlooker)), Err(Refusal::NotYours));
    assert_eq!(w.act(chat, |i, _| i.choose_code(&onlooker, "no-such-code")), Err(Refusal::NotYours));
    assert_eq!(w.act(chat, |i, now| i.extend_wrap(&onlooker, now)), Err(Refusal::NotYours));
    assert_eq!(w.act(chat, |i, now| i.complete(&onlooker, now)), Err(Refusal::NotYours));
    // In the holder's wrap-up too.
    w.act(chat, |i, now| i.end(EndedBy::Agent(holder.clone()), now)).expect("the holder ends it");
    assert_eq!(w.act(chat, |i, now| i.complete(&onlooker, now)), Err(Refusal::NotYours));
    assert_eq!(w.act(chat, |i, now| i.extend_wrap(&onlooker, now)), Err(Refusal::NotYours));
    // The holder itself still gets the precise answer.
    assert_eq!(w.act(chat, |i, _| i.unpark(&holder)), Err(Refusal::NotParked));
}

#[test]
fn an_agent_whose_desktop_is_gone_is_offered_nothing_and_its_open_offer_moves_on_at_once() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let offered = w.new_chat("First");
    assert_eq!(w.offers_to(&ada), vec![offered]);
    let grace = w.ready_agent("grace", 2);
    // Ada closes the browser while Ready, with an offer open: the offer goes to Grace now, not when it would
    // have timed out, and the next chat too, although Ada still counts as Ready for her chats' sake.
    let now = w.now;
    w.desk.agent_disconnected(&ada, now);
    w.pump();
    assert!(w.offers_to(&ada).is_empty());
    assert_eq!(w.offers_to(&grace), vec![offered]);
    let next = w.new_chat("Second");
    assert!(w.offers_to(&grace).contains(&next), "offered to the agent who is there");
    assert_eq!(w.presence_of(&ada), Presence::Ready, "the grace period keeps her presence and chats");
    // Back (a reload): she is offered chats again at once, the one she never answered included.
    w.desk.handle_timeout(w.now);
    w.presence(&grace, Presence::NotReady);
    let now = w.now;
    w.desk.agent_connected(&ada, now);
    w.pump();
    let mut to_ada = w.offers_to(&ada);
    to_ada.sort();
    let mut both = vec![offered, next];
    both.sort();
    assert_eq!(to_ada, both);
}

#[test]
fn a_transfers_receiver_is_shown_accept_first_and_none_of_the_senders_controls() {
    use confab_protocol::lifecycle::{AgentActions, WriteBlock};
    let (ada, grace, joan) = (agent("ada"), agent("grace"), agent("joan"));
    let transferring =
        State::Active { agent: ada.clone(), since: 0, transfer: Some(TransferTarget::Agent(grace.clone())) };
    // The sender: the pending transfer and its Cancel, the composer, End; no new transfer, no park.
    assert_eq!(
        transferring.actions_for(&ada, false),
        AgentActions {
            write: Ok(()),
            transfer: false,
            cancel_transfer: Some(TransferTarget::Agent(grace.clone())),
            park: false,
            unpark: false,
            end: true
        }
    );
    // The receiver, offered it: accept first, and nothing of the sender's.
    let receiver = transferring.actions_for(&grace, true);
    assert_eq!(receiver.write, Err(WriteBlock::AcceptFirst));
    assert!(!receiver.transfer && receiver.cancel_transfer.is_none() && !receiver.park && !receiver.end);
    // Anyone else: another agent has it.
    assert_eq!(transferring.actions_for(&joan, false).write, Err(WriteBlock::AnotherAgent));
    // Parked: its agent unparks (and may end); others are told who has it.
    let parked = State::Parked { agent: ada.clone(), since: 0, until: 10, reclaiming: false };
    let own = parked.actions_for(&ada, false);
    assert_eq!((own.write, own.unpark, own.end, own.park), (Err(WriteBlock::UnparkFirst), true, true, false));
    assert_eq!(parked.actions_for(&grace, false).write, Err(WriteBlock::ParkedByAnother));
    // Offered from the queue (to Grace: the desk's offer or the state says so), waiting, and a follow-up
    // after the end.
    let offered = State::Offered { agent: grace.clone(), since: 0 };
    assert_eq!(offered.actions_for(&grace, true).write, Err(WriteBlock::AcceptFirst));
    assert_eq!(offered.actions_for(&grace, false).write, Err(WriteBlock::AcceptFirst));
    assert_eq!(offered.actions_for(&joan, false).write, Err(WriteBlock::AnotherAgent), "not hers to accept");
    let queued = State::Queued { since: 0 };
    assert_eq!(queued.actions_for(&joan, false).write, Err(WriteBlock::WaitingInQueue));
    let ended = State::Ended { by: EndedBy::Contact, at: 0 };
    assert_eq!(ended.actions_for(&grace, false).write, Ok(()));
}

#[test]
fn an_agent_of_some_queues_is_offered_only_their_chats() {
    let mut w = World::new();
    let billing = QueueId("billing".into());
    w.add_agent(
        "bea",
        RoutingProfile { capacity: 2, queues: [billing.clone()].into(), ..RoutingProfile::default() },
    );
    let bea = agent("bea");
    w.presence(&bea, Presence::Ready);
    let general = w.new_chat("A general question");
    assert!(w.offers_to(&bea).is_empty(), "not her queue");
    let invoice = w.contact_opens_in(billing);
    w.contact_says(invoice, "About my invoice");
    assert_eq!(w.offers_to(&bea), vec![invoice]);
    let ada = w.ready_agent("ada", 2);
    assert_eq!(w.offers_to(&ada), vec![general], "an agent of every queue takes the rest");
}

#[test]
fn the_agent_ready_the_longest_is_offered_first() {
    let mut w = World::new();
    w.add_agent("ada", RoutingProfile::default());
    w.add_agent("grace", RoutingProfile::default());
    let (ada, grace) = (agent("ada"), agent("grace"));
    // Grace has been Ready for ten minutes when Ada becomes Ready: Grace waited longer, she gets the chat
    // (by name alone, Ada would).
    w.presence(&grace, Presence::Ready);
    w.advance(10 * MINUTE);
    w.presence(&ada, Presence::Ready);
    let chat = w.new_chat("Hello");
    assert_eq!(w.offers_to(&grace), vec![chat]);
    assert!(w.offers_to(&ada).is_empty());
}

#[test]
fn only_the_agent_offered_a_chat_can_accept_or_reject_it() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = w.new_chat("Hello");
    let grace = w.ready_agent("grace", 1);
    assert_eq!(w.offers_to(&ada), vec![chat]);
    assert_eq!(w.accept(&grace, chat), Err(DeskRefusal::NoSuchOffer));
    assert_eq!(w.reject(&grace, chat), Err(DeskRefusal::NoSuchOffer));
    assert_eq!(w.offers_to(&ada), vec![chat], "the offer is still Ada's");
    assert_eq!(w.accept(&ada, chat), Ok(()));
}

#[test]
fn a_second_transfer_waits_for_the_first_and_a_pending_one_can_be_cancelled() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = active_chat(&mut w, &ada);
    // To a queue where nobody else is Ready: it waits there, and another transfer is refused meanwhile.
    let billing = TransferTarget::Queue(QueueId("billing".into()));
    assert_eq!(w.transfer(&ada, chat, billing.clone()), Ok(()));
    assert_eq!(w.transfer(&ada, chat, billing.clone()), Err(DeskRefusal::TransferPending));
    assert!(w.offers_to(&ada).is_empty(), "never offered back to its sender");
    // Someone else cannot cancel it; Ada can, and keeps the chat.
    let grace = w.ready_agent("grace", 2);
    let offered_to_grace = w.offers_to(&grace) == vec![chat];
    assert!(offered_to_grace, "the waiting transfer is offered to the next Ready agent");
    assert_eq!(w.desk.cancel_transfer(&grace, chat, w.now), Err(DeskRefusal::NotYours));
    let now = w.now;
    assert_eq!(w.desk.cancel_transfer(&ada, chat, now), Ok(()));
    w.pump();
    assert!(w.offers_to(&grace).is_empty(), "the receiver's offer is taken back");
    assert!(
        w.desk_notes[&ada].contains(&DeskNote::Other(DeskEffect::TransferEnded {
            from: ada.clone(),
            interaction: chat,
            ticket: w.desk_notes[&ada]
                .iter()
                .find_map(|n| match n {
                    DeskNote::Other(DeskEffect::TransferEnded { ticket, .. }) => Some(*ticket),
                    _ => None,
                })
                .expect("a transfer ended"),
            outcome: TransferOutcome::Cancelled,
        }))
    );
    assert!(matches!(w.state(chat), State::Active { agent, transfer: None, .. } if *agent == ada));
    assert_eq!(w.agent_says(&ada, chat, "Still with you."), Ok(()));
    // Nothing is pending now: cancelling again is refused; a transfer to an agent is possible again.
    let now = w.now;
    assert_eq!(w.desk.cancel_transfer(&ada, chat, now), Err(DeskRefusal::NoTransferPending));
    assert_eq!(w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())), Ok(()));
    assert_eq!(
        w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())),
        Err(DeskRefusal::TransferPending)
    );
    assert_eq!(w.offers_to(&grace), vec![chat]);
    let now = w.now;
    assert_eq!(w.desk.cancel_transfer(&ada, chat, now), Ok(()));
    w.pump();
    assert!(w.offers_to(&grace).is_empty(), "a cancelled transfer to an agent is taken back from it too");
}

#[test]
fn a_duplicated_routing_request_changes_nothing() {
    use confab_protocol::routing::{Ticket, default_queue};
    let mut w = World::new();
    let chat = w.new_chat("Hello");
    let ticket = Ticket::default();
    let again = |w: &mut World| {
        let now = w.now;
        w.desk.enqueue(chat, ticket, default_queue(), None, now);
        w.pump();
    };
    // Waiting: still once in the queue.
    again(&mut w);
    assert_eq!(w.desk.waiting.iter().filter(|q| q.interaction == chat).count(), 1);
    // Offered: the offer stands, nothing waits.
    let ada = w.ready_agent("ada", 2);
    assert_eq!(w.offers_to(&ada), vec![chat]);
    again(&mut w);
    assert_eq!(w.offers_to(&ada), vec![chat]);
    assert!(w.desk.waiting.is_empty());
    // Assigned: it stays Ada's, counted once.
    w.accept(&ada, chat).expect("offered");
    again(&mut w);
    assert_eq!(w.desk.assigned.get(&chat), Some(&ada));
    assert!(w.desk.waiting.is_empty() && w.offers_to(&ada).is_empty());
    assert_eq!(w.load_of(&ada), 1);
}

#[test]
fn the_desks_timers_called_early_change_nothing() {
    use confab_protocol::routing::DISCONNECT_GRACE_MS;
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let grace = w.ready_agent("grace", 1);
    let chat = w.new_chat("Hello");
    let first = if w.offers_to(&ada) == vec![chat] { ada.clone() } else { grace.clone() };
    let second = if first == ada { grace.clone() } else { ada.clone() };
    w.reject(&first, chat).expect("offered");
    assert_eq!(w.offers_to(&second), vec![chat]);
    w.reject(&second, chat).expect("offered");
    // Both said no: a new round starts only after the offer timeout, whatever calls the timer before.
    let now = w.now;
    w.desk.handle_timeout(now + 1);
    w.desk.handle_timeout(now + OFFER_TIMEOUT - 1);
    w.pump();
    assert!(w.offers_to(&first).is_empty() && w.offers_to(&second).is_empty());
    // A desktop gone for a moment: still Ready at any time before the grace period ends.
    let now = w.now;
    w.desk.agent_disconnected(&ada, now);
    w.desk.handle_timeout(now + 1);
    w.desk.handle_timeout(now + DISCONNECT_GRACE_MS - 1);
    w.pump();
    assert_eq!(w.presence_of(&ada), Presence::Ready);
    w.desk.handle_timeout(now + DISCONNECT_GRACE_MS);
    w.pump();
    assert_eq!(w.presence_of(&ada), Presence::Offline);
}

#[test]
fn an_agent_going_offline_with_a_transfer_waiting_in_a_queue_leaves_the_chat_waiting_once() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let chat = active_chat(&mut w, &ada);
    let other = w.new_chat("Another chat, waiting too");
    w.transfer(&ada, chat, TransferTarget::Queue(QueueId("billing".into()))).expect("active");
    w.presence(&ada, Presence::Offline);
    // The transfer is moot: the chat waits once, as any chat does, and the other chat still waits.
    let entries: Vec<_> = w.desk.waiting.iter().filter(|q| q.interaction == chat).collect();
    assert_eq!(entries.len(), 1, "{:?}", w.desk.waiting);
    assert_eq!(entries[0].transfer_from, None);
    assert!(w.desk.waiting.iter().any(|q| q.interaction == other));
    let grace = w.ready_agent("grace", 2);
    let mut offered = w.offers_to(&grace);
    offered.sort();
    let mut both = vec![chat, other];
    both.sort();
    assert_eq!(offered, both);
    let offer = w.desk_notes[&grace].iter().find_map(|n| match n {
        DeskNote::Offer { interaction, transfer_from } if *interaction == chat => Some(transfer_from.clone()),
        _ => None,
    });
    assert_eq!(offer, Some(None), "a plain offer, not a transfer from Ada");
}

#[test]
fn an_agent_back_after_going_offline_is_offered_its_waiting_chat_again() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.presence(&ada, Presence::Offline);
    assert!(w.desk.waiting.iter().any(|q| q.interaction == chat), "back in the queue");
    // Nobody else comes: when Ada is Ready again, the chat is hers to take (going away is no refusal).
    w.advance(5 * MINUTE);
    w.presence(&ada, Presence::Ready);
    assert_eq!(w.offers_to(&ada), vec![chat]);
}

#[test]
fn a_conversation_is_open_from_queued_to_ended() {
    let ada = agent("ada");
    let open = [
        State::Queued { since: 0 },
        State::Offered { agent: ada.clone(), since: 0 },
        State::Active { agent: ada.clone(), since: 0, transfer: None },
        State::Parked { agent: ada.clone(), since: 0, until: 1, reclaiming: false },
    ];
    for state in &open {
        assert!(
            state.is_open(),
            "{state:?}: someone handles it (its contact's data is not erased meanwhile)"
        );
    }
    for state in [State::New, State::Ended { by: EndedBy::Contact, at: 0 }] {
        assert!(!state.is_open(), "{state:?}: nobody handles it (an agent's message starts a follow-up)");
    }
}

#[test]
fn open_phases_held_logs_and_the_time_to_resolution() {
    use confab_protocol::lifecycle::{LogStatus, Sla};
    for phase in [Phase::Queued, Phase::Offered, Phase::Active, Phase::Parked] {
        assert!(phase.is_open(), "{phase:?}");
    }
    for phase in [Phase::New, Phase::Ended, Phase::Wrap, Phase::Completed] {
        assert!(!phase.is_open(), "{phase:?}");
    }
    let (ada, grace) = (agent("ada"), agent("grace"));
    let status = |phase, agent: Option<&confab_protocol::ids::AgentId>| LogStatus {
        phase,
        agent: agent.cloned(),
        until: None,
        awaiting_reply_since: None,
    };
    assert!(status(Phase::Active, Some(&ada)).held_by(&ada));
    assert!(status(Phase::Wrap, Some(&ada)).held_by(&ada), "a wrap-up is still its agent's");
    assert!(!status(Phase::Active, Some(&ada)).held_by(&grace));
    assert!(!status(Phase::Completed, Some(&ada)).held_by(&ada), "a completed chat is nobody's");
    assert!(!status(Phase::Queued, None).held_by(&ada));
    let running =
        Sla { started: 1_000, first_response: None, awaiting_reply_since: Some(1_000), resolved: None };
    assert_eq!(running.time_to_resolution(61_000), 60_000, "still running: until now");
    let resolved = Sla { resolved: Some(31_000), ..running };
    assert_eq!(resolved.time_to_resolution(500_000), 30_000, "stopped at the end");
}

#[test]
fn each_refusal_has_the_wire_code_a_client_acts_on() {
    use confab_protocol::frames::ErrorCode;
    assert_eq!(Refusal::NotYours.code(), ErrorCode::Unauthorized, "not this agent's: its rights");
    assert_eq!(Refusal::UnknownCode("x".into()).code(), ErrorCode::BadRequest, "a wrong value");
    for refusal in [Refusal::Parked, Refusal::NoWrapUp, Refusal::DispositionRequired, Refusal::AlreadyEnded] {
        assert_eq!(refusal.code(), ErrorCode::NotAllowedNow, "{refusal:?}: not at this moment");
    }
}

#[test]
fn every_routing_request_carries_a_ticket_newer_than_the_last() {
    use confab_protocol::lifecycle::{DeskRequest, Interaction, Output};
    use confab_protocol::routing::{AssignKind, default_queue};
    let ada = agent("ada");
    let mut chat = Interaction::new(
        confab_protocol::ids::InteractionId(uuid::Uuid::from_u128(7)),
        default_queue(),
        sim::rules(),
        0,
    );
    let tickets = |chat: &mut Interaction| -> Vec<_> {
        chat.drain()
            .into_iter()
            .filter_map(|o| match o {
                Output::Desk(DeskRequest::Enqueue { ticket, .. } | DeskRequest::Reclaim { ticket, .. }) => {
                    Some(ticket)
                }
                _ => None,
            })
            .collect()
    };
    let mut seen = Vec::new();
    chat.contact_wrote(1_000);
    seen.extend(tickets(&mut chat));
    // Assigned, parked, and brought back by the contact twice: each request a new ticket, so a decision
    // about an earlier one that crosses it is recognised as stale.
    for round in 0..2 {
        let ticket = *seen.last().expect("a request");
        let id = chat.id;
        chat.on_desk(
            DeskEffect::Assigned { agent: ada.clone(), interaction: id, ticket, how: AssignKind::Accepted },
            2_000 + round,
        );
        chat.park(&ada, 3_000 + round).expect("active");
        chat.contact_wrote(4_000 + round);
        seen.extend(tickets(&mut chat));
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "tickets only grow: {seen:?}");
}

#[test]
fn only_the_chats_agent_parks_it_and_only_once_while_it_runs() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let grace = w.ready_agent("grace", 1);
    let chat = active_chat(&mut w, &ada);
    assert_eq!(w.act(chat, |i, now| i.park(&grace, now)), Err(Refusal::NotYours));
    assert!(matches!(w.state(chat), State::Active { agent, .. } if *agent == ada), "still active with Ada");
    assert_eq!(w.act(chat, |i, now| i.park(&ada, now)), Ok(()));
    assert_eq!(w.act(chat, |i, now| i.park(&ada, now)), Err(Refusal::Parked), "parked already");
    w.act(chat, |i, now| i.end(EndedBy::Agent(ada.clone()), now)).expect("its agent ends it");
    assert_eq!(w.act(chat, |i, now| i.park(&ada, now)), Err(Refusal::AlreadyEnded));
    w.presence(&grace, Presence::NotReady);
    w.presence(&ada, Presence::NotReady);
    let queued = w.new_chat("Still nobody");
    assert!(matches!(w.state(queued), State::Queued { .. }), "{:?}", w.state(queued));
    assert_eq!(w.act(queued, |i, now| i.park(&ada, now)), Err(Refusal::NotAssigned));
}

#[test]
fn its_agent_takes_a_parked_chat_back_once_however_often_it_asks() {
    use confab_protocol::lifecycle::{DeskRequest, Output};
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&ada, now)).expect("active");
    let asked = w.act(chat, |i, _| {
        i.unpark(&ada).expect("parked by her");
        i.unpark(&ada).expect("asking again is fine");
        i.drain()
    });
    let reclaims = asked.iter().filter(|o| matches!(o, Output::Desk(DeskRequest::Reclaim { .. }))).count();
    assert_eq!(reclaims, 1, "{asked:?}");
    // Through the desk, for real: back with her.
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = active_chat(&mut w, &ada);
    w.act(chat, |i, now| i.park(&ada, now)).expect("active");
    assert_eq!(w.act(chat, |i, _| i.unpark(&ada)), Ok(()));
    assert!(matches!(w.state(chat), State::Active { agent, .. } if *agent == ada), "{:?}", w.state(chat));
    assert_eq!(w.act(chat, |i, _| i.unpark(&ada)), Err(Refusal::NotParked));
}

#[test]
fn notes_are_the_chats_agents_and_a_wrap_up_stays_its_agents_when_another_reopens_the_chat() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let grace = w.ready_agent("grace", 1);
    let chat = active_chat(&mut w, &ada);
    assert_eq!(w.act(chat, |i, _| i.write_notes(&grace, "not mine")), Err(Refusal::NotYours));
    assert_eq!(w.act(chat, |i, _| i.write_notes(&ada, "Invoice 1142")), Ok(()));
    w.act(chat, |i, now| i.end(EndedBy::Agent(ada.clone()), now)).expect("hers");
    // Ada wraps up, away from new chats; the contact writes again and Grace takes the new session.
    w.presence(&ada, Presence::NotReady);
    w.contact_says(chat, "One more question");
    assert_eq!(w.offers_to(&grace), vec![chat]);
    w.accept(&grace, chat).expect("offered");
    // Each has her part: Grace the chat, Ada her wrap-up of the last session.
    assert_eq!(w.act(chat, |i, _| i.write_notes(&ada, "Invoice 1142, refunded")), Ok(()));
    assert_eq!(w.act(chat, |i, now| i.complete(&ada, now)), Ok(()));
    assert_eq!(
        w.act(chat, |i, now| i.complete(&grace, now)),
        Err(Refusal::NoWrapUp),
        "hers is still running"
    );
    assert_eq!(w.agent_says(&grace, chat, "Hi, Grace here."), Ok(()));
}

#[test]
fn a_chat_waiting_for_its_agents_answer_is_never_auto_parked() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let chat = w.new_chat("Where is my parcel?");
    w.accept(&ada, chat).expect("offered");
    // The contact's question is unanswered: however long it has been, the chat stays in front of Ada.
    w.act(chat, |i, now| i.handle_timeout(now + 11 * MINUTE));
    assert!(matches!(w.state(chat), State::Active { .. }), "{:?}", w.state(chat));
    // Answered, and quiet past the auto-park time: parked by itself.
    w.agent_says(&ada, chat, "It ships today.").expect("hers");
    w.act(chat, |i, now| i.handle_timeout(now + 11 * MINUTE));
    assert!(matches!(w.state(chat), State::Parked { .. }), "{:?}", w.state(chat));
}

#[test]
fn desk_decisions_about_an_older_request_change_nothing_and_current_ones_apply() {
    use confab_protocol::lifecycle::Interaction;
    use confab_protocol::routing::{AssignKind, OfferKind, RequeueReason, WithdrawReason, default_queue};
    let (ada, grace) = (agent("ada"), agent("grace"));
    let id = confab_protocol::ids::InteractionId(uuid::Uuid::from_u128(9));
    let mut chat = Interaction::new(id, default_queue(), sim::rules(), 0);
    chat.contact_wrote(1_000);
    chat.drain();
    let current = chat.ticket;
    let stale = current + 7;
    let offer = |ticket, agent: &confab_protocol::ids::AgentId| DeskEffect::Offer {
        agent: agent.clone(),
        interaction: id,
        ticket,
        kind: OfferKind::Queue,
        expires: 99_000,
    };
    let withdrawn = |ticket, agent: &confab_protocol::ids::AgentId| DeskEffect::OfferWithdrawn {
        agent: agent.clone(),
        interaction: id,
        ticket,
        reason: WithdrawReason::Rejected,
    };
    let assigned = |ticket, agent: &confab_protocol::ids::AgentId| DeskEffect::Assigned {
        agent: agent.clone(),
        interaction: id,
        ticket,
        how: AssignKind::Accepted,
    };
    // Each decision about another request is ignored: nothing changes, nothing is said.
    for effect in [
        offer(stale, &ada),
        withdrawn(stale, &ada),
        assigned(stale, &ada),
        DeskEffect::Requeued {
            interaction: id,
            ticket: stale,
            from: ada.clone(),
            reason: RequeueReason::AgentOffline,
        },
    ] {
        chat.on_desk(effect, 2_000);
        assert!(matches!(chat.state, State::Queued { .. }), "{:?}", chat.state);
        assert!(chat.drain().is_empty());
    }
    // The current ones apply: offered, withdrawn (waiting again), offered to Grace, assigned.
    chat.on_desk(offer(current, &ada), 2_000);
    assert_eq!(chat.state, State::Offered { agent: ada.clone(), since: 2_000 });
    chat.on_desk(withdrawn(stale, &ada), 2_500);
    assert_eq!(chat.state, State::Offered { agent: ada.clone(), since: 2_000 }, "an older offer's end");
    chat.on_desk(withdrawn(current, &ada), 3_000);
    assert_eq!(chat.state, State::Queued { since: 3_000 }, "a rejected offer waits again");
    chat.on_desk(offer(current, &grace), 4_000);
    chat.on_desk(withdrawn(current, &ada), 4_500);
    assert_eq!(chat.state, State::Offered { agent: grace.clone(), since: 4_000 }, "not Ada's offer any more");
    chat.on_desk(assigned(current, &grace), 5_000);
    assert!(matches!(&chat.state, State::Active { agent, .. } if *agent == grace));
    chat.drain();
    // A transfer shown as pending only when its sender has the chat, and only for the current request.
    let started = |ticket, from: &confab_protocol::ids::AgentId| DeskEffect::TransferStarted {
        from: from.clone(),
        interaction: id,
        ticket,
        target: TransferTarget::Queue(default_queue()),
    };
    chat.on_desk(started(stale, &grace), 6_000);
    chat.on_desk(started(current, &ada), 6_000);
    assert!(matches!(&chat.state, State::Active { transfer: None, .. }), "{:?}", chat.state);
    chat.on_desk(started(current, &grace), 6_000);
    assert!(matches!(&chat.state, State::Active { transfer: Some(_), .. }), "{:?}", chat.state);
    let stale_end = DeskEffect::TransferEnded {
        from: grace.clone(),
        interaction: id,
        ticket: stale,
        outcome: TransferOutcome::Cancelled,
    };
    chat.on_desk(stale_end, 7_000);
    assert!(matches!(&chat.state, State::Active { transfer: Some(_), .. }), "a stale end changes nothing");
}

#[test]
fn the_log_shows_a_parks_end_and_an_unanswered_message_and_the_record_its_times() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 1);
    let started = w.now;
    let chat = w.new_chat("Hello?");
    w.accept(&ada, chat).expect("offered");
    let status = w.conv(chat).lifecycle.log_status();
    assert_eq!(status.awaiting_reply_since, Some(started), "the contact's question waits for an answer");
    w.advance(30_000);
    w.agent_says(&ada, chat, "Hi!").expect("hers");
    assert_eq!(w.conv(chat).lifecycle.log_status().awaiting_reply_since, None);
    w.act(chat, |i, now| i.park(&ada, now)).expect("active");
    let State::Parked { until, .. } = w.state(chat).clone() else { panic!("parked") };
    assert_eq!(
        w.conv(chat).lifecycle.log_status().until,
        Some(until),
        "the log counts down to the park's end"
    );
    w.act(chat, |i, _| i.unpark(&ada)).expect("parked");
    w.advance(60_000);
    w.act(chat, |i, now| i.end(EndedBy::Agent(ada.clone()), now)).expect("hers");
    w.act(chat, |i, now| i.complete(&ada, now)).expect("her wrap-up");
    let record = w.conv(chat).events.iter().find_map(|e| match e {
        Event::Completed { record } => Some(record.clone()),
        _ => None,
    });
    let record = record.expect("completed");
    assert_eq!(record.time_to_first_response_ms, Some(30_000));
    assert_eq!(record.duration_ms, 90_000, "from the first message to the end");
}

#[test]
fn a_chat_without_a_first_message_has_not_started_and_cannot_be_ended() {
    use confab_protocol::lifecycle::Interaction;
    use confab_protocol::routing::default_queue;
    let id = confab_protocol::ids::InteractionId(uuid::Uuid::from_u128(11));
    let mut chat = Interaction::new(id, default_queue(), sim::rules(), 0);
    // Not "already ended": it never began (the widget opened, nobody wrote).
    assert_eq!(chat.end(EndedBy::Contact, 500), Err(Refusal::NotStarted));
    assert_eq!(chat.end(EndedBy::Agent(agent("ada")), 500), Err(Refusal::NotStarted));
    assert_eq!(chat.state, State::New);
    chat.contact_wrote(1_000);
    chat.end(EndedBy::Contact, 2_000).expect("a started chat ends");
    assert_eq!(chat.end(EndedBy::Contact, 3_000), Err(Refusal::AlreadyEnded));
}

#[test]
fn cancelling_a_transfer_that_waits_in_a_queue_takes_back_that_chat_and_no_other() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let (first, second) = (active_chat(&mut w, &ada), active_chat(&mut w, &ada));
    // Ada is full: a new contact waits in the queue; both her chats go to billing, where nobody is Ready.
    let contact = w.new_chat("Anyone there?");
    let billing = TransferTarget::Queue(QueueId("billing".into()));
    assert_eq!(w.transfer(&ada, first, billing.clone()), Ok(()));
    assert_eq!(w.transfer(&ada, second, billing), Ok(()));
    let waits = |w: &World, chat| w.desk.waiting.iter().any(|waiting| waiting.interaction == chat);
    assert!(waits(&w, first) && waits(&w, second) && waits(&w, contact));
    // Cancelling the first takes back that one: her other transfer and the contact keep their places.
    let now = w.now;
    assert_eq!(w.desk.cancel_transfer(&ada, first, now), Ok(()));
    w.pump();
    assert!(!waits(&w, first), "the cancelled transfer left the queue");
    assert!(waits(&w, second) && waits(&w, contact), "nothing else left the queue");
    assert!(matches!(w.state(first), State::Active { agent, transfer: None, .. } if *agent == ada));
    // Nothing is pending for the first any more, though another of Ada's transfers still waits.
    let now = w.now;
    assert_eq!(w.desk.cancel_transfer(&ada, first, now), Err(DeskRefusal::NoTransferPending));
    assert_eq!(w.desk.cancel_transfer(&ada, second, now), Ok(()));
}

#[test]
fn an_agent_gone_offline_with_a_transfer_waiting_leaves_each_chat_waiting_once() {
    let mut w = World::new();
    let ada = w.ready_agent("ada", 2);
    let (moving, staying) = (active_chat(&mut w, &ada), active_chat(&mut w, &ada));
    let contact = w.new_chat("Anyone there?");
    assert_eq!(w.transfer(&ada, moving, TransferTarget::Queue(QueueId("billing".into()))), Ok(()));
    // Ada goes Offline: her transfer is moot; both her chats wait, once each, as chats of the queue (not
    // transfers from her), and the contact who was already waiting still is.
    w.presence(&ada, Presence::Offline);
    let entries = |chat| w.desk.waiting.iter().filter(|waiting| waiting.interaction == chat).count();
    assert_eq!((entries(moving), entries(staying), entries(contact)), (1, 1, 1), "{:?}", w.desk.waiting);
    assert!(w.desk.waiting.iter().all(|waiting| waiting.transfer_from.is_none()), "{:?}", w.desk.waiting);
}

#[test]
fn on_a_chat_nobody_has_an_agent_is_told_what_the_chat_is_doing() {
    let mut w = World::new();
    // Waiting in the queue (nobody is Ready): no agent has it, so no agent is "another" one.
    let chat = w.new_chat("Hello?");
    let ada = agent("ada");
    assert_eq!(w.act(chat, |i, now| i.park(&ada, now)), Err(Refusal::NotAssigned));
    assert_eq!(w.act(chat, |i, _| i.unpark(&ada)), Err(Refusal::NotParked));
    assert_eq!(w.act(chat, |i, _| i.write_notes(&ada, "notes")), Err(Refusal::NoWrapUp));
    assert_eq!(w.act(chat, |i, now| i.complete(&ada, now)), Err(Refusal::NoWrapUp));
}
