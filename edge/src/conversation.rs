//! The `Conversation` Durable Object: one per interaction, named by its GUID.
//!
//! It owns the transcript (SQLite), and the WebSockets of the contact's tabs and of agents. Sockets are
//! accepted with the hibernation API, so an idle conversation costs nothing in memory: who is on a socket is
//! kept in the socket's attachment and everything else is re-read from SQLite when the object wakes.
//!
//! Order of effects for a message: validate and number it (`confab_protocol::delivery`), insert it, then
//! acknowledge and broadcast. workerd's output gate holds every outgoing frame until the insert is durable,
//! so an acknowledged message is never lost.

use crate::auth;
use crate::http::{call, internal_request, stub};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::delivery::{self, SendOutcome, Submission};
use confab_protocol::frames::{Author, ClientFrame, ConversationSummary, ErrorCode, Message, ServerFrame};
use confab_protocol::ids::{AgentId, ClientMessageId, InteractionId, Seq, SiteId};
use confab_protocol::validate;
use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Method, Request, Response, Result, SqlStorage, State, Url, WebSocket,
    WebSocketIncomingMessage, WebSocketPair, durable_object,
};

/// Who is on a socket. Set by the Worker from the session cookie (agents) or left to `hello` (contacts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Peer {
    Contact,
    Agent { site: SiteId, id: AgentId, name: String },
}

/// Kept in each socket's attachment, so it survives hibernation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SocketState {
    peer: Peer,
    /// `hello` was received (and for a contact, its token checked).
    ready: bool,
}

/// What the conversation knows about itself; written once by `init`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    interaction: InteractionId,
    site: SiteId,
    contact_label: String,
    started_at: i64,
}

/// Creates the conversation (idempotent) and lists it on its site's desk.
pub(crate) async fn init(
    env: &Env,
    interaction: InteractionId,
    site: &SiteId,
    label: &str,
    now: i64,
) -> Result<()> {
    let meta = Meta { interaction, site: site.clone(), contact_label: label.to_owned(), started_at: now };
    let req = internal_request(Method::Post, "/init", Some(&meta))?;
    match call::<serde_json::Value>(&stub(env, "CONVERSATION", &interaction.to_string())?, req).await? {
        Ok(_) => Ok(()),
        Err(mut resp) => {
            Err(worker::Error::RustError(format!("conversation init failed: {}", resp.text().await?)))
        }
    }
}

/// Hands a WebSocket upgrade to the conversation, telling it who the peer is.
pub(crate) async fn forward_socket(
    env: &Env,
    interaction: InteractionId,
    peer: &Peer,
    req: &Request,
) -> Result<Response> {
    let mut url = Url::parse("https://do.internal/socket")?;
    url.query_pairs_mut().append_pair("peer", &serde_json::to_string(peer)?);
    let inner = crate::routes::forward(req, &format!("{}?{}", url.path(), url.query().unwrap_or_default()))?;
    stub(env, "CONVERSATION", &interaction.to_string())?.fetch_with_request(inner).await
}

#[durable_object]
pub struct Conversation {
    state: State,
    env: Env,
    sql: SqlStorage,
}

#[derive(Deserialize)]
struct MessageRow {
    seq: Seq,
    client_id: String,
    author: String,
    text: String,
    at: i64,
}

impl MessageRow {
    fn into_message(self) -> Option<Message> {
        Some(Message {
            seq: self.seq,
            client_id: ClientMessageId(self.client_id.parse().ok()?),
            author: serde_json::from_str(&self.author).ok()?,
            text: self.text,
            attachments: Vec::new(),
            at: self.at,
        })
    }
}

impl Conversation {
    fn meta(&self) -> Result<Option<Meta>> {
        #[derive(Deserialize)]
        struct Row {
            value: String,
        }
        let rows: Vec<Row> =
            self.sql.exec("SELECT value FROM meta WHERE key = 'conversation'", None)?.to_array()?;
        Ok(rows.first().and_then(|r| serde_json::from_str(&r.value).ok()))
    }

