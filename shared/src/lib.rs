//! # confab-protocol
//!
//! The one crate that the widget, the agent desktop and the edge share. It holds:
//!
//! - the **wire protocol** ([`frames`]): versioned, internally tagged JSON frames. Every enum that travels
//!   has an `Unknown` fallback, so a widget cached in a customer's browser keeps working when the edge
//!   learns new frames, and the reverse;
//! - the **identifiers** ([`ids`]) every layer agrees on;
//! - the **rules** ([`validate`], [`delivery`]): what a valid message is, how messages are numbered and
//!   de-duplicated, and what a client resuming after a sequence number must receive.
//!
//! Invariants this crate is built to keep:
//! - it never reads a clock, draws a random number or does I/O: callers pass `now` and ids in, so every rule
//!   runs the same natively in tests and in wasm32 in the browser or the Worker;
//! - every error a client can see has a stable [`ErrorCode`](frames::ErrorCode) string.

pub mod api;
pub mod attachments;
pub mod delivery;
pub mod frames;
pub mod ids;
pub mod lifecycle;
pub mod routing;
pub mod validate;

/// The protocol version spoken by this build. A client sends it in its `hello`; the edge answers with its own
/// in `welcome`. Versions only ever add frames and optional fields, so both sides accept any version.
pub const PROTOCOL_VERSION: u32 = 1;
