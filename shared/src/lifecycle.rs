//! The lifecycle of one interaction, carried out by its `Conversation` Durable Object.
//!
//! ```text
//!            contact writes                desk offers        agent accepts / auto-accept
//!   New ─────────────────────▶ Queued ─────────────▶ Offered ───────────────────────────▶ Active(agent)
//!    ▲                           ▲  ◀── reject / timeout ──┘                               │  ▲  │
//!    │                           │                                   park / auto-park      │  │  │ transfer accepted:
//!    │                           └──── contact replies, agent can't take it ◀── Parked ◀───┘  │  │ Active(other agent)
//!    │                                                          │ contact replies, agent can ─┘  │
//!    │                                                          │ park limit reached             │
//!    │ contact writes again            Ended(by contact | agent | timeout) ◀──────────────────────┘ end
//!    └──────────────────────────────── (+ Wrap for the agent: codes, notes, timer, Extend, Complete)
//! ```
//!
//! - An agent's **writing** is allowed only to the agent the interaction is assigned to (so after an accepted
//!   transfer the sender can no longer write), or to any agent of the site once it has ended: that
//!   **reactivates** it (asynchronous chat), and when the contact answers, the interaction is routed to that
//!   agent first and the agent is notified.
//! - **Park** frees the agent's capacity; the interaction ends when the park limit passes. **Auto-park**
//!   parks an active interaction after a period with no activity, but only while nothing from the contact
//!   is waiting for an answer (an unanswered customer is never hidden away).
//! - **End** (either side) starts the agent's **wrap-up**: disposition codes (one or several, per site),
//!   notes, and, when codes are optional, a countdown that **Extend** resets; at zero the progress is saved and
//!   the interaction closes. With required codes, Complete is refused until one is chosen.
//! - Every [`Event`] says who may see it. The contact sees only that the chat ended
//!   ([`Event::contact_notice`]); transfers, parks, notes and dispositions never reach it.
//!
//! Timers are data: [`Interaction::deadline`] is the earliest moment [`Interaction::handle_timeout`] has
//! work; handling a timeout twice, or early, changes nothing.

use crate::ids::{AgentId, InteractionId, Millis, QueueId};
use crate::routing::{AssignKind, DeskEffect, OfferKind, Ticket, TransferOutcome, TransferTarget};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use thiserror::Error;

/// A disposition (wrap-up) code a site offers its agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionCode {
    pub code: String,
    pub label: String,
}

/// How wrap-up works on a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WrapRules {
    pub codes: Vec<DispositionCode>,
    /// Complete is refused until a code is chosen; there is no countdown.
    pub required: bool,
    /// Several codes may be chosen; otherwise choosing one replaces the previous.
    pub multiple: bool,
    /// With optional codes: how long the wrap-up lasts before it closes by itself (Extend restarts it).
    pub timeout_ms: i64,
}

impl Default for WrapRules {
    fn default() -> Self {
        WrapRules { codes: Vec::new(), required: false, multiple: false, timeout_ms: 2 * 60 * 1000 }
    }
}

/// A site's lifecycle settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LifecycleRules {
    /// A parked interaction ends this long after it was parked.
    pub park_limit_ms: i64,
    /// Park an active interaction after this long without activity (`None`: never).
    pub auto_park_after_ms: Option<i64>,
    pub wrap: WrapRules,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules {
            park_limit_ms: 60 * 60 * 1000,
            auto_park_after_ms: Some(15 * 60 * 1000),
            wrap: WrapRules::default(),
        }
    }
}

/// Who ended a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "agent", rename_all = "snake_case")]
pub enum EndedBy {
    Contact,
    Agent(AgentId),
    /// The park limit passed with no reply from the contact.
    Timeout,
}

/// Where the interaction is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Created; the contact has not written yet.
    New,
    Queued {
        since: Millis,
    },
    Offered {
        agent: AgentId,
        since: Millis,
    },
    Active {
        agent: AgentId,
        since: Millis,
        /// A cold transfer waiting for the receiver's answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer: Option<TransferTarget>,
    },
    Parked {
        agent: AgentId,
        since: Millis,
        /// When it ends if the contact does not reply.
        until: Millis,
        /// The contact replied; the desk is deciding who takes it. It will not time out meanwhile.
        #[serde(default)]
        reclaiming: bool,
    },
    /// The session is over (the conversation stays, and may be reactivated).
    Ended {
        by: EndedBy,
        at: Millis,
    },
}

impl State {
    /// Queued, offered, active or parked: someone is (or is about to be) handling it. A contact's data is not
    /// erased while one of its conversations is open.
    pub fn is_open(&self) -> bool {
        !matches!(self, State::New | State::Ended { .. })
    }