    fn messages_from(&self, first: Seq) -> Result<Vec<Message>> {
        let rows: Vec<MessageRow> = self
            .sql
            .exec(
                "SELECT seq, client_id, author, text, at FROM messages WHERE seq >= ? ORDER BY seq",
                vec![(first.min(i64::MAX as u64) as i64).into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().filter_map(MessageRow::into_message).collect())
    }

    fn last_seq(&self) -> Result<Seq> {
        #[derive(Deserialize)]
        struct Row {
            last: Option<Seq>,
        }
        let rows: Vec<Row> = self.sql.exec("SELECT MAX(seq) AS last FROM messages", None)?.to_array()?;
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
            "INSERT INTO messages (seq, client_id, author, text, at) VALUES (?, ?, ?, ?, ?)",
            vec![
                (m.seq as i64).into(),
                m.client_id.0.to_string().into(),
                serde_json::to_string(&m.author)?.into(),
                m.text.clone().into(),
                m.at.into(),
            ],
        )?;
        Ok(())
    }

    fn broadcast(&self, frame: &ServerFrame) {
        let text = frame.encode();
        for ws in self.state.get_websockets() {
            let ready = ws.deserialize_attachment::<SocketState>().ok().flatten().is_some_and(|s| s.ready);
            // A socket that is closing fails to send; it is gone anyway and resumes by `seq` when it returns.
            if ready {
                let _ = ws.send_with_str(&text);
            }
        }
    }

    async fn update_desk(&self, meta: &Meta, last: Option<&Message>) -> Result<()> {
        let summary = ConversationSummary {
            interaction: meta.interaction,
            contact_label: meta.contact_label.clone(),
            started_at: meta.started_at,
            last_text: last.map(|m| delivery::preview(&m.text)),
            last_at: last.map_or(meta.started_at, |m| m.at),
        };
        crate::desk::upsert(&self.env, &meta.site, &summary).await
    }

    fn accept_socket(&self, req: &Request) -> Result<Response> {
        let Some(meta) = self.meta()? else {
            return crate::http::error(ErrorCode::NotFound, "there is no such conversation");
        };
        let peer: Option<Peer> = req
            .url()?
            .query_pairs()
            .find(|(k, _)| k == "peer")
            .and_then(|(_, v)| serde_json::from_str(&v).ok());
        let Some(peer) = peer else {
            return crate::http::error(ErrorCode::BadRequest, "missing peer");
        };
        if let Peer::Agent { site, .. } = &peer
            && *site != meta.site
        {
            return crate::http::error(ErrorCode::Unauthorized, "this conversation belongs to another site");
        }
        let pair = WebSocketPair::new()?;
        let tag = match &peer {
            Peer::Contact => "contact".to_owned(),
            Peer::Agent { id, .. } => format!("agent:{id}"),
        };
        self.state.accept_websocket_with_tags(&pair.server, &[tag.as_str()]);
        pair.server.serialize_attachment(SocketState { peer, ready: false })?;
        Response::from_websocket(pair.client)
    }

    fn send_error(ws: &WebSocket, code: ErrorCode, message: impl Into<String>) {
        let _ = ws.send_with_str(ServerFrame::error(code, message).encode());
    }

