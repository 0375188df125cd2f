//! The `Limiter` Durable Object: one per rate-limited key, holding that key's bucket
//! (`confab_protocol::limits`), or one per upload quota, holding its use (`confab_protocol::quota`). One
//! object per key keeps every check a single local read, with no shared hot spot. Once its bucket is full
//! (or its quota unused) again, the object deletes what it stored: a key seen once (a random email tried at
//! sign-in) leaves nothing behind.

use crate::platform::http::now_ms;
use crate::rpc::limiter::{Guarded, LimiterMessage};
use crate::rpc::{self, Incoming};
use confab_protocol::quota::{QuotaUse, UploadQuota};
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

    /// Counts a file of `bytes` against `quota` if it fits; answers the milliseconds until it would (0:
    /// counted). `give_back` undoes a count.
    async fn spend(&self, quota: UploadQuota, bytes: u64, give_back: bool) -> Result<i64> {
        let storage = self.state.storage();
        let mut used = storage.get::<QuotaUse>("quota").await.ok().flatten().unwrap_or_default();
        let wait = if give_back {
            quota.give_back(&mut used, bytes);
            0
        } else {
            match quota.take(&mut used, bytes, now_ms()) {
                Ok(()) => 0,
                Err(wait) => return Ok(wait),
            }
        };
        storage.put("quota", used).await?;
        // The alarm deletes the object's storage once nothing is used any more.
        storage.put("due", used.drained_at()).await?;
        storage.set_alarm((used.drained_at() - now_ms()).max(1)).await?;
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
            LimiterMessage::Spend { quota, bytes } => rpc::answer(&self.spend(quota, bytes, false).await?),
            LimiterMessage::GiveBack { quota, bytes } => rpc::answer(&self.spend(quota, bytes, true).await?),
        }
    }
}
