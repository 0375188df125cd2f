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
use confab_client::upload;
use confab_client::view::{AttachmentView, formatted, set_timeout, sleep};
use confab_client::{clock_time, new_client_id, now_ms, storage};
use confab_protocol::api::{ChatStarted, StartChat, WidgetConfig};
use confab_protocol::attachments;
use confab_protocol::delivery::{self, ClientLog, Outgoing};
use confab_protocol::frames::{Author, ClientFrame, ErrorCode, Participant, ServerFrame};
use confab_protocol::ids::Seq;
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
    /// The chat ended, with the last `seq` at that moment: the ended state shows until something newer is
    /// written. Kept in local storage, so a reload still shows it.
    ended: RwSignal<Option<Ended>>,
    /// The agent's name while it is typing.
    agent_typing: RwSignal<Option<String>>,
    /// When the last typing news came in (an indicator without refresh is hidden).
    typing_seen_at: StoredValue<i64>,
    /// When this contact last said it is typing.
    typing_sent_at: StoredValue<i64>,
    /// The agent has read the contact's messages up to this `seq`.
    agent_read: RwSignal<Seq>,
    /// The last `seq` this contact reported as read.
    read_sent: StoredValue<Seq>,
    /// The End chat confirmation is open.
    confirming_end: RwSignal<bool>,
    /// The loader shows the chat (a frame preloaded for the unread badge is hidden until opened).
    visible: RwSignal<bool>,
    /// Files being uploaded.
    uploads: RwSignal<Vec<Upload>>,
    next_upload: StoredValue<u32>,
}

/// A file on its way up.
#[derive(Debug, Clone, PartialEq)]
struct Upload {
    id: u32,
    name: String,
    /// 0.0 to 1.0.
    progress: f64,
}

/// How and when the chat ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Ended {
    by_contact: bool,
    after_seq: Seq,
}

impl Chat {
    fn new(site: String) -> Self {
        let key = |what: &str| format!("confab.{site}.{what}");
        let stored: Option<StoredChat> = storage::load(&key("chat"));
        let outbox: Vec<Outgoing> = storage::load(&key("outbox")).unwrap_or_default();
        let ended: Option<Ended> = storage::load(&key("ended"));
        Chat {
            site: StoredValue::new(site),
            log: RwSignal::new(ClientLog { messages: Vec::new(), outbox }),
            stored: RwSignal::new(stored),
            link_state: RwSignal::new(None),
            starting: RwSignal::new(false),
            notice: RwSignal::new(None),
            link: StoredValue::new_local(None),
            ended: RwSignal::new(ended),
            agent_typing: RwSignal::new(None),
            typing_seen_at: StoredValue::new(0),
            typing_sent_at: StoredValue::new(0),
            agent_read: RwSignal::new(0),
            read_sent: StoredValue::new(0),
            confirming_end: RwSignal::new(false),
            visible: RwSignal::new(confab_client::query_param("hidden").as_deref() != Some("1")),
            uploads: RwSignal::new(Vec::new()),
            next_upload: StoredValue::new(0),
        }
    }

    /// Whether the ended state shows: the chat ended and nothing was written since.
    fn shows_ended(&self) -> Option<Ended> {
        let last = self.log.with(|l| l.last_seq().unwrap_or(0) + l.outbox.len() as Seq);
        self.ended.get().filter(|e| last <= e.after_seq)
    }

    fn send_frame(&self, frame: &ClientFrame) -> bool {
        self.link.with_value(|l| l.as_ref().is_some_and(|l| l.send(frame)))
    }

    /// The contact is typing: tell the agent, at most every few seconds.
    fn typing(&self, on: bool) {
        let now = now_ms();
        if delivery::typing_due(on, self.typing_sent_at.get_value(), now)
            && self.send_frame(&ClientFrame::Typing { on })
        {
            self.typing_sent_at.set_value(if on { now } else { 0 });
        }
    }

