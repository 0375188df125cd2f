//! # confab-agent-ui
//!
//! The agent desktop, served by the edge at `/agent/`. A Leptos client-side app:
//! - signs the agent in (the session is an `HttpOnly` cookie the app never sees);
//! - keeps the desk socket open: the site's conversations, live;
//! - opens the selected conversation on its own socket (the same protocol as the widget, as an agent) and
//!   replies from a composer where Enter sends and Shift+Enter inserts a newline.

use confab_client::api::{self, Failure};
use confab_client::conversation::{ConversationLink, Events, Link};
use confab_client::socket::Handlers;
use confab_client::{Socket, SocketStatus, clock_time, socket_url};
use confab_protocol::api::{AgentProfile, SignIn};
use confab_protocol::delivery::ClientLog;
use confab_protocol::frames::{Author, ConversationSummary, DeskFrame, ErrorCode};
use confab_protocol::ids::InteractionId;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::KeyboardEvent;

/// Who is signed in: unknown while asking the edge, then `Some` or `None`.
#[derive(Debug, Clone, PartialEq)]
enum Auth {
    Checking,
    SignedOut,
    SignedIn(AgentProfile),
}

#[component]
pub fn AgentDesktop() -> impl IntoView {
    let auth = RwSignal::new(Auth::Checking);
    spawn_local(async move {
        let me: Result<AgentProfile, Failure> = api::request("GET", "/api/v1/agent/me", None::<&()>).await;
        auth.set(match me {
            Ok(profile) => Auth::SignedIn(profile),
            Err(_) => Auth::SignedOut,
        });
    });
    move || match auth.get() {
        Auth::Checking => view! { <p class="ad-loading">"Loading…"</p> }.into_any(),
        Auth::SignedOut => view! { <SignInForm auth /> }.into_any(),
        Auth::SignedIn(profile) => view! { <Desk profile auth /> }.into_any(),
    }
}

#[component]
fn SignInForm(auth: RwSignal<Auth>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let body = SignIn { email: email.get_untracked(), password: password.get_untracked() };
        spawn_local(async move {
            let result: Result<AgentProfile, Failure> =
                api::request("POST", "/api/v1/agent/session", Some(&body)).await;
            busy.set(false);
            match result {
                Ok(profile) => auth.set(Auth::SignedIn(profile)),
                Err(failure) => error.set(Some(failure.message)),
            }
        });
    };
    view! {
        <main class="ad-signin">
            <form class="ad-card" on:submit=submit>
                <h1>"Confab"</h1>
                <p class="ad-sub">"Sign in to the agent desktop"</p>
                <label>"Email"
                    <input type="email" name="email" autocomplete="username" required
                        prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) />
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required
                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                </label>
                {move || error.get().map(|e| view! { <p class="ad-error" role="alert">{e}</p> })}
                <button type="submit" class="ad-primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </main>
    }
}

#[component]
fn Desk(profile: AgentProfile, auth: RwSignal<Auth>) -> impl IntoView {
    let conversations = RwSignal::new(Vec::<ConversationSummary>::new());
    let desk_online = RwSignal::new(false);
    let selected = RwSignal::new(None::<InteractionId>);
    let desk = Socket::open(
        socket_url("/api/v1/desk/socket"),
        Handlers {
            on_open: Box::new(|| {}),
            on_text: Box::new(move |text| {
                if let Ok(DeskFrame::Conversations { items }) = DeskFrame::decode(&text) {
                    conversations.set(items);
                }
            }),
            on_status: Box::new(move |s| desk_online.set(s == SocketStatus::Open)),
            on_refused: Box::new(move |_| auth.set(Auth::SignedOut)),
        },
    );
    let desk = StoredValue::new_local(desk);
    on_cleanup(move || desk.with_value(Socket::close));
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = api::request::<()>("DELETE", "/api/v1/agent/session", None::<&()>).await;
            auth.set(Auth::SignedOut);
        });
    };
    view! {
        <div class="ad-shell">
            <header class="ad-top">
                <span class="ad-brand">"Confab"</span>
                <span class="ad-presence" data-online=move || desk_online.get().to_string()>
                    {move || if desk_online.get() { "Connected" } else { "Connecting…" }}
                </span>
                <span class="ad-me">{profile.name.clone()} " · " {profile.site.to_string()}</span>
                <button class="ad-link" on:click=sign_out>"Sign out"</button>
            </header>
            <nav class="ad-log" aria-label="Conversations">
                <h2>"Conversations"</h2>
                {move || conversations.with(Vec::is_empty).then(|| view! {
                    <p class="ad-empty">"No conversations yet. New chats appear here."</p>
                })}
                <ul>
                    <For
                        each=move || conversations.get()
                        key=|c| (c.interaction, c.last_at, c.last_text.clone())
                        children=move |c| {
                            let id = c.interaction;
                            view! {
                                <li>
                                    <button
                                        class="ad-card-item"
                                        aria-current=move || (selected.get() == Some(id)).then_some("true")
                                        on:click=move |_| selected.set(Some(id))
                                    >
                                        <span class="ad-contact">{c.contact_label.clone()}</span>
                                        <span class="ad-time">{clock_time(c.last_at)}</span>
                                        <span class="ad-preview">{c.last_text.clone().unwrap_or_else(|| "New chat".into())}</span>
                                    </button>
                                </li>
                            }
                        }
                    />
                </ul>
            </nav>
            <main class="ad-main">
                {move || match selected.get() {
                    Some(id) => view! { <ConversationView interaction=id /> }.into_any(),
                    None => view! { <p class="ad-placeholder">"Select a conversation to open it."</p> }.into_any(),
                }}
            </main>
        </div>
    }
}

