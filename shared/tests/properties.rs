//! Property tests over random event sequences, in the deterministic simulation:
//! - whatever agents, contacts and the clock do, capacity is never exceeded, offers only go to Ready agents,
//!   and the desk and every conversation agree on who handles what (checked after every step by
//!   `World::check` and `World::pump`), also when the desk link is slow;
//! - a contact's stream is the same whether or not its chat was transferred;
//! - over connections that break at random points, no message is lost or duplicated after resume.

mod sim;

use confab_protocol::delivery::{self, ClientLog, Outgoing, SendOutcome, Submission};
use confab_protocol::frames::{Author, ClientFrame, Message};
use confab_protocol::ids::{ClientMessageId, InteractionId, QueueId};
use confab_protocol::lifecycle::EndedBy;
use confab_protocol::routing::{Presence, TransferTarget};
use proptest::prelude::*;
use sim::{MINUTE, World, agent};

#[derive(Debug, Clone)]
enum Op {
    Presence(usize, Presence),
    NewChat,
    ContactSays(usize),
    AgentSays(usize, usize),
    Accept(usize),
    Reject(usize),
    TransferToAgent(usize, usize, usize),
    TransferToQueue(usize, usize),
    Park(usize, usize),
    Unpark(usize, usize),
    ContactEnds(usize),
    AgentEnds(usize, usize),
    Complete(usize, usize),
    Advance(i64),
}

const AGENTS: [&str; 3] = ["ada", "grace", "linus"];

fn op() -> impl Strategy<Value = Op> {
    let presence = prop_oneof![Just(Presence::Ready), Just(Presence::NotReady), Just(Presence::Offline)];
    prop_oneof![
        (0..3usize, presence).prop_map(|(a, p)| Op::Presence(a, p)),
        Just(Op::NewChat),
        (0..6usize).prop_map(Op::ContactSays),
        (0..3usize, 0..6usize).prop_map(|(a, c)| Op::AgentSays(a, c)),
        (0..3usize).prop_map(Op::Accept),
        (0..3usize).prop_map(Op::Reject),
        (0..3usize, 0..6usize, 0..3usize).prop_map(|(a, c, t)| Op::TransferToAgent(a, c, t)),
        (0..3usize, 0..6usize).prop_map(|(a, c)| Op::TransferToQueue(a, c)),
        (0..3usize, 0..6usize).prop_map(|(a, c)| Op::Park(a, c)),
        (0..3usize, 0..6usize).prop_map(|(a, c)| Op::Unpark(a, c)),
        (0..6usize).prop_map(Op::ContactEnds),
        (0..3usize, 0..6usize).prop_map(|(a, c)| Op::AgentEnds(a, c)),
        (0..3usize, 0..6usize).prop_map(|(a, c)| Op::Complete(a, c)),
        prop_oneof![Just(1_000i64), Just(30_000), Just(11 * MINUTE), Just(61 * MINUTE)].prop_map(Op::Advance),
    ]
}

