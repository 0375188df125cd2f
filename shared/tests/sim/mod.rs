//! A deterministic simulation of one site: the routing desk, conversations (lifecycle + transcript), the
//! agents' desktops and the contacts' widgets, a clock, and the link between conversations and the desk
//! (in order, with a configurable delay, as between Durable Objects).
//!
//! Modelled on quinn-proto's test `Pair`: drive it with actions, step simulated time with [`World::advance`],
//! and read what every party saw. [`World::check`] asserts the invariants after every step.
#![allow(dead_code, unreachable_pub)] // each test file uses its own subset

use confab_protocol::delivery::{self, SendOutcome, Submission};
use confab_protocol::frames::{Author, Message};
use confab_protocol::ids::{AgentId, ClientMessageId, InteractionId, Millis, QueueId};
use confab_protocol::lifecycle::{
    ContactNotice, DeskRequest, DispositionCode, Event, Interaction, LifecycleRules, Output, Refusal, State,
    WrapRules,
};
use confab_protocol::routing::{
    Desk, DeskEffect, DeskRefusal, OfferKind, Presence, RoutingProfile, TransferTarget, default_queue,
};
use std::collections::{BTreeMap, VecDeque};

pub const OFFER_TIMEOUT: Millis = 30_000;
pub const MINUTE: Millis = 60_000;

/// What a contact's widget received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactSaw {
    Message { from_agent: bool, text: String },
    Notice(ContactNotice),
}

/// What an agent's desktop received from the desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskNote {
    Offer { interaction: InteractionId, transfer_from: Option<AgentId> },
    Withdrawn { interaction: InteractionId },
    Other(DeskEffect),
}

/// One conversation as its Durable Object holds it, plus what its contact saw.
pub struct Conversation {
    pub lifecycle: Interaction,
    pub transcript: Vec<Message>,
    pub contact_saw: Vec<ContactSaw>,
    /// Lifecycle events, as the agents' conversation view receives them.
    pub events: Vec<Event>,
}

enum Hop {
    ToDesk(InteractionId, DeskRequest),
    FromDesk(DeskEffect),
}

pub struct World {
    pub now: Millis,
    pub desk: Desk,
    pub rules: LifecycleRules,
    pub conversations: BTreeMap<InteractionId, Conversation>,
    pub desk_notes: BTreeMap<AgentId, Vec<DeskNote>>,
    /// Messages between conversations and the desk: delivered in order, `link_delay` after being sent.
    in_flight: VecDeque<(Millis, Hop)>,
    pub link_delay: Millis,
    next_id: u128,
}

pub type AgentIdAlias = AgentId;

pub fn agent(name: &str) -> AgentId {
    AgentId(name.to_owned())
}

/// The site's rules in the scenarios: 60-minute park limit, 10-minute auto-park, optional single codes with a
/// 2-minute wrap timer.
pub fn rules() -> LifecycleRules {
    LifecycleRules {
        park_limit_ms: 60 * MINUTE,
        auto_park_after_ms: Some(10 * MINUTE),
        wrap: WrapRules {
            codes: ["sale", "support", "spam"]
                .iter()
                .map(|c| DispositionCode { code: (*c).into(), label: c.to_uppercase() })
                .collect(),
            required: false,
            multiple: false,
            timeout_ms: 2 * MINUTE,
        },
    }
}

impl World {
    pub fn new() -> Self {
        Self::with_rules(rules())
    }

    pub fn with_rules(rules: LifecycleRules) -> Self {
        World {
            now: 1_000_000,
            desk: Desk::new(OFFER_TIMEOUT, [QueueId("billing".into())]),
            rules,
            conversations: BTreeMap::new(),
            desk_notes: BTreeMap::new(),
            in_flight: VecDeque::new(),
            link_delay: 0,
            next_id: 1,
        }
    }

    /// Adds an agent with `capacity`, and sets it Ready.
    pub fn ready_agent(&mut self, name: &str, capacity: u32) -> AgentId {
        self.add_agent(name, RoutingProfile { capacity, ..RoutingProfile::default() });
        let id = agent(name);
        self.presence(&id, Presence::Ready);
        id
    }

    pub fn add_agent(&mut self, name: &str, profile: RoutingProfile) {
        self.desk.upsert_agent(agent(name), profile, self.now);
        self.pump();
    }

    pub fn presence(&mut self, agent: &AgentId, presence: Presence) {
        self.desk.set_presence(agent, presence, self.now).expect("known agent");
        self.pump();
    }

    /// A contact opens the widget: a new conversation (no session until it writes).
    pub fn contact_opens(&mut self) -> InteractionId {
        self.contact_opens_in(default_queue())
    }

