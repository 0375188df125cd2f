//! The `Desk` Durable Object: one per site, the single writer of routing.
//!
//! It carries out `confab_protocol::routing::Desk` (presence, capacity, queues, offers, transfers): load the
//! state, apply one input, save it together with the messages it causes (outbox), tell the agents' desk
//! sockets, keep the alarm at the routing deadline. Being the only writer is what makes capacity counting
//! race-free. It also keeps the site's conversation list for the agent desktop.

use crate::platform::http::{HttpError, now_ms};
use crate::platform::sql;
use crate::rpc::conversation;
use crate::rpc::desk::{
    AgentSocket, ConfiguredAgent, ContactAnswered, ContactErasure, DeskConfig, DeskMessage, DeskSocketPeer,
    RecordEntry, RoutingRequest,
};
use crate::rpc::outbox::{self, Outbox};
use crate::rpc::{self, Incoming};
use confab_protocol::admin::{self, AccountNow, DeskSocketOutdated};
use confab_protocol::api::{ContactSummary, RecordQuery, RecordSummary};
use confab_protocol::bad_frame;
use confab_protocol::frames::{
    ConversationSummary, DeskClientFrame, DeskFrame, ErrorCode, RosterEntry, close_code,
};
use confab_protocol::ids::{AgentId, ContactId, InteractionId};
use confab_protocol::lifecycle::DeskRequest;
use confab_protocol::lifecycle::Phase;
use confab_protocol::routing::{self, DeskEffect, DeskRefusal, Presence};
use confab_protocol::supervision::{Overview, SlaTargets};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use worker::{
    DurableObject, Env, Request, Response, Result, SqlStorage, State, WebSocket, WebSocketIncomingMessage,
    WebSocketPair, durable_object,
};

/// The setting that says the `accounts` table holds the site's accounts.
const ACCOUNTS_KNOWN: &str = "accounts_known";

/// How many conversations the desk lists.
const LIST_LIMIT: i32 = 200;

/// Who is on a desk socket (kept in its attachment, so it survives hibernation).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeskPeer {
    agent: AgentId,
    #[serde(default)]
    supervises: bool,
    /// The session epoch of the session that opened the socket.
    #[serde(default)]
    epoch: u32,
}

impl DeskPeer {
    /// Whether this socket still fits its account as `config` has it now (deactivated accounts are not in it).
    fn outdated(&self, config: &DeskConfig) -> Option<DeskSocketOutdated> {
        let account = config.agents.iter().find(|a| a.id == self.agent).map(ConfiguredAgent::now);
        admin::desk_socket_outdated(account, self.epoch, self.supervises)
    }
}

/// Tag of the desk sockets that get the live [`Overview`].
const SUPERVISOR_TAG: &str = "supervisor";

#[durable_object]
pub struct Desk {
    state: State,
    env: Env,
    sql: SqlStorage,
    routing: RefCell<routing::Desk>,
    outbox: Outbox,
}

#[derive(Deserialize)]
struct Body {
    body: String,
}

impl Desk {
    fn list(&self) -> Result<Vec<ConversationSummary>> {
        let rows: Vec<Body> = self
            .sql
            .exec("SELECT body FROM conversations ORDER BY last_at DESC LIMIT ?", vec![LIST_LIMIT.into()])?
            .to_array()?;
        Ok(rows.iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect())
    }

    fn summary(&self, interaction: InteractionId) -> ConversationSummary {
        let rows: Vec<Body> = self
            .sql
            .exec(
                "SELECT body FROM conversations WHERE interaction = ?",
                vec![interaction.to_string().into()],
            )
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.first().and_then(|r| serde_json::from_str(&r.body).ok()).unwrap_or_else(|| ConversationSummary {
            interaction,
            contact: None,
            contact_label: "Visitor".into(),
            contact_email: None,
            started_at: now_ms(),
            last_text: None,
            last_at: now_ms(),
            status: None,
        })
    }