    /// Whether `agent` may write in the conversation now: the agent who has it active, or anyone of the site
    /// in a new or ended one (a follow-up that reopens it). The desktop asks this to enable its composer.
    pub fn agent_may_write(&self, agent: &AgentId) -> Result<(), Refusal> {
        match self {
            State::Active { agent: holder, .. } if holder == agent => Ok(()),
            State::Active { .. } | State::Offered { .. } => Err(Refusal::NotYours),
            State::Parked { agent: holder, .. } if holder == agent => Err(Refusal::Parked),
            State::Parked { .. } => Err(Refusal::NotYours),
            State::Queued { .. } => Err(Refusal::NotAssigned),
            State::New | State::Ended { .. } => Ok(()),
        }
    }
}

impl State {
    /// Whether `agent` may tell the contact it is typing or has read the chat: as for writing, since the
    /// contact takes "typing…" and "Seen" as coming from the agent who has the chat, not from an onlooker.
    pub fn agent_may_signal(&self, agent: &AgentId) -> Result<(), Refusal> {
        self.agent_may_write(agent)
    }
}

/// Why an agent's composer is closed on an interaction (the desktop says it in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBlock {
    /// Offered to this agent (a queue offer or a transfer to it).
    AcceptFirst,
    /// Waiting in the queue for an agent to accept it.
    WaitingInQueue,
    /// This agent parked it.
    UnparkFirst,
    /// Another agent parked it.
    ParkedByAnother,
    /// Another agent has it.
    AnotherAgent,
}

/// What an agent's desktop lets it do on one interaction: the composer and every action button come from
/// this one rule, so that no agent is shown a control that is not its own (a transfer's receiver sees no
/// "Cancel transfer").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentActions {
    /// The composer: open, or why not.
    pub write: Result<(), WriteBlock>,
    pub transfer: bool,
    /// The transfer this agent asked for, pending: it may cancel it.
    pub cancel_transfer: Option<TransferTarget>,
    pub park: bool,
    pub unpark: bool,
    pub end: bool,
}

impl State {
    /// What `agent` may do here; `offered_to_agent` is whether the desk has an open offer of it for this
    /// agent (a transfer's receiver is known to the desk, not to the interaction).
    pub fn actions_for(&self, agent: &AgentId, offered_to_agent: bool) -> AgentActions {
        let holds = matches!(self, State::Active { agent: holder, .. } if holder == agent);
        let parked_by_agent = matches!(self, State::Parked { agent: holder, .. } if holder == agent);
        let pending = match self {
            State::Active { agent: holder, transfer: Some(target), .. } if holder == agent => {
                Some(target.clone())
            }
            _ => None,
        };
        let write = match self.agent_may_write(agent) {
            Ok(()) => Ok(()),
            Err(_) if offered_to_agent => Err(WriteBlock::AcceptFirst),
            Err(Refusal::Parked) => Err(WriteBlock::UnparkFirst),
            Err(_) => Err(match self {
                State::Offered { agent: offered, .. } if offered == agent => WriteBlock::AcceptFirst,
                State::Queued { .. } => WriteBlock::WaitingInQueue,
                State::Parked { .. } => WriteBlock::ParkedByAnother,
                _ => WriteBlock::AnotherAgent,
            }),
        };
        AgentActions {
            write,
            transfer: holds && pending.is_none(),
            park: holds && pending.is_none(),
            cancel_transfer: pending,
            unpark: parked_by_agent,
            end: holds || parked_by_agent,
        }
    }
}

/// The phases DESIGN.md names, for display: the state plus whether a wrap-up is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    New,
    Queued,
    Offered,
    Active,
    Parked,
    Ended,
    Wrap,
    Completed,
}

impl Phase {
    /// Every phase, in lifecycle order.
    pub const ALL: [Phase; 8] = [
        Phase::New,
        Phase::Queued,
        Phase::Offered,
        Phase::Active,
        Phase::Parked,
        Phase::Ended,
        Phase::Wrap,
        Phase::Completed,
    ];

    /// The phases of an open interaction ([`State::is_open`]).
    pub fn is_open(self) -> bool {
        matches!(self, Phase::Queued | Phase::Offered | Phase::Active | Phase::Parked)
    }

    /// The phase on the wire (what serde writes for it), for UIs that name it without serde (CSS hooks).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::New => "new",
            Phase::Queued => "queued",
            Phase::Offered => "offered",
            Phase::Active => "active",
            Phase::Parked => "parked",
            Phase::Ended => "ended",
            Phase::Wrap => "wrap",
            Phase::Completed => "completed",
        }
    }
}

/// See [`Interaction::log_status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStatus {
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Millis>,
    /// While active or parked: the contact's oldest message not answered yet (the supervisor's reply SLA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_reply_since: Option<Millis>,
}

impl LogStatus {
    /// `agent` holds the interaction: it is offered to it, active or parked with it, or in its wrap-up.
    pub fn held_by(&self, agent: &AgentId) -> bool {
        self.agent.as_ref() == Some(agent) && self.phase != Phase::Completed
    }

    /// `agent` holds the interaction and it is in one of `phases`: one section of the agent's own log.
    pub fn held_by_in(&self, agent: &AgentId, phases: &[Phase]) -> bool {
        self.held_by(agent) && phases.contains(&self.phase)
    }
}

