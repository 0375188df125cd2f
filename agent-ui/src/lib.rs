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
use confab_client::view::{AttachmentView, formatted, set_timeout};
use confab_client::{Socket, SocketStatus, clock_time, now_ms, socket_url};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::api::{AgentProfile, SignIn};
use confab_protocol::delivery;
use confab_protocol::delivery::ClientLog;
use confab_protocol::frames::{
    Author, ClientFrame, ConversationSummary, DeskClientFrame, DeskFrame, ErrorCode, Participant, ServerFrame,
};
use confab_protocol::ids::InteractionId;
use confab_protocol::lifecycle::Phase;
use confab_protocol::routing::{OfferKind, Presence, TransferOutcome};
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

/// An offer card waiting for Accept or Reject.
#[derive(Debug, Clone, PartialEq)]
struct OfferCard {
    interaction: InteractionId,
    card: ConversationSummary,
    transfer_from: Option<String>,
}

#[component]
fn Desk(profile: AgentProfile, auth: RwSignal<Auth>) -> impl IntoView {
    let conversations = RwSignal::new(Vec::<ConversationSummary>::new());
    let desk_online = RwSignal::new(false);
    let selected = RwSignal::new(None::<InteractionId>);
    let presence = RwSignal::new(Presence::Offline);
    let offers = RwSignal::new(Vec::<OfferCard>::new());
    let notice = RwSignal::new(None::<String>);
    let desk: StoredValue<Option<Socket>, LocalStorage> = StoredValue::new_local(None);
    let send = move |frame: DeskClientFrame| {
        let sent = desk.with_value(|s| s.as_ref().is_some_and(|s| s.send(&frame.encode())));
        if !sent {
            notice.set(Some("Not connected to the desk; trying again…".into()));
        }
    };
    let on_frame = move |frame: DeskFrame| match frame {
        DeskFrame::Welcome { presence: p, .. } | DeskFrame::Presence { presence: p } => presence.set(p),
        DeskFrame::Conversations { items } => conversations.set(items),
        DeskFrame::Offer { interaction, kind, card, .. } => offers.update(|o| {
            o.retain(|c| c.interaction != interaction);
            let transfer_from = match kind {
                OfferKind::Transfer { from } => Some(from.0),
                OfferKind::Queue => None,
            };
            o.push(OfferCard { interaction, card, transfer_from });
        }),
        DeskFrame::OfferWithdrawn { interaction, .. } => {
            offers.update(|o| o.retain(|c| c.interaction != interaction))
        }
        DeskFrame::Assigned { interaction, .. } => {
            offers.update(|o| o.retain(|c| c.interaction != interaction));
            selected.set(Some(interaction));
        }
        DeskFrame::Requeued { .. } => notice.set(Some("A chat went back to the queue.".into())),
        DeskFrame::TransferEnded { outcome, .. } => notice.set(Some(match outcome {
            TransferOutcome::Accepted { by } => format!("Transfer accepted by {by}."),
            TransferOutcome::Rejected { by } => {
                format!("{by} rejected the transfer; the chat stays with you.")
            }
            TransferOutcome::Expired => {
                "Nobody accepted the transfer in time; the chat stays with you.".into()
            }
            TransferOutcome::Cancelled => "The transfer was cancelled.".into(),
        })),
        DeskFrame::Error { message, .. } => notice.set(Some(message)),
        DeskFrame::Roster { .. } | DeskFrame::ContactAnswered { .. } | DeskFrame::Unknown => {}
    };
    let socket = Socket::open(
        socket_url("/api/v1/desk/socket"),
        Handlers {
            on_open: Box::new(move || send(DeskClientFrame::Hello { version: PROTOCOL_VERSION })),
            on_text: Box::new(move |text| {
                if let Ok(frame) = DeskFrame::decode(&text) {
                    on_frame(frame);
                }
            }),
            on_status: Box::new(move |s| desk_online.set(s == SocketStatus::Open)),
            on_refused: Box::new(move |_| auth.set(Auth::SignedOut)),
        },
    );
    desk.set_value(Some(socket));
    on_cleanup(move || desk.with_value(|s| s.iter().for_each(Socket::close)));
    let sign_out = move |_| {
        send(DeskClientFrame::SetPresence { presence: Presence::Offline });
        spawn_local(async move {
            let _ = api::request::<()>("DELETE", "/api/v1/agent/session", None::<&()>).await;
            auth.set(Auth::SignedOut);
        });
    };
    let on_presence = move |ev: leptos::ev::Event| {
        let chosen = match event_target_value(&ev).as_str() {
            "ready" => Presence::Ready,
            "not_ready" => Presence::NotReady,
            _ => Presence::Offline,
        };
        send(DeskClientFrame::SetPresence { presence: chosen });
    };
    let presence_value = move || match presence.get() {
        Presence::Ready => "ready",
        Presence::NotReady => "not_ready",
        Presence::Offline => "offline",
    };
    view! {
        <div class="ad-shell">
            <header class="ad-top">
                <span class="ad-brand">"Confab"</span>
                <label class="ad-presence-menu" data-presence=presence_value>
                    <span class="ad-dot" aria-hidden="true"></span>
                    <select name="presence" aria-label="Presence" prop:value=presence_value on:change=on_presence>
                        <option value="ready">"Ready"</option>
                        <option value="not_ready">"Not Ready"</option>
                        <option value="offline">"Offline"</option>
                    </select>
                </label>
                <span class="ad-presence" data-online=move || desk_online.get().to_string()>
                    {move || if desk_online.get() { "Connected" } else { "Connecting…" }}
                </span>
                <span class="ad-me">{profile.name.clone()} " · " {profile.site.to_string()}</span>
                <button class="ad-link" on:click=sign_out>"Sign out"</button>
            </header>
            <nav class="ad-log" aria-label="Conversations">
                {move || notice.get().map(|n| view! {
                    <p class="ad-notice" role="status">
                        {n} " " <button class="ad-link" on:click=move |_| notice.set(None)>"Dismiss"</button>
                    </p>
                })}
                {move || (!offers.with(Vec::is_empty)).then(|| view! {
                    <h2>"Incoming"</h2>
                    <ul class="ad-offers">
                        <For
                            each=move || offers.get()
                            key=|o| o.interaction
                            children=move |o| {
                                let id = o.interaction;
                                view! {
                                    <li class="ad-offer" data-interaction=id.to_string()>
                                        <span class="ad-contact">{o.card.contact_label.clone()}</span>
                                        {o.transfer_from.map(|from| view! { <span class="ad-transfer">"Transfer from " {from}</span> })}
                                        <span class="ad-preview">{o.card.last_text.clone().unwrap_or_else(|| "New chat".into())}</span>
                                        <span class="ad-offer-actions">
                                            <button class="ad-primary ad-accept" on:click=move |_| send(DeskClientFrame::Accept { interaction: id })>"Accept"</button>
                                            <button class="ad-secondary ad-reject" on:click=move |_| send(DeskClientFrame::Reject { interaction: id })>"Reject"</button>
                                        </span>
                                    </li>
                                }
                            }
                        />
                    </ul>
                })}
                <h2>"Conversations"</h2>
                {move || conversations.with(Vec::is_empty).then(|| view! {
                    <p class="ad-empty">"No conversations yet. Set yourself Ready to receive chats."</p>
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

fn phase_name(phase: Phase) -> String {
    serde_json::to_value(phase).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// How a phase reads in the conversation header.
fn phase_label(phase: Phase) -> &'static str {
    match phase {
        Phase::New | Phase::Queued => "Waiting for an agent",
        Phase::Offered => "Offered",
        Phase::Active => "Active",
        Phase::Parked => "Parked",
        Phase::Ended => "Ended",
        Phase::Wrap => "Wrap-up",
        Phase::Completed => "Completed",
    }
}

/// One open conversation: transcript and composer, on the conversation's own socket.
#[component]
fn ConversationView(interaction: InteractionId) -> impl IntoView {
    let log = RwSignal::new(ClientLog::default());
    let link_state = RwSignal::new(Link::Connecting);
    let notice = RwSignal::new(None::<String>);
    let phase = RwSignal::new(None::<Phase>);
    let contact_typing = RwSignal::new(false);
    let typing_seen_at = StoredValue::new(0i64);
    let typing_sent_at = StoredValue::new(0i64);
    let on_news = move |frame: ServerFrame| match frame {
        ServerFrame::State { view } => phase.set(Some(view.phase)),
        ServerFrame::Typing { who: Participant::Contact, on } => {
            typing_seen_at.set_value(now_ms());
            contact_typing.set(on);
            if on {
                set_timeout(
                    move || {
                        if now_ms() - typing_seen_at.get_value() >= delivery::TYPING_TIMEOUT_MS {
                            contact_typing.set(false);
                        }
                    },
                    delivery::TYPING_TIMEOUT_MS,
                );
            }
        }
        _ => {}
    };
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
            on_news: Box::new(on_news),
        },
        ServerFrame::decode,
    );
    let link = StoredValue::new_local(link);
    on_cleanup(move || link.with_value(ConversationLink::close));

    let draft = RwSignal::new(String::new());
    // Tells the contact the agent is typing, at most every few seconds.
    let typing = move |on: bool| {
        let now = now_ms();
        if delivery::typing_due(on, typing_sent_at.get_value(), now)
            && link.with_value(|l| l.send(&ClientFrame::Typing { on }))
        {
            typing_sent_at.set_value(if on { now } else { 0 });
        }
    };
    let submit = move || match link.with_value(|l| l.write(&draft.get_untracked())) {
        Ok(()) => {
            draft.set(String::new());
            notice.set(None);
            typing(false);
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
                <span class="ad-phase" data-phase=move || phase.get().map(phase_name).unwrap_or_default()>
                    {move || phase.get().map(phase_label)}
                </span>
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
                    children=move |m| {
                        let (class, who) = match &m.author {
                            Author::Agent { name, .. } => ("ad-msg ad-from-agent", name.clone()),
                            _ => ("ad-msg ad-from-contact", "Contact".to_owned()),
                        };
                        view! {
                            <li class=class>
                                <span class="ad-who">{who} " · " {clock_time(m.at)}</span>
                                <span class="ad-text">{formatted(&m.text)}</span>
                                {m.attachments.into_iter().map(|attachment| view! {
                                    <AttachmentView interaction=interaction.to_string() attachment bearer=None />
                                }).collect_view()}
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
                {move || contact_typing.get().then(|| view! { <li class="ad-typing">"The contact is typing…"</li> })}
            </ol>
            {move || notice.get().map(|n| view! { <p class="ad-error" role="alert">{n}</p> })}
            <form class="ad-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <textarea
                    class="ad-input"
                    rows="2"
                    placeholder="Reply… (Enter sends, Shift+Enter for a new line)"
                    aria-label="Reply"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        typing(!text.trim().is_empty());
                        draft.set(text);
                    }
                    on:keydown=on_keydown
                ></textarea>
                <button class="ad-primary" type="submit">"Send"</button>
            </form>
        </section>
    }
}