    /// The site's contacts, most recently active first; `query` filters by label (case-insensitive).
    fn contacts(&self, query: &str) -> Result<Vec<ContactSummary>> {
        #[derive(Deserialize)]
        struct Row {
            contact: String,
            label: String,
            conversations: u32,
            last_at: i64,
        }
        let pattern = format!("%{}%", query.replace(['%', '_'], ""));
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT contact, MAX(label) AS label, COUNT(*) AS conversations, MAX(last_at) AS last_at
                 FROM contact_conversations WHERE label LIKE ? GROUP BY contact ORDER BY last_at DESC LIMIT 200",
                vec![pattern.into()],
            )?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| ContactSummary {
                contact: ContactId(r.contact),
                label: r.label,
                conversations: r.conversations,
                last_at: r.last_at,
            })
            .collect())
    }

    fn agent_name(&self, agent: &AgentId) -> String {
        let rows: Vec<Body> = self
            .sql
            .exec("SELECT name AS body FROM agent_names WHERE agent = ?", vec![agent.0.clone().into()])
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.first().map_or_else(|| agent.0.clone(), |r| r.body.clone())
    }

    fn roster(&self) -> DeskFrame {
        #[derive(Deserialize)]
        struct Named {
            agent: String,
            name: String,
        }
        // One query for every name: the roster goes out on every assignment.
        let names: std::collections::HashMap<String, String> = self
            .sql
            .exec("SELECT agent, name FROM agent_names", None)
            .and_then(|c| c.to_array::<Named>())
            .unwrap_or_default()
            .into_iter()
            .map(|n| (n.agent, n.name))
            .collect();
        let routing = self.routing.borrow();
        let agents = routing
            .agents
            .iter()
            .map(|(agent, seat)| RosterEntry {
                agent: agent.clone(),
                name: names.get(&agent.0).cloned().unwrap_or_else(|| agent.0.clone()),
                presence: seat.presence,
                free: seat.profile.capacity.saturating_sub(seat.load.len() as u32),
            })
            .collect();
        DeskFrame::Roster { agents, queues: routing.queues.iter().cloned().collect() }
    }

    /// A value kept in the desk's `settings` table.
    fn setting(&self, key: &str) -> Option<String> {
        let rows: Vec<Body> = self
            .sql
            .exec("SELECT value AS body FROM settings WHERE key = ?", vec![key.into()])
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.into_iter().next().map(|r| r.body)
    }

    fn set_setting(&self, key: &str, value: String) -> Result<()> {
        self.sql.exec(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![key.into(), value.into()],
        )?;
        Ok(())
    }

    fn sla(&self) -> SlaTargets {
        self.setting("sla").and_then(|body| serde_json::from_str(&body).ok()).unwrap_or_default()
    }

    fn overview(&self) -> Result<DeskFrame> {
        let summaries = self.list()?;
        let overview =
            Overview::build(&self.routing.borrow(), &summaries, |agent| self.agent_name(agent), self.sla());
        Ok(DeskFrame::Overview { overview })
    }

    /// Tells the supervisors' desktops, if any is open, how the site stands now.
    fn send_overview(&self) {
        let sockets = self.state.get_websockets_with_tag(SUPERVISOR_TAG);
        if sockets.is_empty() {
            return;
        }
        match self.overview() {
            Ok(frame) => {
                let text = frame.encode();
                for ws in sockets {
                    let _ = ws.send_with_str(&text);
                }
            }
            Err(e) => worker::console_error!("desk overview: {e}"),
        }
    }

    /// Completed interactions matching `query`, newest first.
    fn records(&self, query: &RecordQuery) -> Result<Vec<RecordSummary>> {
        let mut sql = String::from("SELECT body FROM records WHERE 1 = 1");
        let mut args: Vec<worker::SqlStorageValue> = Vec::new();
        if let Some(from) = query.from {
            sql.push_str(" AND completed_at >= ?");
            args.push(from.into());
        }
        if let Some(to) = query.to {
            sql.push_str(" AND completed_at < ?");
            args.push(to.into());
        }
        if let Some(agent) = &query.agent {
            sql.push_str(" AND agent = ?");
            args.push(agent.0.clone().into());
        }
        if let Some(code) = &query.code {
            // Codes are stored as a JSON array of slugs, so a quoted code matches one whole element.
            sql.push_str(" AND codes LIKE ?");
            args.push(format!("%\"{}\"%", code.replace(['%', '_', '"'], "")).into());
        }
        if let Some(text) = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            sql.push_str(" AND (text LIKE ? ESCAPE '\\' OR label LIKE ? ESCAPE '\\')");
            let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            args.push(pattern.clone().into());
            args.push(pattern.into());
        }
        sql.push_str(" ORDER BY completed_at DESC LIMIT ?");
        args.push(i64::from(query.limit()).into());
        let rows: Vec<Body> = self.sql.exec(&sql, args)?.to_array()?;
        Ok(rows.iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect())
    }

    fn erasure(&self, contact: &str) -> Result<ContactErasure> {
        #[derive(Deserialize)]
        struct Row {
            interaction: String,
            body: Option<String>,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT c.interaction AS interaction, v.body AS body FROM contact_conversations c
                 LEFT JOIN conversations v ON v.interaction = c.interaction WHERE c.contact = ?",
                vec![contact.into()],
            )?
            .to_array()?;
        let mut erasure = ContactErasure { interactions: Vec::new(), open: 0 };
        for row in rows {
            let Ok(id) = row.interaction.parse() else { continue };
            let summary: Option<ConversationSummary> = row.body.and_then(|b| serde_json::from_str(&b).ok());
            let phase = summary.and_then(|s| s.status).map(|s| s.phase);
            if phase.is_some_and(Phase::is_open) || self.routing.borrow().tickets.contains_key(&id) {
                erasure.open += 1;
            }
            erasure.interactions.push(id);
        }
        Ok(erasure)
    }

    fn send_to(&self, agent: &AgentId, frame: &DeskFrame) {
        let text = frame.encode();
        for ws in self.state.get_websockets_with_tag(&format!("agent:{agent}")) {
            let _ = ws.send_with_str(&text);
        }
    }

    fn broadcast(&self, frame: &DeskFrame) {
        let text = frame.encode();
        for ws in self.state.get_websockets() {
            let _ = ws.send_with_str(&text);
        }
    }

    /// Applies one input to the routing state, then saves it with the messages it caused and tells the
    /// agents. The borrow ends before anything is awaited.
    fn apply<T>(&self, input: impl FnOnce(&mut routing::Desk) -> T) -> Result<T> {
        let (result, effects) = {
            let mut routing = self.routing.borrow_mut();
            let result = input(&mut routing);
            (result, routing.drain())
        };
        for effect in &effects {
            if let Some(interaction) = effect.interaction() {
                self.outbox.push(conversation::envelope(interaction, effect)?)?;
            }
        }
        self.save()?;
        let mut roster_changed = false;
        for effect in effects {
            if let Some((agent, frame)) = self.frame_for(effect) {
                roster_changed |= matches!(frame, DeskFrame::Presence { .. } | DeskFrame::Assigned { .. });
                self.send_to(&agent, &frame);
            }
        }
        if roster_changed {
            self.broadcast(&self.roster());
        }
        self.send_overview();
        Ok(result)
    }

    /// What an agent's desktop is told about a decision.
    fn frame_for(&self, effect: DeskEffect) -> Option<(AgentId, DeskFrame)> {
        Some(match effect {
            DeskEffect::Offer { agent, interaction, kind, expires, .. } => {
                (agent, DeskFrame::Offer { interaction, kind, expires, card: self.summary(interaction) })
            }
            DeskEffect::OfferWithdrawn { agent, interaction, reason, .. } => {
                (agent, DeskFrame::OfferWithdrawn { interaction, reason })
            }
            DeskEffect::Assigned { agent, interaction, how, .. } => {
                (agent, DeskFrame::Assigned { interaction, how })
            }
            DeskEffect::Requeued { interaction, from, reason, .. } => {
                (from, DeskFrame::Requeued { interaction, reason })
            }
            DeskEffect::TransferEnded { from, interaction, outcome, .. } => {
                (from, DeskFrame::TransferEnded { interaction, outcome })
            }
            DeskEffect::PresenceChanged { agent, presence } => (agent, DeskFrame::Presence { presence }),
            DeskEffect::TransferStarted { .. } => return None,
        })
    }

    fn save(&self) -> Result<()> {
        let body = serde_json::to_string(&*self.routing.borrow())?;
        self.sql.exec(
            "INSERT INTO routing (id, body) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            vec![body.into()],
        )?;
        Ok(())
    }

    /// Delivers queued messages, and keeps the alarm at the next routing deadline (or a retry).
    async fn settle(&self) -> Result<()> {
        let deadline = self.routing.borrow().deadline();
        outbox::settle(&self.state, &self.env, &self.outbox, deadline).await
    }

    /// After the site's accounts changed: closes the sockets that no longer fit their account. A deactivated
    /// account, or one whose sessions ended (a new password, a sign-out), is told why and signed out, on its
    /// desk sockets and on every conversation it has sockets on; a changed role makes the desktop reload with
    /// the new role.
    fn end_outdated_sockets(&self, config: &DeskConfig) -> Result<()> {
        for ws in self.state.get_websockets() {
            let Some(peer) = ws.deserialize_attachment::<DeskPeer>()? else { continue };
            match peer.outdated(config) {
                None => {}
                Some(DeskSocketOutdated::RoleChanged) => {
                    let _ = ws.close(Some(close_code::ROLE_CHANGED), Some("role changed"));
                }
                Some(DeskSocketOutdated::SignedOut(ended)) => {
                    let frame =
                        DeskFrame::Error { code: ErrorCode::Unauthorized, message: ended.reason().into() };
                    let _ = ws.send_with_str(frame.encode());
                    let _ = ws.close(Some(close_code::SIGNED_OUT), Some("signed out"));
                }
            }
        }
        #[derive(Deserialize)]
        struct Row {
            agent: String,
            interaction: String,
            epoch: u32,
        }
        let rows: Vec<Row> =
            self.sql.exec("SELECT agent, interaction, epoch FROM agent_sockets", None)?.to_array()?;
        for row in rows {
            let Ok(interaction) = row.interaction.parse() else { continue };
            let agent = AgentId(row.agent);
            let account = config.agents.iter().find(|a| a.id == agent).map(ConfiguredAgent::now);
            self.sign_out_conversation_sockets(interaction, &agent, row.epoch, account)?;
        }
        Ok(())
    }

    /// Closes `agent`'s sockets on `interaction` if the session of `epoch` that opened them is over for the
    /// account as it is now (those of a newer session stay), and forgets them. `false` if they may stay.
    fn sign_out_conversation_sockets(
        &self,
        interaction: InteractionId,
        agent: &AgentId,
        epoch: u32,
        account: Option<AccountNow>,
    ) -> Result<bool> {
        // A session newer than the accounts this desk was last configured with: its configuration is on its
        // way, and judges the socket when it comes.
        if account.is_some_and(|a| admin::epoch_is_ahead(epoch, a.session_epoch)) {
            return Ok(false);
        }
        let Err(ended) = admin::session_holds(account, epoch) else { return Ok(false) };
        let keep_epoch = account.map(|a| a.session_epoch);
        self.outbox.push(conversation::sign_out_envelope(interaction, agent, keep_epoch, ended.reason())?)?;
        self.sql.exec(
            "DELETE FROM agent_sockets WHERE agent = ? AND interaction = ?",
            vec![agent.0.clone().into(), interaction.to_string().into()],
        )?;
        Ok(true)
    }

    /// An agent's sockets on a conversation opened, or all closed. Sockets a session opened after its access
    /// ended (the upgrade was checked just before) are closed at once.
    async fn agent_socket(&self, socket: AgentSocket) -> Result<()> {
        let AgentSocket { interaction, agent, epoch, open } = socket;
        if !open {
            self.sql.exec(
                "DELETE FROM agent_sockets WHERE agent = ? AND interaction = ?",
                vec![agent.0.clone().into(), interaction.to_string().into()],
            )?;
            return Ok(());
        }
        // Until the first configuration since the accounts table came (an upgrade), every socket may stay.
        let accounts_known = self.setting(ACCOUNTS_KNOWN).is_some();
        let account = self.account(&agent)?.map(|a| a.now());
        if !accounts_known || !self.sign_out_conversation_sockets(interaction, &agent, epoch, account)? {
            self.sql.exec(
                "INSERT INTO agent_sockets (agent, interaction, epoch) VALUES (?, ?, ?)
                 ON CONFLICT(agent, interaction) DO UPDATE SET epoch = excluded.epoch",
                vec![agent.0.clone().into(), interaction.to_string().into(), i64::from(epoch).into()],
            )?;
        }
        self.settle().await
    }

    /// An active account of the site, as last configured.
    fn account(&self, agent: &AgentId) -> Result<Option<ConfiguredAgent>> {
        let rows: Vec<Body> = self
            .sql
            .exec("SELECT body FROM accounts WHERE agent = ?", vec![agent.0.clone().into()])?
            .to_array()?;
        Ok(rows.first().and_then(|r| serde_json::from_str(&r.body).ok()))
    }

    /// A desk socket closed: if it was the agent's last open one, the grace period before Offline starts.
    async fn socket_gone(&self, ws: &WebSocket) -> Result<()> {
        let Some(peer) = ws.deserialize_attachment::<DeskPeer>()? else { return Ok(()) };
        let open = self
            .state
            .get_websockets_with_tag(&format!("agent:{}", peer.agent))
            .iter()
            .filter(|s| s.as_ref().ready_state() == web_sys::WebSocket::OPEN)
            .count();
        if open == 0 {
            let now = now_ms();
            self.apply(|d| d.agent_disconnected(&peer.agent, now))?;
            self.settle().await?;
        }
        Ok(())
    }

    fn refusal_frame(refusal: &DeskRefusal) -> DeskFrame {
        DeskFrame::Error { code: refusal.code(), message: refusal.to_string() }
    }

    async fn on_agent_frame(&self, ws: &WebSocket, agent: &AgentId, frame: DeskClientFrame) -> Result<()> {
        let now = now_ms();
        let outcome: std::result::Result<(), DeskRefusal> = match frame {
            DeskClientFrame::Hello { .. } => {
                self.apply(|d| d.agent_connected(agent, now))?;
                let (presence, capacity, auto_accept, offers) = {
                    let routing = self.routing.borrow();
                    let seat = routing.agents.get(agent);
                    let offers: Vec<_> = routing
                        .offers
                        .iter()
                        .filter(|(_, o)| o.agent == *agent)
                        .map(|(id, o)| (*id, o.kind.clone(), o.expires))
                        .collect();
                    (
                        seat.map_or(Presence::Offline, |s| s.presence),
                        seat.map_or(0, |s| s.profile.capacity),
                        seat.is_some_and(|s| s.profile.auto_accept),
                        offers,
                    )
                };
                let mut frames = vec![
                    DeskFrame::Welcome { agent: agent.clone(), presence, capacity, auto_accept },
                    DeskFrame::Conversations { items: self.list()? },
                    self.roster(),
                ];
                if self.state.get_tags(ws).iter().any(|t| t == SUPERVISOR_TAG) {
                    frames.push(self.overview()?);
                }
                // After a reload the desktop shows the cards still waiting for it.
                for (interaction, kind, expires) in offers {
                    frames.push(DeskFrame::Offer {
                        interaction,
                        kind,
                        expires,
                        card: self.summary(interaction),
                    });
                }
                for frame in frames {
                    ws.send_with_str(frame.encode())?;
                }
                return Ok(());
            }
            // The desk's answer (a presence frame, then any offer it leads to) comes with its effects.
            DeskClientFrame::SetPresence { presence } => {
                self.apply(|d| d.set_presence(agent, presence, now))?
            }
            DeskClientFrame::Accept { interaction } => self.apply(|d| d.accept(agent, interaction, now))?,
            DeskClientFrame::Reject { interaction } => self.apply(|d| d.reject(agent, interaction, now))?,
            DeskClientFrame::Transfer { interaction, target } => {
                self.apply(|d| d.transfer(agent, interaction, target, now))?
            }
            DeskClientFrame::CancelTransfer { interaction } => {
                self.apply(|d| d.cancel_transfer(agent, interaction, now))?
            }
            DeskClientFrame::Unknown => Ok(()),
        };
        if let Err(refusal) = outcome {
            ws.send_with_str(Self::refusal_frame(&refusal).encode())?;
        }
        self.settle().await
    }
}

