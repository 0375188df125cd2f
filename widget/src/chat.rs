//! The widget's state and what the contact can do: write, attach, end, answer the pre-chat form.
//!
//! - the conversation id and contact token live in `localStorage` (partitioned per embedding site by the
//!   browser), so a contact who comes back finds the same conversation, and other tabs pick it up;
//! - what the contact writes goes into an outbox (also in `localStorage`) first, and is sent, in order, as
//!   soon as the socket is up; the edge acknowledges each message once it is durable;
//! - the socket reconnects by itself and resumes after the last `seq` seen, so nothing is missed or doubled.

use crate::host::{self, ToHost};
use crate::texts::Texts;
use confab_client::api::{self, Failure};
use confab_client::conversation::{ConversationLink, Events, Link};
use confab_client::view::{set_timeout, sleep};
use confab_client::{new_client_id, now_ms, storage, upload};
use confab_protocol::api::{ChatStarted, Identity, StartChat};
use confab_protocol::attachments;
use confab_protocol::delivery::{self, ClientLog, Outgoing};
use confab_protocol::frames::{Author, ClientFrame, ErrorCode, Participant, ServerFrame};
use confab_protocol::ids::Seq;
use confab_protocol::json::{FromJson, ToJson};
use confab_protocol::validate;
use confab_protocol::widget::{ContactDetails, WidgetSettings};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The conversation this browser holds for a site (in `localStorage`; the JSON derive reads the `serde`
/// attributes, though the widget carries no serde).
#[derive(Debug, Clone, PartialEq, ToJson, FromJson)]
pub(crate) struct StoredChat {
    pub(crate) interaction: String,
    pub(crate) token: String,
    /// The site's user it was started for (`Confab.identify`), if any: another user gets another chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
}

/// How and when the chat ended.
#[derive(Debug, Clone, Copy, PartialEq, ToJson, FromJson)]
pub(crate) struct Ended {
    pub(crate) by_contact: bool,
    pub(crate) after_seq: Seq,
}

/// A file on its way up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Upload {
    pub(crate) id: u32,
    pub(crate) name: String,
    pub(crate) percent: u32,
}

/// What this browser keeps per site, under `confab.{site}.{key}`.
const CHAT: &str = "chat";
const OUTBOX: &str = "outbox";
const ENDED: &str = "ended";
const DETAILS: &str = "details";

/// The widget's state. All fields are handles, so `Chat` is `Copy` and moves into closures.
#[derive(Clone, Copy)]
pub(crate) struct Chat {
    site: StoredValue<String>,
    pub(crate) settings: StoredValue<WidgetSettings>,
    pub(crate) texts: RwSignal<&'static Texts>,
    /// Mirror of the link's log (or, before the conversation exists, the outbox written so far).
    pub(crate) log: RwSignal<ClientLog>,
    pub(crate) stored: RwSignal<Option<StoredChat>>,
    /// `None` until there is a conversation to connect to.
    pub(crate) link_state: RwSignal<Option<Link>>,
    starting: RwSignal<bool>,
    /// Something the contact should know (what went wrong).
    pub(crate) notice: RwSignal<Option<String>>,
    link: StoredValue<Option<ConversationLink>, LocalStorage>,
    /// The chat ended, with the last `seq` at that moment: the ended state shows until something newer is
    /// written. Kept in local storage, so a reload still shows it.
    pub(crate) ended: RwSignal<Option<Ended>>,
    /// Who is typing on the agent's side (as the contact may see it).
    pub(crate) agent_typing: RwSignal<Option<String>>,
    typing_seen_at: StoredValue<i64>,
    typing_sent_at: StoredValue<i64>,
    /// The agent has read the contact's messages up to this `seq`.
    pub(crate) agent_read: RwSignal<Seq>,
    read_sent: StoredValue<Seq>,
    pub(crate) confirming_end: RwSignal<bool>,
    /// The loader shows the chat (a frame preloaded for the unread badge is hidden until opened).
    pub(crate) visible: RwSignal<bool>,
    pub(crate) uploads: RwSignal<Vec<Upload>>,
    next_upload: StoredValue<u32>,
    /// The site's signed-in user, when the page identified one.
    identity: RwSignal<Option<Identity>>,
    /// The pre-chat form's answers.
    pub(crate) details: RwSignal<Option<ContactDetails>>,
}

