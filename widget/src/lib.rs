//! # confab-widget
//!
//! The customer's chat window, running in an iframe served by the edge (`/widget/frame?site=...`) that the
//! loader (`static/widget.js`) puts on the site owner's page. It is a Leptos client-side app: [`chat`] holds
//! the state and the actions, [`host`] talks with the loader, [`texts`] holds its words in each language, and
//! this module draws it. The site's settings (colour, title, greeting, pre-chat form, language) come inlined
//! in the frame's page, so the first paint is already the site's.

mod chat;
mod host;
mod texts;

use chat::Chat;
use confab_client::clock_time;
use confab_client::conversation::Link;
use confab_client::view::{AttachmentView, EMOJI, TranscriptScroll, formatted, insert_at_cursor};
use confab_protocol::frames::{Attachment, Author};
use confab_protocol::ids::Seq;
use confab_protocol::validate;
use confab_protocol::widget::{self as rules, Field, PreChatProblem, WidgetSettings};
use host::{FromHost, ToHost};
use leptos::prelude::*;
use texts::Texts;
use web_sys::KeyboardEvent;

/// The settings the edge put in the page (`<script type="application/json" id="confab-settings">`).
fn inlined_settings() -> WidgetSettings {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("confab-settings"))
        .and_then(|e| e.text_content())
        .and_then(|text| confab_protocol::json::read(&text))
        .unwrap_or_default()
}

/// The language to speak: the site's setting, or the visitor's browser languages with `auto`.
fn locale_for(setting: &str) -> &'static str {
    let preferred: Vec<String> = web_sys::window()
        .map(|w| w.navigator().languages().iter().filter_map(|l| l.as_string()).collect())
        .unwrap_or_default();
    rules::pick_locale(setting, preferred.iter().map(String::as_str))
}

/// Sets the page's language, so screen readers pronounce the widget's words right.
fn set_document_lang(texts: &Texts) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("lang", texts.lang);
    }
}

/// The whole widget. Reads the site from the frame's URL (`?site=...`).
#[component]
pub fn Widget() -> impl IntoView {
    let settings = inlined_settings();
    let texts = Texts::of(locale_for(&settings.locale));
    set_document_lang(texts);
    let Some(site) = confab_client::query_param("site").filter(|s| validate::slug(s).is_ok()) else {
        return view! { <p class="cw-broken">{texts.not_set_up}</p> }.into_any();
    };
    let style = format!("--accent:{};--on-accent:{}", settings.color, rules::text_color_on(&settings.color));
    let chat = Chat::new(site, settings, texts);
    chat.follow_other_tabs();
    // The loader says "visible" again when the page identifies the customer or changes the language; only
    // the panel's opening moves the keyboard, so a field the customer is typing in keeps it.
    let was_visible = StoredValue::new(false);
    host::listen(move |message| match message {
        FromHost::Visible(visible) => {
            chat.visible.set(visible);
            if visible {
                chat.log.with_untracked(|log| chat.report_read(log));
                if !was_visible.get_value() {
                    focus_first_field();
                }
            }
            was_visible.set_value(visible);
        }
        FromHost::Identify(identity) => chat.identify(identity),
        FromHost::Locale(locale) => {
            let texts = Texts::of(rules::pick_locale(&locale, []));
            set_document_lang(texts);
            chat.texts.set(texts);
        }
        FromHost::Reset => chat.sign_out(),
    });
    if chat.stored.with_untracked(Option::is_some) {
        chat.connect();
    }
    let emoji_open = RwSignal::new(false);
    // Escape closes what is open, innermost first, and finally the chat panel itself.
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() != "Escape" {
            return;
        }
        if emoji_open.get_untracked() {
            emoji_open.set(false);
        } else if chat.confirming_end.get_untracked() {
            chat.confirming_end.set(false);
        } else {
            host::post(ToHost::Close);
        }
    };
    // The words are fixed for a render: a language change (rare, from the page) draws the widget anew.
    view! {
        <div class="cw" style=style on:keydown=on_keydown>
            {move || {
                let t = chat.texts.get();
                view! {
                    <Header chat t />
                    {move || chat.confirming_end.get().then(|| view! { <ConfirmEnd chat t /> })}
                    <Transcript chat t />
                    {move || chat.notice.get().map(|n| view! { <p class="cw-notice" role="alert">{n}</p> })}
                    {move || if chat.needs_details() {
                        view! { <PreChat chat t /> }.into_any()
                    } else {
                        view! { <Composer chat t emoji_open /> }.into_any()
                    }}
                }
            }}
        </div>
    }
    .into_any()
}