/// The desk's storage, version by version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS conversations (
         interaction TEXT PRIMARY KEY, body TEXT NOT NULL, last_at INTEGER NOT NULL);
     CREATE TABLE IF NOT EXISTS routing (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS agent_names (agent TEXT PRIMARY KEY, name TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS contact_conversations (
         interaction TEXT PRIMARY KEY, contact TEXT NOT NULL, label TEXT NOT NULL,
         started_at INTEGER NOT NULL, last_at INTEGER NOT NULL);
     CREATE INDEX IF NOT EXISTS contact_conversations_by_contact ON contact_conversations (contact, started_at);
     CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS records (
         interaction TEXT NOT NULL, session INTEGER NOT NULL, contact TEXT NOT NULL, agent TEXT NOT NULL,
         codes TEXT NOT NULL, label TEXT NOT NULL, completed_at INTEGER NOT NULL, text TEXT NOT NULL,
         body TEXT NOT NULL, PRIMARY KEY (interaction, session));
     CREATE INDEX IF NOT EXISTS records_by_time ON records (completed_at);",
    // Messages to conversations, committed with the decisions that cause them.
    outbox::TABLE,
    // The site's active accounts as last configured, and the conversations each has sockets on: when an
    // account's access ends, its sockets close on every one of them.
    "CREATE TABLE IF NOT EXISTS accounts (agent TEXT PRIMARY KEY, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS agent_sockets (
         agent TEXT NOT NULL, interaction TEXT NOT NULL, epoch INTEGER NOT NULL, PRIMARY KEY (agent, interaction));",
];

