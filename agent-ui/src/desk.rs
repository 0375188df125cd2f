//! The agent's desk: one socket to the site's desk (presence, offers, the conversation log, the roster for
//! transfers, outcomes) and the state the desktop draws from it.

use crate::alerts;
use confab_client::socket::Handlers;
use confab_client::{Socket, SocketStatus, now_ms, socket_url};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::admin::Role;
use confab_protocol::api::{AgentProfile, SiteView};
use confab_protocol::frames::{
    ConversationSummary, DeskClientFrame, DeskFrame, ErrorCode, RosterEntry, close_code,
};
use confab_protocol::ids::{AgentId, ContactId, InteractionId, QueueId};
use confab_protocol::lifecycle::Phase;
use confab_protocol::routing::{AssignKind, OfferKind, Presence, TransferOutcome};
use confab_protocol::supervision::Overview;
use leptos::prelude::*;

/// An offer card waiting for Accept or Reject.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OfferCard {
    pub(crate) interaction: InteractionId,
    pub(crate) card: ConversationSummary,
    /// The sending agent's name, for a transfer.
    pub(crate) transfer_from: Option<String>,
    pub(crate) expires: i64,
}

/// What the main area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Screen {
    Nothing,
    Conversation(InteractionId),
    Contacts,
    /// Supervisors: queues, agents and breaches, live.
    LiveView,
    /// Supervisors: completed interactions, search and export.
    Records,
    /// Admins: the site's configuration and accounts.
    Settings,
}

/// A message for the agent that stays until dismissed (transfer outcomes, a contact's answer...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice {
    pub(crate) id: u32,
    pub(crate) text: String,
    /// The conversation it is about: the notice opens it.
    pub(crate) interaction: Option<InteractionId>,
}

/// What the desktop knows of the agent's desk, kept live by the desk socket (the edge's `Desk` object holds
/// the desk itself). All fields are handles, so `DeskState` is `Copy` and moves into closures.
#[derive(Clone, Copy)]
pub(crate) struct DeskState {
    pub(crate) me: StoredValue<AgentProfile>,
    pub(crate) site: RwSignal<Option<SiteView>>,
    pub(crate) online: RwSignal<bool>,
    pub(crate) presence: RwSignal<Presence>,
    pub(crate) capacity: RwSignal<u32>,
    pub(crate) auto_accept: RwSignal<bool>,
    pub(crate) offers: RwSignal<Vec<OfferCard>>,
    pub(crate) conversations: RwSignal<Vec<ConversationSummary>>,
    pub(crate) roster: RwSignal<(Vec<RosterEntry>, Vec<QueueId>)>,
    pub(crate) screen: RwSignal<Screen>,
    /// The contact the contacts screen shows (set from a conversation's "Contact history").
    pub(crate) open_contact: RwSignal<Option<ContactId>>,
    pub(crate) notices: RwSignal<Vec<Notice>>,
    /// Supervisors only: the site's live view, as the desk last sent it.
    pub(crate) overview: RwSignal<Option<Overview>>,
    next_notice: StoredValue<u32>,
    /// Why the desk last refused this account (it says so just before it closes the socket for good).
    refusal: StoredValue<Option<String>>,
    /// Now, once a second: every countdown and timer on the desktop follows it.
    pub(crate) now: RwSignal<i64>,
    socket: StoredValue<Option<Socket>, LocalStorage>,
}

impl DeskState {
    /// `signed_out` is called with the reason when the edge ends this session (deactivated, new password).
    pub(crate) fn new(me: AgentProfile, signed_out: impl Fn(Option<String>) + 'static) -> DeskState {
        let desk = DeskState {
            me: StoredValue::new(me),
            site: RwSignal::new(None),
            online: RwSignal::new(false),
            presence: RwSignal::new(Presence::Offline),
            capacity: RwSignal::new(0),
            auto_accept: RwSignal::new(false),
            offers: RwSignal::new(Vec::new()),
            conversations: RwSignal::new(Vec::new()),
            roster: RwSignal::new((Vec::new(), Vec::new())),
            screen: RwSignal::new(Screen::Nothing),
            open_contact: RwSignal::new(None),
            notices: RwSignal::new(Vec::new()),
            overview: RwSignal::new(None),
            next_notice: StoredValue::new(0),
            refusal: StoredValue::new(None),
            now: RwSignal::new(now_ms()),
            socket: StoredValue::new_local(None),
        };
        let socket = Socket::open(
            socket_url("/api/v1/desk/socket"),
            Handlers {
                on_open: Box::new(move || {
                    desk.send(DeskClientFrame::Hello { version: PROTOCOL_VERSION });
                }),
                on_text: Box::new(move |text| {
                    if let Ok(frame) = DeskFrame::decode(&text) {
                        desk.on_frame(frame);
                    }
                }),
                on_status: Box::new(move |s| desk.online.set(s == SocketStatus::Open)),
                on_refused: Box::new(move |code| {
                    if code == close_code::ROLE_CHANGED {
                        // The session is still good: a reload brings the desktop the new role may see.
                        let _ = window().location().reload();
                    } else {
                        signed_out(desk.refusal.get_value());
                    }
                }),
            },
        );
        desk.socket.set_value(Some(socket));
        confab_client::view::set_interval(move || desk.now.set(now_ms()), 1000);
        desk.reload_site();
        desk
    }

    pub(crate) fn role(&self) -> Role {
        self.me.with_value(|m| m.role)
    }

    /// Reloads the site's rules (after an admin changed them: codes, responses, queues).
    pub(crate) fn reload_site(&self) {
        let site = self.site;
        leptos::task::spawn_local(async move {
            if let Ok(view) =
                confab_client::api::request::<SiteView>("GET", "/api/v1/site", None::<&()>).await
            {
                site.set(Some(view));
            }
        });
    }

