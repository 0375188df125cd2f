//! The `Conversation` Durable Object: one per interaction, named by its GUID.
//!
//! It owns the transcript (SQLite), the interaction's lifecycle (`confab_protocol::lifecycle`), and the
//! WebSockets of the contact's tabs and of agents. Sockets are accepted with the hibernation API: who is on
//! a socket lives in the socket's attachment, everything else is re-read from SQLite when the object wakes.
//!
//! Order of effects for a message: validate and number it (`confab_protocol::delivery`), let the lifecycle
//! decide whether its author may write, show it to the other side, store it, then acknowledge it to its
//! author. workerd's output gate holds every frame sent after a write until the write is durable: the
//! acknowledgement waits for the commit, so an acknowledged message is never lost, while the frames to the
//! other side went out before anything was written and do not wait.
//!
//! A message shown before it is stored may be lost with the object (a crash before the commit); its author
//! was not acknowledged and sends it again. So that its number is never given to a different message after
//! such a crash, numbers are reserved ahead in storage ([`RESERVE_AHEAD`]) and a restarted object numbers
//! past the reservation (see `confab_protocol::delivery::ClientLog::receive` for the reader's side).
//!
//! Lifecycle changes are saved together with the routing requests they cause (outbox), and the object's one
//! alarm is kept at (or before) the lifecycle's next deadline.

use crate::platform::files::{self, UnsentFiles};
use crate::platform::http::HttpError;
use crate::platform::http::now_ms;
use crate::platform::{config, crypto, sql};
use crate::rpc::conversation::{ConversationMessage, Meta, Peer, Transcript};
use crate::rpc::desk::{self, AgentSocket, ContactAnswered, DeskMessage, RecordEntry, RoutingRequest};
use crate::rpc::directory::{self, StoredAgent};
use crate::rpc::outbox::{self, Outbox};
use crate::rpc::{self, Incoming};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::admin;
use confab_protocol::api::{ConversationTranscript, RecordSummary};
use confab_protocol::bad_frame;
use confab_protocol::delivery::{self, SendOutcome, Submission};
use confab_protocol::frames::{
    Attachment, Author, ClientFrame, ConversationSummary, ErrorCode, InteractionView, Message, Participant,
    ServerFrame, close_code,
};
use confab_protocol::history::{self, RecordText};
use confab_protocol::ids::{AgentId, ClientMessageId, Seq, SiteId};
use confab_protocol::lifecycle::{EndedBy, Event, Interaction, InteractionRecord, Output, Refusal};
use confab_protocol::limits;
use confab_protocol::routing::{DeskEffect, default_queue};
use confab_protocol::validate;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use worker::{
    DurableObject, Env, Request, Response, Result, SqlStorage, State, WebSocket, WebSocketIncomingMessage,
    WebSocketPair, durable_object,
};

/// Kept in each socket's attachment, so it survives hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SocketState {
    peer: Peer,
    /// `hello` was received (and for a contact, its token checked).
    ready: bool,
}

/// The conversation's storage, version by version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS messages (
         seq INTEGER PRIMARY KEY,
         client_id TEXT NOT NULL UNIQUE,
         author TEXT NOT NULL,
         text TEXT NOT NULL,
         at INTEGER NOT NULL);",
    // Files attached to a message, as JSON (`[]` for none).
    "ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]'",
    // Lifecycle events for agents, replayed on `hello` (the desktop shows them in the transcript), each
    // with the last message `seq` when it happened.
    "CREATE TABLE IF NOT EXISTS agent_events (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         after_seq INTEGER NOT NULL,
         body TEXT NOT NULL);",
    // Messages to the desk, committed with the changes that cause them.
    outbox::TABLE,
    // Uploads no message has sent yet, deleted after a while.
    files::UNSENT_TABLE,
];

/// How many lifecycle events a conversation keeps for agents to replay.
const KEPT_EVENTS: i64 = 500;

/// How many numbers are reserved (in storage) for messages shown before they are stored.
const RESERVE_AHEAD: Seq = 256;
/// New messages update the desk's log (its preview and order) at most this often; lifecycle changes go at
/// once. The desk tells every agent of each update, so a busy chat must not flood it.
const LISTING_MS: i64 = 1_000;

#[durable_object]
pub struct Conversation {
    core: Core,
}

struct Core {
    state: State,
    env: Env,
    sql: SqlStorage,
    outbox: Outbox,
    unsent_files: UnsentFiles,
    /// Read once, written once by `init`; `None` until then (and after erasure).
    meta: RefCell<Option<Rc<Meta>>>,
    /// Loaded from SQLite in `new`; `None` until `init`.
    lifecycle: RefCell<Option<Interaction>>,
    /// The highest `seq` given to a message (after a restart, at least the reservation).
    last_seq: Cell<Seq>,
    /// Numbers up to this one may be shown before they are stored (kept in `meta` as `seq_reserved`).
    reserved: Cell<Seq>,
    /// The ready sockets and who is on each, read from their attachments on the first broadcast after a
    /// change (`None`: to be read), so a stream of messages does not decode every attachment per message.
    ready_sockets: RefCell<Option<Vec<(WebSocket, Peer)>>>,
    /// When the desk last heard how this conversation looks (0: not since the object started).
    listed_at: Cell<i64>,
    /// New messages since then: the alarm tells the desk by [`LISTING_MS`] after `listed_at`.
    listing_due: Cell<bool>,
    /// The contact's message rate (`limits::MessageGate`); in memory, as a flood keeps the object up.
    contact_gate: Cell<limits::MessageGate>,
    /// The limit the gate applies (`CONFAB_LIMIT_CONTACT_MESSAGES` or [`limits::CONTACT_MESSAGES`]).
    contact_limit: limits::Limit,
}

/// A page, as SQLite takes a limit.
const PAGE_LIMIT: i64 = delivery::PAGE_MESSAGES as i64;

/// A `seq` as SQLite holds it (a number beyond its integers stands for "no bound").
fn sql_seq(seq: Seq) -> i64 {
    seq.min(i64::MAX as u64) as i64
}