/// What the Worker and the conversations ask of the desk, one method each.
impl Desk {
    /// The site's settings or accounts changed: routing takes the new ones, sockets that no longer fit
    /// their account are closed, every desktop hears of it.
    async fn configure(&self, config: DeskConfig) -> Result<()> {
        let now = now_ms();
        let applied: Option<u64> = self.setting("revision").and_then(|v| v.parse().ok());
        if applied.is_some_and(|applied| config.revision < applied) {
            return Ok(());
        }
        self.set_setting("revision", config.revision.to_string())?;
        self.sql.exec("DELETE FROM accounts", None)?;
        self.set_setting(ACCOUNTS_KNOWN, "1".into())?;
        for agent in &config.agents {
            self.sql.exec(
                "INSERT INTO agent_names (agent, name) VALUES (?, ?) ON CONFLICT(agent) DO UPDATE SET name = excluded.name",
                vec![agent.id.0.clone().into(), agent.name.clone().into()],
            )?;
            self.sql.exec(
                "INSERT INTO accounts (agent, body) VALUES (?, ?)",
                vec![agent.id.0.clone().into(), serde_json::to_string(agent)?.into()],
            )?;
        }
        self.set_setting("sla", serde_json::to_string(&config.sla)?)?;
        self.apply(|d| {
            let agents = config.agents.iter().map(|a| (a.id.clone(), a.profile.clone()));
            d.configure(config.offer_timeout_ms, config.queues.iter().cloned(), agents, now);
        })?;
        self.broadcast(&DeskFrame::SiteChanged);
        self.end_outdated_sockets(&config)?;
        self.broadcast(&self.roster());
        self.settle().await
    }

