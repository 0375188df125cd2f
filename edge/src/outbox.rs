//! Messages from one Durable Object to another, kept in the sender's SQLite.
//!
//! A state change and the messages it causes are written in the same synchronous step, so they commit
//! together: a crash can lose neither without the other. One pump delivers them in the order they were
//! written (the receiving state machines rely on order) and deletes each once the receiver answered 2xx.
//! If a delivery fails, the rest wait; the owner's alarm pumps again ([`RETRY_MS`] later).

use crate::http::{internal_request, stub};
use confab_protocol::ids::Millis;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use worker::{Env, Method, Result, ScheduledTime, SqlStorage, State};

/// How soon a failed delivery is retried.
const RETRY_MS: i64 = 1_000;

/// Where a message goes: a Durable Object (binding and name) and the operation (path).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Target {
    pub(crate) binding: &'static str,
    pub(crate) name: String,
    pub(crate) path: &'static str,
}

pub(crate) struct Outbox {
    sql: SqlStorage,
    pumping: Cell<bool>,
}

#[derive(Deserialize)]
struct Row {
    id: i64,
    binding: String,
    name: String,
    path: String,
    body: String,
}

impl Outbox {
    pub(crate) fn new(sql: SqlStorage) -> Self {
        let schema = "CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, binding TEXT NOT NULL, name TEXT NOT NULL,
            path TEXT NOT NULL, body TEXT NOT NULL)";
        if let Err(e) = sql.exec(schema, None) {
            worker::console_error!("outbox schema: {e}");
        }
        Outbox { sql, pumping: Cell::new(false) }
    }

    /// Queues a message. Call it in the same synchronous step as the state change it reports.
    pub(crate) fn push(&self, target: &Target, body: &impl Serialize) -> Result<()> {
        self.sql.exec(
            "INSERT INTO outbox (binding, name, path, body) VALUES (?, ?, ?, ?)",
            vec![
                target.binding.into(),
                target.name.clone().into(),
                target.path.into(),
                serde_json::to_string(body)?.into(),
            ],
        )?;
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let rows: Vec<Count> = self
            .sql
            .exec("SELECT COUNT(*) AS n FROM outbox", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.first().is_none_or(|c| c.n == 0)
    }

    /// Delivers queued messages in order until none is left or one fails. Only one pump runs at a time;
    /// messages queued meanwhile are picked up by the running one.
    pub(crate) async fn pump(&self, env: &Env) -> Result<()> {
        if self.pumping.replace(true) {
            return Ok(());
        }
        let result = self.deliver_all(env).await;
        self.pumping.set(false);
        result
    }

    async fn deliver_all(&self, env: &Env) -> Result<()> {
        loop {
            let rows: Vec<Row> = self
                .sql
                .exec("SELECT id, binding, name, path, body FROM outbox ORDER BY id LIMIT 1", None)?
                .to_array()?;
            let Some(row) = rows.into_iter().next() else { return Ok(()) };
            let body: serde_json::Value = serde_json::from_str(&row.body)?;
            let req = internal_request(Method::Post, &row.path, Some(&body))?;
            let resp = stub(env, &row.binding, &row.name)?.fetch_with_request(req).await?;
            if resp.status_code() / 100 != 2 {
                return Err(worker::Error::RustError(format!(
                    "{} {} answered {}",
                    row.binding,
                    row.path,
                    resp.status_code()
                )));
            }
            self.sql.exec("DELETE FROM outbox WHERE id = ?", vec![row.id.into()])?;
        }
    }
}

/// Pumps `outbox`, then keeps the object's one alarm at `deadline` (the state machine's next timer) or at a
/// retry of undelivered messages, whichever comes first; no alarm when there is neither.
pub(crate) async fn settle(
    state: &State,
    env: &Env,
    outbox: &Outbox,
    deadline: Option<Millis>,
) -> Result<()> {
    if let Err(e) = outbox.pump(env).await {
        worker::console_error!("outbox: {e}");
    }
    let now = crate::http::now_ms();
    let retry = (!outbox.is_empty()).then_some(now + RETRY_MS);
    let storage = state.storage();
    match [deadline, retry].into_iter().flatten().min() {
        // An absolute time: workers-rs reads a bare integer as an offset from now.
        Some(at) => {
            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at.max(now + 1) as f64));
            storage.set_alarm(ScheduledTime::new(when)).await
        }
        None => storage.delete_alarm().await,
    }
}
