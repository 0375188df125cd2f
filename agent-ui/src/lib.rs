//! # confab-agent-ui
//!
//! The agent desktop, served by the edge at `/agent/`. A Leptos client-side app:
//! - signs the agent in (the session is an `HttpOnly` cookie the app never sees);
//! - keeps the desk socket open ([`desk`]): presence, offers, this agent's log of chats, the roster;
//! - opens the selected conversation on its own socket ([`conversation`]): transcript, composer, timers,
//!   transfer ([`transfer`]), park, end and wrap-up ([`wrap`]);
//! - browses contacts and their history, and writes follow-ups that reactivate a conversation ([`contacts`]);
//! - for supervisors: the live view of queues, agents and SLA breaches ([`supervise`]) and the interaction
//!   records with export ([`records`]); for admins: the site's settings and accounts ([`settings`]);
//! - the first-run setup: a new site and its first admin, with the deployment's setup token.

// Leptos' #[component] gives a pub(crate) component a public props builder, which this lint flags.
#![allow(unreachable_pub)]

mod alerts;
mod contacts;
mod conversation;
mod desk;
mod records;
mod settings;
mod supervise;
mod transfer;
mod wrap;

use confab_client::api::{self, Failure};
use confab_client::clock_time;
use confab_protocol::admin::FirstRun;
use confab_protocol::api::{AgentProfile, SignIn};
use confab_protocol::format::clock_duration;
use confab_protocol::frames::{ConversationSummary, DeskClientFrame};
use confab_protocol::ids::SiteId;
use confab_protocol::lifecycle::{Phase, countdown};
use confab_protocol::routing::Presence;
use desk::{DeskState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Who is signed in: unknown while asking the edge, then `Some` or `None`.
#[derive(Debug, Clone, PartialEq)]
enum Auth {
    Checking,
    /// With the reason, when the edge ended the session.
    SignedOut(Option<String>),
    SignedIn(AgentProfile),
}

#[component]
pub fn AgentDesktop() -> impl IntoView {
    let auth = RwSignal::new(Auth::Checking);
    spawn_local(async move {
        let me: Result<AgentProfile, Failure> = api::request("GET", "/api/v1/agent/me", None::<&()>).await;
        auth.set(match me {
            Ok(profile) => Auth::SignedIn(profile),
            Err(_) => Auth::SignedOut(None),
        });
    });
    move || match auth.get() {
        Auth::Checking => view! { <p class="ad-loading">"Loading…"</p> }.into_any(),
        Auth::SignedOut(reason) => view! { <SignInForm auth reason /> }.into_any(),
        Auth::SignedIn(profile) => view! { <Workspace profile auth /> }.into_any(),
    }
}

#[component]
fn SignInForm(auth: RwSignal<Auth>, reason: Option<String>) -> impl IntoView {
    let first_run = RwSignal::new(false);
    move || {
        if first_run.get() {
            view! { <FirstRunForm auth first_run /> }.into_any()
        } else {
            view! { <SignInCard auth first_run reason=reason.clone() /> }.into_any()
        }
    }
}

/// The first-run flow: whoever deployed Confab (and so has its setup token) creates a site and its admin.
#[component]
fn FirstRunForm(auth: RwSignal<Auth>, first_run: RwSignal<bool>) -> impl IntoView {
    let token = RwSignal::new(String::new());
    let site = RwSignal::new(String::new());
    let site_name = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let body = FirstRun {
            setup_token: token.get_untracked().trim().to_owned(),
            site: SiteId(site.get_untracked().trim().to_owned()),
            site_name: site_name.get_untracked(),
            name: name.get_untracked(),
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let result: Result<AgentProfile, Failure> =
                api::request("POST", "/api/v1/setup", Some(&body)).await;
            busy.set(false);
            match result {
                Ok(profile) => auth.set(Auth::SignedIn(profile)),
                Err(failure) => error.set(Some(failure.message)),
            }
        });
    };
    let input = |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <main class="ad-signin">
            <form class="ad-card ad-setup" on:submit=submit>
                <h1>"Set up a site"</h1>
                <p class="ad-sub">"Create a site and its first admin account."</p>
                <label>"Setup token"
                    <input type="password" name="setup-token" required autocomplete="off" prop:value=move || token.get() on:input=input(token) />
                    <span class="ad-help">"The CONFAB_ADMIN_TOKEN this deployment was given (cargo xtask dev prints it)."</span>
                </label>
                <label>"Site id" <input name="site" required placeholder="my-shop" pattern="[a-z0-9-]{1,40}" prop:value=move || site.get() on:input=input(site) />
                    <span class="ad-help">"Lower-case letters, digits and '-': it goes into the script tag."</span></label>
                <label>"Site name" <input name="site-name" required placeholder="My Shop" prop:value=move || site_name.get() on:input=input(site_name) /></label>
                <label>"Your name" <input name="name" required autocomplete="name" prop:value=move || name.get() on:input=input(name) /></label>
                <label>"Your email" <input type="email" name="email" required autocomplete="username" prop:value=move || email.get() on:input=input(email) /></label>
                <label>"Password" <input type="password" name="password" required minlength="8" autocomplete="new-password" prop:value=move || password.get() on:input=input(password) /></label>
                {move || error.get().map(|e| view! { <p class="ad-error" role="alert">{e}</p> })}
                <button type="submit" class="ad-primary" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating…" } else { "Create site" }}
                </button>
                <button type="button" class="ad-link" on:click=move |_| first_run.set(false)>"Back to sign in"</button>
            </form>
        </main>
    }
}

