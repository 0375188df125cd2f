//! The `Limiter` Durable Object: one per rate-limited key, holding that key's bucket
//! (`confab_protocol::limits`). One object per key keeps every check a single local read, with no shared
//! hot spot. Once its bucket is full again, the object deletes what it stored: a key seen once (a random
//! email tried at sign-in) leaves nothing behind.

use crate::platform::http::now_ms;
use crate::rpc::limiter::{Guarded, LimiterMessage};
use crate::rpc::{self, Incoming};
use std::cell::Cell;
use worker::{DurableObject, Env, Request, Response, Result, State, durable_object};

#[durable_object]
pub struct Limiter {
    state: State,
    env: Env,
    /// The bucket's state (see `Limit::take`); loaded from storage on first use.
    due: Cell<Option<i64>>,
}

impl Limiter {
    /// Takes one action of `guarded` if its limit allows it; answers the milliseconds to wait (0: taken).
    async fn take(&self, guarded: Guarded) -> Result<i64> {
        let mut due = match self.due.get() {
            Some(due) => due,
            None => self.state.storage().get::<i64>("due").await.ok().flatten().unwrap_or(0),
        };
        let wait = match guarded.limit(&self.env).take(&mut due, now_ms()) {
            Ok(()) => {
                // Kept in storage too: failures minutes apart must add up even if the object was evicted.
                self.state.storage().put("due", due).await?;
                // An offset from now: workers-rs reads a bare integer so.
                self.state.storage().set_alarm((due - now_ms()).max(1)).await?;
                0
            }
            Err(wait) => wait,
        };
        self.due.set(Some(due));
        Ok(wait)
    }
}

impl DurableObject for Limiter {
    fn new(state: State, env: Env) -> Self {
        Limiter { state, env, due: Cell::new(None) }
    }

    /// The bucket is full again (its `due` has passed): nothing it stored is needed any more.
    async fn alarm(&self) -> Result<Response> {
        let due = self.state.storage().get::<i64>("due").await.ok().flatten().unwrap_or(0);
        if due <= now_ms() {
            self.state.storage().delete_all().await?;
            self.due.set(None);
        } else {
            self.state.storage().set_alarm((due - now_ms()).max(1)).await?;
        }
        Response::ok("ok")
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Incoming::Message(message) = rpc::incoming::<LimiterMessage>(&mut req).await? else {
            return Response::error("a limiter has no sockets", 404);
        };
        match message {
            LimiterMessage::Take(guarded) => rpc::answer(&self.take(guarded).await?),
        }
    }
}
