//! Routing for one site: agents' presence and capacity, queues, offers, transfers. Carried out by the site's
//! `Desk` Durable Object, the single writer that makes capacity counting race-free.
//!
//! Rules (DESIGN.md "The interaction lifecycle"; seeds: Vonage digital interactions, ServiceNow accept chat):
//! - only **Ready** agents with free capacity are offered interactions; the **oldest** waiting interaction is
//!   offered first; among eligible agents the least loaded, then the longest idle, gets it;
//! - an agent's *load* is what it has been offered, is handling (active) or is being transferred; parked and
//!   wrapping interactions do not count. Load never exceeds capacity;
//! - **Reject** or an offer **timeout** returns the interaction to its queue, keeping its place, and it goes to
//!   the next agent, not one who refused it. Refusals are remembered until one offer timeout passes with no
//!   new refusal; then a new round starts and everyone may be offered it again (so a lone agent who rejected
//!   a chat gets it back after a pause rather than never). An agent who lets an offer time out is set
//!   Not Ready (they are evidently away);
//! - with **auto-accept** the interaction is assigned at once and cannot be rejected;
//! - **transfers** are cold: to a Ready agent with capacity (offer with accept/reject) or to a queue (offered
//!   to that queue's agents, never back to the sender). The sender keeps the interaction until the transfer
//!   is accepted; on reject, timeout or cancel it simply stays;
//! - a contact replying to a **parked** interaction goes back to the agent who parked it if that agent is
//!   signed in and has capacity; otherwise it is queued again (the post-parking plan);
//! - an agent going **Offline** loses pending offers and active interactions to the queue.
//!
//! The desk never reads a clock: every input carries `now`, [`Desk::deadline`] says when to call
//! [`Desk::handle_timeout`] next, and decisions come out as [`DeskEffect`]s, drained with [`Desk::drain`].

use crate::ids::{AgentId, InteractionId, Millis, QueueId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use thiserror::Error;

/// An agent's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Receives offers.
    Ready,
    /// Signed in, keeps its interactions, receives no offers.
    NotReady,
    /// Signed out.
    Offline,
}

/// An agent's routing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingProfile {
    /// How many interactions at once (offered + active + incoming transfers).
    pub capacity: u32,
    /// Offers are accepted on the agent's behalf; there is no Reject.
    pub auto_accept: bool,
    /// The queues this agent takes interactions from. Empty: all of the site's queues.
    #[serde(default)]
    pub queues: BTreeSet<QueueId>,
}

impl Default for RoutingProfile {
    fn default() -> Self {
        RoutingProfile { capacity: 3, auto_accept: false, queues: BTreeSet::new() }
    }
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum TransferTarget {
    Agent(AgentId),
    Queue(QueueId),
}

/// Why an interaction is offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OfferKind {
    /// A new (or returning) interaction from a queue.
    Queue,
    /// A cold transfer from another agent.
    Transfer { from: AgentId },
}

/// How a transfer ended, told to the agent who asked for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TransferOutcome {
    /// The receiver took it: the sender no longer has it and can no longer write in it.
    Accepted { by: AgentId },
    /// The receiving agent said no: the sender keeps it.
    Rejected { by: AgentId },
    /// Nobody accepted in time: the sender keeps it.
    Expired,
    /// The sender withdrew it, or the interaction ended or was parked meanwhile.
    Cancelled,
}

/// Why an offer was taken back from an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    Rejected,
    TimedOut,
    /// The agent went Not Ready or Offline.
    AgentUnavailable,
    /// The interaction ended or the transfer was cancelled.
    Gone,
}

/// Why an agent's interaction was taken back to the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequeueReason {
    AgentOffline,
    /// The contact replied to a parked interaction and its agent could not take it back.
    PostParking,
}

/// How an interaction came to be assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssignKind {
    Accepted,
    AutoAccepted,
    Transferred {
        from: AgentId,
    },
    /// Taken back by the agent who parked it.
    Unparked,
}

/// Which routing request of an interaction a decision answers. The conversation numbers its requests
/// (`Enqueue`, `Reclaim`) and ignores decisions about an older one: the desk link is asynchronous, so an
/// assignment made for a session the contact has since ended must not land on the next session.
pub type Ticket = u32;