    /// Reports the agent's messages as read while the chat is in view; while it is not, tells the loader how
    /// many are unread (its badge).
    fn report_read(&self, log: &ClientLog) {
        let page_visible = web_sys::window().and_then(|w| w.document()).is_some_and(|d| !d.hidden());
        let visible = page_visible && self.visible.get_untracked();
        if !visible {
            let unread = delivery::unread(&log.messages, Some(self.read_sent.get_value()), true);
            post_to_host(&serde_json::json!({"type": "confab:unread", "count": unread}));
        }
        let newest = log.messages.iter().rev().find(|m| !matches!(m.author, Author::Contact)).map(|m| m.seq);
        if let Some(seq) = newest.filter(|s| visible && *s > self.read_sent.get_value())
            && self.send_frame(&ClientFrame::Read { seq })
        {
            self.read_sent.set_value(seq);
        }
    }

    /// What the edge says besides messages.
    fn on_news(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Typing { who: Participant::Agent { name }, on } => {
                self.typing_seen_at.set_value(now_ms());
                self.agent_typing.set(on.then_some(name));
                if on {
                    let chat = *self;
                    // Hide an indicator that is not refreshed (the agent may have gone without saying).
                    set_timeout(
                        move || {
                            if now_ms() - chat.typing_seen_at.get_value() >= delivery::TYPING_TIMEOUT_MS {
                                chat.agent_typing.set(None);
                            }
                        },
                        delivery::TYPING_TIMEOUT_MS,
                    );
                }
            }
            ServerFrame::Read { who: Participant::Agent { .. }, seq } => {
                self.agent_read.update(|r| *r = (*r).max(seq))
            }
            ServerFrame::ChatEnded { by_contact, .. } => {
                let ended =
                    Ended { by_contact, after_seq: self.log.with_untracked(|l| l.last_seq().unwrap_or(0)) };
                storage::save(&self.key("ended"), &ended);
                self.ended.set(Some(ended));
                self.agent_typing.set(None);
                self.confirming_end.set(false);
            }
            _ => {}
        }
    }

    /// The contact confirmed End chat.
    fn end(&self) {
        if !self.send_frame(&ClientFrame::End) {
            self.notice.set(Some(
                "You're offline: the chat will end when you're back online. Try again then.".into(),
            ));
        }
        self.confirming_end.set(false);
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
        let chat = *self;
        spawn_local(async move {
            chat.started().await;
        });
    }

    /// The conversation, started now if there is none yet (once, however many callers ask at once).
    async fn started(&self) -> Option<StoredChat> {
        if let Some(stored) = self.stored.get_untracked() {
            return Some(stored);
        }
        if self.starting.get_untracked() {
            // Someone else is starting it: wait for them (bounded, like every wait here).
            for _ in 0..150 {
                sleep(100).await;
                if let Some(stored) = self.stored.get_untracked() {
                    return Some(stored);
                }
                if !self.starting.get_untracked() {
                    return None;
                }
            }
            return None;
        }
        self.starting.set(true);
        let path = format!("/api/v1/sites/{}/chats", self.site.get_value());
        let result: Result<ChatStarted, Failure> =
            api::request("POST", &path, Some(&StartChat::default())).await;
        self.starting.set(false);
        match result {
            Ok(started) => {
                let stored =
                    StoredChat { interaction: started.interaction.to_string(), token: started.contact_token };
                storage::save(&self.key("chat"), &stored);
                self.stored.set(Some(stored.clone()));
                self.connect();
                Some(stored)
            }
            Err(failure) => {
                self.notice.set(Some(failure.message));
                None
            }
        }
    }

    /// The contact picked a file: checked here first (type and size), then uploaded with progress and sent.
    fn attach(&self, file: web_sys::File) {
        let name = file.name();
        if let Err(refused) = attachments::precheck(&name, file.size() as u64) {
            self.notice.set(Some(refused.to_string()));
            return;
        }
        self.notice.set(None);
        let id = self.next_upload.get_value();
        self.next_upload.set_value(id + 1);
        self.uploads.update(|u| u.push(Upload { id, name, progress: 0.0 }));
        let chat = *self;
        spawn_local(async move {
            let Some(stored) = chat.started().await else {
                chat.uploads.update(|u| u.retain(|x| x.id != id));
                return;
            };
            upload::upload(
                &stored.interaction,
                &file,
                Some(&stored.token),
                move |progress| {
                    chat.uploads
                        .update(|u| u.iter_mut().filter(|x| x.id == id).for_each(|x| x.progress = progress))
                },
                move |result| {
                    chat.uploads.update(|u| u.retain(|x| x.id != id));
                    match result {
                        Ok(attachment) => {
                            let written = chat
                                .link
                                .with_value(|l| l.as_ref().map(|l| l.write_with("", vec![attachment])));
                            if let Some(Err(e)) = written {
                                chat.notice.set(Some(e.to_string()));
                            }
                        }
                        Err(failure) => chat.notice.set(Some(failure.message)),
                    }
                },
            );
        });
    }

    fn connect(&self) {
        let Some(stored) = self.stored.get_untracked() else { return };
        let chat = *self;
        let events = Events {
            on_log: Box::new(move |log| {
                storage::save(&chat.key("outbox"), &log.outbox);
                chat.report_read(log);
                chat.log.set(log.clone());
            }),
            on_link: Box::new(move |state| chat.link_state.set(Some(state))),
            on_error: Box::new(move |_, message| chat.notice.set(Some(message))),
            on_refused: Box::new(move || chat.forget()),
            on_news: Box::new(move |frame| chat.on_news(frame)),
        };
        // The loader keeps the token on the host page, so a later visit can show unread replies without
        // loading the chat.
        post_to_host(&serde_json::json!({"type": "confab:contact", "token": stored.token}));
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
    listen_to_host(chat);
    if chat.stored.with_untracked(Option::is_some) {
        chat.connect();
    }
    let can_end = move || chat.stored.with(Option::is_some) && chat.shows_ended().is_none();
    view! {
        <div class="cw">
            <header class="cw-head">
                <span class="cw-title">{move || title.get()}</span>
                <LinkBadge link=chat.link_state />
                {move || can_end().then(|| view! {
                    <button class="cw-end" type="button" on:click=move |_| chat.confirming_end.set(true)>"End chat"</button>
                })}
            </header>
            {move || chat.confirming_end.get().then(|| view! {
                <div class="cw-confirm" role="alertdialog" aria-label="End this chat?">
                    <p>"End this chat? You can always write again later."</p>
                    <button class="cw-confirm-end" type="button" on:click=move |_| chat.end()>"End chat"</button>
                    <button class="cw-confirm-cancel" type="button" on:click=move |_| chat.confirming_end.set(false)>"Keep chatting"</button>
                </div>
            })}
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

/// Sends a message to the loader on the host page (only to the origin it said it has).
fn post_to_host(message: &serde_json::Value) {
    let Some(origin) = confab_client::query_param("origin") else { return };
    if let Some(parent) = web_sys::window().and_then(|w| w.parent().ok().flatten()) {
        let _ = parent.post_message(&wasm_bindgen::JsValue::from_str(&message.to_string()), &origin);
    }
}

/// Follows the loader's `confab:visible` messages (the chat panel opened or closed).
fn listen_to_host(chat: Chat) {
    let Some(origin) = confab_client::query_param("origin") else { return };
    let on_message = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |event: web_sys::MessageEvent| {
            if event.origin() != origin {
                return;
            }
            let Some(text) = event.data().as_string() else { return };
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&text) else { return };
            if message["type"] == "confab:visible" {
                let visible = message["visible"].as_bool().unwrap_or(true);
                chat.visible.set(visible);
                if visible {
                    chat.log.with_untracked(|log| chat.report_read(log));
                }
            }
        },
    );
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback(
            "message",
            wasm_bindgen::JsCast::unchecked_ref(on_message.as_ref()),
        );
    }
    // Listens for the page's lifetime.
    on_message.forget();
}