    async fn on_frame(&self, ws: &WebSocket, text: &str) -> Result<()> {
        if let Err(e) = validate::frame_size(text.len()) {
            Self::send_error(ws, e.code(), e.to_string());
            return Ok(());
        }
        let frame = match ClientFrame::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                Self::send_error(ws, ErrorCode::BadFrame, format!("not a valid frame: {e}"));
                return Ok(());
            }
        };
        let Some(mut socket) = ws.deserialize_attachment::<SocketState>()? else {
            let _ = ws.close(Some(1011), Some("lost socket state"));
            return Ok(());
        };
        let Some(meta) = self.meta()? else {
            Self::send_error(ws, ErrorCode::NotFound, "there is no such conversation");
            return Ok(());
        };
        match frame {
            ClientFrame::Hello { token, after, .. } => {
                if let Peer::Contact = socket.peer {
                    let secret = auth::signing_secret(&self.env)?;
                    let granted = token.as_deref().is_some_and(|t| {
                        auth::contact_token_grants(
                            &secret,
                            t,
                            meta.site.as_str(),
                            &meta.interaction.to_string(),
                        )
                    });
                    if !granted {
                        Self::send_error(
                            ws,
                            ErrorCode::Unauthorized,
                            "this token does not open this conversation",
                        );
                        let _ = ws.close(Some(4401), Some("unauthorized"));
                        return Ok(());
                    }
                }
                socket.ready = true;
                ws.serialize_attachment(&socket)?;
                ws.send_with_str(
                    ServerFrame::Welcome { version: PROTOCOL_VERSION, interaction: meta.interaction }
                        .encode(),
                )?;
                for message in self.messages_from(delivery::resume_from(after))? {
                    ws.send_with_str(ServerFrame::Message { message }.encode())?;
                }
            }
            ClientFrame::Send { client_id, text, attachments } => {
                if !socket.ready {
                    Self::send_error(ws, ErrorCode::HelloRequired, "send hello first");
                    return Ok(());
                }
                if !attachments.is_empty() {
                    Self::send_error(
                        ws,
                        ErrorCode::NotAllowedNow,
                        "this edge does not accept attachments yet",
                    );
                    return Ok(());
                }
                let author = match &socket.peer {
                    Peer::Contact => Author::Contact,
                    Peer::Agent { id, name, .. } => Author::Agent { id: id.clone(), name: name.clone() },
                };
                let submission =
                    Submission { client_id, text: &text, attachments, author, now: crate::http::now_ms() };
                match delivery::decide_send(submission, self.last_seq()?, self.seq_of(client_id)?) {
                    Err(invalid) => Self::send_error(ws, invalid.code(), invalid.to_string()),
                    Ok(SendOutcome::AlreadyStored { seq }) => {
                        ws.send_with_str(ServerFrame::Ack { client_id, seq }.encode())?;
                    }
                    Ok(SendOutcome::Store(message)) => {
                        self.store(&message)?;
                        ws.send_with_str(ServerFrame::Ack { client_id, seq: message.seq }.encode())?;
                        self.broadcast(&ServerFrame::Message { message: message.clone() });
                        self.update_desk(&meta, Some(&message)).await?;
                    }
                }
            }
            // Presence of mind rather than silence: the lifecycle actions are defined in the protocol but
            // this edge does not carry them out yet.
            ClientFrame::End
            | ClientFrame::Park
            | ClientFrame::Unpark
            | ClientFrame::ChooseCode { .. }
            | ClientFrame::Notes { .. }
            | ClientFrame::ExtendWrap
            | ClientFrame::Complete => {
                Self::send_error(ws, ErrorCode::NotAllowedNow, "this edge does not support that action yet")
            }
            ClientFrame::Typing { .. } | ClientFrame::Read { .. } | ClientFrame::Unknown => {}
        }
        Ok(())
    }
}

impl DurableObject for Conversation {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        let schema = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS messages (
                 seq INTEGER PRIMARY KEY,
                 client_id TEXT NOT NULL UNIQUE,
                 author TEXT NOT NULL,
                 text TEXT NOT NULL,
                 at INTEGER NOT NULL);";
        if let Err(e) = sql.exec(schema, None) {
            worker::console_error!("conversation schema: {e}");
        }
        // Keep-alive pings are answered by the runtime without waking the object.
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        Conversation { state, env, sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/init") => {
                let meta: Meta = req.json().await?;
                let existing = self.meta()?;
                if existing.is_none() {
                    self.sql.exec(
                        "INSERT INTO meta (key, value) VALUES ('conversation', ?)",
                        vec![serde_json::to_string(&meta)?.into()],
                    )?;
                    self.update_desk(&meta, None).await?;
                }
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            (Method::Get, "/socket") => self.accept_socket(&req),
            _ => Response::error("unknown conversation operation", 404),
        }
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        match message {
            WebSocketIncomingMessage::String(text) => self.on_frame(&ws, &text).await,
            WebSocketIncomingMessage::Binary(_) => {
                Self::send_error(&ws, ErrorCode::BadFrame, "frames are JSON text");
                Ok(())
            }
        }
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _clean: bool) -> Result<()> {
        // Complete the closing handshake; 1005/1006 are not codes one may send.
        let code =
            if (1000..=4999).contains(&code) && code != 1005 && code != 1006 { code as u16 } else { 1000 };
        let _ = ws.close(Some(code), Some("closing"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> Result<()> {
        Ok(())
    }
}