/// Decisions of the desk, for the adapter to carry out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskEffect {
    /// Show an offer card (Accept / Reject) to `agent` until `expires`.
    Offer { agent: AgentId, interaction: InteractionId, ticket: Ticket, kind: OfferKind, expires: Millis },
    /// Remove an offer card.
    OfferWithdrawn { agent: AgentId, interaction: InteractionId, ticket: Ticket, reason: WithdrawReason },
    /// `agent` now handles the interaction (the conversation lets it write; the previous agent, if any, not).
    Assigned { agent: AgentId, interaction: InteractionId, ticket: Ticket, how: AssignKind },
    /// The interaction is waiting in a queue again.
    Requeued { interaction: InteractionId, ticket: Ticket, from: AgentId, reason: RequeueReason },
    /// A transfer was accepted for routing: the interaction shows it as pending to its agents.
    TransferStarted { from: AgentId, interaction: InteractionId, ticket: Ticket, target: TransferTarget },
    /// Tell the agent who asked for a transfer how it ended.
    TransferEnded { from: AgentId, interaction: InteractionId, ticket: Ticket, outcome: TransferOutcome },
    /// An agent's presence: the answer to its own request (before what it leads to), or a change the desk
    /// made (a missed offer, going offline).
    PresenceChanged { agent: AgentId, presence: Presence },
}

impl DeskRefusal {
    /// The wire code an agent's desktop receives for this refusal.
    pub fn code(&self) -> crate::errors::ErrorCode {
        use crate::errors::ErrorCode;
        match self {
            DeskRefusal::TargetNotReady | DeskRefusal::TargetFull | DeskRefusal::TransferToSelf => {
                ErrorCode::TransferRefused
            }
            DeskRefusal::UnknownAgent | DeskRefusal::UnknownQueue => ErrorCode::NotFound,
            DeskRefusal::NotYours => ErrorCode::Unauthorized,
            DeskRefusal::NoSuchOffer
            | DeskRefusal::AutoAcceptCannotReject
            | DeskRefusal::TransferPending
            | DeskRefusal::NoTransferPending => ErrorCode::NotAllowedNow,
        }
    }
}

impl DeskEffect {
    /// The interaction a decision is about (for the adapter to forward it to its conversation).
    pub fn interaction(&self) -> Option<InteractionId> {
        match self {
            DeskEffect::Offer { interaction, .. }
            | DeskEffect::OfferWithdrawn { interaction, .. }
            | DeskEffect::Assigned { interaction, .. }
            | DeskEffect::Requeued { interaction, .. }
            | DeskEffect::TransferStarted { interaction, .. }
            | DeskEffect::TransferEnded { interaction, .. } => Some(*interaction),
            DeskEffect::PresenceChanged { .. } => None,
        }
    }
}

/// Why the desk refused an agent's request.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum DeskRefusal {
    #[error("there is no such agent on this site")]
    UnknownAgent,
    #[error("there is no such queue on this site")]
    UnknownQueue,
    #[error("there is no such offer (it may have been withdrawn or timed out)")]
    NoSuchOffer,
    #[error("interactions offered with auto-accept cannot be rejected")]
    AutoAcceptCannotReject,
    #[error("this interaction is not yours")]
    NotYours,
    #[error("a transfer of this interaction is already pending")]
    TransferPending,
    #[error("the interaction cannot be transferred to its own agent")]
    TransferToSelf,
    #[error("that agent is not Ready")]
    TargetNotReady,
    #[error("that agent has no free capacity")]
    TargetFull,
    #[error("no transfer of this interaction is pending")]
    NoTransferPending,
}

/// An agent as the desk tracks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seat {
    pub profile: RoutingProfile,
    pub presence: Presence,
    /// When the agent last became Ready or finished an interaction: longest idle is offered first.
    pub idle_since: Millis,
    /// What counts against capacity: offered, active, incoming transfers.
    pub load: BTreeSet<InteractionId>,
    /// The agent's desktop lost its connection at this time; it goes Offline if it is not back within
    /// [`DISCONNECT_GRACE_MS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnected_at: Option<Millis>,
}

impl Seat {
    fn has_room(&self) -> bool {
        (self.load.len() as u64) < u64::from(self.profile.capacity)
    }

    fn serves(&self, queue: &QueueId) -> bool {
        self.profile.queues.is_empty() || self.profile.queues.contains(queue)
    }
}

/// An interaction waiting for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waiting {
    pub interaction: InteractionId,
    pub queue: QueueId,
    /// Position in the queue: the oldest is offered first. Kept across rejects and timeouts.
    pub since: Millis,
    /// Agents not to offer it to again in this round.
    pub refused_by: BTreeSet<AgentId>,
    /// When the last refusal happened (a new round starts no sooner than one offer timeout after).
    pub last_refusal: Option<Millis>,
    /// A transfer to a queue: the agent who asked for it (keeps it meanwhile; never offered it).
    pub transfer_from: Option<AgentId>,
    /// An agent to try first (the one who reactivated the conversation).
    pub prefer: Option<AgentId>,
}