    /// A conversation's routing request.
    async fn on_request(&self, RoutingRequest { interaction, request }: RoutingRequest) -> Result<()> {
        let now = now_ms();
        self.apply(|d| match request {
            DeskRequest::Enqueue { ticket, queue, prefer } => {
                d.enqueue(interaction, ticket, queue, prefer, now)
            }
            DeskRequest::Release => d.release(interaction, now),
            DeskRequest::Reclaim { ticket, agent, queue } => {
                d.reclaim(interaction, ticket, &agent, queue, now)
            }
        })?;
        self.settle().await
    }

    /// Tells the agent who wrote a follow-up that the contact answered.
    fn contact_answered(&self, answered: ContactAnswered) {
        let frame = DeskFrame::ContactAnswered {
            interaction: answered.interaction,
            contact_label: answered.contact_label,
        };
        self.send_to(&answered.agent, &frame);
    }

    /// A conversation's new look in the logs: kept, and told to every desktop.
    fn conversation_changed(&self, summary: ConversationSummary) -> Result<()> {
        self.sql.exec(
            "INSERT INTO conversations (interaction, body, last_at) VALUES (?, ?, ?)
             ON CONFLICT(interaction) DO UPDATE SET body = excluded.body, last_at = excluded.last_at",
            vec![
                summary.interaction.to_string().into(),
                serde_json::to_string(&summary)?.into(),
                summary.last_at.into(),
            ],
        )?;
        if let Some(contact) = &summary.contact {
            self.sql.exec(
                "INSERT INTO contact_conversations (interaction, contact, label, started_at, last_at)
                 VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(interaction) DO UPDATE SET label = excluded.label, last_at = excluded.last_at",
                vec![
                    summary.interaction.to_string().into(),
                    contact.0.clone().into(),
                    summary.contact_label.clone().into(),
                    summary.started_at.into(),
                    summary.last_at.into(),
                ],
            )?;
        }
        self.broadcast(&DeskFrame::ConversationChanged { item: summary });
        self.send_overview();
        Ok(())
    }