/// Runs `ops`; refusals are fine (a random agent often may not do what it tries), panics are not: the
/// world checks its invariants after every step.
fn run(ops: &[Op], link_delay: i64) -> World {
    let mut w = World::new();
    w.link_delay = link_delay;
    for (i, name) in AGENTS.iter().enumerate() {
        w.ready_agent(name, 1 + i as u32);
    }
    let mut chats: Vec<InteractionId> = Vec::new();
    let chat = |chats: &[InteractionId], i: usize| chats.get(i % chats.len().max(1)).copied();
    for op in ops {
        match op.clone() {
            Op::Presence(a, p) => w.presence(&agent(AGENTS[a]), p),
            Op::NewChat => {
                if chats.len() < 6 {
                    let id = w.new_chat("hello");
                    chats.push(id);
                }
            }
            Op::ContactSays(c) => {
                if let Some(id) = chat(&chats, c) {
                    w.contact_says(id, "more");
                }
            }
            Op::AgentSays(a, c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.agent_says(&agent(AGENTS[a]), id, "reply");
                }
            }
            Op::Accept(a) => {
                if let Some(id) = w.offers_to(&agent(AGENTS[a])).first().copied() {
                    w.accept(&agent(AGENTS[a]), id).expect("offered");
                }
            }
            Op::Reject(a) => {
                if let Some(id) = w.offers_to(&agent(AGENTS[a])).first().copied() {
                    w.reject(&agent(AGENTS[a]), id).expect("offered, no auto-accept");
                }
            }
            Op::TransferToAgent(a, c, t) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.transfer(&agent(AGENTS[a]), id, TransferTarget::Agent(agent(AGENTS[t])));
                }
            }
            Op::TransferToQueue(a, c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ =
                        w.transfer(&agent(AGENTS[a]), id, TransferTarget::Queue(QueueId("billing".into())));
                }
            }
            Op::Park(a, c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.act(id, |i, now| i.park(&agent(AGENTS[a]), now));
                }
            }
            Op::Unpark(a, c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.act(id, |i, _| i.unpark(&agent(AGENTS[a])));
                }
            }
            Op::ContactEnds(c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.act(id, |i, now| i.end(EndedBy::Contact, now));
                }
            }
            Op::AgentEnds(a, c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.act(id, |i, now| i.end(EndedBy::Agent(agent(AGENTS[a])), now));
                }
            }
            Op::Complete(a, c) => {
                if let Some(id) = chat(&chats, c) {
                    let _ = w.act(id, |i, now| i.complete(&agent(AGENTS[a]), now));
                }
            }
            Op::Advance(ms) => w.advance(ms),
        }
    }
    // Let everything in flight land, then check once more with nothing moving.
    w.advance(1_000);
    w.check();
    w
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_any_sequence_of_events(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops, 0);
    }

    #[test]
    fn invariants_hold_when_the_desk_link_is_slow(ops in proptest::collection::vec(op(), 1..80)) {
        run(&ops, 250);
    }

    /// Each step is (contact writes?, text id). At `transfer_at`, ada transfers to grace, who accepts and
    /// answers from then on. The contact's stream must be identical to the same chat without a transfer.
    #[test]
    fn a_contacts_stream_is_identical_with_and_without_a_transfer(
        steps in proptest::collection::vec(any::<bool>(), 1..30),
        transfer_at in 0usize..30,
    ) {
        let stream = |transfer: bool| {
            let mut w = World::new();
            let ada = w.ready_agent("ada", 2);
            let chat = w.new_chat("hello");
            w.accept(&ada, chat).expect("offered");
            let grace = w.ready_agent("grace", 2);
            let mut holder = ada.clone();
            for (i, contact) in steps.iter().enumerate() {
                if transfer && i == transfer_at.min(steps.len() - 1) {
                    w.transfer(&ada, chat, TransferTarget::Agent(grace.clone())).expect("grace is ready with room");
                    w.accept(&grace, chat).expect("offered");
                    holder = grace.clone();
                }
                if *contact {
                    w.contact_says(chat, &format!("c{i}"));
                } else {
                    w.agent_says(&holder, chat, &format!("a{i}")).expect("holder writes");
                }
                w.advance(1_000);
            }
            w.act(chat, |i, now| i.end(EndedBy::Contact, now)).expect("active");
            w.conversations[&chat].contact_saw.clone()
        };
        prop_assert_eq!(stream(true), stream(false));
    }

    /// A contact writes `written` messages over connections that break at random points (`breaks`: how many
    /// frames each connection gets through, each way). The client resends its outbox and resumes after its
    /// last seq on every reconnection.
    #[test]
    fn no_message_is_lost_or_duplicated_across_broken_connections(
        written in 1usize..25,
        breaks in proptest::collection::vec((0usize..6, 0usize..6), 1..12),
    ) {
        let mut server: Vec<Message> = Vec::new();
        let mut client = ClientLog::default();
        for i in 0..written {
            client.write(Outgoing { client_id: ClientMessageId(uuid::Uuid::from_u128(i as u128 + 1)), text: format!("m{i}"), attachments: Vec::new(), written_at: 0 });
        }
        // Connections break after a few frames; the last one is reliable, as one eventually is.
        let connections = breaks.into_iter().map(Some).chain(std::iter::once(None));
        for budget in connections {
            let (mut up, mut down) = budget.unwrap_or((usize::MAX, usize::MAX));
            // hello + resume: the server sends what the client has not seen.
            let from = delivery::resume_from(client.last_seq());
            let mut replies: Vec<ClientFrameReply> = server.iter().filter(|m| m.seq >= from).cloned().map(ClientFrameReply::Message).collect();
            for frame in client.resend_frames().collect::<Vec<_>>() {
                if up == 0 { break; }
                up -= 1;
                let ClientFrame::Send { client_id, text, .. } = frame else { continue };
                let stored = server.iter().find(|m| m.client_id == client_id).map(|m| m.seq);
                let last = server.last().map_or(0, |m| m.seq);
                match delivery::decide_send(Submission { client_id, text: &text, attachments: Vec::new(), author: Author::Contact, now: 0 }, last, stored).expect("valid") {
                    SendOutcome::Store(m) => {
                        server.push(m.clone());
                        replies.push(ClientFrameReply::Ack(client_id));
                        replies.push(ClientFrameReply::Message(m));
                    }
                    SendOutcome::AlreadyStored { .. } => replies.push(ClientFrameReply::Ack(client_id)),
                }
            }
            for reply in replies {
                if down == 0 { break; }
                down -= 1;
                match reply {
                    ClientFrameReply::Ack(id) => client.acknowledge(id),
                    ClientFrameReply::Message(m) => { client.receive(m); }
                }
            }
        }
        let texts: Vec<String> = server.iter().map(|m| m.text.clone()).collect();
        prop_assert_eq!(texts, (0..written).map(|i| format!("m{i}")).collect::<Vec<_>>(), "each message once, in order");
        prop_assert_eq!(&client.messages, &server, "the client ends with exactly the server's transcript");
        prop_assert!(client.outbox.is_empty());
    }
}

#[derive(Debug, Clone)]
enum ClientFrameReply {
    Ack(ClientMessageId),
    Message(Message),
}