#[derive(Deserialize)]
struct MessageRow {
    seq: Seq,
    client_id: String,
    author: String,
    text: String,
    attachments: String,
    at: i64,
}

impl MessageRow {
    fn into_message(self) -> Option<Message> {
        Some(Message {
            seq: self.seq,
            client_id: ClientMessageId(self.client_id.parse().ok()?),
            author: serde_json::from_str(&self.author).ok()?,
            text: self.text,
            attachments: serde_json::from_str(&self.attachments).unwrap_or_default(),
            at: self.at,
        })
    }
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

fn read_meta(sql: &SqlStorage, key: &str) -> Option<String> {
    let rows: Vec<ValueRow> =
        sql.exec("SELECT value FROM meta WHERE key = ?", vec![key.into()]).and_then(|c| c.to_array()).ok()?;
    rows.into_iter().next().map(|r| r.value)
}

fn write_meta(sql: &SqlStorage, key: &str, value: String) -> Result<()> {
    sql.exec(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        vec![key.into(), value.into()],
    )?;
    Ok(())
}

impl Core {
    fn meta(&self) -> Option<Rc<Meta>> {
        self.meta.borrow().clone()
    }

    /// How far agents (`agents: true`) or the contact have read: who read last, and up to which `seq`.
    fn read_by(&self, agents: bool) -> Option<(Participant, Seq)> {
        let key = if agents { "read:agent" } else { "read:contact" };
        serde_json::from_str(&read_meta(&self.sql, key)?).ok()
    }

    /// The messages from `first` on (before `before`), oldest first: at most a page ([`delivery::backlog`]
    /// and `on_earlier` choose `first` so that a page holds them).
    fn messages_in(&self, first: Seq, before: Option<Seq>) -> Result<Vec<Message>> {
        let rows: Vec<MessageRow> = self
            .sql
            .exec(
                "SELECT seq, client_id, author, text, attachments, at FROM messages WHERE seq >= ? AND seq < ? \
                 ORDER BY seq LIMIT ?",
                vec![sql_seq(first).into(), sql_seq(before.unwrap_or(Seq::MAX)).into(), PAGE_LIMIT.into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().filter_map(MessageRow::into_message).collect())
    }

    /// The messages of a session that started at `started`, oldest first, as many as its record's text can
    /// hold at most (a record never reads a long conversation whole).
    fn session_messages(&self, started: i64) -> Result<Vec<Message>> {
        let rows: Vec<MessageRow> = self
            .sql
            .exec(
                "SELECT seq, client_id, author, text, attachments, at FROM messages WHERE at >= ? ORDER BY seq LIMIT ?",
                vec![started.into(), (history::MAX_RECORD_MESSAGES as i64).into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().filter_map(MessageRow::into_message).collect())
    }

    /// The newest `limit` messages, oldest first, and whether older ones exist.
    fn newest_messages(&self, limit: usize) -> Result<(Vec<Message>, bool)> {
        let mut rows: Vec<MessageRow> = self
            .sql
            .exec(
                "SELECT seq, client_id, author, text, attachments, at FROM messages ORDER BY seq DESC LIMIT ?",
                vec![(limit as i64 + 1).into()],
            )?
            .to_array()?;
        let earlier = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows.into_iter().rev().filter_map(MessageRow::into_message).collect(), earlier))
    }

    /// The `seq`s of the newest messages from `first` on (before `before`), newest first: a page and one.
    fn newest_seqs(&self, first: Seq, before: Option<Seq>) -> Result<Vec<Seq>> {
        #[derive(Deserialize)]
        struct Row {
            seq: Seq,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT seq FROM messages WHERE seq >= ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                vec![
                    sql_seq(first).into(),
                    sql_seq(before.unwrap_or(Seq::MAX)).into(),
                    (PAGE_LIMIT + 1).into(),
                ],
            )?
            .to_array()?;
        Ok(rows.into_iter().map(|r| r.seq).collect())
    }

    /// Keeps a lifecycle event for agents who open the conversation later (the newest [`KEPT_EVENTS`]).
    fn keep_event(&self, event: &Event) -> Result<()> {
        self.sql.exec(
            "INSERT INTO agent_events (after_seq, body) VALUES (?, ?)",
            vec![(self.last_seq.get() as i64).into(), serde_json::to_string(event)?.into()],
        )?;
        self.sql.exec(
            "DELETE FROM agent_events WHERE id <= (SELECT MAX(id) FROM agent_events) - ?",
            vec![KEPT_EVENTS.into()],
        )?;
        Ok(())
    }

    /// The kept events that happened after message `seq` was the last, oldest first.
    fn events_in(&self, from: Seq, before: Option<Seq>) -> Result<Vec<(Seq, Event)>> {
        #[derive(Deserialize)]
        struct Row {
            after_seq: Seq,
            body: String,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT after_seq, body FROM agent_events WHERE after_seq >= ? AND after_seq < ? ORDER BY id",
                vec![sql_seq(from).into(), sql_seq(before.unwrap_or(Seq::MAX)).into()],
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok().map(|e| (r.after_seq, e)))
            .collect())
    }

    fn last_stored_seq(sql: &SqlStorage) -> Result<Seq> {
        #[derive(Deserialize)]
        struct Row {
            last: Option<Seq>,
        }
        let rows: Vec<Row> = sql.exec("SELECT MAX(seq) AS last FROM messages", None)?.to_array()?;
        Ok(rows.first().and_then(|r| r.last).unwrap_or(0))
    }

    fn seq_of(&self, client_id: ClientMessageId) -> Result<Option<Seq>> {
        #[derive(Deserialize)]
        struct Row {
            seq: Seq,
        }
        let rows: Vec<Row> = self
            .sql
            .exec("SELECT seq FROM messages WHERE client_id = ?", vec![client_id.0.to_string().into()])?
            .to_array()?;
        Ok(rows.first().map(|r| r.seq))
    }