/// One open conversation: transcript and composer, on the conversation's own socket.
#[component]
fn ConversationView(interaction: InteractionId) -> impl IntoView {
    let log = RwSignal::new(ClientLog::default());
    let link_state = RwSignal::new(Link::Connecting);
    let notice = RwSignal::new(None::<String>);
    let link = ConversationLink::open(
        &interaction.to_string(),
        None,
        ClientLog::default(),
        Events {
            on_log: Box::new(move |l| log.set(l.clone())),
            on_link: Box::new(move |s| link_state.set(s)),
            on_error: Box::new(move |_, m| notice.set(Some(m))),
            on_refused: Box::new(move || {
                notice.set(Some("You can no longer open this conversation.".into()))
            }),
        },
    );
    let link = StoredValue::new_local(link);
    on_cleanup(move || link.with_value(ConversationLink::close));

    let draft = RwSignal::new(String::new());
    let submit = move || match link.with_value(|l| l.write(&draft.get_untracked())) {
        Ok(()) => {
            draft.set(String::new());
            notice.set(None);
        }
        Err(e) if e.code() == ErrorCode::EmptyMessage => {}
        Err(e) => notice.set(Some(e.to_string())),
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let transcript: NodeRef<leptos::html::Ol> = NodeRef::new();
    Effect::new(move |_| {
        log.track();
        if let Some(list) = transcript.get() {
            list.set_scroll_top(list.scroll_height());
        }
    });
    view! {
        <section class="ad-conversation" aria-label="Conversation">
            <header class="ad-conv-head">
                <span>"Interaction " <code class="ad-id">{interaction.to_string()}</code></span>
                <span class="ad-link-state">{move || match link_state.get() {
                    Link::Online => "",
                    Link::Connecting => "Connecting…",
                    Link::Offline => "Offline — reconnecting",
                    Link::Closed => "Closed",
                }}</span>
            </header>
            <ol class="ad-transcript" node_ref=transcript aria-live="polite">
                <For
                    each=move || log.get().messages
                    key=|m| m.seq
                    children=|m| {
                        let (class, who) = match &m.author {
                            Author::Agent { name, .. } => ("ad-msg ad-from-agent", name.clone()),
                            _ => ("ad-msg ad-from-contact", "Contact".to_owned()),
                        };
                        view! {
                            <li class=class>
                                <span class="ad-who">{who} " · " {clock_time(m.at)}</span>
                                <span class="ad-text">{m.text}</span>
                            </li>
                        }
                    }
                />
                <For
                    each=move || log.get().outbox
                    key=|o| o.client_id
                    children=|o| view! {
                        <li class="ad-msg ad-from-agent" data-pending="true">
                            <span class="ad-who">"Sending…"</span>
                            <span class="ad-text">{o.text}</span>
                        </li>
                    }
                />
            </ol>
            {move || notice.get().map(|n| view! { <p class="ad-error" role="alert">{n}</p> })}
            <form class="ad-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <textarea
                    class="ad-input"
                    rows="2"
                    placeholder="Reply… (Enter sends, Shift+Enter for a new line)"
                    aria-label="Reply"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=on_keydown
                ></textarea>
                <button class="ad-primary" type="submit">"Send"</button>
            </form>
        </section>
    }
}
