//! # confab-widget
//!
//! The customer's chat window, running in an iframe served by the edge (`/widget/frame?site=...`) that the
//! loader (`static/widget.js`) puts on the site owner's page. It is a Leptos client-side app:
//!
//! - the conversation id and contact token live in `localStorage` (partitioned per embedding site by the
//!   browser), so a contact who comes back finds the same conversation;
//! - what the contact writes goes into an outbox (also in `localStorage`) first, and is sent, in order, as
//!   soon as the socket is up; the edge acknowledges each message once it is durable;
//! - the socket reconnects by itself and resumes after the last `seq` seen, so nothing is missed or doubled.

use confab_client::api::{self, Failure};
use confab_client::conversation::{ConversationLink, Events, Link};
use confab_client::{clock_time, new_client_id, now_ms, storage};
use confab_protocol::api::{ChatStarted, StartChat, WidgetConfig};
use confab_protocol::delivery::{ClientLog, Outgoing};
use confab_protocol::frames::{Author, ErrorCode};
use confab_protocol::validate;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use web_sys::KeyboardEvent;

/// The conversation this browser holds for a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredChat {
    interaction: String,
    token: String,
}

/// The widget's state and what it does. All fields are handles, so `Chat` is `Copy` and moves into closures.
#[derive(Clone, Copy)]
struct Chat {
    site: StoredValue<String>,
    /// Mirror of the link's log (or, before the conversation exists, the outbox written so far).
    log: RwSignal<ClientLog>,
    stored: RwSignal<Option<StoredChat>>,
    /// `None` until there is a conversation to connect to.
    link_state: RwSignal<Option<Link>>,
    starting: RwSignal<bool>,
    /// A message for the contact about something that went wrong.
    notice: RwSignal<Option<String>>,
    link: StoredValue<Option<ConversationLink>, LocalStorage>,
}

impl Chat {
    fn new(site: String) -> Self {
        let key = |what: &str| format!("confab.{site}.{what}");
        let stored: Option<StoredChat> = storage::load(&key("chat"));
        let outbox: Vec<Outgoing> = storage::load(&key("outbox")).unwrap_or_default();
        Chat {
            site: StoredValue::new(site),
            log: RwSignal::new(ClientLog { messages: Vec::new(), outbox }),
            stored: RwSignal::new(stored),
            link_state: RwSignal::new(None),
            starting: RwSignal::new(false),
            notice: RwSignal::new(None),
            link: StoredValue::new_local(None),
        }
    }

    fn key(&self, what: &str) -> String {
        format!("confab.{}.{what}", self.site.get_value())
    }

    /// The contact pressed Enter or Send. Returns whether the text was taken (so the composer clears).
    fn send(&self, text: &str) -> bool {
        let has_link = self.link.with_value(Option::is_some);
        let result = if has_link {
            self.link.with_value(|l| l.as_ref().map_or(Ok(()), |l| l.write(text)))
        } else {
            // No conversation yet: keep the message in the outbox, start one, and the link sends it.
            validate::message_text(text).map(|text| {
                let outgoing = Outgoing {
                    client_id: new_client_id(),
                    text: text.to_owned(),
                    attachments: Vec::new(),
                    written_at: now_ms(),
                };
                self.log.update(|l| l.write(outgoing));
                storage::save(&self.key("outbox"), &self.log.with_untracked(|l| l.outbox.clone()));
                self.start();
            })
        };
        match result {
            Ok(()) => {
                self.notice.set(None);
                true
            }
            Err(e) => {
                if e.code() != ErrorCode::EmptyMessage {
                    self.notice.set(Some(e.to_string()));
                }
                false
            }
        }
    }

    /// Starts the conversation on the first message.
    fn start(&self) {
        if self.starting.get_untracked() {
            return;
        }
        self.starting.set(true);
        let chat = *self;
        spawn_local(async move {
            let path = format!("/api/v1/sites/{}/chats", chat.site.get_value());
            let result: Result<ChatStarted, Failure> =
                api::request("POST", &path, Some(&StartChat::default())).await;
            chat.starting.set(false);
            match result {
                Ok(started) => {
                    let stored = StoredChat {
                        interaction: started.interaction.to_string(),
                        token: started.contact_token,
                    };
                    storage::save(&chat.key("chat"), &stored);
                    chat.stored.set(Some(stored));
                    chat.connect();
                }
                Err(failure) => chat.notice.set(Some(failure.message)),
            }
        });
    }

    fn connect(&self) {
        let Some(stored) = self.stored.get_untracked() else { return };
        let chat = *self;
        let events = Events {
            on_log: Box::new(move |log| {
                storage::save(&chat.key("outbox"), &log.outbox);
                chat.log.set(log.clone());
            }),
            on_link: Box::new(move |state| chat.link_state.set(Some(state))),
            on_error: Box::new(move |_, message| chat.notice.set(Some(message))),
            on_refused: Box::new(move || chat.forget()),
        };
        let link =
            ConversationLink::open(&stored.interaction, Some(stored.token), self.log.get_untracked(), events);
        self.link.set_value(Some(link));
    }

