//! A WebSocket that keeps itself connected.
//!
//! When the connection drops (network change, laptop sleep, edge restart) it reconnects after 0.5 s, 1 s,
//! 2 s, ... up to 30 s, with jitter so that a restarted edge is not hit by every client at once, and at once
//! when the browser says it is back online. While a wait is longer than [`PROBE_EVERY_MS`], it asks the
//! edge's health check (a plain GET, which wakes no Durable Object) every two seconds or so whether it is back,
//! and reconnects as soon as it is: an outage costs about its own length, not its length plus a long
//! backoff. When the browser says it went offline, the connection is taken as
//! lost at once (the owner shows it) and nothing is tried until it is back. The owner
//! learns about each (re)connection through `on_open`, where it says `hello` again with the last `seq` it saw:
//! resuming is the protocol's job, the socket only keeps the pipe up.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

/// What the connection is doing, for the UI to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketStatus {
    Connecting,
    Open,
    /// Lost; the next attempt is in `in_ms` milliseconds.
    Reconnecting {
        in_ms: u32,
    },
    /// Closed for good by [`Socket::close`].
    Closed,
}

/// Callbacks of a [`Socket`]. They run on the browser's event loop.
pub struct Handlers {
    /// The connection is (again) open: say hello, resend what was not acknowledged.
    pub on_open: Box<dyn Fn()>,
    /// A text frame arrived.
    pub on_text: Box<dyn Fn(String)>,
    pub on_status: Box<dyn Fn(SocketStatus)>,
    /// The server closed the socket with a code in 4000-4999 (an application refusal, such as a bad token):
    /// retrying would not help, so the socket stops.
    pub on_refused: Box<dyn Fn(u16)>,
}

/// A cheap handle; clones share the connection.
#[derive(Clone)]
pub struct Socket(Rc<Inner>);

type Listener = Closure<dyn FnMut(Event)>;

struct Inner {
    url: String,
    handlers: Handlers,
    current: RefCell<Option<Connection>>,
    failures: Cell<u32>,
    stopped: Cell<bool>,
    /// Counts connection attempts: a retry scheduled for an earlier attempt does nothing once a newer one
    /// started (for example when the browser said it is back online).
    attempt: Cell<u32>,
    /// The browser's `online` (reconnect at once, instead of waiting out the backoff) and `offline` (the
    /// connection is gone: say so now, and wait for `online` instead of retrying into the void) listeners.
    network: RefCell<Vec<(&'static str, Listener)>>,
}

struct Connection {
    ws: WebSocket,
    // Dropping these would detach the browser callbacks.
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

const FIRST_RETRY_MS: f64 = 500.0;
const LONGEST_RETRY_MS: f64 = 30_000.0;
/// How often, about, the edge is asked whether it is back while a longer wait runs.
const PROBE_EVERY_MS: f64 = 2_000.0;
/// Failures that make the backoff its longest: how a browser that says it is offline is retried.
const OFFLINE_FAILURES: u32 = 16;

impl Socket {
    /// Opens `url` (a `ws:`/`wss:` URL) and keeps it open until [`Socket::close`].
    pub fn open(url: String, handlers: Handlers) -> Socket {
        let socket = Socket(Rc::new(Inner {
            url,
            handlers,
            current: RefCell::new(None),
            failures: Cell::new(0),
            stopped: Cell::new(false),
            attempt: Cell::new(0),
            network: RefCell::new(Vec::new()),
        }));
        let weak = Rc::downgrade(&socket.0);
        let on_online = Closure::<dyn FnMut(Event)>::new(move |_| {
            let Some(inner) = weak.upgrade() else { return };
            // Not while a connection is opening or open (CONNECTING is 0, OPEN is 1).
            let busy = inner.current.borrow().as_ref().is_some_and(|c| c.ws.ready_state() <= WebSocket::OPEN);
            if !busy {
                inner.failures.set(0);
                connect(&inner);
            }
        });
        let weak = Rc::downgrade(&socket.0);
        let on_offline = Closure::<dyn FnMut(Event)>::new(move |_| {
            let Some(inner) = weak.upgrade() else { return };
            if inner.stopped.get() {
                return;
            }
            // Whatever was scheduled is moot; `online` starts the next attempt.
            inner.attempt.set(inner.attempt.get().wrapping_add(1));
            if let Some(old) = inner.current.borrow_mut().take() {
                old.ws.set_onclose(None);
                let _ = old.ws.close();
            }
            inner.failures.set(inner.failures.get().max(OFFLINE_FAILURES));
            retry_later(&inner);
        });
        if let Some(window) = web_sys::window() {
            for (event, listener) in [("online", &on_online), ("offline", &on_offline)] {
                let _ = window.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            }
        }
        *socket.0.network.borrow_mut() = vec![("online", on_online), ("offline", on_offline)];
        connect(&socket.0);
        socket
    }