    fn store(&self, m: &Message) -> Result<()> {
        self.sql.exec(
            "INSERT INTO messages (seq, client_id, author, text, attachments, at) VALUES (?, ?, ?, ?, ?, ?)",
            vec![
                (m.seq as i64).into(),
                m.client_id.0.to_string().into(),
                serde_json::to_string(&m.author)?.into(),
                m.text.clone().into(),
                serde_json::to_string(&m.attachments)?.into(),
                m.at.into(),
            ],
        )?;
        Ok(())
    }

    /// Sends `frame` to every ready socket whose peer `to` accepts.
    fn send_where(&self, frame: &ServerFrame, to: impl Fn(&Peer) -> bool) {
        let text = frame.encode();
        if self.ready_sockets.borrow().is_none() {
            let ready = self
                .state
                .get_websockets()
                .into_iter()
                .filter_map(|ws| {
                    let socket = ws.deserialize_attachment::<SocketState>().ok().flatten()?;
                    socket.ready.then_some((ws, socket.peer))
                })
                .collect();
            *self.ready_sockets.borrow_mut() = Some(ready);
        }
        for (ws, peer) in self.ready_sockets.borrow().iter().flatten() {
            // A socket that is closing fails to send; it is gone anyway and resumes by `seq` when it returns.
            if to(peer) {
                let _ = ws.send_with_str(&text);
            }
        }
    }

    /// A socket became ready, or went: the next broadcast reads the sockets' attachments again.
    fn sockets_changed(&self) {
        *self.ready_sockets.borrow_mut() = None;
    }

    fn view(&self) -> Option<InteractionView> {
        let lifecycle = self.lifecycle.borrow();
        let l = lifecycle.as_ref()?;
        Some(InteractionView {
            interaction: l.id,
            phase: l.phase(),
            state: l.state.clone(),
            sla: l.session.as_ref().map(|s| s.sla.clone()),
            wrap: l.wrap.clone(),
            codes: l.codes_and_notes().0.to_vec(),
            notes: l.codes_and_notes().1.to_owned(),
        })
    }

    /// Runs a lifecycle step, saves the result with the routing requests it caused, and tells everyone
    /// what they may see. The borrow ends before anything is awaited.
    fn step<T>(&self, meta: &Meta, action: impl FnOnce(&mut Interaction, i64) -> T) -> Result<Option<T>> {
        Ok(self.step_quietly(meta, false, action)?.map(|(result, _)| result))
    }

    /// [`Core::step`], except that with `quiet` a change that causes nothing beyond itself (a message's
    /// activity) is neither saved nor told: the caller saves it ([`Core::save_lifecycle`]) after what it sends
    /// first. The second value says whether the change was quiet. Either way, with `quiet` the caller tells
    /// the desk ([`Core::list_on_desk`]).
    fn step_quietly<T>(
        &self,
        meta: &Meta,
        quiet: bool,
        action: impl FnOnce(&mut Interaction, i64) -> T,
    ) -> Result<Option<(T, bool)>> {
        let now = now_ms();
        let (result, outputs) = {
            let mut lifecycle = self.lifecycle.borrow_mut();
            let Some(l) = lifecycle.as_mut() else { return Ok(None) };
            let result = action(l, now);
            (result, l.drain())
        };
        if quiet && outputs.is_empty() {
            return Ok(Some((result, true)));
        }
        self.save_lifecycle()?;
        let mut changed = false;
        for output in outputs {
            match output {
                Output::Desk(request) => {
                    let request = RoutingRequest { interaction: meta.interaction, request };
                    self.outbox.push(desk::envelope(&meta.site, &DeskMessage::Request(request))?)?;
                }
                Output::Event(event) => {
                    changed = true;
                    // The agent who wrote a follow-up hears that the contact answered.
                    if let Event::ReactivationAnswered { agent, .. } = &event {
                        let answered = ContactAnswered {
                            agent: agent.clone(),
                            interaction: meta.interaction,
                            contact_label: meta.contact_label.clone(),
                        };
                        self.outbox
                            .push(desk::envelope(&meta.site, &DeskMessage::ContactAnswered(answered))?)?;
                    }
                    if let Some(confab_protocol::lifecycle::ContactNotice::ChatEnded { by_contact, at }) =
                        event.contact_notice()
                    {
                        self.send_where(&ServerFrame::ChatEnded { by_contact, at }, |p| {
                            matches!(p, Peer::Contact)
                        });
                    }
                    if let Event::Completed { record } = &event {
                        self.file_record(meta, record)?;
                    }
                    self.keep_event(&event)?;
                    self.send_where(&ServerFrame::Event { event }, |p| matches!(p, Peer::Agent { .. }));
                }
            }
        }
        if changed && let Some(view) = self.view() {
            self.send_where(&ServerFrame::State { view: Box::new(view) }, |p| {
                matches!(p, Peer::Agent { .. })
            });
            // A message's step (`quiet` asked for) is listed by `on_send` once the message is stored.
            if !quiet {
                self.list_on_desk(meta)?;
            }
        }
        Ok(Some((result, false)))
    }

    fn save_lifecycle(&self) -> Result<()> {
        let saved = self.lifecycle.borrow().as_ref().map(serde_json::to_string).transpose()?;
        match saved {
            Some(saved) => write_meta(&self.sql, "lifecycle", saved),
            None => Ok(()),
        }
    }

    /// Every message shown so far is stored: the numbers reserved ahead are given back, so that an object
    /// restarted later (after hibernation) numbers on without a gap. The next message reserves again.
    fn release_reserved(&self) -> Result<()> {
        let last = self.last_seq.get();
        if self.reserved.get() > last {
            write_meta(&self.sql, "seq_reserved", last.to_string())?;
            self.reserved.set(last);
        }
        Ok(())
    }

    /// Tells the desk of a new message now, or, if it heard less than [`LISTING_MS`] ago, by the alarm then.
    fn list_soon(&self, meta: &Meta) -> Result<()> {
        if now_ms() - self.listed_at.get() >= LISTING_MS {
            return self.list_on_desk(meta);
        }
        self.listing_due.set(true);
        Ok(())
    }

