//! One conversation's live link: a [`Socket`] speaking the conversation protocol.
//!
//! On every (re)connection it says `hello` with the last `seq` it holds, and once welcomed it replays the
//! outbox oldest first. Messages, acknowledgements and errors update a [`ClientLog`] (the rules are
//! `confab_protocol::delivery`'s); the owner is told after each change and mirrors the log into its UI.

use crate::socket::{Handlers, Socket, SocketStatus};
use crate::{new_client_id, now_ms, socket_url};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::delivery::{ClientLog, Outgoing};
use confab_protocol::frames::{Attachment, ClientFrame, ErrorCode, ServerFrame};
use confab_protocol::validate::{self, Invalid};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The link's state, for the UI to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    /// Welcomed: messages flow.
    Online,
    /// Lost; reconnecting by itself.
    Offline,
    /// Closed by the owner, or refused by the edge.
    Closed,
}

/// What the owner hears from the link.
pub struct Events {
    /// The log changed (message received, written, acknowledged).
    pub on_log: Box<dyn Fn(&ClientLog)>,
    pub on_link: Box<dyn Fn(Link)>,
    /// The edge refused something the client sent.
    pub on_error: Box<dyn Fn(ErrorCode, String)>,
    /// The edge refused the link itself (for example, a contact token it no longer accepts).
    pub on_refused: Box<dyn Fn()>,
    /// Everything else the edge says: typing, read receipts, the end of the chat, lifecycle news.
    pub on_news: Box<dyn Fn(ServerFrame)>,
}

/// How long the outbox waits before resending after a `too_many_requests` refusal.
const RATE_LIMITED_RETRY_MS: i64 = 1_500;

/// A cheap handle; clones share the link.
#[derive(Clone)]
pub struct ConversationLink(Rc<State>);

struct State {
    log: RefCell<ClientLog>,
    /// Sent in `hello` by contacts (renewed by each welcome); agents are known by their session cookie.
    token: RefCell<Option<String>>,
    welcomed: Cell<bool>,
    /// The last `hello` resumed (said `after`).
    resumed: Cell<bool>,
    /// An `earlier` page was asked for and has not come yet.
    paging: Cell<bool>,
    /// The edge refused a message for coming too fast: until the outbox is empty, messages go one at a
    /// time, each after the previous one's acknowledgement, so they are stored in the order written.
    throttled: Cell<bool>,
    socket: RefCell<Option<Socket>>,
    events: Events,
    decode: Decode,
}

/// How a link decodes the edge's frames (`None`: not a frame): [`ServerFrame::decode`] for agents, and
/// [`ServerFrame::decode_for_contact`] for the widget, which then carries neither serde nor the code to
/// decode agents' news.
pub type Decode = fn(&str) -> Option<ServerFrame>;

impl ConversationLink {
    /// Connects to conversation `interaction`, starting from `log` (which may hold an outbox written before
    /// the conversation existed, or saved from an earlier visit).
    pub fn open(
        interaction: &str,
        token: Option<String>,
        log: ClientLog,
        events: Events,
        decode: Decode,
    ) -> Self {
        let link = ConversationLink(Rc::new(State {
            log: RefCell::new(log),
            token: RefCell::new(token),
            welcomed: Cell::new(false),
            resumed: Cell::new(false),
            paging: Cell::new(false),
            throttled: Cell::new(false),
            socket: RefCell::new(None),
            events,
            decode,
        }));
        let (on_open, on_text, on_status, on_refused) =
            (link.clone(), link.clone(), link.clone(), link.clone());
        let socket = Socket::open(
            socket_url(&format!("/api/v1/chats/{interaction}/socket")),
            Handlers {
                on_open: Box::new(move || on_open.hello()),
                on_text: Box::new(move |text| on_text.on_frame(&text)),
                on_status: Box::new(move |status| on_status.on_status(status)),
                on_refused: Box::new(move |_| (on_refused.0.events.on_refused)()),
            },
        );
        *link.0.socket.borrow_mut() = Some(socket);
        (link.0.events.on_log)(&link.0.log.borrow());
        link
    }

    /// Queues a message the person wrote and sends it when possible. Refuses what the edge would refuse.
    pub fn write(&self, text: &str) -> Result<(), Invalid> {
        self.write_with(text, Vec::new())
    }

    /// Like [`ConversationLink::write`], with uploaded files (the text may then be empty).
    pub fn write_with(&self, text: &str, attachments: Vec<Attachment>) -> Result<(), Invalid> {
        let text = validate::message(text, attachments.len())?.to_owned();
        self.0.log.borrow_mut().write(Outgoing {
            client_id: new_client_id(),
            text,
            attachments,
            written_at: now_ms(),
        });
        self.changed();
        self.flush();
        Ok(())
    }