/// Service-level timers of a session (shown to agents above the transcript).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sla {
    /// The contact's first message of the session.
    pub started: Millis,
    pub first_response: Option<Millis>,
    /// The contact's oldest message not yet answered by an agent.
    pub awaiting_reply_since: Option<Millis>,
    pub resolved: Option<Millis>,
}

impl Sla {
    fn started_at(now: Millis) -> Self {
        Sla { started: now, first_response: None, awaiting_reply_since: Some(now), resolved: None }
    }

    /// From the contact's first message to the first agent answer (still running if none yet).
    pub fn time_to_first_response(&self, now: Millis) -> i64 {
        self.first_response.unwrap_or(self.resolved.unwrap_or(now)) - self.started
    }

    /// Since the contact's oldest unanswered message, if one is waiting.
    pub fn time_to_reply(&self, now: Millis) -> Option<i64> {
        self.awaiting_reply_since.filter(|_| self.resolved.is_none()).map(|since| now - since)
    }

    /// From the contact's first message to the end of the session (still running until then).
    pub fn time_to_resolution(&self, now: Millis) -> i64 {
        self.resolved.unwrap_or(now) - self.started
    }
}

/// One episode of the conversation: from a contact message that finds nobody handling it, to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub number: u32,
    pub sla: Sla,
    /// The last agent who handled it.
    pub agent: Option<AgentId>,
    /// Chosen while active or in wrap-up.
    pub codes: Vec<String>,
    pub notes: String,
}

/// An agent's wrap-up of an ended session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrapUp {
    pub agent: AgentId,
    pub session: Session,
    pub ended_by: EndedBy,
    pub ended_at: Millis,
    /// With optional codes: when it closes by itself.
    pub deadline: Option<Millis>,
}

/// What is saved to the interaction record when a wrap-up completes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRecord {
    pub interaction: InteractionId,
    pub session: u32,
    pub agent: Option<AgentId>,
    pub codes: Vec<String>,
    pub notes: String,
    pub started: Millis,
    pub ended_at: Millis,
    pub ended_by: EndedBy,
    pub completed_at: Millis,
    /// Closed by the wrap timer, not by the agent.
    pub auto_closed: bool,
    pub time_to_first_response_ms: Option<i64>,
    pub duration_ms: i64,
}

/// Something that happened, to be shown to those who may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        session: u32,
        at: Millis,
    },
    Queued {
        at: Millis,
    },
    Offered {
        agent: AgentId,
        at: Millis,
    },
    Assigned {
        agent: AgentId,
        how: AssignKind,
        at: Millis,
    },
    TransferRequested {
        from: AgentId,
        target: TransferTarget,
        at: Millis,
    },
    TransferEnded {
        from: AgentId,
        outcome: TransferOutcome,
        at: Millis,
    },
    Parked {
        agent: AgentId,
        until: Millis,
        auto: bool,
        at: Millis,
    },
    /// Back with its agent: by the agent's own Unpark, or because the contact replied.
    Unparked {
        agent: AgentId,
        by_contact: bool,
        at: Millis,
    },
    /// The contact replied to a parked interaction whose agent could not take it back.
    ReturnedToQueue {
        from: AgentId,
        at: Millis,
    },
    Ended {
        by: EndedBy,
        at: Millis,
        duration_ms: i64,
    },
    WrapStarted {
        agent: AgentId,
        deadline: Option<Millis>,
        at: Millis,
    },
    WrapExtended {
        agent: AgentId,
        deadline: Millis,
    },
    DispositionChanged {
        agent: AgentId,
        codes: Vec<String>,
    },
    NotesChanged {
        agent: AgentId,
        notes: String,
    },
    Completed {
        record: InteractionRecord,
    },
    /// An agent wrote in an ended conversation; the contact sees it next time.
    Reactivated {
        by: AgentId,
        at: Millis,
    },
    /// The contact answered a conversation `agent` had reactivated: notify that agent.
    ReactivationAnswered {
        agent: AgentId,
        at: Millis,
    },
}

/// What the contact is told, the only part of an [`Event`] that may reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum ContactNotice {
    /// The chat ended; `by_contact` tells whether the contact ended it (else the agent, or inactivity).
    ChatEnded { by_contact: bool, at: Millis },
}

impl Event {
    /// The contact's view of this event: `None` for everything but the end of the chat. Transfers, parks,
    /// notes, dispositions and routing are for agents only.
    pub fn contact_notice(&self) -> Option<ContactNotice> {
        match self {
            Event::Ended { by, at, .. } => {
                Some(ContactNotice::ChatEnded { by_contact: *by == EndedBy::Contact, at: *at })
            }
            _ => None,
        }
    }
}

/// A request for the site's desk (routing), made by the interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum DeskRequest {
    /// Find an agent (trying `prefer` first).
    Enqueue { ticket: Ticket, queue: QueueId, prefer: Option<AgentId> },
    /// Stop counting it against anyone (parked or ended); cancel offers and transfers of it.
    Release,
    /// The contact replied while parked: back to `agent` if it can, else queue.
    Reclaim { ticket: Ticket, agent: AgentId, queue: QueueId },
}

