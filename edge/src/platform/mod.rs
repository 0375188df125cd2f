//! What the edge is built on, with no rule of Confab's in it: HTTP answers and errors, the deployment's
//! settings, credentials, SQLite migrations and R2 file storage. It imports nothing else of the edge.

pub(crate) mod config;
pub(crate) mod crypto;
pub(crate) mod files;
pub(crate) mod http;
pub(crate) mod sql;
