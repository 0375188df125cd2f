//! Messages from one Durable Object to another, kept in the sender's SQLite.
//!
//! A state change and the messages it causes are written in the same synchronous step, so they commit
//! together: a crash can lose neither without the other. One pump delivers them, each receiver's in the order
//! they were written (the receiving state machines rely on order; different receivers are told at once), and
//! deletes each once the receiver answered 2xx. If a delivery fails, the rest wait; the owner's alarm pumps
//! again ([`RETRY_MS`] later).

use crate::platform::http::now_ms;
use crate::rpc::Envelope;
use confab_protocol::ids::Millis;
use serde::Deserialize;
use std::cell::Cell;
use worker::{Env, Result, ScheduledTime, SqlStorage, State};

/// How soon a failed delivery is retried.
const RETRY_MS: i64 = 1_000;
/// Messages read per round of deliveries (each receiver's oldest among them goes out in the round).
const ROUND: i64 = 64;

/// The outbox's table, a step of each owner's migrations (`platform::sql::migrate`).
pub(crate) const TABLE: &str = "CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, binding TEXT NOT NULL, name TEXT NOT NULL,
    path TEXT NOT NULL, body TEXT NOT NULL)";

/// Delivers one stored message; `Err` unless the receiver answered 2xx.
async fn deliver(env: &Env, row: &Row) -> Result<()> {
    let Some(envelope) = Envelope::stored(&row.binding, row.name.clone(), &row.path, row.body.clone()) else {
        return Err(worker::Error::RustError(format!("no Durable Object class {}", row.binding)));
    };
    envelope.deliver(env).await.map(|_| ())
}

pub(crate) struct Outbox {
    sql: SqlStorage,
    pumping: Cell<bool>,
    /// Something may be queued: set by `push` (and at start), cleared when a pump empties the table. Saves
    /// a query on every event that queued nothing.
    maybe_queued: Cell<bool>,
    /// The owner's alarm as `settle` last set it (`Some(None)`: none), or `None` while not known.
    alarm: Cell<Option<Option<Millis>>>,
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
    /// The outbox in `sql`, whose owner's migrations created [`TABLE`].
    pub(crate) fn new(sql: SqlStorage) -> Self {
        Outbox { sql, pumping: Cell::new(false), maybe_queued: Cell::new(true), alarm: Cell::new(None) }
    }

    /// Queues a message. Call it in the same synchronous step as the state change it reports.
    pub(crate) fn push(&self, envelope: Envelope) -> Result<()> {
        let (binding, path) = envelope.binding_and_path();
        self.sql.exec(
            "INSERT INTO outbox (binding, name, path, body) VALUES (?, ?, ?, ?)",
            vec![binding.into(), envelope.to.name.into(), path.into(), envelope.body.into()],
        )?;
        self.maybe_queued.set(true);
        Ok(())
    }

    /// The owner's alarm rang: the runtime cleared it.
    pub(crate) fn alarm_rang(&self) {
        self.alarm.set(Some(None));
    }

    /// The owner's storage was deleted, alarm included, behind `settle`'s back.
    pub(crate) fn forget_alarm(&self) {
        self.alarm.set(None);
    }

    pub(crate) fn is_empty(&self) -> bool {
        if !self.maybe_queued.get() {
            return true;
        }
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let rows: Vec<Count> = self
            .sql
            .exec("SELECT COUNT(*) AS n FROM outbox", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        let empty = rows.first().is_none_or(|c| c.n == 0);
        self.maybe_queued.set(!empty);
        empty
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
                .exec(
                    "SELECT id, binding, name, path, body FROM outbox ORDER BY id LIMIT ?",
                    vec![ROUND.into()],
                )?
                .to_array()?;
            if rows.is_empty() {
                self.maybe_queued.set(false);
                return Ok(());
            }
            // Each receiver's oldest message, all receivers at once: a Desk tells many conversations at a
            // time, and each of them may call back before answering. One receiver's messages stay in order.
            let mut round: Vec<&Row> = Vec::new();
            for row in &rows {
                if !round.iter().any(|r| r.binding == row.binding && r.name == row.name) {
                    round.push(row);
                }
            }
            let answers = futures_util::future::join_all(round.iter().map(|row| deliver(env, row))).await;
            let mut failed = None;
            for (row, answer) in round.iter().zip(answers) {
                match answer {
                    Ok(()) => {
                        self.sql.exec("DELETE FROM outbox WHERE id = ?", vec![row.id.into()])?;
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }
}

/// Pumps `outbox`, then makes sure the object's one alarm rings by `deadline` (the state machine's next
/// timer) or a retry of undelivered messages, whichever comes first.
///
/// An alarm that rings early finds nothing due and settles again, so the alarm is only moved when it must
/// ring sooner, and left when it is no longer needed: a chat's every message moves its inactivity deadline
/// later, and setting the alarm each time would cost a storage write per message.
pub(crate) async fn settle(
    state: &State,
    env: &Env,
    outbox: &Outbox,
    deadline: Option<Millis>,
) -> Result<()> {
    if !outbox.is_empty()
        && let Err(e) = outbox.pump(env).await
    {
        worker::console_error!("outbox: {e}");
    }
    let now = now_ms();
    let retry = (!outbox.is_empty()).then_some(now + RETRY_MS);
    let wanted = [deadline, retry].into_iter().flatten().min();
    let storage = state.storage();
    match (wanted, outbox.alarm.get()) {
        (Some(at), Some(Some(set))) if set <= at => Ok(()),
        // An absolute time: workers-rs reads a bare integer as an offset from now.
        (Some(at), _) => {
            let at = at.max(now + 1);
            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
            storage.set_alarm(ScheduledTime::new(when)).await?;
            outbox.alarm.set(Some(Some(at)));
            Ok(())
        }
        (None, Some(_)) => Ok(()),
        (None, None) => {
            storage.delete_alarm().await?;
            outbox.alarm.set(Some(None));
            Ok(())
        }
    }
}