    /// A completed session goes into the site's records, with its agent's name as it is now.
    fn file_record(&self, mut entry: RecordEntry) -> Result<()> {
        entry.summary.agent_name = entry.summary.record.agent.as_ref().map(|a| self.agent_name(a));
        let record = &entry.summary.record;
        self.sql.exec(
            "INSERT INTO records (interaction, session, contact, agent, codes, label, completed_at, text, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(interaction, session) DO UPDATE SET body = excluded.body, text = excluded.text",
            vec![
                record.interaction.to_string().into(),
                i64::from(record.session).into(),
                entry.summary.contact.as_ref().map(|c| c.0.clone()).unwrap_or_default().into(),
                record.agent.as_ref().map(|a| a.0.clone()).unwrap_or_default().into(),
                serde_json::to_string(&record.codes)?.into(),
                entry.summary.contact_label.clone().into(),
                record.completed_at.into(),
                entry.text.into(),
                serde_json::to_string(&entry.summary)?.into(),
            ],
        )?;
        Ok(())
    }

    /// Deletes a contact's list entries and records; answers how many conversations it had.
    fn forget_contact(&self, contact: &str) -> Result<usize> {
        let erasure = self.erasure(contact)?;
        for id in &erasure.interactions {
            for table in ["conversations", "records"] {
                self.sql.exec(
                    &format!("DELETE FROM {table} WHERE interaction = ?"),
                    vec![id.to_string().into()],
                )?;
            }
        }
        self.sql.exec("DELETE FROM contact_conversations WHERE contact = ?", vec![contact.into()])?;
        // Open desktops drop the erased conversations from their lists.
        self.broadcast(&DeskFrame::Conversations { items: self.list()? });
        Ok(erasure.interactions.len())
    }