    /// Delivers routing requests and keeps the alarm at the lifecycle's next deadline (or a retry).
    async fn settle(&self) -> Result<()> {
        let lifecycle = self.lifecycle.borrow().as_ref().and_then(Interaction::deadline);
        // The alarm also tells the desk of new messages and gives back reserved numbers.
        let tidy = self.listing_due.get() || self.reserved.get() > self.last_seq.get();
        let tidying = tidy.then(|| self.listed_at.get() + LISTING_MS);
        let sweep = self.unsent_files.next_due()?;
        let deadline = [lifecycle, tidying, sweep].into_iter().flatten().min();
        outbox::settle(&self.state, &self.env, &self.outbox, deadline).await
    }

    /// Sends a completed session to the site's records (searched by supervisors), with its messages' text.
    fn file_record(&self, meta: &Meta, record: &InteractionRecord) -> Result<()> {
        let RecordText { text, preview } =
            history::record_text(&self.session_messages(record.started)?, record.started);
        let entry = RecordEntry {
            summary: RecordSummary {
                record: record.clone(),
                contact: Some(meta.contact.clone()),
                contact_label: meta.contact_label.clone(),
                agent_name: None,
                preview,
            },
            text,
        };
        self.outbox.push(desk::envelope(&meta.site, &DeskMessage::Record(entry))?)
    }

    /// Tells the desk how the conversation looks in the agents' logs: its latest message and where it stands.
    fn list_on_desk(&self, meta: &Meta) -> Result<()> {
        self.listed_at.set(now_ms());
        self.listing_due.set(false);
        let last_seq = Self::last_stored_seq(&self.sql)?;
        let last = if last_seq > 0 { self.messages_in(last_seq, None)?.pop() } else { None };
        let summary = ConversationSummary {
            interaction: meta.interaction,
            contact: Some(meta.contact.clone()),
            contact_label: meta.contact_label.clone(),
            contact_email: meta.contact_email.clone(),
            started_at: meta.started_at,
            last_text: last.as_ref().map(delivery::message_preview),
            last_at: last.as_ref().map_or(meta.started_at, |m| m.at),
            status: self.lifecycle.borrow().as_ref().map(Interaction::log_status),
        };
        self.outbox.push(desk::envelope(&meta.site, &DeskMessage::Conversation(summary))?)
    }

    async fn accept_socket(&self, req: &Request) -> Result<Response> {
        let Some(meta) = self.meta() else {
            return HttpError::new(ErrorCode::NotFound, "there is no such conversation").into_response();
        };
        let Some(peer) = Peer::of(req)? else {
            return HttpError::new(ErrorCode::BadRequest, "missing peer").into_response();
        };
        if let Peer::Agent { site, .. } = &peer
            && *site != meta.site
        {
            return HttpError::new(ErrorCode::Unauthorized, "this conversation belongs to another site")
                .into_response();
        }
        let pair = WebSocketPair::new()?;
        let tag = match &peer {
            Peer::Contact => "contact".to_owned(),
            Peer::Agent { id, .. } => format!("agent:{id}"),
        };
        self.state.accept_websocket_with_tags(&pair.server, &[tag.as_str()]);
        let agent = match &peer {
            Peer::Agent { id, epoch, .. } => Some((id.clone(), *epoch)),
            Peer::Contact => None,
        };
        pair.server.serialize_attachment(SocketState { peer, ready: false })?;
        if let Some((id, epoch)) = agent {
            self.tell_desk_of_agent_socket(&meta, &id, epoch, true)?;
            self.settle().await?;
        }
        Response::from_websocket(pair.client)
    }

    /// Tells the desk that `agent` has sockets here (`open`), or no longer: the desk closes them when the
    /// account's access ends, whatever the agent is doing here.
    fn tell_desk_of_agent_socket(&self, meta: &Meta, agent: &AgentId, epoch: u32, open: bool) -> Result<()> {
        let socket = AgentSocket { interaction: meta.interaction, agent: agent.clone(), epoch, open };
        self.outbox.push(desk::envelope(&meta.site, &DeskMessage::AgentSocket(socket))?)
    }

    /// A socket closed: if it was an agent's last one here, the desk stops counting it.
    async fn socket_gone(&self, ws: &WebSocket) -> Result<()> {
        self.sockets_changed();
        let (Some(meta), Some(SocketState { peer: Peer::Agent { id, epoch, .. }, .. })) =
            (self.meta(), ws.deserialize_attachment::<SocketState>()?)
        else {
            return Ok(());
        };
        let others_open = self
            .state
            .get_websockets_with_tag(&format!("agent:{id}"))
            .iter()
            .any(|s| s.as_ref().ready_state() == web_sys::WebSocket::OPEN);
        if !others_open {
            self.tell_desk_of_agent_socket(&meta, &id, epoch, false)?;
            self.settle().await?;
        }
        Ok(())
    }

    /// Why an agent on this socket may not send typing or read receipts to the contact, if it may not.
    fn signal_refused(&self, peer: &Peer) -> Option<Refusal> {
        let Peer::Agent { id, .. } = peer else { return None };
        self.lifecycle.borrow().as_ref().and_then(|l| l.state.agent_may_signal(id).err())
    }

    fn send_error(ws: &WebSocket, code: ErrorCode, message: impl Into<String>) {
        let _ = ws.send_with_str(ServerFrame::error(code, message).encode());
    }

    fn refuse(ws: &WebSocket, refusal: &Refusal) {
        Self::send_error(ws, refusal.code(), refusal.to_string());
    }

