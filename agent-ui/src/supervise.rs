//! The supervisor's live view: each queue's length and longest wait, each agent's presence and load, and the
//! service-level breaches, from the desk's `overview` frames. Waits tick every second from the timestamps in
//! the overview (`desk.now`), so the view stays true between updates.

use crate::desk::{DeskState, Screen};
use confab_protocol::format::clock_duration;
use confab_protocol::routing::Presence;
use confab_protocol::supervision::{BreachKind, Overview};
use leptos::prelude::*;

fn presence_label(presence: Presence) -> &'static str {
    match presence {
        Presence::Ready => "Ready",
        Presence::NotReady => "Not Ready",
        Presence::Offline => "Offline",
    }
}

fn presence_key(presence: Presence) -> &'static str {
    match presence {
        Presence::Ready => "ready",
        Presence::NotReady => "not_ready",
        Presence::Offline => "offline",
    }
}

#[component]
pub(crate) fn LiveView(desk: DeskState) -> impl IntoView {
    let now = move || desk.now.get();
    view! {
        <section class="ad-page ad-live" aria-label="Live view">
            <header class="ad-page-head">
                <h1>"Live view"</h1>
                <p class="ad-muted">"Queues, agents and service levels, as they change."</p>
            </header>
            {move || match desk.overview.get() {
                None => view! { <p class="ad-placeholder">"Waiting for the desk…"</p> }.into_any(),
                Some(overview) => {
                    let (ready, not_ready, offline) = overview.presence_counts();
                    let waiting: u32 = overview.queues.iter().map(|q| q.waiting).sum();
                    let targets = overview.targets;
                    let breaches = overview.breaches(now());
                    let breach_count = breaches.len();
                    view! {
                        <div class="ad-tiles">
                            <div class="ad-tile"><span class="ad-tile-value" data-testid="waiting-total">{waiting}</span><span>"waiting"</span></div>
                            <div class="ad-tile"><span class="ad-tile-value">{ready}</span><span>"Ready"</span></div>
                            <div class="ad-tile"><span class="ad-tile-value">{not_ready}</span><span>"Not Ready"</span></div>
                            <div class="ad-tile"><span class="ad-tile-value">{offline}</span><span>"Offline"</span></div>
                            <div class="ad-tile" data-alert=(breach_count > 0).to_string()>
                                <span class="ad-tile-value" data-testid="breach-total">{breach_count}</span><span>"SLA breaches"</span>
                            </div>
                        </div>
                        <div class="ad-live-grid">
                            <div class="ad-panel">
                                <h2>"Queues"</h2>
                                <table class="ad-table ad-queues">
                                    <thead><tr><th>"Queue"</th><th>"Waiting"</th><th>"Longest wait"</th></tr></thead>
                                    <tbody>
                                        {overview.queues.iter().map(|q| {
                                            let longest = Overview::longest_wait(q, now());
                                            let over = longest.is_some_and(|w| w > targets.queue_wait_ms);
                                            view! {
                                                <tr data-queue=q.queue.to_string()>
                                                    <td>{q.queue.to_string()}</td>
                                                    <td class="ad-num">{q.waiting}</td>
                                                    <td class="ad-num" data-over=over.to_string()>{longest.map_or_else(|| "–".to_owned(), clock_duration)}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <div class="ad-panel">
                                <h2>"Agents"</h2>
                                <table class="ad-table ad-agents">
                                    <thead><tr><th>"Agent"</th><th>"Presence"</th><th>"Chats"</th></tr></thead>
                                    <tbody>
                                        {overview.agents.iter().map(|a| {
                                            let full = a.load >= a.capacity;
                                            view! {
                                                <tr data-agent=a.agent.to_string()>
                                                    <td>{a.name.clone()}</td>
                                                    <td><span class="ad-presence-tag" data-presence=presence_key(a.presence)>{presence_label(a.presence)}</span></td>
                                                    <td class="ad-num">
                                                        <span class="ad-load-bar" aria-hidden="true">
                                                            <span style=format!("width: {}%", (a.load * 100).checked_div(a.capacity).unwrap_or(0).min(100)) data-full=full.to_string()></span>
                                                        </span>
                                                        {format!("{} / {}", a.load, a.capacity)}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </div>
                        <div class="ad-panel">
                            <h2>"SLA breaches"</h2>
                            <p class="ad-muted">{format!(
                                "Targets: an agent within {} of waiting, an answer within {}. Change them in Settings.",
                                clock_duration(targets.queue_wait_ms), clock_duration(targets.reply_ms)
                            )}</p>
                            {if breaches.is_empty() {
                                view! { <p class="ad-empty">"None right now."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="ad-table ad-breaches">
                                        <thead><tr><th>"Contact"</th><th>"Waiting for"</th><th>"Agent"</th><th>"For"</th><th></th></tr></thead>
                                        <tbody>
                                            {breaches.into_iter().map(|b| {
                                                let id = b.interaction;
                                                let what = match b.kind {
                                                    BreachKind::QueueWait => "an agent",
                                                    BreachKind::Reply => "an answer",
                                                };
                                                let agent = b.agent.map(|a| desk.agent_name(&a)).unwrap_or_else(|| "–".into());
                                                view! {
                                                    <tr class="ad-breach" data-kind=format!("{:?}", b.kind)>
                                                        <td>{b.contact_label}</td>
                                                        <td>{what}</td>
                                                        <td>{agent}</td>
                                                        <td class="ad-num ad-over">{clock_duration(b.waited_ms)}</td>
                                                        <td><button class="ad-link" on:click=move |_| desk.screen.set(Screen::Conversation(id))>"Open"</button></td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}