impl Chat {
    pub(crate) fn new(site: String, settings: WidgetSettings, texts: &'static Texts) -> Self {
        let key = |what: &str| format!("confab.{site}.{what}");
        let outbox: Vec<Outgoing> = storage::load(&key(OUTBOX)).unwrap_or_default();
        Chat {
            stored: RwSignal::new(storage::load(&key(CHAT))),
            ended: RwSignal::new(storage::load(&key(ENDED))),
            details: RwSignal::new(storage::load(&key(DETAILS))),
            site: StoredValue::new(site),
            settings: StoredValue::new(settings),
            texts: RwSignal::new(texts),
            log: RwSignal::new(ClientLog { messages: Vec::new(), outbox, earlier: false }),
            link_state: RwSignal::new(None),
            starting: RwSignal::new(false),
            notice: RwSignal::new(None),
            link: StoredValue::new_local(None),
            agent_typing: RwSignal::new(None),
            typing_seen_at: StoredValue::new(0),
            typing_sent_at: StoredValue::new(0),
            agent_read: RwSignal::new(0),
            read_sent: StoredValue::new(0),
            confirming_end: RwSignal::new(false),
            visible: RwSignal::new(confab_client::query_param("hidden").as_deref() != Some("1")),
            uploads: RwSignal::new(Vec::new()),
            next_upload: StoredValue::new(0),
            identity: RwSignal::new(None),
        }
    }

    fn key(&self, what: &str) -> String {
        format!("confab.{}.{what}", self.site.get_value())
    }