    /// A contact's conversations, oldest first.
    fn contact_conversations(&self, contact: &str) -> Result<Vec<InteractionId>> {
        #[derive(Deserialize)]
        struct Row {
            interaction: String,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT interaction FROM contact_conversations WHERE contact = ? ORDER BY started_at",
                vec![contact.into()],
            )?
            .to_array()?;
        Ok(rows.iter().filter_map(|r| r.interaction.parse().ok()).collect())
    }

    /// An agent's desk socket, handed over by the Worker (which checked the session).
    fn accept_socket(&self, req: &Request) -> Result<Response> {
        let Some(DeskSocketPeer { agent, epoch, supervises }) = DeskSocketPeer::of(req)? else {
            return HttpError::new(ErrorCode::BadRequest, "missing agent").into_response();
        };
        if !self.routing.borrow().agents.contains_key(&agent) {
            return HttpError::new(ErrorCode::Unauthorized, "this account is not active on this site")
                .into_response();
        }
        // The Worker checked the session just before; a sign-out or a new password may have reached this
        // desk in between (a session newer than what the desk knows waits for its configuration).
        if self.setting(ACCOUNTS_KNOWN).is_some()
            && let Some(account) = self.account(&agent)?.map(|a| a.now())
            && !admin::epoch_is_ahead(epoch, account.session_epoch)
            && let Err(ended) = admin::session_holds(Some(account), epoch)
        {
            return HttpError::new(ErrorCode::Unauthorized, ended.reason()).into_response();
        }
        let pair = WebSocketPair::new()?;
        let agent_tag = format!("agent:{agent}");
        let tags: Vec<&str> =
            if supervises { vec![agent_tag.as_str(), SUPERVISOR_TAG] } else { vec![agent_tag.as_str()] };
        self.state.accept_websocket_with_tags(&pair.server, &tags);
        pair.server.serialize_attachment(DeskPeer { agent, supervises, epoch })?;
        Response::from_websocket(pair.client)
    }
}

