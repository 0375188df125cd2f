//! Declared SQLite schema migrations: the one way every Durable Object creates and changes its tables.
//!
//! Each object lists its migrations in order; the applied count is kept in `_schema`. Migrations run in the
//! object's constructor, before it handles anything, and each runs once. A database created before
//! versioning existed counts as version 0, so the first migration must be idempotent (`IF NOT EXISTS`).

use serde::Deserialize;
use worker::SqlStorage;

/// Applies the migrations `steps` not yet applied. A failing step is logged and stops the run, leaving the
/// version at the last step that succeeded.
pub(crate) fn migrate(sql: &SqlStorage, object: &str, steps: &[&str]) {
    #[derive(Deserialize)]
    struct Version {
        version: i64,
    }
    if let Err(e) = sql.exec("CREATE TABLE IF NOT EXISTS _schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)", None) {
        worker::console_error!("{object} schema: {e}");
        return;
    }
    let applied = sql
        .exec("SELECT version FROM _schema WHERE id = 1", None)
        .and_then(|c| c.to_array::<Version>())
        .ok()
        .and_then(|rows| rows.first().map(|r| r.version))
        .unwrap_or(0);
    for (index, step) in steps.iter().enumerate().skip(applied.max(0) as usize) {
        if let Err(e) = sql.exec(step, None) {
            worker::console_error!("{object} migration {}: {e}", index + 1);
            return;
        }
        let version = index as i64 + 1;
        let recorded = sql.exec(
            "INSERT INTO _schema (id, version) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version",
            vec![version.into()],
        );
        if let Err(e) = recorded {
            worker::console_error!("{object} schema version: {e}");
            return;
        }
    }
}
