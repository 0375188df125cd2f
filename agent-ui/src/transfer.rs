//! The transfer dialog: Ready agents with free capacity and the site's queues, searchable, with the targets
//! this agent used recently first. A cold transfer: the chat stays with this agent until the receiver
//! accepts, and the customer notices nothing.

use crate::desk::DeskState;
use confab_client::storage;
use confab_protocol::frames::DeskClientFrame;
use confab_protocol::ids::{AgentId, InteractionId, QueueId};
use confab_protocol::routing::{Presence, TransferTarget};
use leptos::prelude::*;

/// Where the last few targets are kept (per browser).
const RECENT_KEY: &str = "confab.agent.recent-transfers";
const RECENT_COUNT: usize = 5;

/// One row of the dialog.
#[derive(Debug, Clone, PartialEq)]
struct Choice {
    target: TransferTarget,
    label: String,
    detail: String,
    /// Agents who are not Ready or are full cannot receive; they are listed, greyed.
    available: bool,
}

fn target_key(target: &TransferTarget) -> String {
    match target {
        TransferTarget::Agent(AgentId(id)) => format!("agent:{id}"),
        TransferTarget::Queue(QueueId(id)) => format!("queue:{id}"),
    }
}

#[component]
pub(crate) fn TransferDialog(
    desk: DeskState,
    interaction: InteractionId,
    close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let recent_only = RwSignal::new(false);
    let recent: Vec<String> = storage::load(RECENT_KEY).unwrap_or_default();
    let recent = StoredValue::new(recent);
    let choices = move || {
        let me = desk.me();
        let (agents, mut queues) = desk.roster.get();
        let default = QueueId("default".into());
        if !queues.contains(&default) {
            queues.insert(0, default);
        }
        let words = query.get().to_lowercase();
        let mut choices: Vec<Choice> = agents
            .into_iter()
            .filter(|a| a.agent != me)
            .map(|a| {
                let available = a.can_receive_transfer();
                let detail = match (a.presence, a.free) {
                    (Presence::Ready, 0) => "Ready · no free slot".to_owned(),
                    (Presence::Ready, free) => format!("Ready · {free} free"),
                    (Presence::NotReady, _) => "Not Ready".to_owned(),
                    (Presence::Offline, _) => "Offline".to_owned(),
                };
                Choice { target: TransferTarget::Agent(a.agent), label: a.name, detail, available }
            })
            .chain(queues.into_iter().map(|q| Choice {
                label: format!("Queue: {}", q.0),
                detail: "The next Ready agent".into(),
                target: TransferTarget::Queue(q),
                available: true,
            }))
            .filter(|c| words.split_whitespace().all(|w| c.label.to_lowercase().contains(w)))
            .collect();
        recent.with_value(|recent| {
            if recent_only.get() {
                choices.retain(|c| recent.contains(&target_key(&c.target)));
            }
            // Recently used first, then available before unavailable.
            choices.sort_by_key(|c| {
                (recent.iter().position(|r| *r == target_key(&c.target)).unwrap_or(usize::MAX), !c.available)
            });
        });
        choices
    };
    let send = move |target: TransferTarget| {
        if desk.send(DeskClientFrame::Transfer { interaction, target: target.clone() }) {
            let key = target_key(&target);
            recent.update_value(|r| {
                r.retain(|x| *x != key);
                r.insert(0, key);
                r.truncate(RECENT_COUNT);
            });
            recent.with_value(|r| storage::save(RECENT_KEY, r));
            close();
        }
    };
    let search: NodeRef<leptos::html::Input> = NodeRef::new();
    Effect::new(move |_| {
        if let Some(input) = search.get() {
            let _ = input.focus();
        }
    });
    view! {
        <div class="ad-modal-backdrop" on:click=move |_| close()>
            <div class="ad-modal" role="dialog" aria-modal="true" aria-label="Transfer the chat"
                on:click=|ev| ev.stop_propagation()
                on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Escape" { close() }>
                <h2>"Transfer to…"</h2>
                <div class="ad-modal-tools">
                    <input type="search" node_ref=search placeholder="Search agents and queues" aria-label="Search agents and queues"
                        prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev)) />
                    <label class="ad-check"><input type="checkbox" prop:checked=move || recent_only.get()
                        on:change=move |ev| recent_only.set(event_target_checked(&ev)) />" Recent only"</label>
                </div>
                <ul class="ad-choices">
                    {move || {
                        let list = choices();
                        if list.is_empty() {
                            return view! { <li class="ad-empty">"Nobody matches."</li> }.into_any();
                        }
                        list.into_iter().map(|c| {
                            let target = c.target.clone();
                            view! {
                                <li>
                                    <button class="ad-choice" disabled=!c.available data-target=target_key(&c.target)
                                        on:click=move |_| send(target.clone())>
                                        <span class="ad-contact">{c.label}</span>
                                        <span class="ad-muted">{c.detail}</span>
                                    </button>
                                </li>
                            }
                        }).collect_view().into_any()
                    }}
                </ul>
                <div class="ad-modal-foot">
                    <button class="ad-secondary" on:click=move |_| close()>"Cancel"</button>
                </div>
            </div>
        </div>
    }
}