impl Waiting {
    /// A fresh entry: no refusals, no transfer, no preferred agent.
    fn new(interaction: InteractionId, queue: QueueId, since: Millis) -> Self {
        Waiting {
            interaction,
            queue,
            since,
            refused_by: BTreeSet::new(),
            last_refusal: None,
            transfer_from: None,
            prefer: None,
        }
    }
}

/// An offer waiting for Accept or Reject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingOffer {
    pub agent: AgentId,
    pub expires: Millis,
    pub kind: OfferKind,
    /// For queue offers (including transfers to a queue): the queue entry to restore on refusal.
    pub from_queue: Option<Waiting>,
}

/// The routing state of one site. Serialisable as a whole, so the Desk object can persist it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Desk {
    pub offer_timeout_ms: i64,
    pub queues: BTreeSet<QueueId>,
    pub agents: BTreeMap<AgentId, Seat>,
    /// Oldest first.
    pub waiting: Vec<Waiting>,
    pub offers: BTreeMap<InteractionId, PendingOffer>,
    /// Who handles each active interaction.
    pub assigned: BTreeMap<InteractionId, AgentId>,
    /// The ticket of each interaction the desk is routing or has assigned.
    pub tickets: BTreeMap<InteractionId, Ticket>,
    #[serde(skip)]
    effects: VecDeque<DeskEffect>,
}

/// How long an agent's desktop may be disconnected (a reload, a network blip) before the agent is set
/// Offline and its interactions go back to the queue.
pub const DISCONNECT_GRACE_MS: Millis = 60_000;

/// The default queue every site has.
pub fn default_queue() -> QueueId {
    QueueId("default".into())
}

impl Desk {
    pub fn new(offer_timeout_ms: i64, queues: impl IntoIterator<Item = QueueId>) -> Self {
        let mut queues: BTreeSet<QueueId> = queues.into_iter().collect();
        queues.insert(default_queue());
        Desk { offer_timeout_ms, queues, ..Desk::default() }
    }

    /// All pending decisions.
    pub fn drain(&mut self) -> Vec<DeskEffect> {
        self.effects.drain(..).collect()
    }

    /// The site's settings changed: the offer timeout, its queues and its agents. Queues only grow (a chat
    /// may still wait in one the admin just removed); listed agents are added or updated as
    /// [`Desk::upsert_agent`] does, and agents no longer listed are removed as [`Desk::remove_agent`] does.
    pub fn configure(
        &mut self,
        offer_timeout_ms: i64,
        queues: impl IntoIterator<Item = QueueId>,
        agents: impl IntoIterator<Item = (AgentId, RoutingProfile)>,
        now: Millis,
    ) {
        self.offer_timeout_ms = offer_timeout_ms;
        self.queues.extend(queues);
        let agents: Vec<(AgentId, RoutingProfile)> = agents.into_iter().collect();
        let removed: Vec<AgentId> =
            self.agents.keys().filter(|known| !agents.iter().any(|(a, _)| a == *known)).cloned().collect();
        for (agent, profile) in agents {
            self.upsert_agent(agent, profile, now);
        }
        for agent in &removed {
            self.remove_agent(agent, now);
        }
    }

    /// Adds or updates an agent (Offline until it says otherwise). Lowering capacity never takes away what
    /// the agent already has; it only stops new offers until the load is under the new capacity.
    pub fn upsert_agent(&mut self, agent: AgentId, profile: RoutingProfile, now: Millis) {
        self.agents.entry(agent).and_modify(|seat| seat.profile = profile.clone()).or_insert(Seat {
            profile,
            presence: Presence::Offline,
            idle_since: now,
            load: BTreeSet::new(),
            disconnected_at: None,
        });
        self.route(now);
    }

    /// An account was deactivated or deleted: it goes Offline (its offers are withdrawn and its chats go back
    /// to their queues, as when it signs out), then the desk forgets it.
    pub fn remove_agent(&mut self, agent: &AgentId, now: Millis) {
        self.withdraw_queue_offers(agent, now);
        if self.set_presence(agent, Presence::Offline, now).is_ok() {
            self.agents.remove(agent);
            self.route(now);
        }
    }

    /// The agent's presence menu.
    pub fn set_presence(
        &mut self,
        agent: &AgentId,
        presence: Presence,
        now: Millis,
    ) -> Result<(), DeskRefusal> {
        let seat = self.agents.get_mut(agent).ok_or(DeskRefusal::UnknownAgent)?;
        // The agent hears of its presence (also when unchanged: the answer to its request) before anything
        // it leads to, so an agent going Ready is told so before it is offered a chat.
        self.effects.push_back(DeskEffect::PresenceChanged { agent: agent.clone(), presence });
        if seat.presence == presence {
            return Ok(());
        }
        let was = seat.presence;
        seat.presence = presence;
        if presence == Presence::Ready {
            seat.idle_since = now;
        }
        if was == Presence::Ready {
            self.withdraw_queue_offers(agent, now);
        }
        if presence == Presence::Offline {
            self.requeue_all_of(agent, now);
        }
        self.route(now);
        Ok(())
    }