#[component]
fn SignInCard(auth: RwSignal<Auth>, first_run: RwSignal<bool>, reason: Option<String>) -> impl IntoView {
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
                {reason.map(|r| view! { <p class="ad-signed-out" role="status">"You were signed out: " {r} "."</p> })}
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
                <button type="button" class="ad-link ad-first-run" on:click=move |_| first_run.set(true)>"Set up a new site"</button>
            </form>
        </main>
    }
}

#[component]
fn Workspace(profile: AgentProfile, auth: RwSignal<Auth>) -> impl IntoView {
    let name = profile.name.clone();
    let site = profile.site.to_string();
    let role = profile.role;
    let desk = DeskState::new(profile, move |reason| auth.set(Auth::SignedOut(reason)));
    on_cleanup(move || desk.close());
    let sign_out = move |_| {
        desk.send(DeskClientFrame::SetPresence { presence: Presence::Offline });
        desk.close();
        spawn_local(async move {
            let _ = api::request::<()>("DELETE", "/api/v1/agent/session", None::<&()>).await;
            auth.set(Auth::SignedOut(None));
        });
    };
    let on_presence = move |ev: leptos::ev::Event| {
        let chosen = match event_target_value(&ev).as_str() {
            "ready" => Presence::Ready,
            "not_ready" => Presence::NotReady,
            _ => Presence::Offline,
        };
        // A click is when browsers let a page ask for notifications.
        if chosen == Presence::Ready {
            alerts::ask_permission();
        }
        desk.send(DeskClientFrame::SetPresence { presence: chosen });
    };
    // Disconnected, the desktop does not know what the desk has (a missed offer may have set Not Ready, the
    // grace period may have run out): it says so rather than show a green "Ready" it cannot vouch for.
    let presence_value = move || match (desk.online.get(), desk.presence.get()) {
        (false, _) => "unknown",
        (true, Presence::Ready) => "ready",
        (true, Presence::NotReady) => "not_ready",
        (true, Presence::Offline) => "offline",
    };
    view! {
        <div class="ad-shell">
            <header class="ad-top">
                <span class="ad-brand">"Confab"</span>
                <label class="ad-presence-menu" data-presence=presence_value>
                    <span class="ad-dot" aria-hidden="true"></span>
                    <select name="presence" aria-label="Presence" prop:value=presence_value on:change=on_presence
                        prop:disabled=move || !desk.online.get()>
                        <option value="unknown" disabled=true hidden=true>"Presence unknown"</option>
                        <option value="ready">"Ready"</option>
                        <option value="not_ready">"Not Ready"</option>
                        <option value="offline">"Offline"</option>
                    </select>
                </label>
                <span class="ad-presence" data-online=move || desk.online.get().to_string() role="status">
                    {move || if desk.online.get() { "Connected" } else { "Connecting…" }}
                </span>
                <span class="ad-load" title="Chats you are handling, of your capacity">
                    {move || format!("{} / {} chats", desk.mine(&[Phase::Active]).len(), desk.capacity.get())}
                </span>
                <nav class="ad-nav" aria-label="Screens">
                    <NavButton desk screen=Screen::Nothing label="Chats" />
                    {role.may_supervise().then(|| view! {
                        <NavButton desk screen=Screen::LiveView label="Live view" />
                        <NavButton desk screen=Screen::Records label="Records" />
                    })}
                    {role.may_administer().then(|| view! { <NavButton desk screen=Screen::Settings label="Settings" /> })}
                </nav>
                <span class="ad-me">{name} " · " {site} " · " {role.label()}</span>
                <button class="ad-link" on:click=sign_out>"Sign out"</button>
            </header>
            <Log desk />
            <main class="ad-main">
                <Notices desk />
                {move || match desk.screen.get() {
                    Screen::Conversation(id) => view! { <conversation::ConversationView desk interaction=id /> }.into_any(),
                    Screen::Contacts => view! { <contacts::Contacts desk /> }.into_any(),
                    Screen::LiveView => view! { <supervise::LiveView desk /> }.into_any(),
                    Screen::Records => view! { <records::Records desk /> }.into_any(),
                    Screen::Settings => view! { <settings::Settings desk /> }.into_any(),
                    Screen::Nothing => view! {
                        <p class="ad-placeholder">"Set yourself Ready to receive chats, or open one from the left."</p>
                    }.into_any(),
                }}
            </main>
        </div>
    }
}

