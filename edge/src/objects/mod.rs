//! The Durable Objects, which hold all state. Each is a thin adapter: it loads its state, lets the rules in
//! `confab_protocol` decide, stores the outcome with the messages it causes (`rpc::outbox`), and tells its
//! sockets. Objects never import the HTTP API or each other: they talk through `rpc`.

pub(crate) mod conversation;
pub(crate) mod desk;
pub(crate) mod directory;
pub(crate) mod limiter;