#[component]
fn Header(chat: Chat, t: &'static Texts) -> impl IntoView {
    let link_label = move || match chat.link_state.get() {
        None => "",
        Some(Link::Connecting) => t.connecting,
        Some(Link::Online) => t.online,
        Some(Link::Offline | Link::Closed) => t.offline,
    };
    let link_state = move || match chat.link_state.get() {
        None => "",
        Some(Link::Connecting) => "connecting",
        Some(Link::Online) => "online",
        Some(Link::Offline | Link::Closed) => "offline",
    };
    let can_end = move || chat.stored.with(Option::is_some) && chat.shows_ended().is_none();
    view! {
        <header class="cw-head">
            <div class="cw-heading">
                <h1 class="cw-title">{chat.settings.with_value(|s| s.title.clone())}</h1>
                <span class="cw-link" data-link=link_state role="status">{link_label}</span>
            </div>
            {move || can_end().then(|| view! {
                <button class="cw-end" type="button" on:click=move |_| chat.confirming_end.set(true)>{t.end_chat}</button>
            })}
            // Closing only hides the chat (it goes on); on a phone the chat covers the page's launcher.
            {host::embedded().then(|| view! {
                <button class="cw-close" type="button" aria-label=t.close title=t.close on:click=|_| host::post(ToHost::Close)>
                    <svg class="cw-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                        <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
                    </svg>
                </button>
            })}
        </header>
    }
}

#[component]
fn ConfirmEnd(chat: Chat, t: &'static Texts) -> impl IntoView {
    let keep: NodeRef<leptos::html::Button> = NodeRef::new();
    // Focus goes to the safe choice, so Enter does not end the chat by accident.
    Effect::new(move |_| {
        if let Some(button) = keep.get() {
            let _ = button.focus();
        }
    });
    view! {
        <div class="cw-confirm" role="alertdialog" aria-label=t.end_question>
            <p>{t.end_question}</p>
            <button class="cw-confirm-end" type="button" on:click=move |_| chat.end()>{t.end_chat}</button>
            <button class="cw-confirm-cancel" type="button" node_ref=keep on:click=move |_| chat.confirming_end.set(false)>
                {t.keep_chatting}
            </button>
        </div>
    }
}

/// One line of the transcript as drawn.
#[derive(Clone, PartialEq)]
struct Line {
    key: String,
    seq: Option<Seq>,
    attachments: Vec<Attachment>,
    mine: bool,
    author: Option<String>,
    text: String,
    time: String,
    pending: bool,
}