    /// A new conversation, or a conversation whose contact came back, waits for an agent.
    pub fn enqueue(
        &mut self,
        interaction: InteractionId,
        ticket: Ticket,
        queue: QueueId,
        prefer: Option<AgentId>,
        now: Millis,
    ) {
        if self.is_known(interaction) {
            return; // already waiting, offered or handled: enqueueing again is a duplicate request
        }
        self.tickets.insert(interaction, ticket);
        let queue = self.known_queue(queue);
        self.insert_waiting(Waiting { prefer, ..Waiting::new(interaction, queue, now) });
        self.route(now);
    }

    /// Takes back the offer of `interaction`, if any, because what it offered is gone (ended, parked,
    /// cancelled): the card disappears and the capacity it reserved is free again.
    fn withdraw_gone_offer(&mut self, interaction: InteractionId, now: Millis) -> Option<PendingOffer> {
        let offer = self.offers.remove(&interaction)?;
        self.unload(&offer.agent, interaction, now);
        self.effects.push_back(DeskEffect::OfferWithdrawn {
            ticket: self.ticket(interaction),
            agent: offer.agent.clone(),
            interaction,
            reason: WithdrawReason::Gone,
        });
        Some(offer)
    }

    /// `interaction` is offered to `agent` right now.
    fn offered_to(&self, agent: &AgentId, interaction: InteractionId) -> Result<(), DeskRefusal> {
        match self.offers.get(&interaction) {
            Some(offer) if offer.agent == *agent => Ok(()),
            _ => Err(DeskRefusal::NoSuchOffer),
        }
    }

    pub fn accept(
        &mut self,
        agent: &AgentId,
        interaction: InteractionId,
        now: Millis,
    ) -> Result<(), DeskRefusal> {
        self.offered_to(agent, interaction)?;
        let offer = self.offers.remove(&interaction).ok_or(DeskRefusal::NoSuchOffer)?;
        let how = match offer.kind {
            OfferKind::Queue => AssignKind::Accepted,
            OfferKind::Transfer { from } => AssignKind::Transferred { from },
        };
        self.complete_assignment(agent.clone(), interaction, how, now);
        Ok(())
    }

    pub fn reject(
        &mut self,
        agent: &AgentId,
        interaction: InteractionId,
        now: Millis,
    ) -> Result<(), DeskRefusal> {
        self.offered_to(agent, interaction)?;
        if self.agents.get(agent).is_some_and(|s| s.profile.auto_accept) {
            return Err(DeskRefusal::AutoAcceptCannotReject);
        }
        self.refuse_offer(interaction, WithdrawReason::Rejected, now);
        self.route(now);
        Ok(())
    }

    /// The agent parked the interaction, or it ended: it no longer counts against the agent's capacity.
    /// A pending transfer or offer of it is cancelled; a waiting entry is removed.
    pub fn release(&mut self, interaction: InteractionId, now: Millis) {
        if let Some(PendingOffer { kind: OfferKind::Transfer { from }, .. }) =
            self.withdraw_gone_offer(interaction, now)
        {
            self.effects.push_back(DeskEffect::TransferEnded {
                ticket: self.ticket(interaction),
                from,
                interaction,
                outcome: TransferOutcome::Cancelled,
            });
        }
        if let Some(at) = self.waiting.iter().position(|w| w.interaction == interaction) {
            let waiting = self.waiting.remove(at);
            if let Some(from) = waiting.transfer_from {
                self.effects.push_back(DeskEffect::TransferEnded {
                    ticket: self.ticket(interaction),
                    from,
                    interaction,
                    outcome: TransferOutcome::Cancelled,
                });
            }
        }
        if let Some(agent) = self.assigned.remove(&interaction) {
            self.unload(&agent, interaction, now);
        }
        self.tickets.remove(&interaction);
        self.route(now);
    }