    async fn on_frame(&self, ws: &WebSocket, text: &str) -> Result<()> {
        if let Err(e) = validate::frame_size(text.len()) {
            Self::send_error(ws, e.code(), e.to_string());
            return Ok(());
        }
        let Ok(frame) = ClientFrame::decode(text) else {
            Self::send_error(ws, ErrorCode::BadFrame, bad_frame::explain::<ClientFrame>(text));
            return Ok(());
        };
        let Some(socket) = ws.deserialize_attachment::<SocketState>()? else {
            let _ = ws.close(Some(1011), Some("lost socket state"));
            return Ok(());
        };
        let Some(meta) = self.meta() else {
            Self::send_error(ws, ErrorCode::NotFound, "there is no such conversation");
            return Ok(());
        };
        if let ClientFrame::Hello { token, after, .. } = frame {
            // One hello per socket: each replays the backlog, so a socket repeating it could make the
            // conversation send its whole transcript again and again for the price of a tiny frame.
            if socket.ready {
                Self::send_error(ws, ErrorCode::NotAllowedNow, "this socket already said hello");
                return Ok(());
            }
            let renewed = match socket.peer {
                Peer::Contact => match self.contact_admitted(&meta, token.as_deref()).await? {
                    Ok(renewed) => Some(renewed),
                    Err(why) => {
                        Self::send_error(ws, ErrorCode::Unauthorized, why);
                        let _ = ws.close(Some(4401), Some("unauthorized"));
                        return Ok(());
                    }
                },
                Peer::Agent { .. } => None,
            };
            return self.on_hello(ws, &meta, socket, renewed, after);
        }
        if !socket.ready {
            Self::send_error(ws, ErrorCode::HelloRequired, "send hello first");
            return Ok(());
        }
        let outcome = match frame {
            ClientFrame::Hello { .. } | ClientFrame::Unknown => Ok(()),
            ClientFrame::Earlier { before } => return self.on_earlier(ws, &socket.peer, before),
            ClientFrame::Send { client_id, text, attachments } => {
                return self.on_send_frame(ws, &meta, &socket.peer, client_id, &text, &attachments).await;
            }
            signal @ (ClientFrame::Typing { .. } | ClientFrame::Read { .. }) => {
                self.on_signal(&socket.peer, signal)?
            }
            ClientFrame::End => {
                let by = match &socket.peer {
                    Peer::Agent { id, .. } => EndedBy::Agent(id.clone()),
                    Peer::Contact => EndedBy::Contact,
                };
                self.step(&meta, |l, now| l.end(by, now))?.unwrap_or(Ok(()))
            }
            action => {
                let Peer::Agent { id, .. } = &socket.peer else {
                    Self::send_error(ws, ErrorCode::Unauthorized, "only agents can do that");
                    return Ok(());
                };
                self.step(&meta, |l, now| Self::agent_action(l, id, action, now))?.unwrap_or(Ok(()))
            }
        };
        if let Err(refusal) = outcome {
            Self::refuse(ws, &refusal);
        }
        self.settle().await
    }

    /// What an agent's frame (park, unpark, a code, notes, extend, complete) does to the lifecycle.
    fn agent_action(
        l: &mut Interaction,
        agent: &AgentId,
        action: ClientFrame,
        now: i64,
    ) -> std::result::Result<(), Refusal> {
        match action {
            ClientFrame::Park => l.park(agent, now),
            ClientFrame::Unpark => l.unpark(agent),
            ClientFrame::ChooseCode { code } => l.choose_code(agent, &code),
            ClientFrame::Notes { text } => l.write_notes(agent, &text),
            ClientFrame::ExtendWrap => l.extend_wrap(agent, now),
            ClientFrame::Complete => l.complete(agent, now),
            _ => Ok(()),
        }
    }

    /// `earlier`: the page of messages before `before`, oldest first (for agents with the lifecycle's events
    /// of that stretch), then `page`, saying whether older ones remain.
    fn on_earlier(&self, ws: &WebSocket, peer: &Peer, before: Seq) -> Result<()> {
        let older = self.newest_seqs(0, Some(before))?;
        let Some(&first) = older.get(delivery::PAGE_MESSAGES.min(older.len()).saturating_sub(1)) else {
            return ws.send_with_str(ServerFrame::Page { earlier: false }.encode());
        };
        let earlier = older.len() > delivery::PAGE_MESSAGES;
        let messages = self.messages_in(first, Some(before))?;
        let events = match (peer, messages.last()) {
            // The events after the page's newest message went with the stretch after it.
            (Peer::Agent { .. }, Some(last)) => {
                self.events_in(older.get(delivery::PAGE_MESSAGES).copied().unwrap_or(0), Some(last.seq))?
            }
            _ => Vec::new(),
        };
        Self::send_stretch(ws, messages, events)?;
        ws.send_with_str(ServerFrame::Page { earlier }.encode())?;
        Ok(())
    }

    /// Sends `messages` with `events` (each after the message it followed) in between.
    fn send_stretch(ws: &WebSocket, messages: Vec<Message>, events: Vec<(Seq, Event)>) -> Result<()> {
        let mut events = events.into_iter().peekable();
        for message in messages {
            while let Some((_, event)) = events.next_if(|(after_seq, _)| *after_seq < message.seq) {
                ws.send_with_str(ServerFrame::Event { event }.encode())?;
            }
            ws.send_with_str(ServerFrame::Message { message }.encode())?;
        }
        for (_, event) in events {
            ws.send_with_str(ServerFrame::Event { event }.encode())?;
        }
        Ok(())
    }