/// What the file picker offers: the attachment allow-list (the edge checks the content too).
const ACCEPTED_FILES: &str =
    ".png,.jpg,.jpeg,.gif,.webp,.mp3,.mp4,.pdf,.docx,.txt,.rtf,.pages,.csv,.xlsx,.numbers,.pptx,.key";

/// One line of the transcript as drawn.
#[derive(Clone, PartialEq)]
struct Line {
    key: String,
    seq: Option<Seq>,
    attachments: Vec<confab_protocol::frames::Attachment>,
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
                seq: Some(m.seq),
                attachments: m.attachments.clone(),
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
                seq: None,
                attachments: o.attachments.clone(),
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
                    let (mine, pending, seq) = (line.mine, line.pending, line.seq);
                    // Sending until stored, Sent once stored, Seen once the agent has read it.
                    let status = move || match (mine, pending, seq) {
                        (false, _, _) => "",
                        (true, true, _) => " · Sending…",
                        (true, false, Some(seq)) if seq <= chat.agent_read.get() => " · Seen",
                        (true, false, _) => " · Sent",
                    };
                    view! {
                        <li class=class data-pending=pending.to_string()>
                            {line.author.map(|a| view! { <span class="cw-author">{a}</span> })}
                            {(!line.text.is_empty()).then(|| view! { <span class="cw-text">{formatted(&line.text)}</span> })}
                            {line.attachments.into_iter().map(|attachment| {
                                let (interaction, token) = chat.stored.get_untracked().map(|s| (s.interaction, s.token)).unwrap_or_default();
                                view! { <AttachmentView interaction attachment bearer=Some(token) /> }
                            }).collect_view()}
                            <span class="cw-meta">{line.time} <span class="cw-status">{status}</span></span>
                        </li>
                    }
                }
            />
            <For
                each=move || chat.uploads.get()
                key=|u| (u.id, (u.progress * 100.0) as u32)
                children=|u| view! {
                    <li class="cw-msg cw-mine cw-upload" data-pending="true">
                        <span class="cw-text">"Uploading " {u.name.clone()}</span>
                        <progress max="1" value=u.progress aria-label=format!("Uploading {}", u.name)></progress>
                    </li>
                }
            />
            {move || chat.agent_typing.get().map(|name| view! {
                <li class="cw-typing" aria-live="polite">{name} " is typing…"</li>
            })}
            {move || chat.shows_ended().map(|e| view! {
                <li class="cw-ended" role="status">
                    {if e.by_contact { "You ended the chat." } else { "The chat has ended." }}
                    " Write below whenever you want to start again."
                </li>
            })}
        </ol>
    }
}