impl DurableObject for Desk {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        sql::migrate(&sql, "desk", MIGRATIONS);
        let saved: Vec<Body> = sql
            .exec("SELECT body FROM routing WHERE id = 1", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        let routing = saved
            .first()
            .and_then(|r| serde_json::from_str(&r.body).ok())
            .unwrap_or_else(|| routing::Desk::new(30_000, []));
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        let outbox = Outbox::new(sql.clone());
        Desk { state, env, sql, routing: RefCell::new(routing), outbox }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let message = match rpc::incoming::<DeskMessage>(&mut req).await? {
            Incoming::Socket => return self.accept_socket(&req),
            Incoming::Message(message) => message,
        };
        match message {
            DeskMessage::Request(request) => rpc::answer(&self.on_request(request).await?),
            DeskMessage::Conversation(summary) => rpc::answer(&self.conversation_changed(summary)?),
            DeskMessage::Record(entry) => rpc::answer(&self.file_record(entry)?),
            DeskMessage::ContactAnswered(answered) => rpc::answer(&self.contact_answered(answered)),
            DeskMessage::AgentSocket(socket) => rpc::answer(&self.agent_socket(socket).await?),
            DeskMessage::Configure(config) => rpc::answer(&self.configure(config).await?),
            DeskMessage::TakesAnotherChat(max_waiting) => {
                rpc::answer(&self.routing.borrow().takes_another_chat(max_waiting))
            }
            DeskMessage::Records(query) => rpc::answer(&self.records(&query)?),
            DeskMessage::Contacts(filter) => rpc::answer(&self.contacts(&filter)?),
            DeskMessage::ContactConversations(contact) => rpc::answer(&self.contact_conversations(&contact)?),
            DeskMessage::ContactErasure(contact) => rpc::answer(&self.erasure(&contact)?),
            DeskMessage::ForgetContact(contact) => rpc::answer(&self.forget_contact(&contact)?),
        }
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        let Some(peer) = ws.deserialize_attachment::<DeskPeer>()? else {
            let _ = ws.close(Some(1011), Some("lost socket state"));
            return Ok(());
        };
        let WebSocketIncomingMessage::String(text) = message else {
            ws.send_with_str(
                DeskFrame::Error { code: ErrorCode::BadFrame, message: "frames are JSON text".into() }
                    .encode(),
            )?;
            return Ok(());
        };
        if let Err(e) = confab_protocol::validate::frame_size(text.len()) {
            ws.send_with_str(DeskFrame::Error { code: e.code(), message: e.to_string() }.encode())?;
            return Ok(());
        }
        match DeskClientFrame::decode(&text) {
            Ok(frame) => self.on_agent_frame(&ws, &peer.agent, frame).await,
            Err(_) => {
                let message = bad_frame::explain::<DeskClientFrame>(&text);
                ws.send_with_str(DeskFrame::Error { code: ErrorCode::BadFrame, message }.encode())?;
                Ok(())
            }
        }
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _clean: bool) -> Result<()> {
        let code =
            if (1000..=4999).contains(&code) && code != 1005 && code != 1006 { code as u16 } else { 1000 };
        let _ = ws.close(Some(code), Some("closing"));
        self.socket_gone(&ws).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.socket_gone(&ws).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.outbox.alarm_rang();
        let now = now_ms();
        self.apply(|d| d.handle_timeout(now))?;
        self.settle().await?;
        Response::ok("ok")
    }
}