    fn t(&self) -> &'static Texts {
        self.texts.get_untracked()
    }

    /// Whether the ended state shows: the chat ended and nothing was written since.
    pub(crate) fn shows_ended(&self) -> Option<Ended> {
        let last = self.log.with(|l| l.last_seq().unwrap_or(0) + l.outbox.len() as Seq);
        self.ended.get().filter(|e| last <= e.after_seq)
    }

    /// Whether the site's questions are still open for this contact: it has neither a conversation, nor
    /// answers, nor a verified identity.
    fn may_ask(&self) -> bool {
        self.stored.with(Option::is_none)
            && self.details.with(Option::is_none)
            && self.identity.with(Option::is_none)
    }

    /// Whether the pre-chat form stands before the composer: the site requires an answer it does not have.
    pub(crate) fn needs_details(&self) -> bool {
        self.settings.with_value(|s| s.pre_chat.requires_an_answer()) && self.may_ask()
    }

    /// Whether the composer shows the site's optional questions above the message box: nothing is required,
    /// so the first message starts the chat, with whatever was answered.
    pub(crate) fn offers_details(&self) -> bool {
        self.settings.with_value(|s| s.asks_before_chat() && !s.pre_chat.requires_an_answer())
            && self.may_ask()
    }

    /// Keeps the contact's answers for the chat it starts.
    pub(crate) fn keep_details(&self, details: ContactDetails) {
        storage::save(&self.key(DETAILS), &details);
        self.details.set(Some(details));
    }

    /// [`Chat::keep_details`] from the pre-chat form, which then gives way to the message box: the keyboard
    /// goes there.
    pub(crate) fn save_details(&self, details: ContactDetails) {
        self.keep_details(details);
        crate::focus_first_field();
    }

    fn send_frame(&self, frame: &ClientFrame) -> bool {
        self.link.with_value(|l| l.as_ref().is_some_and(|l| l.send(frame)))
    }

    /// The contact is typing: tell the agent, at most every few seconds.
    pub(crate) fn typing(&self, on: bool) {
        let now = now_ms();
        if delivery::typing_due(on, self.typing_sent_at.get_value(), now)
            && self.send_frame(&ClientFrame::Typing { on })
        {
            self.typing_sent_at.set_value(if on { now } else { 0 });
        }
    }

    /// Reports the agent's messages as read while the chat is in view; while it is not, tells the loader how
    /// many are unread (its badge).
    pub(crate) fn report_read(&self, log: &ClientLog) {
        let page_visible = web_sys::window().and_then(|w| w.document()).is_some_and(|d| !d.hidden());
        let visible = page_visible && self.visible.get_untracked();
        if !visible {
            host::post(ToHost::Unread(delivery::unread(
                &log.messages,
                Some(self.read_sent.get_value()),
                true,
            )));
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
            // The token renewed while in use: kept here and by the loader, so a visit within its lifetime
            // finds the conversation.
            ServerFrame::Welcome { contact_token: Some(token), .. } => {
                if let Some(mut stored) = self.stored.get_untracked() {
                    stored.token = token;
                    storage::save(&self.key(CHAT), &stored);
                    host::post(ToHost::Contact(&stored.token));
                    self.stored.set(Some(stored));
                }
            }
            ServerFrame::Typing { who: Participant::Agent { name }, on } => {
                self.typing_seen_at.set_value(now_ms());
                let shown = self.settings.with_value(|s| s.agent_label(&name).to_owned());
                self.agent_typing.set(on.then_some(shown));
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
            // How far this contact read, on this or another visit: the badge counts only what came since.
            ServerFrame::Read { who: Participant::Contact, seq } if seq > self.read_sent.get_value() => {
                self.read_sent.set_value(seq);
                self.log.with_untracked(|log| self.report_read(log));
            }
            ServerFrame::ChatEnded { by_contact, .. } => {
                let ended =
                    Ended { by_contact, after_seq: self.log.with_untracked(|l| l.last_seq().unwrap_or(0)) };
                storage::save(&self.key(ENDED), &ended);
                self.ended.set(Some(ended));
                self.agent_typing.set(None);
                self.confirming_end.set(false);
            }
            _ => {}
        }
    }

    /// The contact confirmed End chat.
    pub(crate) fn end(&self) {
        if !self.send_frame(&ClientFrame::End) {
            self.notice.set(Some(self.t().end_offline.into()));
        }
        self.confirming_end.set(false);
    }

    /// The contact pressed Enter or Send. Returns whether the text was taken (so the composer clears).
    pub(crate) fn send(&self, text: &str) -> bool {
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
                storage::save(&self.key(OUTBOX), &self.log.with_untracked(|l| l.outbox.clone()));
                self.start();
            })
        };
        match result {
            Ok(()) => {
                self.notice.set(None);
                true
            }
            Err(e) => {
                if let Some(message) = self.t().message_refused(e.code()) {
                    self.notice.set(Some(message));
                }
                false
            }
        }
    }

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
        let details = self.details.get_untracked().unwrap_or_default();
        let identity = self.identity.get_untracked();
        let user = identity.as_ref().map(|i| i.user_id.clone());
        let start = StartChat { name: details.name, email: details.email, identity, ..StartChat::default() };
        let path = format!("/api/v1/sites/{}/chats", self.site.get_value());
        let result: Result<ChatStarted, Failure> =
            api::request_json("POST", &path, Some(start.to_json()), None).await;
        self.starting.set(false);
        match result {
            Ok(started) => {
                let stored = StoredChat {
                    interaction: started.interaction.to_string(),
                    token: started.contact_token,
                    user,
                };
                storage::save(&self.key(CHAT), &stored);
                self.stored.set(Some(stored.clone()));
                self.connect();
                Some(stored)
            }
            Err(failure) => {
                self.notice.set(Some(self.failure_text(&failure)));
                None
            }
        }
    }

    fn failure_text(&self, failure: &Failure) -> String {
        match failure.code {
            None => self.t().unreachable.to_owned(),
            Some(ErrorCode::QueueFull) => self.t().queue_full.to_owned(),
            Some(ErrorCode::UploadQuota) => self.t().upload_quota.to_owned(),
            // The edge's own words: they say exactly what to fix (in English).
            Some(_) => failure.message.clone(),
        }
    }

    /// The contact picked a file: checked here first (type and size), then uploaded with progress and sent.
    pub(crate) fn attach(&self, file: web_sys::File) {
        let name = file.name();
        if let Err(refused) = attachments::precheck(&name, file.size() as u64) {
            self.notice.set(Some(self.t().refused(&refused)));
            return;
        }
        self.notice.set(None);
        let id = self.next_upload.get_value();
        self.next_upload.set_value(id + 1);
        self.uploads.update(|u| u.push(Upload { id, name, percent: 0 }));
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
                    let percent = (progress * 100.0) as u32;
                    chat.uploads
                        .update(|u| u.iter_mut().filter(|x| x.id == id).for_each(|x| x.percent = percent))
                },
                move |result| {
                    chat.uploads.update(|u| u.retain(|x| x.id != id));
                    match result {
                        Ok(attachment) => {
                            let written = chat
                                .link
                                .with_value(|l| l.as_ref().map(|l| l.write_with("", vec![attachment])));
                            if let Some(Err(e)) = written {
                                chat.notice.set(chat.t().message_refused(e.code()));
                            }
                        }
                        Err(failure) => chat.notice.set(Some(chat.failure_text(&failure))),
                    }
                },
            );
        });
    }

    /// Asks for the page of messages before the oldest shown.
    pub(crate) fn load_earlier(&self) {
        self.link.with_value(|l| l.as_ref().map(ConversationLink::load_earlier));
    }

    /// Opens the live link to the stored conversation.
    pub(crate) fn connect(&self) {
        let Some(stored) = self.stored.get_untracked() else { return };
        let chat = *self;
        let events = Events {
            on_log: Box::new(move |log| {
                storage::save(&chat.key(OUTBOX), &log.outbox);
                chat.report_read(log);
                chat.log.set(log.clone());
            }),
            on_link: Box::new(move |state| chat.link_state.set(Some(state))),
            on_error: Box::new(move |code, _| {
                if code != ErrorCode::EmptyMessage {
                    chat.notice.set(chat.t().message_refused(code))
                }
            }),
            on_refused: Box::new(move || chat.forget(true)),
            on_news: Box::new(move |frame| chat.on_news(frame)),
        };
        // The loader keeps the token on the host page, so a later visit can show unread replies without
        // loading the chat.
        host::post(ToHost::Contact(&stored.token));
        let link = ConversationLink::open(
            &stored.interaction,
            Some(stored.token),
            self.log.get_untracked(),
            events,
            |text| ServerFrame::decode_for_contact(text).ok(),
        );
        self.link.set_value(Some(link));
    }

    /// Drops this browser's conversation: the edge no longer accepts its token (`explain`), the site's user
    /// signed out, or another user signed in. The next message starts a new one.
    pub(crate) fn forget(&self, explain: bool) {
        for what in [CHAT, OUTBOX, ENDED, DETAILS] {
            storage::remove(&self.key(what));
        }
        self.drop_link();
        self.details.set(None);
        self.ended.set(None);
        self.log.set(ClientLog::default());
        host::post(ToHost::Forget);
        self.notice.set(explain.then(|| self.t().conversation_gone.to_owned()));
    }

    fn drop_link(&self) {
        if let Some(link) = self.link.try_update_value(Option::take).flatten() {
            link.close();
        }
        self.stored.set(None);
        self.link_state.set(None);
    }

    /// The page says who its signed-in user is. A conversation started for someone else is not theirs.
    pub(crate) fn identify(&self, identity: Identity) {
        let other_user = self
            .stored
            .with_untracked(|s| s.as_ref().and_then(|s| s.user.clone()))
            .is_some_and(|user| user != identity.user_id);
        if other_user {
            self.forget(false);
        }
        self.identity.set(Some(identity));
    }

    /// The site's user signed out (`Confab.reset()`): nothing of theirs stays in this browser.
    pub(crate) fn sign_out(&self) {
        self.identity.set(None);
        self.forget(false);
    }

    /// Keeps this tab in step with the others on the same site: a conversation started, ended or forgotten
    /// in one is started, ended or forgotten in all (each has its own socket to it).
    pub(crate) fn follow_other_tabs(&self) {
        let chat = *self;
        let prefix = self.key("");
        let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::StorageEvent)>::new(
            move |event: web_sys::StorageEvent| {
                let Some(key) = event.key() else { return };
                let Some(what) = key.strip_prefix(&prefix) else { return };
                match what {
                    CHAT => match storage::load::<StoredChat>(&key) {
                        // The same conversation with its token renewed by the other tab: kept, no reconnect
                        // (each reconnection renews it again, and the tabs would take turns forever).
                        Some(stored)
                            if chat.stored.get_untracked().is_some_and(|held| {
                                held.interaction == stored.interaction && held.user == stored.user
                            }) =>
                        {
                            chat.stored.set(Some(stored));
                        }
                        Some(stored) if chat.stored.get_untracked().as_ref() != Some(&stored) => {
                            chat.drop_link();
                            chat.stored.set(Some(stored));
                            chat.connect();
                        }
                        Some(_) => {}
                        None => {
                            chat.drop_link();
                            chat.log.set(ClientLog::default());
                        }
                    },
                    ENDED => chat.ended.set(storage::load(&key)),
                    DETAILS => chat.details.set(storage::load(&key)),
                    _ => {}
                }
            },
        );
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback(
                "storage",
                wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
            );
        }
        listener.forget();
    }
}