    /// Whether a contact's `token` opens this conversation (it is its contact's, genuine and current): held,
    /// the token renewed; otherwise why not.
    async fn contact_admitted(
        &self,
        meta: &Meta,
        token: Option<&str>,
    ) -> Result<std::result::Result<String, &'static str>> {
        let secret = config::signing_secret(&self.env)?;
        let claim =
            token.and_then(|t| crypto::contact_claim(&secret, t)).filter(|c| c.contact == meta.contact);
        let Some(claim) = claim else { return Ok(Err("this token does not open this conversation")) };
        let now = now_ms();
        Ok(match directory::contact_admitted(&self.env, &meta.site, &claim, now).await? {
            Ok(()) => Ok(crypto::contact_token(&secret, &claim.renewed(now))),
            Err(why) => Err(why.reason()),
        })
    }

    /// `hello` (a contact's token already checked, and renewed): sends the welcome, the backlog after
    /// `after` (for agents with the lifecycle's events in between), the read positions and, for agents, the
    /// state.
    fn on_hello(
        &self,
        ws: &WebSocket,
        meta: &Meta,
        mut socket: SocketState,
        contact_token: Option<String>,
        after: Option<Seq>,
    ) -> Result<()> {
        socket.ready = true;
        ws.serialize_attachment(&socket)?;
        self.sockets_changed();
        let backlog = delivery::backlog(after, &self.newest_seqs(delivery::resume_from(after), None)?);
        let welcome = ServerFrame::Welcome {
            version: PROTOCOL_VERSION,
            interaction: meta.interaction,
            contact_token,
            earlier: backlog.earlier,
            restart: backlog.restart,
        };
        ws.send_with_str(welcome.encode())?;
        let peer_is_contact = matches!(socket.peer, Peer::Contact);
        // How far this side has read, before the backlog: a widget preloaded for its badge counts only
        // what came since (it knows nothing of what another visit read).
        if let (true, Some((who, seq))) = (peer_is_contact, self.read_by(false)) {
            ws.send_with_str(ServerFrame::Read { who, seq }.encode())?;
        }
        let messages = self.messages_in(backlog.first, None)?;
        let events = match socket.peer {
            Peer::Agent { .. } => self.events_in(backlog.events_after, None)?,
            Peer::Contact => Vec::new(),
        };
        Self::send_stretch(ws, messages, events)?;
        // How far the other side has read.
        if let Some((who, seq)) = self.read_by(peer_is_contact) {
            ws.send_with_str(ServerFrame::Read { who, seq }.encode())?;
        }
        if let (Peer::Agent { .. }, Some(view)) = (&socket.peer, self.view()) {
            ws.send_with_str(ServerFrame::State { view: Box::new(view) }.encode())?;
        }
        Ok(())
    }

    /// `send`: the files it names are checked against what was really uploaded, a follow-up's writer against
    /// its account as it is now; then the message goes through [`Core::on_send`].
    async fn on_send_frame(
        &self,
        ws: &WebSocket,
        meta: &Meta,
        peer: &Peer,
        client_id: ClientMessageId,
        text: &str,
        attachments: &[Attachment],
    ) -> Result<()> {
        // Only files really uploaded to this conversation, described by what R2 stored.
        let mut stored = Vec::with_capacity(attachments.len());
        for claimed in attachments.iter().take(validate::MAX_ATTACHMENTS_PER_MESSAGE + 1) {
            match files::stored(&self.env, &meta.site, meta.interaction, &claimed.id).await? {
                Some(attachment) => stored.push(attachment),
                None => {
                    let missing = format!("{:?} was not uploaded to this conversation", claimed.name);
                    Self::send_error(ws, ErrorCode::NotFound, missing);
                    return Ok(());
                }
            }
        }
        // Writing in a conversation that is not open starts a follow-up, which any agent of the site may:
        // checked against the account as it is now, since the socket may have opened long before a
        // deactivation or a password change. (An open conversation's writer is its assigned agent, whom a
        // deactivation unassigns.)
        let follow_up = self.lifecycle.borrow().as_ref().is_none_or(|l| !l.state.is_open());
        if let (true, Peer::Agent { id, epoch, .. }) = (follow_up, peer)
            && !self.still_signed_in(&meta.site, id, *epoch).await?
        {
            Self::send_error(
                ws,
                ErrorCode::Unauthorized,
                "your account can no longer write here: sign in again",
            );
            let _ = ws.close(Some(close_code::SIGNED_OUT), Some("signed out"));
            self.sockets_changed();
            return Ok(());
        }
        self.on_send(ws, meta, peer, client_id, text, stored)?;
        self.settle().await
    }

    /// `typing` and `read`: passed to the other side (a read position is kept, and only ever moves on).
    fn on_signal(&self, peer: &Peer, signal: ClientFrame) -> Result<std::result::Result<(), Refusal>> {
        if let Some(refusal) = self.signal_refused(peer) {
            return Ok(Err(refusal));
        }
        let (who, to_contact) = match peer {
            Peer::Contact => (Participant::Contact, false),
            Peer::Agent { name, .. } => (Participant::Agent { name: name.clone() }, true),
        };
        let to_other_side = |p: &Peer| matches!(p, Peer::Contact) == to_contact;
        match signal {
            ClientFrame::Typing { on } => self.send_where(&ServerFrame::Typing { who, on }, to_other_side),
            ClientFrame::Read { seq } => {
                // Kept, so a reload or another tab still shows what was read.
                let seq = seq.min(self.last_seq.get());
                if seq > self.read_by(to_contact).map_or(0, |(_, s)| s) {
                    let key = if to_contact { "read:agent" } else { "read:contact" };
                    write_meta(&self.sql, key, serde_json::to_string(&(&who, seq))?)?;
                    self.send_where(&ServerFrame::Read { who, seq }, to_other_side);
                }
            }
            _ => {}
        }
        Ok(Ok(()))
    }

    /// A message from the contact or an agent: de-duplicated, checked against the lifecycle (only the
    /// assigned agent writes; an agent writing in an ended conversation reactivates it), shown to the other
    /// side, stored, acknowledged. When it changes the lifecycle for others to hear (a new session, a
    /// follow-up), the change is stored and told first and the message follows it.
    fn on_send(
        &self,
        ws: &WebSocket,
        meta: &Meta,
        peer: &Peer,
        client_id: ClientMessageId,
        text: &str,
        attachments: Vec<Attachment>,
    ) -> Result<()> {
        let author = match peer {
            Peer::Contact => Author::Contact,
            Peer::Agent { id, name, .. } => Author::Agent { id: id.clone(), name: name.clone() },
        };
        let now = now_ms();
        let submission = Submission { client_id, text, attachments, author, now };
        let message = match delivery::decide_send(submission, self.last_seq.get(), self.seq_of(client_id)?) {
            Err(invalid) => {
                Self::send_error(ws, invalid.code(), invalid.to_string());
                return Ok(());
            }
            Ok(SendOutcome::AlreadyStored { seq }) => {
                ws.send_with_str(ServerFrame::Ack { client_id, seq }.encode())?;
                return Ok(());
            }
            Ok(SendOutcome::Store(message)) => message,
        };
        // A contact's new messages are rate-limited (a resend of a stored one above costs nothing). The
        // refused message stays in the client's outbox, which sends it again shortly.
        if matches!(peer, Peer::Contact) {
            let mut gate = self.contact_gate.get();
            let admitted = gate.admit(self.contact_limit, client_id, now);
            self.contact_gate.set(gate);
            if let Err(wait) = admitted {
                let secs = limits::retry_after_secs(wait);
                Self::send_error(ws, ErrorCode::TooManyRequests, format!("too many messages: wait {secs} s"));
                return Ok(());
            }
        }
        // The lifecycle decides whether this author may write now, before anything is stored.
        let (allowed, quiet) = match peer {
            // At the message's own time, so a session starts exactly with its first message (the records'
            // preview and the SLA timers count from it).
            Peer::Contact => {
                self.step_quietly(meta, true, |l, _| l.contact_wrote(message.at))?.map(|((), q)| (Ok(()), q))
            }
            Peer::Agent { id, .. } => self.step_quietly(meta, true, |l, _| l.agent_wrote(id, message.at))?,
        }
        .unwrap_or((Ok(()), false));
        if let Err(refusal) = allowed {
            Self::refuse(ws, &refusal);
            return Ok(());
        }
        self.last_seq.set(message.seq);
        let (client_id, seq, author) = (message.client_id, message.seq, message.author.clone());
        let frame = ServerFrame::Message { message: message.clone() };
        if quiet {
            if seq > self.reserved.get() {
                // Written before the message is shown: the output gate holds the frame until it is durable.
                let reserved = seq + RESERVE_AHEAD;
                write_meta(&self.sql, "seq_reserved", reserved.to_string())?;
                self.reserved.set(reserved);
            }
            // Nothing is written yet in this event: the other side gets the message without waiting.
            self.send_where(&frame, |p| !written_by(p, &author));
        }
        self.store(&message)?;
        self.unsent_files.sent(&message.attachments)?;
        if quiet {
            self.save_lifecycle()?;
            self.list_soon(meta)?;
        } else {
            self.list_on_desk(meta)?;
        }
        // Held by the output gate until the message is durable.
        ws.send_with_str(ServerFrame::Ack { client_id, seq }.encode())?;
        self.send_where(&frame, |p| !quiet || written_by(p, &author));
        Ok(())
    }
}

