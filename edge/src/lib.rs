//! # confab-edge
//!
//! The Cloudflare Worker that is Confab's whole backend. It runs the same on `wrangler dev` (workerd, locally)
//! and on Cloudflare (`wrangler deploy`). Static files (the loader `/widget.js`, the widget and agent desktop
//! bundles) are served by Workers static assets straight from `dist/public`; this code only runs for
//! everything else. Four layers, each importing only those below it (`cargo xtask test` checks it):
//!
//! - [`api`]: the HTTP API under `/api/v1` and the widget frame page: the router, the caller worked out
//!   once per request, handlers by area.
//! - [`objects`]: the Durable Objects that hold all state: a `Conversation` per interaction (transcript,
//!   lifecycle, sockets, timers), a `Desk` per site (routing and the agents' live view), one `Directory`
//!   (sites and accounts) and a `Limiter` per rate-limited key. They never import `api` or each other.
//! - [`rpc`]: one typed client per object, with the enum of the messages it takes, and the outbox that
//!   delivers an object's messages after they were committed with its state.
//! - [`platform`]: HTTP errors and bodies, the deployment's settings, credentials, SQLite migrations, R2.
//!
//! The rules all of them carry out live in `confab-protocol`.

mod api;
mod objects;
mod platform;
mod rpc;

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    api::handle(req, env).await
}