    /// A contact opens the widget of a page whose chats go to `queue`.
    pub fn contact_opens_in(&mut self, queue: QueueId) -> InteractionId {
        let id = InteractionId(uuid::Uuid::from_u128(self.next_id));
        self.next_id += 1;
        let lifecycle = Interaction::new(id, queue, self.rules.clone(), self.now);
        self.conversations.insert(
            id,
            Conversation { lifecycle, transcript: Vec::new(), contact_saw: Vec::new(), events: Vec::new() },
        );
        id
    }

    /// A contact opens the widget and writes.
    pub fn new_chat(&mut self, text: &str) -> InteractionId {
        let id = self.contact_opens();
        self.contact_says(id, text);
        id
    }

    fn store(&mut self, id: InteractionId, author: Author, text: &str) {
        let now = self.now;
        let conv = self.conversations.get_mut(&id).expect("known conversation");
        let last = conv.transcript.last().map_or(0, |m| m.seq);
        let client_id = ClientMessageId(uuid::Uuid::from_u128(u128::from(last) + 1_000_000));
        let outcome = delivery::decide_send(
            Submission { client_id, text, attachments: Vec::new(), author, now },
            last,
            None,
        )
        .expect("valid text");
        let SendOutcome::Store(message) = outcome else { panic!("fresh client id") };
        conv.contact_saw.push(ContactSaw::Message {
            from_agent: matches!(message.author, Author::Agent { .. }),
            text: message.text.clone(),
        });
        conv.transcript.push(message);
    }

    pub fn contact_says(&mut self, id: InteractionId, text: &str) {
        self.store(id, Author::Contact, text);
        let now = self.now;
        self.conv(id).lifecycle.contact_wrote(now);
        self.pump();
    }

    pub fn agent_says(&mut self, agent: &AgentId, id: InteractionId, text: &str) -> Result<(), Refusal> {
        let now = self.now;
        self.conv(id).lifecycle.agent_wrote(agent, now)?;
        self.store(id, Author::Agent { id: agent.clone(), name: agent.0.clone() }, text);
        self.pump();
        Ok(())
    }

    pub fn accept(&mut self, agent: &AgentId, id: InteractionId) -> Result<(), DeskRefusal> {
        let r = self.desk.accept(agent, id, self.now);
        self.pump();
        r
    }

    pub fn reject(&mut self, agent: &AgentId, id: InteractionId) -> Result<(), DeskRefusal> {
        let r = self.desk.reject(agent, id, self.now);
        self.pump();
        r
    }

    pub fn transfer(
        &mut self,
        agent: &AgentId,
        id: InteractionId,
        target: TransferTarget,
    ) -> Result<(), DeskRefusal> {
        let r = self.desk.transfer(agent, id, target, self.now);
        self.pump();
        r
    }

    /// Runs a lifecycle action of the conversation `id` at the current time, then lets effects flow.
    pub fn act<T>(&mut self, id: InteractionId, action: impl FnOnce(&mut Interaction, Millis) -> T) -> T {
        let now = self.now;
        let result = action(&mut self.conv(id).lifecycle, now);
        self.pump();
        result
    }

    pub fn conv(&mut self, id: InteractionId) -> &mut Conversation {
        self.conversations.get_mut(&id).expect("known conversation")
    }

    pub fn state(&self, id: InteractionId) -> &State {
        &self.conversations[&id].lifecycle.state
    }

    /// The interactions currently offered to `agent` (cards with Accept / Reject).
    pub fn offers_to(&self, agent: &AgentId) -> Vec<InteractionId> {
        self.desk.offers.iter().filter(|(_, o)| o.agent == *agent).map(|(id, _)| *id).collect()
    }

    pub fn load_of(&self, agent: &AgentId) -> usize {
        self.desk.agents[agent].load.len()
    }

    pub fn presence_of(&self, agent: &AgentId) -> Presence {
        self.desk.agents[agent].presence
    }

