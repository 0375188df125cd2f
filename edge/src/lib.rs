//! # confab-edge
//!
//! The Cloudflare Worker that is Confab's whole backend. It runs the same on `wrangler dev` (workerd, locally)
//! and on Cloudflare (`wrangler deploy`).
//!
//! - Static files (the loader `/widget.js`, the widget and agent desktop bundles) are served by Workers
//!   static assets straight from `dist/public`; this code only runs for everything else.
//! - [`routes`] is the HTTP API under `/api/v1` and the widget frame page. Every answer that is not a success
//!   is JSON `{"error": {"code", "message"}}` with a stable code.
//! - Durable Objects hold all state: [`conversation::Conversation`] (one per interaction: transcript,
//!   lifecycle, sockets, timers), [`desk::Desk`] (one per site: routing and the agents' live view) and
//!   [`directory::Directory`] (one: sites and agent accounts). They are thin adapters: the rules they carry
//!   out live in `confab-protocol`. Messages between them go through an [`outbox`] committed with the state.

mod admin;
mod attachments;
mod auth;
mod conversation;
mod desk;
mod directory;
mod history;
mod http;
mod limiter;
mod outbox;
mod routes;
mod schema;

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    routes::handle(req, env).await
}
