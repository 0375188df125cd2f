//! The `Desk` Durable Object: one per site, the single writer of the site's live agent view.
//!
//! For now it keeps the site's conversation list and pushes it to every connected agent desktop. Routing
//! (presence, capacity, offers, transfers) joins it here: one object per site makes capacity counting
//! race-free without locks.

use crate::http::{call, internal_request, stub};
use confab_protocol::frames::{ConversationSummary, DeskFrame};
use confab_protocol::ids::SiteId;
use serde::Deserialize;
use worker::{
    DurableObject, Env, Method, Request, Response, Result, SqlStorage, State, WebSocket,
    WebSocketIncomingMessage, WebSocketPair, durable_object,
};

/// How many conversations the desk lists.
const LIST_LIMIT: i32 = 200;

/// Records (or refreshes) a conversation in its site's list and pushes the list to the site's agents.
pub(crate) async fn upsert(env: &Env, site: &SiteId, summary: &ConversationSummary) -> Result<()> {
    let req = internal_request(Method::Post, "/conversation", Some(summary))?;
    match call::<serde_json::Value>(&stub(env, "DESK", site.as_str())?, req).await? {
        Ok(_) => Ok(()),
        Err(mut resp) => {
            Err(worker::Error::RustError(format!("desk refused the update: {}", resp.text().await?)))
        }
    }
}

pub(crate) async fn forward_socket(env: &Env, site: &SiteId, req: &Request) -> Result<Response> {
    let inner = crate::routes::forward(req, "/socket")?;
    stub(env, "DESK", site.as_str())?.fetch_with_request(inner).await
}

#[durable_object]
pub struct Desk {
    state: State,
    sql: SqlStorage,
}

impl Desk {
    fn list(&self) -> Result<DeskFrame> {
        #[derive(Deserialize)]
        struct Row {
            body: String,
        }
        let rows: Vec<Row> = self
            .sql
            .exec("SELECT body FROM conversations ORDER BY last_at DESC LIMIT ?", vec![LIST_LIMIT.into()])?
            .to_array()?;
        let items = rows.iter().filter_map(|r| serde_json::from_str(&r.body).ok()).collect();
        Ok(DeskFrame::Conversations { items })
    }
}

impl DurableObject for Desk {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        let schema = "CREATE TABLE IF NOT EXISTS conversations (
                 interaction TEXT PRIMARY KEY, body TEXT NOT NULL, last_at INTEGER NOT NULL);";
        if let Err(e) = sql.exec(schema, None) {
            worker::console_error!("desk schema: {e}");
        }
        if let Ok(pair) = worker::worker_sys::WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        Desk { state, sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/conversation") => {
                let summary: ConversationSummary = req.json().await?;
                self.sql.exec(
                    "INSERT INTO conversations (interaction, body, last_at) VALUES (?, ?, ?)
                     ON CONFLICT(interaction) DO UPDATE SET body = excluded.body, last_at = excluded.last_at",
                    vec![
                        summary.interaction.to_string().into(),
                        serde_json::to_string(&summary)?.into(),
                        summary.last_at.into(),
                    ],
                )?;
                let text = self.list()?.encode();
                for ws in self.state.get_websockets() {
                    let _ = ws.send_with_str(&text);
                }
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            (Method::Get, "/socket") => {
                let pair = WebSocketPair::new()?;
                self.state.accept_websocket_with_tags(&pair.server, &["agent"]);
                pair.server.send_with_str(self.list()?.encode())?;
                Response::from_websocket(pair.client)
            }
            _ => Response::error("unknown desk operation", 404),
        }
    }

    async fn websocket_message(&self, _ws: WebSocket, _message: WebSocketIncomingMessage) -> Result<()> {
        // Agents send nothing on the desk socket yet; presence and offer answers will arrive here.
        Ok(())
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _clean: bool) -> Result<()> {
        let code =
            if (1000..=4999).contains(&code) && code != 1005 && code != 1006 { code as u16 } else { 1000 };
        let _ = ws.close(Some(code), Some("closing"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> Result<()> {
        Ok(())
    }
}