/// A header button that switches the main area ("Chats" stands for the conversation screens).
#[component]
fn NavButton(desk: DeskState, screen: Screen, label: &'static str) -> impl IntoView {
    let current = move || {
        let shown = desk.screen.get();
        let chats = |s: Screen| matches!(s, Screen::Nothing | Screen::Conversation(_) | Screen::Contacts);
        (shown == screen || (screen == Screen::Nothing && chats(shown))).then_some("page")
    };
    view! {
        <button class="ad-nav-item" aria-current=current on:click=move |_| desk.screen.set(screen)>{label}</button>
    }
}

#[component]
fn Notices(desk: DeskState) -> impl IntoView {
    view! {
        <div class="ad-notices" role="status" aria-live="polite">
            <For
                each=move || desk.notices.get()
                key=|n| n.id
                children=move |n| {
                    let (id, about) = (n.id, n.interaction);
                    view! {
                        <p class="ad-notice">
                            <span>{n.text}</span>
                            {about.map(|interaction| view! {
                                <button class="ad-link" on:click=move |_| {
                                    desk.screen.set(Screen::Conversation(interaction));
                                    desk.dismiss(id);
                                }>"Open"</button>
                            })}
                            <button class="ad-link" aria-label="Dismiss" on:click=move |_| desk.dismiss(id)>"Dismiss"</button>
                        </p>
                    }
                }
            />
        </div>
    }
}