    /// The contact replied to an interaction parked by `agent`: back to that agent if it is signed in with
    /// room, else to the queue (post-parking plan).
    pub fn reclaim(
        &mut self,
        interaction: InteractionId,
        ticket: Ticket,
        agent: &AgentId,
        queue: QueueId,
        now: Millis,
    ) {
        if self.is_known(interaction) {
            return;
        }
        self.tickets.insert(interaction, ticket);
        let can_take =
            self.agents.get(agent).is_some_and(|seat| seat.presence != Presence::Offline && seat.has_room());
        if can_take {
            self.load(agent, interaction);
            self.assigned.insert(interaction, agent.clone());
            self.effects.push_back(DeskEffect::Assigned {
                ticket: self.ticket(interaction),
                agent: agent.clone(),
                interaction,
                how: AssignKind::Unparked,
            });
        } else {
            self.effects.push_back(DeskEffect::Requeued {
                ticket: self.ticket(interaction),
                interaction,
                from: agent.clone(),
                reason: RequeueReason::PostParking,
            });
            let queue = self.known_queue(queue);
            self.insert_waiting(Waiting::new(interaction, queue, now));
        }
        self.route(now);
    }

    /// A cold transfer requested by the interaction's agent.
    pub fn transfer(
        &mut self,
        from: &AgentId,
        interaction: InteractionId,
        target: TransferTarget,
        now: Millis,
    ) -> Result<(), DeskRefusal> {
        if self.assigned.get(&interaction) != Some(from) {
            return Err(DeskRefusal::NotYours);
        }
        if self.offers.contains_key(&interaction) || self.waiting.iter().any(|w| w.interaction == interaction)
        {
            return Err(DeskRefusal::TransferPending);
        }
        // Check the target first, announce the transfer once, then route it.
        match &target {
            TransferTarget::Agent(to) => {
                if to == from {
                    return Err(DeskRefusal::TransferToSelf);
                }
                let seat = self.agents.get(to).ok_or(DeskRefusal::UnknownAgent)?;
                if seat.presence != Presence::Ready {
                    return Err(DeskRefusal::TargetNotReady);
                }
                if !seat.has_room() {
                    return Err(DeskRefusal::TargetFull);
                }
            }
            TransferTarget::Queue(queue) => {
                if !self.queues.contains(queue) {
                    return Err(DeskRefusal::UnknownQueue);
                }
            }
        }
        self.effects.push_back(DeskEffect::TransferStarted {
            ticket: self.ticket(interaction),
            from: from.clone(),
            interaction,
            target: target.clone(),
        });
        match target {
            TransferTarget::Agent(to) => {
                self.make_offer(to, interaction, OfferKind::Transfer { from: from.clone() }, None, now);
            }
            TransferTarget::Queue(queue) => {
                // Never offered back to its sender: `transfer_from` keeps it from every round.
                self.insert_waiting(Waiting {
                    transfer_from: Some(from.clone()),
                    ..Waiting::new(interaction, queue, now)
                });
                self.route(now);
            }
        }
        Ok(())
    }

    /// The sender withdraws its pending transfer.
    pub fn cancel_transfer(
        &mut self,
        from: &AgentId,
        interaction: InteractionId,
        now: Millis,
    ) -> Result<(), DeskRefusal> {
        if self.assigned.get(&interaction) != Some(from) {
            return Err(DeskRefusal::NotYours);
        }
        let pending_offer = self
            .offers
            .get(&interaction)
            .is_some_and(|o| o.kind == OfferKind::Transfer { from: from.clone() });
        let pending_queue = self
            .waiting
            .iter()
            .any(|w| w.interaction == interaction && w.transfer_from.as_ref() == Some(from));
        if !pending_offer && !pending_queue {
            return Err(DeskRefusal::NoTransferPending);
        }
        self.withdraw_gone_offer(interaction, now);
        self.waiting.retain(|w| w.interaction != interaction);
        self.effects.push_back(DeskEffect::TransferEnded {
            ticket: self.ticket(interaction),
            from: from.clone(),
            interaction,
            outcome: TransferOutcome::Cancelled,
        });
        self.route(now);
        Ok(())
    }

    /// Whether the site takes another chat while `max_waiting` wait already (queued or offered, no agent
    /// yet): a full queue turns new chats away with a clear answer rather than grow without end.
    pub fn takes_another_chat(&self, max_waiting: u32) -> bool {
        self.waiting.len() + self.offers.len() < max_waiting as usize
    }

    /// When [`Desk::handle_timeout`] should next be called: the earliest offer expiry, or the earliest time a
    /// refused interaction starts a new round. Always in the future of the last `handle_timeout`.
    pub fn deadline(&self) -> Option<Millis> {
        let offers = self.offers.values().map(|o| o.expires);
        let rounds = self.waiting.iter().filter_map(|w| w.last_refusal.map(|at| at + self.offer_timeout_ms));
        let gone = self.agents.values().filter_map(|s| s.disconnected_at.map(|at| at + DISCONNECT_GRACE_MS));
        offers.chain(rounds).chain(gone).min()
    }