/// Outputs of the lifecycle, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "output", rename_all = "snake_case")]
pub enum Output {
    Event(Event),
    Desk(DeskRequest),
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    #[error("this interaction is handled by another agent")]
    NotYours,
    #[error("the interaction is parked: unpark it first")]
    Parked,
    #[error("the interaction is waiting for an agent")]
    NotAssigned,
    #[error("the interaction has already ended")]
    AlreadyEnded,
    #[error("the chat has not started: it starts with the contact's first message")]
    NotStarted,
    #[error("a transfer is pending")]
    TransferPending,
    #[error("there is no wrap-up to work on")]
    NoWrapUp,
    #[error("choose a disposition code first")]
    DispositionRequired,
    #[error("{0:?} is not one of this site's disposition codes")]
    UnknownCode(String),
    #[error("the interaction is not parked")]
    NotParked,
}

impl Refusal {
    pub fn code(&self) -> crate::errors::ErrorCode {
        match self {
            Refusal::NotYours => crate::errors::ErrorCode::Unauthorized,
            Refusal::UnknownCode(_) => crate::errors::ErrorCode::BadRequest,
            _ => crate::errors::ErrorCode::NotAllowedNow,
        }
    }
}

/// One interaction's lifecycle. Serialisable, so the Conversation object can persist it whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub id: InteractionId,
    pub queue: QueueId,
    pub rules: LifecycleRules,
    pub state: State,
    /// The current (or last) session; `None` until the contact first writes.
    pub session: Option<Session>,
    /// The agent's wrap-up of the last ended session, until completed.
    pub wrap: Option<WrapUp>,
    /// The last message or lifecycle action, for auto-park.
    pub last_activity: Millis,
    /// The agent who reactivated the ended conversation, until the contact answers.
    pub reactivated_by: Option<AgentId>,
    /// Numbers this interaction's routing requests; desk decisions about older ones are ignored.
    pub ticket: Ticket,
    #[serde(skip)]
    outputs: VecDeque<Output>,
}