#[component]
fn Composer(chat: Chat) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let submit = move || {
        if chat.send(&draft.get_untracked()) {
            draft.set(String::new());
            chat.typing(false);
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        // Enter sends, Shift+Enter is a newline, and Enter that confirms an IME composition does neither.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let on_files = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(files) = input.files() {
            for i in 0..files.length() {
                if let Some(file) = files.get(i) {
                    chat.attach(file);
                }
            }
        }
        // Picking the same file again must fire `change` again.
        input.set_value("");
    };
    view! {
        <form class="cw-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <label class="cw-attach" title="Attach a file">
                <svg class="cw-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path d="M16.5 6.5l-8.1 8.1a2 2 0 0 0 2.8 2.8l8.5-8.5a4 4 0 0 0-5.7-5.7L5.5 11.7a6 6 0 0 0 8.5 8.5l6-6"
                        fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
                </svg>
                <input type="file" class="cw-file" multiple accept=ACCEPTED_FILES aria-label="Attach a file" on:change=on_files />
            </label>
            <textarea
                class="cw-input"
                rows="1"
                placeholder="Write a message…"
                aria-label="Message"
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    chat.typing(!text.trim().is_empty());
                    draft.set(text);
                }
                on:keydown=on_keydown
            ></textarea>
            <button class="cw-send" type="submit" aria-label="Send">"Send"</button>
        </form>
    }
}
