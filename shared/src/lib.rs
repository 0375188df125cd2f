//! # confab-protocol
//!
//! The one crate that the widget, the agent desktop and the edge share: the wire protocol and every rule of
//! Confab as pure logic. The edge's Durable Objects and the two UIs only carry out what this crate decides.
//!
//! | module | what it decides |
//! |---|---|
//! | [`frames`], [`api`] | the wire protocol: versioned, internally tagged JSON with `Unknown` fallbacks |
//! | [`errors`] | the stable [`ErrorCode`](errors::ErrorCode) every refusal carries |
//! | [`listing`] | how a conversation is listed in the agents' logs |
//! | [`role`] | the roles of staff accounts |
//! | [`ids`] | interaction, message, site, agent, queue and contact identifiers |
//! | [`contact`] | who a contact is when a chat starts: a verified user or a new visitor, its email and label |
//! | [`json`] | a small JSON reader and writer, so the widget carries no serde (its size budget) |
//! | [`lifecycle`] | one interaction: queued → offered → active ⇄ parked → ended → wrap → completed, reactivation, SLA timers, who sees which event (diagram in the module docs) |
//! | [`routes`] | the edge's HTTP routes, as one table the router dispatches by and the tests cover |
//! | [`routing`] | one site's desk: presence, capacity, queues, offers, reject/timeout, auto-accept, transfers, post-parking |
//! | [`delivery`] | message numbering, de-duplication, resume, the client's outbox, unread counts, typing timing |
//! | [`validate`], [`attachments`] | input limits; the attachment allow-list checked by name and content, ≤ 100 MB |
//! | [`limits`] | rate limits: wrong passwords, chat starts, a contact's messages and uploads |
//! | [`history`] | keyword search over a contact's transcripts with highlight ranges; records' search text; transcripts as text |
//! | [`format`] | `*bold*` / `_italic_` message formatting, as spans rendered as text; sizes, durations, UTC times |
//! | [`admin`] | roles, the site settings an admin edits and their checks, accounts, first-run setup, the embed snippet |
//! | [`supervision`] | the supervisor's live view: queue lengths, longest wait, agents' load, SLA breaches |
//!
//! ## How the two state machines talk
//!
//! The `Conversation` object owns an [`Interaction`](lifecycle::Interaction) (per conversation); the `Desk`
//! object owns the site's [`Desk`](routing::Desk). The interaction asks the desk for routing with
//! [`DeskRequest`](lifecycle::DeskRequest)s (`Enqueue`, `Release`, `Reclaim`); the desk answers with
//! [`DeskEffect`](routing::DeskEffect)s, which the conversation feeds to
//! [`Interaction::on_desk`](lifecycle::Interaction::on_desk). The link is asynchronous, so each routing
//! request carries a [`Ticket`](routing::Ticket) and decisions about an older ticket are ignored.
//!
//! ## Invariants
//!
//! - no clock, no randomness, no I/O: callers pass `now` and ids in, so every rule runs the same natively in
//!   tests and in wasm32 in the browser or the Worker. Timers are data: each machine reports its next
//!   `deadline()` and does what is due in `handle_timeout(now)`, which is harmless to call twice;
//! - every error a client can see has a stable code;
//! - the contact never receives anything caused by a transfer, park, note or disposition: the only lifecycle
//!   news it can get is [`ContactNotice`](lifecycle::ContactNotice), derived from an event by construction;
//! - no import cycle among these modules (`cargo xtask test` checks it): the wire types build on the rules'
//!   types, never the other way round;
//! - tests: unit and golden-JSON tests beside the code; named scenario tests for every lifecycle rule and
//!   property tests over random event sequences in `tests/`, on a deterministic simulation (`tests/sim`).

// The JSON derive names its types `::confab_protocol::json::…`, here as in the crates that use it.
extern crate self as confab_protocol;

pub mod admin;
pub mod api;
pub mod attachments;
pub mod bad_frame;
pub mod contact;
pub mod delivery;
pub mod errors;
pub mod format;
pub mod frames;
pub mod history;
pub mod ids;
pub mod json;
pub mod lifecycle;
pub mod limits;
pub mod listing;
pub mod quota;
pub mod role;
pub mod routes;
pub mod routing;
pub mod supervision;
pub mod validate;
pub mod widget;

/// The protocol version spoken by this build. A client sends it in its `hello`; the edge answers with its own
/// in `welcome`. Versions only ever add frames and optional fields, so both sides accept any version.
pub const PROTOCOL_VERSION: u32 = 1;