/// Whether the socket of `peer` belongs to the author of a message: its own sockets hear of the message
/// only once it is stored, since a client takes its own message coming back as delivered.
fn written_by(peer: &Peer, author: &Author) -> bool {
    match (peer, author) {
        (Peer::Contact, Author::Contact) => true,
        (Peer::Agent { id, .. }, Author::Agent { id: author, .. }) => id == author,
        _ => false,
    }
}

impl Core {
    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let message = match rpc::incoming::<ConversationMessage>(&mut req).await? {
            Incoming::Socket => return self.accept_socket(&req).await,
            Incoming::Message(message) => message,
        };
        match message {
            ConversationMessage::Init(meta) => rpc::answer(&self.init(meta).await?),
            ConversationMessage::Desk(effect) => rpc::answer(&self.on_desk(effect).await?),
            ConversationMessage::SignOutAgent { agent, keep_epoch, reason } => {
                rpc::answer(&self.sign_out_agent(&agent, keep_epoch, &reason).await?)
            }
            ConversationMessage::Erase => rpc::answer(&self.erase().await?),
            ConversationMessage::FileUploaded { id } => rpc::answer(&self.file_uploaded(&id).await?),
            ConversationMessage::Unread => rpc::answer(&self.unread()?),
            ConversationMessage::Whose => {
                rpc::answer(&self.meta().map(|meta| (meta.site.clone(), meta.contact.clone())))
            }
            ConversationMessage::Transcript => rpc::answer(&self.transcript()?),
        }
    }

    /// Creates the conversation, once: later calls change nothing.
    async fn init(&self, meta: Meta) -> Result<()> {
        if self.meta().is_some() {
            return Ok(());
        }
        self.sql.exec(
            "INSERT INTO meta (key, value) VALUES ('conversation', ?)",
            vec![serde_json::to_string(&meta)?.into()],
        )?;
        *self.meta.borrow_mut() = Some(Rc::new(meta.clone()));
        *self.lifecycle.borrow_mut() =
            Some(Interaction::new(meta.interaction, default_queue(), meta.rules.clone(), meta.started_at));
        self.step(&meta, |_, _| ())?;
        self.list_on_desk(&meta)?;
        self.settle().await
    }

    /// A routing decision of the desk about this conversation.
    async fn on_desk(&self, effect: DeskEffect) -> Result<()> {
        if let Some(meta) = self.meta() {
            self.step(&meta, |l, now| l.on_desk(effect, now))?;
            self.settle().await?;
        }
        Ok(())
    }

    /// Closes `agent`'s sockets (but those opened by a session of `keep_epoch`), telling it why (its access
    /// ended). The desk forgot this conversation's sockets of `agent` when it asked: it hears again of those
    /// kept.
    async fn sign_out_agent(&self, agent: &AgentId, keep_epoch: Option<u32>, reason: &str) -> Result<()> {
        let mut kept = false;
        for ws in self.state.get_websockets_with_tag(&format!("agent:{agent}")) {
            let epoch = match ws.deserialize_attachment::<SocketState>()? {
                Some(SocketState { peer: Peer::Agent { epoch, .. }, .. }) => Some(epoch),
                _ => None,
            };
            if keep_epoch.is_some() && epoch == keep_epoch {
                kept = true;
                continue;
            }
            Self::send_error(&ws, ErrorCode::Unauthorized, reason);
            let _ = ws.close(Some(close_code::SIGNED_OUT), Some("signed out"));
            self.sockets_changed();
        }
        if let (true, Some(meta), Some(epoch)) = (kept, self.meta(), keep_epoch) {
            self.tell_desk_of_agent_socket(&meta, agent, epoch, true)?;
            self.settle().await?;
        }
        Ok(())
    }

    /// A contact's data is deleted on request: every message, event and setting of this conversation (its
    /// attachments are deleted from R2 by the Worker). `false`, and nothing deleted, if it is open: checked
    /// here, where the state lives, since the contact may have reopened it after the Worker asked.
    async fn erase(&self) -> Result<bool> {
        if self.lifecycle.borrow().as_ref().is_some_and(|l| l.state.is_open()) {
            return Ok(false);
        }
        for ws in self.state.get_websockets() {
            Self::send_error(&ws, ErrorCode::NotFound, "this conversation was deleted");
            let _ = ws.close(Some(close_code::ERASED), Some("deleted"));
            self.sockets_changed();
        }
        self.state.storage().delete_alarm().await?;
        self.state.storage().delete_all().await?;
        self.outbox.forget_alarm();
        *self.lifecycle.borrow_mut() = None;
        *self.meta.borrow_mut() = None;
        self.last_seq.set(0);
        self.reserved.set(0);
        // The object lives on empty; its tables are needed if anything still addresses it.
        sql::migrate(&self.sql, "conversation", MIGRATIONS);
        Ok(true)
    }

    /// A file was uploaded to this conversation: kept while a message may still send it. `false` if there
    /// is no conversation (erased meanwhile): the file must not be kept then.
    async fn file_uploaded(&self, id: &str) -> Result<bool> {
        if self.meta().is_none() {
            return Ok(false);
        }
        self.unsent_files.uploaded(id, now_ms())?;
        self.settle().await?;
        Ok(true)
    }

    /// Agent messages the contact has not read (for the launcher's badge).
    fn unread(&self) -> Result<u32> {
        let read = self.read_by(false).map(|(_, seq)| seq);
        // A page at most: the badge shows "9+" long before.
        Ok(delivery::unread(&self.messages_in(delivery::resume_from(read), None)?, read, true) as u32)
    }

    /// The whole transcript, for history and export, with whose it is: the Worker checks who may read it.
    fn transcript(&self) -> Result<Option<Transcript>> {
        let Some(meta) = self.meta() else { return Ok(None) };
        let (newest, earlier) = self.newest_messages(history::MAX_TRANSCRIPT_MESSAGES)?;
        Ok(Some(Transcript {
            site: meta.site.clone(),
            contact: meta.contact.clone(),
            transcript: ConversationTranscript {
                interaction: meta.interaction,
                contact_label: meta.contact_label.clone(),
                started_at: meta.started_at,
                messages: newest,
                earlier,
            },
        }))
    }

    /// Whether `agent` of `site` is still active with the session epoch `epoch` (a socket opened by a
    /// session of that epoch may still act), by its account as the Directory has it now.
    async fn still_signed_in(&self, site: &SiteId, agent: &AgentId, epoch: u32) -> Result<bool> {
        let site = directory::site(&self.env, site.as_str()).await?;
        let account = site.as_ref().and_then(|site| site.agent(agent.as_str())).map(StoredAgent::now);
        Ok(admin::session_holds(account, epoch).is_ok())
    }
}