    /// The agent's desktop connected (or reconnected within the grace period): it may be offered chats again.
    pub fn agent_connected(&mut self, agent: &AgentId, now: Millis) {
        if let Some(seat) = self.agents.get_mut(agent)
            && seat.disconnected_at.take().is_some()
        {
            self.route(now);
        }
    }

    /// The agent's last desktop connection closed. Nobody is there to answer an offer: its open offers go to
    /// others at once, and it is offered nothing until a desktop is back. The chats it holds stay its own for
    /// [`DISCONNECT_GRACE_MS`] (a reload must not lose them); if it is not back by then, it is set Offline and
    /// they go to others too.
    pub fn agent_disconnected(&mut self, agent: &AgentId, now: Millis) {
        if let Some(seat) = self.agents.get_mut(agent)
            && seat.presence != Presence::Offline
            && seat.disconnected_at.is_none()
        {
            seat.disconnected_at = Some(now);
            self.withdraw_queue_offers(agent, now);
            self.route(now);
        }
    }

    /// Expires offers, starts new refusal rounds and signs out vanished agents, as due. Harmless to call
    /// early or twice.
    pub fn handle_timeout(&mut self, now: Millis) {
        let vanished: Vec<AgentId> = self
            .agents
            .iter()
            .filter(|(_, s)| s.disconnected_at.is_some_and(|at| at + DISCONNECT_GRACE_MS <= now))
            .map(|(a, _)| a.clone())
            .collect();
        for agent in vanished {
            if let Some(seat) = self.agents.get_mut(&agent) {
                seat.disconnected_at = None;
            }
            let _ = self.set_presence(&agent, Presence::Offline, now);
        }
        for waiting in &mut self.waiting {
            if waiting.last_refusal.is_some_and(|at| at + self.offer_timeout_ms <= now) {
                waiting.refused_by.clear();
                waiting.last_refusal = None;
            }
        }
        let expired: Vec<InteractionId> =
            self.offers.iter().filter(|(_, o)| o.expires <= now).map(|(id, _)| *id).collect();
        for interaction in expired {
            let Some(agent) = self.offers.get(&interaction).map(|o| o.agent.clone()) else { continue };
            self.refuse_offer(interaction, WithdrawReason::TimedOut, now);
            // An agent who lets an offer run out is away: stop offering them more.
            if let Some(seat) = self.agents.get_mut(&agent)
                && seat.presence == Presence::Ready
            {
                seat.presence = Presence::NotReady;
                self.effects.push_back(DeskEffect::PresenceChanged {
                    agent: agent.clone(),
                    presence: Presence::NotReady,
                });
                self.withdraw_queue_offers(&agent, now);
            }
        }
        self.route(now);
    }

    /// `queue` if the site has it, else the default queue (a queue may be removed while chats wait in it).
    fn known_queue(&self, queue: QueueId) -> QueueId {
        if self.queues.contains(&queue) { queue } else { default_queue() }
    }

    fn ticket(&self, interaction: InteractionId) -> Ticket {
        self.tickets.get(&interaction).copied().unwrap_or_default()
    }

    /// Whether the desk is doing anything with this interaction.
    fn is_known(&self, interaction: InteractionId) -> bool {
        self.assigned.contains_key(&interaction)
            || self.offers.contains_key(&interaction)
            || self.waiting.iter().any(|w| w.interaction == interaction)
    }

    fn insert_waiting(&mut self, waiting: Waiting) {
        let at = self
            .waiting
            .partition_point(|w| (w.since, w.interaction) <= (waiting.since, waiting.interaction));
        self.waiting.insert(at, waiting);
    }

    fn load(&mut self, agent: &AgentId, interaction: InteractionId) {
        if let Some(seat) = self.agents.get_mut(agent) {
            seat.load.insert(interaction);
        }
    }

    fn unload(&mut self, agent: &AgentId, interaction: InteractionId, now: Millis) {
        if let Some(seat) = self.agents.get_mut(agent)
            && seat.load.remove(&interaction)
            && seat.load.is_empty()
        {
            seat.idle_since = now;
        }
    }

    fn make_offer(
        &mut self,
        agent: AgentId,
        interaction: InteractionId,
        kind: OfferKind,
        from_queue: Option<Waiting>,
        now: Millis,
    ) {
        self.load(&agent, interaction);
        let auto = self.agents.get(&agent).is_some_and(|s| s.profile.auto_accept);
        if auto {
            let how = match kind {
                OfferKind::Queue => AssignKind::AutoAccepted,
                OfferKind::Transfer { from } => AssignKind::Transferred { from },
            };
            self.complete_assignment(agent, interaction, how, now);
            return;
        }
        let expires = now + self.offer_timeout_ms;
        self.effects.push_back(DeskEffect::Offer {
            ticket: self.ticket(interaction),
            agent: agent.clone(),
            interaction,
            kind: kind.clone(),
            expires,
        });
        self.offers.insert(interaction, PendingOffer { agent, expires, kind, from_queue });
    }

