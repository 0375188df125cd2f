//! Talking with the loader (`static/widget.js`) on the site's page, through `postMessage` with plain objects
//! like `{confab: "visible", visible: true}`. Only the origin the frame was opened for (`?origin=`) is
//! listened to and written to, and it was checked against the site's allowed origins by the frame's
//! `frame-ancestors`.

use confab_protocol::api::Identity;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

/// What the loader tells the frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FromHost {
    /// The chat panel was opened or closed.
    Visible(bool),
    /// `Confab.identify(...)`: the site's signed-in user.
    Identify(Identity),
    /// `Confab.setLocale(...)`.
    Locale(String),
    /// `Confab.reset()`: the site's user signed out; forget this browser's conversation.
    Reset,
}

/// What the frame tells the loader.
pub(crate) enum ToHost<'a> {
    /// The frame is listening: the loader sends what it has (visibility, identity, locale).
    Ready,
    /// The contact's token, kept by the loader to ask for unread replies on later page views.
    Contact(&'a str),
    /// Replies the contact has not seen (the launcher's badge).
    Unread(usize),
    /// The contact forgot this conversation: the loader drops its token.
    Forget,
    /// Escape in the chat: close the panel.
    Close,
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    Reflect::get(object, &JsValue::from_str(key)).ok()?.as_string()
}

fn host_origin() -> Option<String> {
    confab_client::query_param("origin")
}

/// Whether the frame sits on a site's page (opened by the loader), not alone in a tab.
pub(crate) fn embedded() -> bool {
    host_origin().is_some()
}

pub(crate) fn post(message: ToHost) {
    let Some(origin) = host_origin() else { return };
    let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) else { return };
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    };
    let kind = match message {
        ToHost::Ready => "ready",
        ToHost::Contact(token) => {
            set("token", JsValue::from_str(token));
            "contact"
        }
        ToHost::Unread(count) => {
            set("count", JsValue::from_f64(count as f64));
            "unread"
        }
        ToHost::Forget => "forget",
        ToHost::Close => "close",
    };
    set("confab", JsValue::from_str(kind));
    let _ = parent.post_message(&object, &origin);
}

fn decode(data: &JsValue) -> Option<FromHost> {
    Some(match text(data, "confab")?.as_str() {
        "visible" => FromHost::Visible(
            Reflect::get(data, &JsValue::from_str("visible")).ok()?.as_bool().unwrap_or(true),
        ),
        "identify" => {
            let user = Reflect::get(data, &JsValue::from_str("user")).ok()?;
            FromHost::Identify(Identity {
                user_id: text(&user, "user_id")?,
                name: text(&user, "name"),
                email: text(&user, "email"),
                signature: text(&user, "signature")?,
            })
        }
        "locale" => FromHost::Locale(text(data, "locale")?),
        "reset" => FromHost::Reset,
        _ => return None,
    })
}

/// Calls `on_message` with each message from the loader, for the page's lifetime, then says `Ready`.
pub(crate) fn listen(on_message: impl Fn(FromHost) + 'static) {
    let Some(origin) = host_origin() else { return };
    let Some(window) = web_sys::window() else { return };
    let listener = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        if event.origin() == origin
            && let Some(message) = decode(&event.data())
        {
            on_message(message);
        }
    });
    let _ = window
        .add_event_listener_with_callback("message", wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()));
    listener.forget();
    post(ToHost::Ready);
}