    /// The edge no longer accepts this browser's conversation (its token was refused): start afresh on the
    /// next message rather than retrying forever.
    fn forget(&self) {
        storage::remove(&self.key("chat"));
        if let Some(link) = self.link.try_update_value(Option::take).flatten() {
            link.close();
        }
        self.stored.set(None);
        self.link_state.set(None);
        self.log.update(|l| l.messages.clear());
        self.notice.set(Some("This conversation is no longer available. Write to start a new one.".into()));
    }
}

/// The whole widget. Reads the site from the frame's URL (`?site=...`).
#[component]
pub fn Widget() -> impl IntoView {
    let Some(site) = confab_client::query_param("site").filter(|s| validate::slug(s).is_ok()) else {
        return view! { <p class="cw-broken">"This chat is not set up: the script tag needs a data-site attribute."</p> }
            .into_any();
    };
    let chat = Chat::new(site.clone());
    let title = RwSignal::new(String::from("Chat with us"));
    spawn_local(async move {
        if let Ok(config) =
            api::request::<WidgetConfig>("GET", &format!("/api/v1/sites/{site}/widget"), None::<&()>).await
        {
            title.set(config.title);
        }
    });
    if chat.stored.with_untracked(Option::is_some) {
        chat.connect();
    }
    view! {
        <div class="cw">
            <header class="cw-head">
                <span class="cw-title">{move || title.get()}</span>
                <LinkBadge link=chat.link_state />
            </header>
            <Transcript chat />
            {move || chat.notice.get().map(|n| view! { <p class="cw-notice" role="alert">{n}</p> })}
            <Composer chat />
        </div>
    }
    .into_any()
}

#[component]
fn LinkBadge(link: RwSignal<Option<Link>>) -> impl IntoView {
    let label = move || match link.get() {
        None => "",
        Some(Link::Connecting) => "Connecting…",
        Some(Link::Online) => "Online",
        Some(Link::Offline | Link::Closed) => "Offline — reconnecting",
    };
    let state = move || link.get().map(|l| format!("{l:?}").to_lowercase()).unwrap_or_default();
    view! { <span class="cw-link" data-link=state>{label}</span> }
}

/// One line of the transcript as drawn.
#[derive(Clone, PartialEq)]
struct Line {
    key: String,
    mine: bool,
    author: Option<String>,
    text: String,
    time: String,
    pending: bool,
}

#[component]
fn Transcript(chat: Chat) -> impl IntoView {
    let list: NodeRef<leptos::html::Ol> = NodeRef::new();
    let lines = move || {
        chat.log.with(|l| {
            let delivered = l.messages.iter().map(|m| Line {
                key: format!("s{}", m.seq),
                mine: matches!(m.author, Author::Contact),
                author: match &m.author {
                    Author::Agent { name, .. } => Some(name.clone()),
                    _ => None,
                },
                text: m.text.clone(),
                time: clock_time(m.at),
                pending: false,
            });
            let waiting = l.outbox.iter().map(|o| Line {
                key: format!("c{}", o.client_id.0),
                mine: true,
                author: None,
                text: o.text.clone(),
                time: clock_time(o.written_at),
                pending: true,
            });
            delivered.chain(waiting).collect::<Vec<_>>()
        })
    };
    // Keep the newest message in view.
    Effect::new(move |_| {
        chat.log.track();
        if let Some(list) = list.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });
    view! {
        <ol class="cw-list" node_ref=list aria-live="polite" aria-label="Messages">
            <li class="cw-greeting">"Hi! How can we help? We usually answer within a few minutes."</li>
            <For
                each=lines
                key=|line| (line.key.clone(), line.pending)
                children=move |line| {
                    let class = if line.mine { "cw-msg cw-mine" } else { "cw-msg cw-theirs" };
                    view! {
                        <li class=class data-pending=line.pending.to_string()>
                            {line.author.map(|a| view! { <span class="cw-author">{a}</span> })}
                            <span class="cw-text">{line.text}</span>
                            <span class="cw-meta">
                                {line.time}
                                {if line.pending { " · sending…" } else { "" }}
                            </span>
                        </li>
                    }
                }
            />
        </ol>
    }
}

#[component]
fn Composer(chat: Chat) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let submit = move || {
        if chat.send(&draft.get_untracked()) {
            draft.set(String::new());
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        // Enter sends, Shift+Enter is a newline, and Enter that confirms an IME composition does neither.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    view! {
        <form class="cw-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea
                class="cw-input"
                rows="1"
                placeholder="Write a message…"
                aria-label="Message"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_keydown
            ></textarea>
            <button class="cw-send" type="submit" aria-label="Send">"Send"</button>
        </form>
    }
}