    /// Sends a frame other than a message (typing, read, end, agent actions) if connected and welcomed.
    /// These are not queued: they only make sense now.
    pub fn send(&self, frame: &ClientFrame) -> bool {
        self.0.welcomed.get() && self.transmit(frame)
    }

    /// Asks for the page of messages before the oldest held, if older ones exist and none is on its way;
    /// they arrive in the log. `false` if there was nothing to ask for.
    pub fn load_earlier(&self) -> bool {
        let before = {
            let log = self.0.log.borrow();
            log.first_seq().filter(|_| log.earlier && !self.0.paging.get())
        };
        let asked = before.is_some_and(|before| self.send(&ClientFrame::Earlier { before }));
        self.0.paging.set(self.0.paging.get() || asked);
        asked
    }

    /// Closes the link for good. It holds the only strong references to itself through the socket's
    /// callbacks, so this is also what frees it.
    pub fn close(&self) {
        if let Some(socket) = self.0.socket.borrow_mut().take() {
            socket.close();
        }
    }

    fn changed(&self) {
        let log = self.0.log.borrow();
        (self.0.events.on_log)(&log);
    }

    fn transmit(&self, frame: &ClientFrame) -> bool {
        self.0.socket.borrow().as_ref().is_some_and(|s| s.send(&frame.encode()))
    }

    fn hello(&self) {
        let after = self.0.log.borrow().last_seq();
        self.0.resumed.set(after.is_some());
        // A page asked for on the socket before is not coming.
        self.0.paging.set(false);
        self.transmit(&ClientFrame::Hello {
            version: PROTOCOL_VERSION,
            token: self.0.token.borrow().clone(),
            after,
        });
    }

    fn flush(&self) {
        if !self.0.welcomed.get() {
            return;
        }
        let mut frames: Vec<ClientFrame> = self.0.log.borrow().resend_frames().collect();
        if frames.is_empty() {
            self.0.throttled.set(false);
        }
        if self.0.throttled.get() {
            frames.truncate(1);
        }
        for frame in frames {
            if !self.transmit(&frame) {
                break;
            }
        }
    }

    fn on_status(&self, status: SocketStatus) {
        self.0.welcomed.set(false);
        (self.0.events.on_link)(match status {
            SocketStatus::Connecting | SocketStatus::Open => Link::Connecting,
            SocketStatus::Reconnecting { .. } => Link::Offline,
            SocketStatus::Closed => Link::Closed,
        });
    }

    fn on_frame(&self, text: &str) {
        let Some(frame) = (self.0.decode)(text) else { return };
        match frame {
            ServerFrame::Welcome { version, interaction, contact_token, earlier, restart } => {
                self.0.log.borrow_mut().welcomed(self.0.resumed.get(), earlier, restart);
                self.changed();
                self.0.welcomed.set(true);
                (self.0.events.on_link)(Link::Online);
                self.flush();
                // The edge renewed the contact's token: the next hello sends it, and the owner keeps it.
                if let Some(token) = contact_token {
                    *self.0.token.borrow_mut() = Some(token.clone());
                    let renewed = ServerFrame::Welcome {
                        version,
                        interaction,
                        contact_token: Some(token),
                        earlier,
                        restart,
                    };
                    (self.0.events.on_news)(renewed);
                }
            }
            ServerFrame::Message { message } => {
                let new = self.0.log.borrow_mut().receive(message);
                if new {
                    self.changed();
                }
            }
            ServerFrame::Ack { client_id, .. } => {
                self.0.log.borrow_mut().acknowledge(client_id);
                self.changed();
                if self.0.throttled.get() {
                    self.flush();
                }
            }
            ServerFrame::Error { code, message } => {
                // Refused for sending too fast: the refused messages are still in the outbox; offer them
                // again once the edge allows more.
                if code == ErrorCode::TooManyRequests {
                    self.0.throttled.set(true);
                    let link = self.clone();
                    crate::view::set_timeout(move || link.flush(), RATE_LIMITED_RETRY_MS);
                }
                (self.0.events.on_error)(code, message)
            }
            ServerFrame::Page { earlier } => {
                self.0.paging.set(false);
                self.0.log.borrow_mut().earlier = earlier;
                self.changed();
            }
            ServerFrame::Unknown => {}
            news => (self.0.events.on_news)(news),
        }
    }
}