    pub(crate) fn me(&self) -> AgentId {
        self.me.with_value(|m| m.id.clone())
    }

    /// Sends a desk frame; says so when the desk is unreachable.
    pub(crate) fn send(&self, frame: DeskClientFrame) -> bool {
        let sent = self.socket.with_value(|s| s.as_ref().is_some_and(|s| s.send(&frame.encode())));
        if !sent {
            self.notify(
                "Not connected to the desk right now; it reconnects by itself. Try again in a moment.",
                None,
            );
        }
        sent
    }

    pub(crate) fn close(&self) {
        self.socket.with_value(|s| s.iter().for_each(Socket::close));
    }

    pub(crate) fn notify(&self, text: impl Into<String>, interaction: Option<InteractionId>) {
        let id = self.next_notice.get_value();
        self.next_notice.set_value(id + 1);
        self.notices.update(|n| n.push(Notice { id, text: text.into(), interaction }));
    }

    pub(crate) fn dismiss(&self, id: u32) {
        self.notices.update(|n| n.retain(|x| x.id != id));
    }

    /// An agent's display name, from the roster.
    pub(crate) fn agent_name(&self, agent: &AgentId) -> String {
        self.roster
            .with_untracked(|(agents, _)| agents.iter().find(|a| a.agent == *agent).map(|a| a.name.clone()))
            .unwrap_or_else(|| agent.0.clone())
    }

    /// The conversation's item in the log.
    pub(crate) fn summary(&self, interaction: InteractionId) -> Option<ConversationSummary> {
        self.conversations.with(|c| c.iter().find(|c| c.interaction == interaction).cloned())
    }

    /// This agent's conversations in `phases`, most recent first.
    pub(crate) fn mine(&self, phases: &[Phase]) -> Vec<ConversationSummary> {
        let me = self.me();
        self.conversations.with(|items| {
            items
                .iter()
                .filter(|c| c.status.as_ref().is_some_and(|s| s.held_by_in(&me, phases)))
                .cloned()
                .collect()
        })
    }

    fn on_frame(&self, frame: DeskFrame) {
        match frame {
            DeskFrame::Welcome { presence, capacity, auto_accept, .. } => {
                self.presence.set(presence);
                self.capacity.set(capacity);
                self.auto_accept.set(auto_accept);
            }
            DeskFrame::Presence { presence } => self.presence.set(presence),
            DeskFrame::Conversations { items } => self.conversations.set(items),
            DeskFrame::ConversationChanged { item } => self.conversations.update(|items| {
                items.retain(|c| c.interaction != item.interaction);
                // Newest activity first, as the desk sends the whole list.
                let at = items.iter().position(|c| c.last_at <= item.last_at).unwrap_or(items.len());
                items.insert(at, item);
            }),
            DeskFrame::Offer { interaction, kind, card, expires } => {
                let transfer_from = match kind {
                    OfferKind::Transfer { from } => Some(self.agent_name(&from)),
                    OfferKind::Queue => None,
                };
                let label = card.contact_label.clone();
                let fresh = self.offers.with_untracked(|o| o.iter().all(|c| c.interaction != interaction));
                self.offers.update(|o| {
                    o.retain(|c| c.interaction != interaction);
                    o.push(OfferCard { interaction, card, transfer_from: transfer_from.clone(), expires });
                });
                if fresh {
                    let title = match transfer_from {
                        Some(from) => format!("Transfer from {from}: {label}"),
                        None => format!("New chat: {label}"),
                    };
                    alerts::alert(&title);
                }
            }
            DeskFrame::OfferWithdrawn { interaction, .. } => {
                self.offers.update(|o| o.retain(|c| c.interaction != interaction))
            }
            DeskFrame::Assigned { interaction, how } => {
                self.offers.update(|o| o.retain(|c| c.interaction != interaction));
                // A chat the agent just took opens; one coming back from parking waits in the log (the agent
                // may be writing elsewhere).
                let opens = !matches!(how, AssignKind::Unparked);
                if opens && self.screen.get_untracked() != Screen::Conversation(interaction) {
                    self.screen.set(Screen::Conversation(interaction));
                }
            }
            DeskFrame::Requeued { interaction, .. } => {
                self.notify("A chat went back to the queue for another agent.", Some(interaction))
            }
            DeskFrame::TransferEnded { interaction, outcome } => {
                let text = match outcome {
                    TransferOutcome::Accepted { by } => {
                        format!("{} accepted the transfer. The chat is theirs now.", self.agent_name(&by))
                    }
                    TransferOutcome::Rejected { by } => {
                        format!("{} rejected the transfer; the chat stays with you.", self.agent_name(&by))
                    }
                    TransferOutcome::Expired => {
                        "Nobody accepted the transfer in time; the chat stays with you.".into()
                    }
                    TransferOutcome::Cancelled => {
                        "The transfer was cancelled; the chat stays with you.".into()
                    }
                };
                self.notify(text, Some(interaction));
            }
            DeskFrame::Roster { agents, queues } => self.roster.set((agents, queues)),
            DeskFrame::ContactAnswered { interaction, contact_label } => {
                let text = format!("{contact_label} answered your follow-up.");
                alerts::alert(&text);
                self.notify(text, Some(interaction));
            }
            DeskFrame::Overview { overview } => self.overview.set(Some(overview)),
            DeskFrame::SiteChanged => self.reload_site(),
            DeskFrame::Error { code: ErrorCode::Unauthorized, message } => {
                self.refusal.set_value(Some(message))
            }
            DeskFrame::Error { message, .. } => self.notify(message, None),
            DeskFrame::Unknown => {}
        }
    }
}