    /// Moves the clock forward by `ms`, firing every timer that comes due on the way, in order.
    pub fn advance(&mut self, ms: Millis) {
        let target = self.now + ms;
        loop {
            let next = [
                self.desk.deadline(),
                self.conversations.values().filter_map(|c| c.lifecycle.deadline()).min(),
                self.in_flight.front().map(|(at, _)| *at),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= target => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    self.desk.handle_timeout(now);
                    for conv in self.conversations.values_mut() {
                        conv.lifecycle.handle_timeout(now);
                    }
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = target;
        self.pump();
    }

    /// Lets every output flow until nothing moves, checking invariants as effects are produced.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            let ids: Vec<InteractionId> = self.conversations.keys().copied().collect();
            for id in ids {
                let outputs = self.conv(id).lifecycle.drain();
                for output in outputs {
                    moved = true;
                    match output {
                        Output::Event(event) => {
                            let conv = self.conv(id);
                            if let Some(notice) = event.contact_notice() {
                                conv.contact_saw.push(ContactSaw::Notice(notice));
                            }
                            conv.events.push(event);
                        }
                        Output::Desk(request) => {
                            self.in_flight.push_back((self.now + self.link_delay, Hop::ToDesk(id, request)))
                        }
                    }
                }
            }
            for effect in self.desk.drain() {
                moved = true;
                if let DeskEffect::Offer { agent, .. } = &effect {
                    assert_eq!(
                        self.desk.agents[agent].presence,
                        Presence::Ready,
                        "offer to a non-Ready agent: {effect:?}"
                    );
                }
                self.in_flight.push_back((self.now + self.link_delay, Hop::FromDesk(effect)));
            }
            while self.in_flight.front().is_some_and(|(at, _)| *at <= self.now) {
                let Some((_, hop)) = self.in_flight.pop_front() else { break };
                moved = true;
                self.deliver(hop);
            }
            if !moved {
                break;
            }
        }
        self.check();
    }

    fn deliver(&mut self, hop: Hop) {
        let now = self.now;
        match hop {
            Hop::ToDesk(id, request) => match request {
                DeskRequest::Enqueue { ticket, queue, prefer } => {
                    self.desk.enqueue(id, ticket, queue, prefer, now)
                }
                DeskRequest::Release => self.desk.release(id, now),
                DeskRequest::Reclaim { ticket, agent, queue } => {
                    self.desk.reclaim(id, ticket, &agent, queue, now)
                }
            },
            Hop::FromDesk(effect) => {
                let note_for = |effect: &DeskEffect| -> Option<(AgentId, DeskNote)> {
                    match effect {
                        DeskEffect::Offer { agent, interaction, kind, .. } => Some((
                            agent.clone(),
                            DeskNote::Offer {
                                interaction: *interaction,
                                transfer_from: match kind {
                                    OfferKind::Transfer { from } => Some(from.clone()),
                                    OfferKind::Queue => None,
                                },
                            },
                        )),
                        DeskEffect::OfferWithdrawn { agent, interaction, .. } => {
                            Some((agent.clone(), DeskNote::Withdrawn { interaction: *interaction }))
                        }
                        DeskEffect::Assigned { agent, .. } | DeskEffect::PresenceChanged { agent, .. } => {
                            Some((agent.clone(), DeskNote::Other(effect.clone())))
                        }
                        DeskEffect::TransferEnded { from, .. } | DeskEffect::Requeued { from, .. } => {
                            Some((from.clone(), DeskNote::Other(effect.clone())))
                        }
                        DeskEffect::TransferStarted { .. } => None,
                    }
                };
                if let Some((agent, note)) = note_for(&effect) {
                    self.desk_notes.entry(agent).or_default().push(note);
                }
                if let Some(interaction) = effect.interaction() {
                    self.conv(interaction).lifecycle.on_desk(effect, now);
                }
            }
        }
    }

    /// The invariants, true after every step.
    pub fn check(&self) {
        for (agent, seat) in &self.desk.agents {
            assert!(
                seat.load.len() <= seat.profile.capacity as usize,
                "{agent} holds {} interactions with capacity {}",
                seat.load.len(),
                seat.profile.capacity
            );
        }
        for id in self.conversations.keys() {
            // A transfer to a queue waits while its sender still holds it: only plain waiting counts here.
            let waiting = self
                .desk
                .waiting
                .iter()
                .filter(|w| w.interaction == *id && w.transfer_from.is_none())
                .count();
            let queue_offer = self.desk.offers.get(id).is_some_and(|o| o.kind == OfferKind::Queue);
            let assigned = self.desk.assigned.contains_key(id);
            let places = waiting + usize::from(queue_offer) + usize::from(assigned);
            assert!(places <= 1, "{id} is in {places} places at the desk");
            if let Some(offer) = self.desk.offers.get(id)
                && matches!(offer.kind, OfferKind::Transfer { .. })
                && offer.from_queue.is_none()
            {
                assert!(assigned, "a direct transfer offer for {id} with nobody holding it");
            }
        }
        // With nothing in flight, each conversation and the desk agree on who handles it.
        if self.in_flight.is_empty() {
            for (id, conv) in &self.conversations {
                let desk_agent = self.desk.assigned.get(id);
                match &conv.lifecycle.state {
                    State::Active { agent, .. } => {
                        assert_eq!(desk_agent, Some(agent), "{id}: active with {agent}, desk disagrees")
                    }
                    State::New | State::Parked { reclaiming: false, .. } | State::Ended { .. } => {
                        assert_eq!(
                            desk_agent, None,
                            "{id}: not active, but the desk assigns it to {desk_agent:?}"
                        )
                    }
                    _ => {}
                }
            }
        }
    }
}
