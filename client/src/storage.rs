//! Small JSON values in `localStorage`. Storage can be missing or full (private mode, quotas): then values
//! are simply not kept, and the caller's in-memory state goes on working.

//!
//! Values are written with the small JSON writer ([`confab_protocol::json`]): the widget carries no serde.

use confab_protocol::json::{self, FromJson, ToJson};

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load<T: FromJson>(key: &str) -> Option<T> {
    json::read(&local()?.get_item(key).ok()??)
}

pub fn save<T: ToJson>(key: &str, value: &T) {
    if let Some(storage) = local() {
        let _ = storage.set_item(key, &json::write(value));
    }
}

pub fn remove(key: &str) {
    if let Some(storage) = local() {
        let _ = storage.remove_item(key);
    }
}