    /// `agent` (already loaded with the interaction) now handles it.
    fn complete_assignment(
        &mut self,
        agent: AgentId,
        interaction: InteractionId,
        how: AssignKind,
        now: Millis,
    ) {
        if let AssignKind::Transferred { from } = &how {
            self.unload(from, interaction, now);
            self.effects.push_back(DeskEffect::TransferEnded {
                ticket: self.ticket(interaction),
                from: from.clone(),
                interaction,
                outcome: TransferOutcome::Accepted { by: agent.clone() },
            });
        }
        self.assigned.insert(interaction, agent.clone());
        self.effects.push_back(DeskEffect::Assigned {
            ticket: self.ticket(interaction),
            agent,
            interaction,
            how,
        });
    }

    /// An offer was rejected or timed out: back to its queue (keeping its place), or, for a transfer to an
    /// agent, back to the sender.
    fn refuse_offer(&mut self, interaction: InteractionId, reason: WithdrawReason, now: Millis) {
        let Some(offer) = self.offers.remove(&interaction) else { return };
        self.unload(&offer.agent, interaction, now);
        self.effects.push_back(DeskEffect::OfferWithdrawn {
            ticket: self.ticket(interaction),
            agent: offer.agent.clone(),
            interaction,
            reason,
        });
        match (offer.kind, offer.from_queue) {
            // An agent who said no, or did not answer, is not asked again this round; one who merely went
            // away (Not Ready, no desktop) is not offered anything while away anyway.
            (_, Some(mut waiting)) => {
                if matches!(reason, WithdrawReason::Rejected | WithdrawReason::TimedOut) {
                    waiting.refused_by.insert(offer.agent);
                    waiting.last_refusal = Some(now);
                }
                self.insert_waiting(waiting);
            }
            (OfferKind::Transfer { from }, None) => {
                let outcome = match reason {
                    WithdrawReason::TimedOut => TransferOutcome::Expired,
                    WithdrawReason::Rejected => TransferOutcome::Rejected { by: offer.agent },
                    WithdrawReason::AgentUnavailable | WithdrawReason::Gone => TransferOutcome::Cancelled,
                };
                self.effects.push_back(DeskEffect::TransferEnded {
                    ticket: self.ticket(interaction),
                    from,
                    interaction,
                    outcome,
                });
            }
            (OfferKind::Queue, None) => {}
        }
    }

    /// The agent stopped being Ready: its pending queue offers go to others. Transfer offers addressed to
    /// it directly are cancelled (the sender keeps the interaction).
    fn withdraw_queue_offers(&mut self, agent: &AgentId, now: Millis) {
        let mine: Vec<InteractionId> =
            self.offers.iter().filter(|(_, o)| o.agent == *agent).map(|(id, _)| *id).collect();
        for interaction in mine {
            self.refuse_offer(interaction, WithdrawReason::AgentUnavailable, now);
        }
    }

    /// The agent went offline: everything it was handling waits for someone else.
    fn requeue_all_of(&mut self, agent: &AgentId, now: Millis) {
        // Transfers it had asked for that wait in a queue are moot: its chats are queued anyway, below.
        self.waiting.retain(|w| w.transfer_from.as_ref() != Some(agent));
        let active: Vec<InteractionId> =
            self.assigned.iter().filter(|(_, a)| *a == agent).map(|(id, _)| *id).collect();
        for interaction in active {
            // So is one offered to an agent.
            let transfer_from_here = self
                .offers
                .get(&interaction)
                .is_some_and(|o| matches!(&o.kind, OfferKind::Transfer { from } if from == agent));
            if transfer_from_here {
                self.withdraw_gone_offer(interaction, now);
            }
            self.assigned.remove(&interaction);
            self.unload(agent, interaction, now);
            self.effects.push_back(DeskEffect::Requeued {
                ticket: self.ticket(interaction),
                interaction,
                from: agent.clone(),
                reason: RequeueReason::AgentOffline,
            });
            // Not a refusal: if this agent is the next one Ready, it may take its chat back.
            self.insert_waiting(Waiting::new(interaction, default_queue(), now));
        }
    }

    /// Offers waiting interactions, oldest first, to the best eligible agent each.
    fn route(&mut self, now: Millis) {
        let mut i = 0;
        while i < self.waiting.len() {
            let candidate = self.pick_agent(&self.waiting[i]);
            match candidate {
                Some(agent) => {
                    let waiting = self.waiting.remove(i);
                    let interaction = waiting.interaction;
                    let kind = match &waiting.transfer_from {
                        Some(from) => OfferKind::Transfer { from: from.clone() },
                        None => OfferKind::Queue,
                    };
                    self.make_offer(agent, interaction, kind, Some(waiting), now);
                }
                None => i += 1,
            }
        }
    }