    /// Sends a text frame; `false` when not connected (the caller keeps it and resends on `on_open`).
    pub fn send(&self, text: &str) -> bool {
        let current = self.0.current.borrow();
        match current.as_ref() {
            Some(c) if c.ws.ready_state() == WebSocket::OPEN => c.ws.send_with_str(text).is_ok(),
            _ => false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.0.current.borrow().as_ref().is_some_and(|c| c.ws.ready_state() == WebSocket::OPEN)
    }

    /// Closes the connection and stops reconnecting.
    pub fn close(&self) {
        self.0.stopped.set(true);
        if let Some(window) = web_sys::window() {
            for (event, listener) in self.0.network.borrow_mut().drain(..) {
                let _ = window.remove_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            }
        }
        if let Some(c) = self.0.current.borrow_mut().take() {
            let _ = c.ws.close();
        }
        (self.0.handlers.on_status)(SocketStatus::Closed);
    }
}

fn connect(inner: &Rc<Inner>) {
    if inner.stopped.get() {
        return;
    }
    inner.attempt.set(inner.attempt.get().wrapping_add(1));
    // Offline, an attempt can only fail: the `online` event starts the next one. A slow retry stays, for
    // browsers that wrongly say they are offline (some VPNs and VMs).
    if web_sys::window().is_some_and(|w| !w.navigator().on_line()) {
        inner.failures.set(inner.failures.get().max(OFFLINE_FAILURES));
        return retry_later(inner);
    }
    (inner.handlers.on_status)(SocketStatus::Connecting);
    let ws = match WebSocket::new(&inner.url) {
        Ok(ws) => ws,
        Err(_) => return retry_later(inner),
    };
    let weak = Rc::downgrade(inner);
    let on_open = Closure::<dyn FnMut(Event)>::new({
        let weak = weak.clone();
        move |_| {
            if let Some(inner) = weak.upgrade() {
                inner.failures.set(0);
                (inner.handlers.on_status)(SocketStatus::Open);
                (inner.handlers.on_open)();
            }
        }
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
        let weak = weak.clone();
        move |event: MessageEvent| {
            if let (Some(inner), Some(text)) = (weak.upgrade(), event.data().as_string()) {
                (inner.handlers.on_text)(text);
            }
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new({
        let weak: Weak<Inner> = weak.clone();
        move |event: CloseEvent| {
            let Some(inner) = weak.upgrade() else { return };
            if inner.stopped.get() {
                return;
            }
            if (4000..5000).contains(&event.code()) {
                inner.stopped.set(true);
                (inner.handlers.on_status)(SocketStatus::Closed);
                (inner.handlers.on_refused)(event.code());
                return;
            }
            retry_later(&inner);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // A failed connection fires `error` and then `close`; `close` alone drives the retry.
    let old = inner.current.replace(Some(Connection {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    }));
    if let Some(old) = old {
        old.ws.set_onclose(None);
        let _ = old.ws.close();
    }
}

fn retry_later(inner: &Rc<Inner>) {
    let failures = inner.failures.get().saturating_add(1);
    inner.failures.set(failures);
    let backoff = (FIRST_RETRY_MS * 2f64.powi(failures.min(16) as i32 - 1)).min(LONGEST_RETRY_MS);
    // Full jitter on the upper half: spreads reconnections after an edge restart.
    let delay = (backoff * (0.5 + js_sys::Math::random() * 0.5)) as u32;
    (inner.handlers.on_status)(SocketStatus::Reconnecting { in_ms: delay });
    let weak = Rc::downgrade(inner);
    let attempt = inner.attempt.get();
    let retry = Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade()
            && inner.attempt.get() == attempt
        {
            connect(&inner);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(retry.unchecked_ref(), delay as i32);
    }
    if f64::from(delay) > PROBE_EVERY_MS {
        probe_later(inner, attempt);
    }
}

/// Asks the edge's health check, in about [`PROBE_EVERY_MS`], whether it is back; if it answers `200`
/// while `attempt` is still the one waiting, reconnects at once, else asks again. A newer attempt (the
/// retry's own, or `online`) ends the probing.
fn probe_later(inner: &Rc<Inner>, attempt: u32) {
    let Some(url) = health_url(&inner.url) else { return };
    let weak = Rc::downgrade(inner);
    let probe = Closure::once_into_js(move || {
        let waiting = move |inner: &Rc<Inner>| !inner.stopped.get() && inner.attempt.get() == attempt;
        if !weak.upgrade().is_some_and(|inner| waiting(&inner)) {
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            let answered = match web_sys::window() {
                Some(window) => wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(&url))
                    .await
                    .ok()
                    .and_then(|r| r.dyn_into::<web_sys::Response>().ok())
                    .is_some_and(|r| r.ok()),
                None => false,
            };
            let Some(inner) = weak.upgrade().filter(|inner| waiting(inner)) else { return };
            if answered {
                connect(&inner);
            } else {
                probe_later(&inner, attempt);
            }
        });
    });
    let delay = PROBE_EVERY_MS * (0.75 + js_sys::Math::random() * 0.5);
    if let Some(window) = web_sys::window() {
        let _ =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(probe.unchecked_ref(), delay as i32);
    }
}

/// The edge's health check on the host of a socket URL (`wss://host/...` → `https://host/api/v1/health`).
fn health_url(socket_url: &str) -> Option<String> {
    let (scheme, rest) = socket_url.split_once("://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    let scheme = if scheme == "wss" { "https" } else { "http" };
    Some(format!("{scheme}://{host}/api/v1/health"))
}