impl Interaction {
    pub fn new(id: InteractionId, queue: QueueId, rules: LifecycleRules, now: Millis) -> Self {
        Interaction {
            id,
            queue,
            rules,
            state: State::New,
            session: None,
            wrap: None,
            last_activity: now,
            reactivated_by: None,
            ticket: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Every output to carry out, in the order they were decided.
    pub fn drain(&mut self) -> Vec<Output> {
        self.outputs.drain(..).collect()
    }

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    fn ask_desk(&mut self, request: DeskRequest) {
        self.outputs.push_back(Output::Desk(request));
    }

    /// The agent the interaction is with (offered, active or parked).
    pub fn agent(&self) -> Option<&AgentId> {
        match &self.state {
            State::Offered { agent, .. } | State::Active { agent, .. } | State::Parked { agent, .. } => {
                Some(agent)
            }
            _ => None,
        }
    }

    /// Refuses an agent action from anyone but the agent the interaction is with (offered, active, parked)
    /// or whose wrap-up it is: "not yours" comes before "not now", so an onlooker is told the one thing that
    /// matters to it, whatever the interaction is doing.
    fn refuse_other_agents(&self, agent: &AgentId) -> Result<(), Refusal> {
        // Two agents can each have a part: one the reopened chat, the other the wrap-up of its last session.
        let holder = self.agent();
        let wrapping = self.wrap.as_ref().map(|w| &w.agent);
        match (holder, wrapping) {
            (None, None) => Ok(()),
            _ if holder == Some(agent) || wrapping == Some(agent) => Ok(()),
            _ => Err(Refusal::NotYours),
        }
    }

    /// How the interaction stands in an agent's log: its phase, the agent it is with (offered, active,
    /// parked, or in that agent's wrap-up), and the end of the countdown the log shows (a park's limit, a
    /// wrap-up's automatic close).
    pub fn log_status(&self) -> LogStatus {
        let phase = self.phase();
        let agent = self.agent().or(self.wrap.as_ref().map(|w| &w.agent)).cloned();
        let until = match (&self.state, &self.wrap) {
            (State::Parked { until, .. }, _) => Some(*until),
            (State::Ended { .. }, Some(wrap)) => wrap.deadline,
            _ => None,
        };
        let awaiting_reply_since = match self.state {
            State::Active { .. } | State::Parked { .. } => {
                self.session.as_ref().and_then(|s| s.sla.awaiting_reply_since)
            }
            _ => None,
        };
        LogStatus { phase, agent, until, awaiting_reply_since }
    }

    pub fn phase(&self) -> Phase {
        match (&self.state, &self.wrap) {
            (State::New, _) => Phase::New,
            (State::Queued { .. }, _) => Phase::Queued,
            (State::Offered { .. }, _) => Phase::Offered,
            (State::Active { .. }, _) => Phase::Active,
            (State::Parked { .. }, _) => Phase::Parked,
            (State::Ended { .. }, Some(_)) => Phase::Wrap,
            (State::Ended { .. }, None) if self.session.is_some() => Phase::Completed,
            (State::Ended { .. }, None) => Phase::Ended,
        }
    }

    // ----- messages -------------------------------------------------------------------------------------

    /// The contact wrote. Starts a new session if nobody is handling the conversation; unparks a parked one.
    pub fn contact_wrote(&mut self, now: Millis) {
        self.last_activity = now;
        match &mut self.state {
            State::New | State::Ended { .. } => {
                let number = self.session.as_ref().map_or(1, |s| s.number + 1);
                self.session = Some(Session {
                    number,
                    sla: Sla::started_at(now),
                    agent: None,
                    codes: Vec::new(),
                    notes: String::new(),
                });
                self.state = State::Queued { since: now };
                let prefer = self.reactivated_by.take();
                self.emit(Event::SessionStarted { session: number, at: now });
                if let Some(agent) = &prefer {
                    self.emit(Event::ReactivationAnswered { agent: agent.clone(), at: now });
                }
                self.emit(Event::Queued { at: now });
                self.ticket += 1;
                self.ask_desk(DeskRequest::Enqueue {
                    ticket: self.ticket,
                    queue: self.queue.clone(),
                    prefer,
                });
            }
            State::Parked { agent, reclaiming, .. } => {
                if !*reclaiming {
                    *reclaiming = true;
                    let agent = agent.clone();
                    self.reclaim(agent);
                }
                self.note_contact_message(now);
            }
            State::Queued { .. } | State::Offered { .. } | State::Active { .. } => {
                self.note_contact_message(now)
            }
        }
    }

    fn reclaim(&mut self, agent: AgentId) {
        self.ticket += 1;
        self.ask_desk(DeskRequest::Reclaim { ticket: self.ticket, agent, queue: self.queue.clone() });
    }

    fn note_contact_message(&mut self, now: Millis) {
        if let Some(session) = &mut self.session
            && session.sla.awaiting_reply_since.is_none()
        {
            session.sla.awaiting_reply_since = Some(now);
        }
    }

    /// Whether `agent` may write now, and what writing does: `Ok(())` to write in the active interaction;
    /// an ended conversation is reactivated (asynchronous chat).
    pub fn agent_wrote(&mut self, agent: &AgentId, now: Millis) -> Result<(), Refusal> {
        self.state.agent_may_write(agent)?;
        self.last_activity = now;
        if matches!(self.state, State::Active { .. }) {
            if let Some(session) = &mut self.session {
                session.sla.first_response.get_or_insert(now);
                session.sla.awaiting_reply_since = None;
            }
        } else {
            // New or ended: a follow-up that reopens the conversation.
            self.reactivated_by = Some(agent.clone());
            self.emit(Event::Reactivated { by: agent.clone(), at: now });
        }
        Ok(())
    }

    // ----- the desk's decisions -------------------------------------------------------------------------

    /// A decision of the desk about this interaction. Decisions about an older routing request (a session
    /// since ended, a park since left) are ignored: the desk already let go of those.
    pub fn on_desk(&mut self, effect: DeskEffect, now: Millis) {
        // Parked, the interaction let go of the desk (`Release`); a decision about the same ticket that
        // crossed it (its agent went offline, so the desk requeued it and somebody took it) is stale, and the
        // desk drops it when the release arrives. Taking it would leave the chat active, or queued, with an
        // agent the desk no longer counts.
        if matches!(self.state, State::Parked { reclaiming: false, .. }) {
            return;
        }
        let current = |ticket: Ticket| ticket == self.ticket;
        match effect {
            DeskEffect::Offer { agent, ticket, kind: OfferKind::Queue, .. } if current(ticket) => {
                self.offered(agent, now)
            }
            DeskEffect::OfferWithdrawn { agent, ticket, .. } if current(ticket) => {
                self.offer_withdrawn(&agent, now)
            }
            DeskEffect::Assigned { agent, ticket, how, .. } if current(ticket) => {
                self.assigned(agent, how, now)
            }
            DeskEffect::Requeued { from, ticket, .. } if current(ticket) => self.requeued(from, now),
            DeskEffect::TransferStarted { from, ticket, target, .. } if current(ticket) => {
                self.transfer_requested(&from, target, now)
            }
            DeskEffect::TransferEnded { from, ticket, outcome, .. } if current(ticket) => {
                self.transfer_ended(from, outcome, now)
            }
            _ => {}
        }
    }

    fn offered(&mut self, agent: AgentId, now: Millis) {
        if let State::Queued { .. } = self.state {
            self.state = State::Offered { agent: agent.clone(), since: now };
            self.emit(Event::Offered { agent, at: now });
        }
    }

    /// The offer to `agent` was rejected or timed out: waiting again.
    fn offer_withdrawn(&mut self, agent: &AgentId, now: Millis) {
        if matches!(&self.state, State::Offered { agent: a, .. } if a == agent) {
            self.state = State::Queued { since: now };
            self.emit(Event::Queued { at: now });
        }
    }

    /// `agent` now handles the interaction.
    fn assigned(&mut self, agent: AgentId, how: AssignKind, now: Millis) {
        if let State::Ended { .. } = self.state {
            // Ended while the desk was deciding: the desk is told to let go again.
            self.ask_desk(DeskRequest::Release);
            return;
        }
        let by_contact_reply = matches!(self.state, State::Parked { reclaiming: true, .. });
        if let AssignKind::Transferred { from } = &how {
            self.emit(Event::TransferEnded {
                from: from.clone(),
                outcome: TransferOutcome::Accepted { by: agent.clone() },
                at: now,
            });
        }
        self.state = State::Active { agent: agent.clone(), since: now, transfer: None };
        self.last_activity = now;
        if let Some(session) = &mut self.session {
            session.agent = Some(agent.clone());
        }
        if how == AssignKind::Unparked {
            self.emit(Event::Unparked { agent, by_contact: by_contact_reply, at: now });
        } else {
            self.emit(Event::Assigned { agent, how, at: now });
        }
    }

    /// The contact replied to the parked interaction, and its agent could not take it: queued again.
    fn requeued(&mut self, from: AgentId, now: Millis) {
        if let State::Ended { .. } = self.state {
            self.ask_desk(DeskRequest::Release);
            return;
        }
        self.state = State::Queued { since: now };
        self.emit(Event::ReturnedToQueue { from, at: now });
        self.emit(Event::Queued { at: now });
    }

    /// The desk accepted a transfer request of the active agent: it shows as pending. The desk refuses a
    /// second one and one from an agent without the chat before it gets here; should one cross a change of
    /// hands, it changes nothing.
    fn transfer_requested(&mut self, from: &AgentId, target: TransferTarget, now: Millis) {
        if let State::Active { agent, transfer, .. } = &mut self.state
            && agent == from
            && transfer.is_none()
        {
            *transfer = Some(target.clone());
            self.emit(Event::TransferRequested { from: from.clone(), target, at: now });
        }
    }

    /// A transfer ended without a new agent (rejected, expired, cancelled): the sender keeps it.
    fn transfer_ended(&mut self, from: AgentId, outcome: TransferOutcome, now: Millis) {
        if let State::Active { transfer, .. } = &mut self.state {
            *transfer = None;
        }
        if !matches!(outcome, TransferOutcome::Accepted { .. }) {
            self.emit(Event::TransferEnded { from, outcome, at: now });
        }
    }

    // ----- the agent's actions --------------------------------------------------------------------------

    pub fn park(&mut self, agent: &AgentId, now: Millis) -> Result<(), Refusal> {
        self.park_as(agent, false, now)
    }

    fn park_as(&mut self, agent: &AgentId, auto: bool, now: Millis) -> Result<(), Refusal> {
        match &self.state {
            State::Active { agent: holder, transfer, .. } if holder == agent => {
                if transfer.is_some() {
                    return Err(Refusal::TransferPending);
                }
                let until = now + self.rules.park_limit_ms;
                self.state = State::Parked { agent: agent.clone(), since: now, until, reclaiming: false };
                self.last_activity = now;
                self.emit(Event::Parked { agent: agent.clone(), until, auto, at: now });
                self.ask_desk(DeskRequest::Release);
                Ok(())
            }
            State::Active { .. } => Err(Refusal::NotYours),
            State::Parked { .. } => Err(Refusal::Parked),
            State::Ended { .. } => Err(Refusal::AlreadyEnded),
            _ => Err(Refusal::NotAssigned),
        }
    }

    /// The agent takes a parked interaction back itself (the desk checks capacity).
    pub fn unpark(&mut self, agent: &AgentId) -> Result<(), Refusal> {
        self.refuse_other_agents(agent)?;
        let State::Parked { reclaiming, .. } = &mut self.state else { return Err(Refusal::NotParked) };
        // Asked once: a second click while the desk decides changes nothing.
        if !*reclaiming {
            *reclaiming = true;
            self.reclaim(agent.clone());
        }
        Ok(())
    }

    /// Ends the session: by the contact (widget), by the handling agent (End), or by the park limit.
    pub fn end(&mut self, by: EndedBy, now: Millis) -> Result<(), Refusal> {
        let agent = match (&self.state, &by) {
            (State::New, _) => return Err(Refusal::NotStarted),
            (State::Ended { .. }, _) => return Err(Refusal::AlreadyEnded),
            (
                State::Active { agent: holder, .. } | State::Parked { agent: holder, .. },
                EndedBy::Agent(a),
            ) if holder != a => {
                return Err(Refusal::NotYours);
            }
            (State::Queued { .. } | State::Offered { .. }, EndedBy::Agent(_)) => {
                return Err(Refusal::NotYours);
            }
            (State::Active { agent, .. } | State::Parked { agent, .. }, _) => Some(agent.clone()),
            (State::Queued { .. } | State::Offered { .. }, _) => None,
        };
        self.state = State::Ended { by: by.clone(), at: now };
        self.last_activity = now;
        let Some(session) = &mut self.session else { return Ok(()) };
        session.sla.resolved = Some(now);
        let duration_ms = now - session.sla.started;
        let session = session.clone();
        self.ask_desk(DeskRequest::Release);
        self.emit(Event::Ended { by: by.clone(), at: now, duration_ms });
        match agent {
            Some(agent) => {
                // A wrap-up still open from an earlier session is closed now, as its timer would have.
                if self.wrap.is_some() {
                    self.close_wrap(now, true);
                }
                let deadline = (!self.rules.wrap.required).then(|| now + self.rules.wrap.timeout_ms);
                self.wrap =
                    Some(WrapUp { agent: agent.clone(), session, ended_by: by, ended_at: now, deadline });
                self.emit(Event::WrapStarted { agent, deadline, at: now });
            }
            // Nobody handled it: nothing to wrap up, the record is complete.
            None => {
                self.emit(Event::Completed { record: record(self.id, &session, None, &by, now, now, true) })
            }
        }
        Ok(())
    }

    /// Chooses a disposition code, during the session or its wrap-up. With single codes it replaces the
    /// previous choice. Choosing a chosen code again (multiple) removes it.
    pub fn choose_code(&mut self, agent: &AgentId, code: &str) -> Result<(), Refusal> {
        self.refuse_other_agents(agent)?;
        if !self.rules.wrap.codes.iter().any(|c| c.code == code) {
            return Err(Refusal::UnknownCode(code.to_owned()));
        }
        let multiple = self.rules.wrap.multiple;
        let session = self.working_session(agent)?;
        if multiple {
            if let Some(at) = session.codes.iter().position(|c| c == code) {
                session.codes.remove(at);
            } else {
                session.codes.push(code.to_owned());
            }
        } else {
            session.codes = vec![code.to_owned()];
        }
        let codes = session.codes.clone();
        self.emit(Event::DispositionChanged { agent: agent.clone(), codes });
        Ok(())
    }

    pub fn write_notes(&mut self, agent: &AgentId, notes: &str) -> Result<(), Refusal> {
        self.refuse_other_agents(agent)?;
        let session = self.working_session(agent)?;
        session.notes = notes.to_owned();
        self.emit(Event::NotesChanged { agent: agent.clone(), notes: notes.to_owned() });
        Ok(())
    }

    /// The disposition codes and notes being worked on: the wrap-up's while one runs (after the end, the
    /// session may already be a new one), otherwise the current session's.
    pub fn codes_and_notes(&self) -> (&[String], &str) {
        match (&self.wrap, &self.session) {
            (Some(wrap), _) => (&wrap.session.codes, &wrap.session.notes),
            (None, Some(session)) => (&session.codes, &session.notes),
            (None, None) => (&[], ""),
        }
    }

    /// The session `agent` annotates, once [`Interaction::refuse_other_agents`] let it: its wrap-up, else the
    /// session of the chat it has.
    fn working_session(&mut self, agent: &AgentId) -> Result<&mut Session, Refusal> {
        if let Some(wrap) = &mut self.wrap
            && wrap.agent == *agent
        {
            return Ok(&mut wrap.session);
        }
        match self.state {
            State::Active { .. } | State::Parked { .. } => self.session.as_mut().ok_or(Refusal::NotAssigned),
            _ => Err(Refusal::NoWrapUp),
        }
    }

    /// Restarts the wrap countdown.
    pub fn extend_wrap(&mut self, agent: &AgentId, now: Millis) -> Result<(), Refusal> {
        self.refuse_other_agents(agent)?;
        let timeout = self.rules.wrap.timeout_ms;
        let wrap = self.wrap.as_mut().filter(|w| w.agent == *agent).ok_or(Refusal::NoWrapUp)?;
        let Some(deadline) = &mut wrap.deadline else { return Err(Refusal::NoWrapUp) };
        *deadline = now + timeout;
        let deadline = *deadline;
        self.emit(Event::WrapExtended { agent: agent.clone(), deadline });
        Ok(())
    }

    /// Saves the wrap-up to the interaction record and clears it from the agent's log.
    pub fn complete(&mut self, agent: &AgentId, now: Millis) -> Result<(), Refusal> {
        self.refuse_other_agents(agent)?;
        let wrap = self.wrap.as_ref().filter(|w| w.agent == *agent).ok_or(Refusal::NoWrapUp)?;
        if self.rules.wrap.required && wrap.session.codes.is_empty() {
            return Err(Refusal::DispositionRequired);
        }
        self.close_wrap(now, false);
        Ok(())
    }

    fn close_wrap(&mut self, now: Millis, auto_closed: bool) {
        if let Some(wrap) = self.wrap.take() {
            let record = record(
                self.id,
                &wrap.session,
                Some(wrap.agent),
                &wrap.ended_by,
                wrap.ended_at,
                now,
                auto_closed,
            );
            self.emit(Event::Completed { record });
        }
    }

    // ----- time -----------------------------------------------------------------------------------------

    /// When [`Interaction::handle_timeout`] has work next.
    pub fn deadline(&self) -> Option<Millis> {
        let lifecycle = match &self.state {
            State::Parked { until, reclaiming: false, .. } => Some(*until),
            State::Active { transfer: None, .. } if self.waiting_on_contact() => {
                self.rules.auto_park_after_ms.map(|after| self.last_activity + after)
            }
            _ => None,
        };
        let wrap = self.wrap.as_ref().and_then(|w| w.deadline);
        [lifecycle, wrap].into_iter().flatten().min()
    }

    /// Nothing from the contact is waiting for an answer.
    fn waiting_on_contact(&self) -> bool {
        self.session.as_ref().is_none_or(|s| s.sla.awaiting_reply_since.is_none())
    }

    /// Does whatever is due at `now`: auto-park, the park limit, the wrap countdown.
    pub fn handle_timeout(&mut self, now: Millis) {
        if let Some(wrap) = &self.wrap
            && wrap.deadline.is_some_and(|d| d <= now)
        {
            self.close_wrap(now, true);
        }
        match &self.state {
            State::Parked { until, reclaiming: false, .. } if *until <= now => {
                let _ = self.end(EndedBy::Timeout, now);
            }
            State::Active { agent, transfer: None, .. } if self.waiting_on_contact() => {
                if let Some(after) = self.rules.auto_park_after_ms
                    && self.last_activity + after <= now
                {
                    let agent = agent.clone();
                    let _ = self.park_as(&agent, true, now);
                }
            }
            _ => {}
        }
    }
}

/// Below this much time left, a parked interaction's countdown is shown in red.
pub const PARK_WARNING_MS: i64 = 10 * 60 * 1000;

/// A parked interaction's countdown as the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Countdown {
    pub remaining_ms: i64,
    /// Under [`PARK_WARNING_MS`]: shown red.
    pub urgent: bool,
}

/// The countdown to a parked chat's end, `until`, at `now` (never negative): urgent under
/// [`PARK_WARNING_MS`].
pub fn countdown(until: Millis, now: Millis) -> Countdown {
    countdown_warning_under(until, now, PARK_WARNING_MS)
}

/// A wrap-up's countdown shows red only in its last half minute: it is a few minutes long, and red all the
/// way would say nothing.
pub const WRAP_WARNING_MS: Millis = 30_000;

/// The countdown to a wrap-up's automatic close, `until`, at `now`: urgent under [`WRAP_WARNING_MS`].
pub fn wrap_countdown(until: Millis, now: Millis) -> Countdown {
    countdown_warning_under(until, now, WRAP_WARNING_MS)
}

fn countdown_warning_under(until: Millis, now: Millis, warning_ms: Millis) -> Countdown {
    let remaining_ms = (until - now).max(0);
    Countdown { remaining_ms, urgent: remaining_ms < warning_ms }
}

fn record(
    interaction: InteractionId,
    session: &Session,
    agent: Option<AgentId>,
    ended_by: &EndedBy,
    ended_at: Millis,
    now: Millis,
    auto_closed: bool,
) -> InteractionRecord {
    InteractionRecord {
        interaction,
        session: session.number,
        agent,
        codes: session.codes.clone(),
        notes: session.notes.clone(),
        started: session.sla.started,
        ended_at,
        ended_by: ended_by.clone(),
        completed_at: now,
        auto_closed,
        time_to_first_response_ms: session.sla.first_response.map(|t| t - session.sla.started),
        duration_ms: ended_at - session.sla.started,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phases_name_is_its_wire_name() {
        for phase in Phase::ALL {
            let wire = serde_json::to_string(&phase).expect("encodes");
            assert_eq!(wire, format!("\"{}\"", phase.as_str()));
        }
    }

    #[test]
    fn an_agents_log_section_shows_what_it_holds_in_those_phases() {
        let (ada, grace) = (AgentId("ada".into()), AgentId("grace".into()));
        let status =
            |phase| LogStatus { phase, agent: Some(ada.clone()), until: None, awaiting_reply_since: None };
        assert!(status(Phase::Parked).held_by_in(&ada, &[Phase::Parked]));
        assert!(status(Phase::Wrap).held_by_in(&ada, &[Phase::Active, Phase::Wrap]));
        assert!(!status(Phase::Active).held_by_in(&ada, &[Phase::Parked]), "another section");
        assert!(!status(Phase::Active).held_by_in(&grace, &[Phase::Active]), "another agent's");
        assert!(!status(Phase::Completed).held_by_in(&ada, &Phase::ALL), "a completed chat is nobody's");
        let queued = LogStatus { agent: None, ..status(Phase::Queued) };
        assert!(!queued.held_by_in(&ada, &Phase::ALL));
    }
}