    fn pick_agent(&self, waiting: &Waiting) -> Option<AgentId> {
        let eligible = |agent: &AgentId, seat: &Seat| {
            seat.presence == Presence::Ready
                && seat.disconnected_at.is_none()
                && seat.has_room()
                && seat.serves(&waiting.queue)
                && waiting.transfer_from.as_ref() != Some(agent)
        };
        if let Some(preferred) = &waiting.prefer
            && let Some(seat) = self.agents.get(preferred)
            && eligible(preferred, seat)
            && !waiting.refused_by.contains(preferred)
        {
            return Some(preferred.clone());
        }
        self.agents
            .iter()
            .filter(|(agent, seat)| eligible(agent, seat) && !waiting.refused_by.contains(*agent))
            .min_by_key(|(agent, seat)| (seat.load.len(), seat.idle_since, (*agent).clone()))
            .map(|(agent, _)| agent.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str) -> AgentId {
        AgentId(name.into())
    }

    fn queue(name: &str) -> QueueId {
        QueueId(name.into())
    }

    fn chat(n: u128) -> InteractionId {
        InteractionId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_full_queue_takes_no_other_chat_until_one_is_answered() {
        let ada = agent("ada");
        let mut desk = Desk::new(30_000, []);
        desk.configure(30_000, [], [(ada.clone(), RoutingProfile::default())], 0);
        desk.enqueue(chat(1), 1, default_queue(), None, 0);
        desk.enqueue(chat(2), 1, default_queue(), None, 0);
        assert!(!desk.takes_another_chat(2));
        assert!(desk.takes_another_chat(3));
        desk.set_presence(&ada, Presence::Ready, 1).expect("configured");
        assert!(!desk.takes_another_chat(2), "a chat offered, not yet taken, still waits");
        desk.accept(&ada, chat(1), 2).expect("offered to ada");
        assert!(desk.takes_another_chat(2), "answered: room for another");
    }

    #[test]
    fn configuring_keeps_removed_queues_and_takes_the_new_timeout() {
        let mut desk = Desk::new(30_000, [queue("billing")]);
        desk.configure(60_000, [queue("sales")], [(agent("ada"), RoutingProfile::default())], 0);
        desk.configure(60_000, [], [(agent("ada"), RoutingProfile::default())], 0);
        assert_eq!(desk.queues, BTreeSet::from([queue("billing"), default_queue(), queue("sales")]));
        assert_eq!(desk.offer_timeout_ms, 60_000);
        desk.set_presence(&agent("ada"), Presence::Ready, 1_000).expect("configured");
        desk.enqueue(chat(1), 1, queue("sales"), None, 1_000);
        assert!(
            desk.drain().iter().any(|e| matches!(e, DeskEffect::Offer { expires: 61_000, .. })),
            "offers wait the new timeout"
        );
    }

    #[test]
    fn configuring_updates_listed_agents_and_removes_the_others_with_their_chats() {
        let (ada, bob) = (agent("ada"), agent("bob"));
        let mut desk = Desk::new(30_000, []);
        desk.configure(30_000, [], [(ada.clone(), RoutingProfile::default())], 0);
        desk.set_presence(&ada, Presence::Ready, 0).expect("configured");
        desk.enqueue(chat(1), 7, default_queue(), None, 0);
        desk.accept(&ada, chat(1), 1).expect("offered to ada");
        desk.drain();
        let mut by_hand = desk.clone();
        let bob_profile = RoutingProfile { capacity: 5, ..RoutingProfile::default() };

        desk.configure(30_000, [], [(bob.clone(), bob_profile.clone())], 2);
        by_hand.upsert_agent(bob.clone(), bob_profile.clone(), 2);
        by_hand.remove_agent(&ada, 2);

        let effects = desk.drain();
        assert!(effects.contains(&DeskEffect::Requeued {
            interaction: chat(1),
            ticket: 7,
            from: ada.clone(),
            reason: RequeueReason::AgentOffline,
        }));
        assert_eq!(effects, by_hand.drain(), "as removing the agent by hand");
        assert_eq!(desk, by_hand);
        assert_eq!(desk.agents.keys().collect::<Vec<_>>(), [&bob]);
        assert_eq!(desk.agents[&bob].profile, bob_profile);
        assert_eq!(
            desk.waiting.iter().map(|w| w.interaction).collect::<Vec<_>>(),
            [chat(1)],
            "bob is Offline"
        );
    }
}