impl DurableObject for Conversation {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        sql::migrate(&sql, "conversation", MIGRATIONS);
        // Keep-alive pings are answered by the runtime without waking the object.
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        let meta = read_meta(&sql, "conversation").and_then(|v| serde_json::from_str(&v).ok()).map(Rc::new);
        let lifecycle = read_meta(&sql, "lifecycle").and_then(|v| serde_json::from_str(&v).ok());
        // After a crash, numbers shown but never stored stay unused (see the module's comment).
        let reserved: Seq = read_meta(&sql, "seq_reserved").and_then(|v| v.parse().ok()).unwrap_or(0);
        let last_seq = Core::last_stored_seq(&sql).unwrap_or(0).max(reserved);
        let outbox = Outbox::new(sql.clone());
        let unsent_files = UnsentFiles::new(sql.clone(), config::unsent_files_kept_ms(&env));
        let contact_limit = config::limit(&env, "CONFAB_LIMIT_CONTACT_MESSAGES", limits::CONTACT_MESSAGES);
        let core = Core {
            state,
            env,
            sql,
            outbox,
            unsent_files,
            meta: RefCell::new(meta),
            lifecycle: RefCell::new(lifecycle),
            last_seq: Cell::new(last_seq),
            reserved: Cell::new(reserved),
            ready_sockets: RefCell::new(None),
            listed_at: Cell::new(0),
            listing_due: Cell::new(false),
            contact_gate: Default::default(),
            contact_limit,
        };
        Conversation { core }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        self.core.fetch(req).await
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        match message {
            WebSocketIncomingMessage::String(text) => self.core.on_frame(&ws, &text).await,
            WebSocketIncomingMessage::Binary(_) => {
                Core::send_error(&ws, ErrorCode::BadFrame, "frames are JSON text");
                Ok(())
            }
        }
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _clean: bool) -> Result<()> {
        // Complete the closing handshake; 1005/1006 are not codes one may send.
        let code =
            if (1000..=4999).contains(&code) && code != 1005 && code != 1006 { code as u16 } else { 1000 };
        let _ = ws.close(Some(code), Some("closing"));
        self.core.socket_gone(&ws).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.core.socket_gone(&ws).await
    }

    async fn alarm(&self) -> Result<Response> {
        let core = &self.core;
        core.outbox.alarm_rang();
        if let Some(meta) = core.meta() {
            if core.listing_due.get() {
                core.list_on_desk(&meta)?;
            }
            core.step(&meta, |l, now| l.handle_timeout(now))?;
            core.unsent_files.sweep(&core.env, &meta.site, meta.interaction, now_ms()).await;
        }
        core.release_reserved()?;
        core.settle().await?;
        Response::ok("ok")
    }
}