/// The left column: offered chats, then this agent's chats by phase, then the way to contacts.
#[component]
fn Log(desk: DeskState) -> impl IntoView {
    let offers = move || desk.offers.get();
    view! {
        <nav class="ad-log" aria-label="Conversation log">
            {move || (!desk.offers.with(Vec::is_empty)).then(|| view! {
                <h2>"Incoming " <span class="ad-new" aria-label="new">{move || desk.offers.with(Vec::len)}</span></h2>
                <ul class="ad-offers">
                    <For
                        each=offers
                        key=|o| (o.interaction, o.expires)
                        children=move |o| {
                            let id = o.interaction;
                            let expires = o.expires;
                            view! {
                                <li class="ad-offer" data-interaction=id.to_string()>
                                    <button class="ad-offer-open" on:click=move |_| desk.screen.set(Screen::Conversation(id))
                                        title="Read the conversation before answering">
                                        <span class="ad-contact">{o.card.contact_label.clone()}</span>
                                        {o.transfer_from.clone().map(|from| view! { <span class="ad-transfer">"Transfer from " {from}</span> })}
                                        <span class="ad-preview">{move || {
                                            // The log's item is kept current; the card is what the desk knew when offering.
                                            let latest = desk.summary(id).and_then(|s| s.last_text);
                                            latest.or_else(|| o.card.last_text.clone()).unwrap_or_else(|| "New chat".into())
                                        }}</span>
                                    </button>
                                    <span class="ad-offer-actions">
                                        <button class="ad-primary ad-accept" on:click=move |_| { desk.send(DeskClientFrame::Accept { interaction: id }); }>"Accept"</button>
                                        {move || (!desk.auto_accept.get()).then(|| view! {
                                            <button class="ad-secondary ad-reject" on:click=move |_| { desk.send(DeskClientFrame::Reject { interaction: id }); }>"Reject"</button>
                                        })}
                                        <span class="ad-expires">{move || clock_duration(expires - desk.now.get())}</span>
                                    </span>
                                </li>
                            }
                        }
                    />
                </ul>
            })}
            <LogSection desk title="Active" phases=&[Phase::Active] empty="No active chats." />
            <LogSection desk title="Parked" phases=&[Phase::Parked] empty="Nothing parked." />
            <LogSection desk title="Wrap-up" phases=&[Phase::Wrap] empty="" />
            <h2>"Contacts"</h2>
            <ul>
                <li>
                    <button class="ad-card-item ad-contacts-open"
                        aria-current=move || (desk.screen.get() == Screen::Contacts).then_some("page")
                        on:click=move |_| desk.screen.set(Screen::Contacts)>
                        <span class="ad-contact">"Contacts and history"</span>
                        <span class="ad-preview">"Earlier conversations, search, follow-ups"</span>
                    </button>
                </li>
            </ul>
        </nav>
    }
}

/// One group of this agent's chats. Parked and wrap-up items count down to their deadline.
#[component]
fn LogSection(
    desk: DeskState,
    title: &'static str,
    phases: &'static [Phase],
    empty: &'static str,
) -> impl IntoView {
    let items = move || desk.mine(phases);
    view! {
        {move || {
            let count = items().len();
            (count > 0 || !empty.is_empty()).then(|| view! {
                <h2>{title} " " <span class="ad-count">{count}</span></h2>
                {(count == 0).then(|| view! { <p class="ad-empty">{empty}</p> })}
            })
        }}
        <ul class="ad-section" data-section=title.to_lowercase()>
            <For each=items key=|c| format!("{}-{}-{:?}", c.interaction, c.last_at, c.status) children=move |c| view! { <LogItem desk item=c /> } />
        </ul>
    }
}

#[component]
fn LogItem(desk: DeskState, item: ConversationSummary) -> impl IntoView {
    let id = item.interaction;
    let until = item.status.as_ref().and_then(|s| s.until);
    view! {
        <li>
            <button
                class="ad-card-item"
                data-interaction=id.to_string()
                aria-current=move || (desk.screen.get() == Screen::Conversation(id)).then_some("true")
                on:click=move |_| desk.screen.set(Screen::Conversation(id))
            >
                <span class="ad-contact">{item.contact_label.clone()}</span>
                {match until {
                    Some(until) => view! {
                        <span class="ad-countdown" data-urgent=move || countdown(until, desk.now.get()).urgent.to_string()>
                            {move || clock_duration(countdown(until, desk.now.get()).remaining_ms)}
                        </span>
                    }.into_any(),
                    None => view! { <span class="ad-time">{clock_time(item.last_at)}</span> }.into_any(),
                }}
                <span class="ad-preview">{item.last_text.clone().unwrap_or_else(|| "New chat".into())}</span>
            </button>
        </li>
    }
}
