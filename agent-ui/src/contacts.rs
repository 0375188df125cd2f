//! Contacts and their history (asynchronous chat): the site's contacts, every earlier conversation with the
//! chosen one as a single transcript, keyword search with the matches highlighted, and a composer that
//! writes a follow-up into the latest conversation, reopening it. When the contact answers, the desk says so.

use crate::desk::DeskState;
use confab_client::api::{self, Failure};
use confab_client::conversation::{ConversationLink, Events};
use confab_client::{clock_time, view::formatted};
use confab_protocol::api::{ContactHistory, ContactSummary};
use confab_protocol::delivery::ClientLog;
use confab_protocol::frames::{Author, ErrorCode, ServerFrame};
use confab_protocol::ids::ContactId;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::KeyboardEvent;

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

#[component]
pub(crate) fn Contacts(desk: DeskState) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let contacts = RwSignal::new(None::<Result<Vec<ContactSummary>, String>>);
    let asked = StoredValue::new(0u32);
    let load = move || {
        let q = query.get_untracked();
        let ask = asked.get_value() + 1;
        asked.set_value(ask);
        spawn_local(async move {
            let path = format!("/api/v1/contacts?q={}", encode(&q));
            let result: Result<Vec<ContactSummary>, Failure> = api::request("GET", &path, None::<&()>).await;
            // Answers to earlier keystrokes may arrive late: only the latest question's answer shows.
            if asked.get_value() == ask {
                contacts.set(Some(result.map_err(|f| f.message)));
            }
        });
    };
    load();
    view! {
        <section class="ad-contacts" aria-label="Contacts and history">
            <div class="ad-contact-list">
                <h1>"Contacts"</h1>
                <input type="search" class="ad-contact-search" placeholder="Search contacts by name" aria-label="Search contacts"
                    prop:value=move || query.get() on:input=move |ev| { query.set(event_target_value(&ev)); load(); } />
                {move || match contacts.get() {
                    None => view! { <p class="ad-empty">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="ad-error">{e}</p> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! { <p class="ad-empty">"No contacts match."</p> }.into_any(),
                    Some(Ok(list)) => view! {
                        <ul>
                            {list.into_iter().map(|c| {
                                let id = c.contact.clone();
                                let current = id.clone();
                                view! {
                                    <li><button class="ad-card-item ad-contact-item"
                                        aria-current=move || (desk.open_contact.get().as_ref() == Some(&current)).then_some("true")
                                        on:click=move |_| desk.open_contact.set(Some(id.clone()))>
                                        <span class="ad-contact">{c.label}</span>
                                        <span class="ad-time">{clock_time(c.last_at)}</span>
                                        <span class="ad-preview">{format!("{} conversation{}", c.conversations, if c.conversations == 1 { "" } else { "s" })}</span>
                                    </button></li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </div>
            {move || match desk.open_contact.get() {
                Some(contact) => view! { <History desk contact /> }.into_any(),
                None => view! { <p class="ad-placeholder">"Choose a contact to see every conversation with them."</p> }.into_any(),
            }}
        </section>
    }
}

/// Text with the byte ranges `ranges` marked.
fn highlighted(text: &str, ranges: &[(usize, usize)]) -> Vec<AnyView> {
    let mut parts = Vec::new();
    let mut at = 0;
    for &(start, end) in ranges {
        if start < at || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        parts.push(text[at..start].to_owned().into_any());
        parts.push(view! { <mark>{text[start..end].to_owned()}</mark> }.into_any());
        at = end;
    }
    parts.push(text[at..].to_owned().into_any());
    parts
}

#[component]
fn History(desk: DeskState, contact: ContactId) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let history = RwSignal::new(None::<Result<ContactHistory, String>>);
    let contact = StoredValue::new(contact);
    let asked = StoredValue::new(0u32);
    let load = move || {
        let q = query.get_untracked();
        let path = format!("/api/v1/contacts/{}/history?q={}", encode(&contact.get_value().0), encode(&q));
        let ask = asked.get_value() + 1;
        asked.set_value(ask);
        spawn_local(async move {
            let result: Result<ContactHistory, Failure> = api::request("GET", &path, None::<&()>).await;
            if asked.get_value() == ask {
                history.set(Some(result.map_err(|f| f.message)));
            }
        });
    };
    load();
    let me = desk.me();
    view! {
        <div class="ad-history">
            <header class="ad-history-head">
                <h1>{move || history.with(|h| h.as_ref().and_then(|h| h.as_ref().ok()).and_then(|h| h.conversations.last().map(|c| c.contact_label.clone()))).unwrap_or_default()}</h1>
                <input type="search" class="ad-history-search" placeholder="Search this contact's messages" aria-label="Search this contact's messages"
                    prop:value=move || query.get() on:input=move |ev| { query.set(event_target_value(&ev)); load(); } />
            </header>
            {move || match history.get() {
                None => view! { <p class="ad-empty">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="ad-error">{e}</p> }.into_any(),
                Some(Ok(h)) => match h.hits {
                    Some(hits) => view! {
                        <p class="ad-muted">{format!("{} matching message{}", hits.len(), if hits.len() == 1 { "" } else { "s" })}</p>
                        <ol class="ad-transcript ad-hits">
                            {hits.into_iter().map(|hit| view! {
                                <li class="ad-msg ad-hit">
                                    <span class="ad-who">{clock_time(hit.message.at)}</span>
                                    <span class="ad-text">{highlighted(&hit.message.text, &hit.ranges)}</span>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                    None => {
                        let me = me.clone();
                        let latest = h.conversations.last().map(|c| c.interaction);
                        view! {
                            <ol class="ad-transcript ad-history-transcript" aria-label="Every conversation with this contact">
                                {h.conversations.into_iter().map(|c| {
                                    let me = me.clone();
                                    view! {
                                        <li class="ad-system">"Conversation started " {clock_time(c.started_at)}</li>
                                        {c.messages.into_iter().map(|m| {
                                            let (class, who) = match &m.author {
                                                Author::Agent { id, name } if *id == me => ("ad-msg ad-from-agent ad-mine", name.clone()),
                                                Author::Agent { name, .. } => ("ad-msg ad-from-agent", name.clone()),
                                                _ => ("ad-msg ad-from-contact", c.contact_label.clone()),
                                            };
                                            view! {
                                                <li class=class>
                                                    <span class="ad-who">{who} " · " {clock_time(m.at)}</span>
                                                    <span class="ad-text">{formatted(&m.text)}</span>
                                                </li>
                                            }
                                        }).collect_view()}
                                    }
                                }).collect_view()}
                            </ol>
                            {latest.map(|latest| view! { <FollowUp interaction=latest reload=load /> })}
                        }.into_any()
                    }
                },
            }}
        </div>
    }
}

/// Writes into the contact's latest conversation. In an ended one that reopens it: the contact sees the
/// message next time, and their answer is offered back to this agent.
#[component]
fn FollowUp(
    interaction: confab_protocol::ids::InteractionId,
    reload: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let sent = RwSignal::new(false);
    let link = ConversationLink::open(
        &interaction.to_string(),
        None,
        ClientLog::default(),
        Events {
            on_log: Box::new(move |log: &ClientLog| {
                if log.outbox.is_empty() && sent.get_untracked() {
                    sent.set(false);
                    reload();
                }
            }),
            on_link: Box::new(|_| {}),
            on_error: Box::new(move |_, m| error.set(Some(m))),
            on_refused: Box::new(move || {
                error.set(Some("You can no longer write in this conversation.".into()))
            }),
            on_news: Box::new(|_| {}),
        },
        |text| ServerFrame::decode(text).ok(),
    );
    let link = StoredValue::new_local(link);
    on_cleanup(move || link.with_value(ConversationLink::close));
    let submit = move || match link.with_value(|l| l.write(&draft.get_untracked())) {
        Ok(()) => {
            draft.set(String::new());
            error.set(None);
            sent.set(true);
        }
        Err(e) if e.code() == ErrorCode::EmptyMessage => {}
        Err(e) => error.set(Some(e.to_string())),
    };
    view! {
        <form class="ad-composer ad-follow-up" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || error.get().map(|e| view! { <p class="ad-error" role="alert">{e}</p> })}
            <div class="ad-compose-row">
                <textarea class="ad-input" rows="2" aria-label="Follow-up message"
                    placeholder="Write a follow-up: the contact sees it when they come back, and their answer comes to you"
                    prop:value=move || draft.get() on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev: KeyboardEvent| if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }></textarea>
                <button class="ad-primary ad-send" type="submit">"Send follow-up"</button>
            </div>
        </form>
    }
}