#[component]
fn Transcript(chat: Chat, t: &'static Texts) -> impl IntoView {
    let list: NodeRef<leptos::html::Ol> = NodeRef::new();
    let lines = move || {
        chat.log.with(|l| {
            let delivered = l.messages.iter().map(|m| Line {
                key: format!("s{}", m.seq),
                seq: Some(m.seq),
                attachments: m.attachments.clone(),
                mine: matches!(m.author, Author::Contact),
                author: match &m.author {
                    Author::Agent { name, .. } => {
                        Some(chat.settings.with_value(|s| s.agent_label(name).to_owned()))
                    }
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
    // Keep the newest message in view (and what the reader looks at when an earlier page comes in).
    let scroll = TranscriptScroll::default();
    Effect::new(move |_| {
        let newest = (
            chat.log.with(|l| (l.last_seq(), l.outbox.len())),
            chat.uploads.with(Vec::len),
            chat.agent_typing.with(Option::is_some),
        );
        if let Some(list) = list.get() {
            scroll.follow(&list, newest);
        }
    });
    let greeting = chat.settings.with_value(|s| s.greeting.clone());
    view! {
        <ol class="cw-list" node_ref=list aria-live="polite" aria-label=t.messages>
            {move || if chat.log.with(|l| l.earlier) {
                view! { <li class="cw-earlier"><button type="button" class="cw-earlier-button" on:click=move |_| chat.load_earlier()>{t.show_earlier}</button></li> }.into_any()
            } else {
                view! { <li class="cw-greeting">{if greeting.is_empty() { t.greeting.to_owned() } else { greeting.clone() }}</li> }.into_any()
            }}
            <For
                each=lines
                key=|line| (line.key.clone(), line.pending)
                children=move |line| {
                    let class = if line.mine { "cw-msg cw-mine" } else { "cw-msg cw-theirs" };
                    let (mine, pending, seq) = (line.mine, line.pending, line.seq);
                    // Sending until stored, Sent once stored, Seen once the agent has read it.
                    let status = move || match (mine, pending, seq) {
                        (false, _, _) => "",
                        (true, true, _) => t.sending,
                        (true, false, Some(seq)) if seq <= chat.agent_read.get() => t.seen,
                        (true, false, _) => t.sent,
                    };
                    view! {
                        <li class=class data-pending=pending.to_string()>
                            {line.author.map(|a| view! { <span class="cw-author">{a}</span> })}
                            {(!line.text.is_empty()).then(|| view! { <span class="cw-text">{formatted(&line.text)}</span> })}
                            {line.attachments.into_iter().map(|attachment| {
                                let (interaction, token) = chat.stored.get_untracked().map(|s| (s.interaction, s.token)).unwrap_or_default();
                                view! { <AttachmentView interaction attachment bearer=Some(token) /> }
                            }).collect_view()}
                            <span class="cw-meta">{line.time} {mine.then(|| view! { " · " <span class="cw-status">{status}</span> })}</span>
                        </li>
                    }
                }
            />
            <For
                each=move || chat.uploads.get()
                key=|u| (u.id, u.percent)
                children=move |u| {
                    let label = Texts::with(t.uploading, &u.name);
                    view! {
                        <li class="cw-msg cw-mine cw-upload" data-pending="true">
                            <span class="cw-text">{label.clone()}</span>
                            <progress max="100" value=u.percent aria-label=label></progress>
                        </li>
                    }
                }
            />
            {move || chat.agent_typing.get().map(|name| view! {
                <li class="cw-typing">{Texts::with(t.typing, &name)}</li>
            })}
            {move || chat.shows_ended().map(|e| view! {
                <li class="cw-ended" role="status">
                    {if e.by_contact { t.you_ended } else { t.chat_ended }} " " {t.write_again}
                </li>
            })}
        </ol>
    }
}

/// The pre-chat form: name and email as the site asks, before a new contact's first message.
#[component]
fn PreChat(chat: Chat, t: &'static Texts) -> impl IntoView {
    let form = chat.settings.with_value(|s| s.pre_chat);
    let (name, email) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let problem = RwSignal::new(None::<PreChatProblem>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match form.check(&name.get_untracked(), &email.get_untracked()) {
            Ok(details) => chat.save_details(details),
            Err(p) => problem.set(Some(p)),
        }
    };
    view! {
        <form class="cw-prechat" on:submit=submit novalidate>
            <p>{t.pre_chat_intro}</p>
            {detail_field(t, problem, form.name, t.name, "text", name)}
            {detail_field(t, problem, form.email, t.email, "email", email)}
            <p id="cw-prechat-problem" class="cw-problem" role="alert">{move || problem.get().map(|p| t.pre_chat_problem(p))}</p>
            <button class="cw-start" type="submit">{t.start_chat}</button>
        </form>
    }
}

/// One question of the pre-chat form, if the site asks it (`kind`), marked when `problem` is about it.
fn detail_field(
    t: &'static Texts,
    problem: RwSignal<Option<PreChatProblem>>,
    kind: Field,
    label: &'static str,
    input_type: &'static str,
    value: RwSignal<String>,
) -> Option<impl IntoView> {
    (kind != Field::Hidden).then(|| {
        let required = kind == Field::Required;
        let is_email = input_type == "email";
        let invalid = move || problem.get().is_some_and(|p| p.is_about_email() == is_email).to_string();
        view! {
            <label class="cw-field">
                <span>{label} {(!required).then(|| view! { <small>" (" {t.optional} ")"</small> })}</span>
                <input
                    type=input_type
                    required=required
                    autocomplete=if is_email { "email" } else { "name" }
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                    aria-invalid=invalid
                    aria-describedby="cw-prechat-problem"
                />
            </label>
        }
    })
}

#[component]
fn Composer(chat: Chat, t: &'static Texts, emoji_open: RwSignal<bool>) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let input: NodeRef<leptos::html::Textarea> = NodeRef::new();
    // The box grows with its text (Shift+Enter lines) up to its CSS max-height.
    let fit = move || {
        if let Some(el) = input.get_untracked() {
            let style = web_sys::HtmlElement::style(&el);
            let _ = style.set_property("height", "auto");
            if !el.value().is_empty() {
                let _ = style.set_property("height", &format!("{}px", el.scroll_height() + 2));
            }
        }
    };
    // Optional questions only: they stand above the message box, and the first message starts the chat with
    // what was answered (checked first: a mistyped email is pointed out, not sent).
    let form = chat.settings.with_value(|s| s.pre_chat);
    let (name, email) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let problem = RwSignal::new(None::<PreChatProblem>);
    let submit = move || {
        if chat.offers_details() && !draft.get_untracked().trim().is_empty() {
            match form.check(&name.get_untracked(), &email.get_untracked()) {
                Ok(details) => chat.keep_details(details),
                Err(p) => return problem.set(Some(p)),
            }
        }
        if chat.send(&draft.get_untracked()) {
            draft.set(String::new());
            chat.typing(false);
            if let Some(el) = input.get_untracked() {
                el.set_value("");
            }
            fit();
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
        let picker: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(files) = picker.files() {
            for i in 0..files.length() {
                if let Some(file) = files.get(i) {
                    chat.attach(file);
                }
            }
        }
        // Picking the same file again must fire `change` again.
        picker.set_value("");
    };
    // The emoji goes where the cursor is, and the cursor after it.
    let insert = move |emoji: &'static str| {
        if let Some(el) = input.get_untracked() {
            draft.set(insert_at_cursor(&el, emoji));
        }
        emoji_open.set(false);
    };
    view! {
        {move || chat.offers_details().then(|| view! {
            <div class="cw-details">
                {detail_field(t, problem, form.name, t.name, "text", name)}
                {detail_field(t, problem, form.email, t.email, "email", email)}
                <p id="cw-prechat-problem" class="cw-problem" role="alert">{move || problem.get().map(|p| t.pre_chat_problem(p))}</p>
            </div>
        })}
        <form class="cw-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || emoji_open.get().then(|| view! {
                <div class="cw-emoji-grid" role="group" aria-label=t.emoji>
                    {EMOJI.iter().map(|&e| view! {
                        <button type="button" class="cw-emoji" on:click=move |_| insert(e)>{e}</button>
                    }).collect_view()}
                </div>
            })}
            <label class="cw-tool cw-attach" title=t.attach>
                <svg class="cw-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path d="M16.5 6.5l-8.1 8.1a2 2 0 0 0 2.8 2.8l8.5-8.5a4 4 0 0 0-5.7-5.7L5.5 11.7a6 6 0 0 0 8.5 8.5l6-6"
                        fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
                </svg>
                <input type="file" class="cw-file" multiple accept=confab_protocol::attachments::FileKind::PICKER_ACCEPT aria-label=t.attach on:change=on_files />
            </label>
            <button
                type="button"
                class="cw-tool cw-emoji-toggle"
                aria-label=t.emoji
                title=t.emoji
                aria-expanded=move || emoji_open.get().to_string()
                on:click=move |_| emoji_open.update(|open| *open = !*open)
            >
                "☺"
            </button>
            <textarea
                class="cw-input"
                rows="1"
                node_ref=input
                placeholder=t.placeholder
                aria-label=t.message
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    chat.typing(!text.trim().is_empty());
                    draft.set(text);
                    fit();
                }
                on:keydown=on_keydown
            ></textarea>
            <button class="cw-send" type="submit" aria-label=t.send title=t.send>
                <svg class="cw-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
                    <path d="M3.4 20.4l17.5-7.5a1 1 0 0 0 0-1.8L3.4 3.6a1 1 0 0 0-1.4 1.2L4.5 12l-2.5 7.2a1 1 0 0 0 1.4 1.2z" fill="currentColor" />
                </svg>
            </button>
        </form>
    }
}

/// Puts the keyboard where the person types next: the pre-chat form's first field, else the message box.
/// (Opened from the page's launcher, the frame has the focus, but not any field in it.)
pub(crate) fn focus_first_field() {
    confab_client::view::set_timeout(
        || {
            let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
            let target = document
                .query_selector(".cw-prechat input")
                .ok()
                .flatten()
                .or_else(|| document.query_selector(".cw-input").ok().flatten());
            if let Some(element) =
                target.and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
            {
                let _ = element.focus();
            }
        },
        0,
    );
}
