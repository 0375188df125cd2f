//! Interaction records for supervisors: completed interactions searched by date, agent, disposition code and
//! text; each transcript exported as JSON or plain text; and, for admins, a contact's data deleted on request.

use crate::desk::DeskState;
use confab_client::api::{self, Failure};
use confab_protocol::api::RecordSummary;
use confab_protocol::format::clock_duration;
use confab_protocol::ids::ContactId;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// Local midnight of a `YYYY-MM-DD` date input, in milliseconds; `next_day` gives the midnight after it.
fn day_start(value: &str, next_day: bool) -> Option<i64> {
    let mut parts = value.split('-').map(|p| p.parse::<i32>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let date = js_sys::Date::new_with_year_month_day(y as u32, m - 1, d + i32::from(next_day));
    Some(date.get_time() as i64)
}

/// "21 Nov 2026, 14:05" in the browser's locale.
fn date_time(at: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at as f64));
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    String::from(date.to_locale_string("default", &options))
}

#[component]
pub(crate) fn Records(desk: DeskState) -> impl IntoView {
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Result<Vec<RecordSummary>, String>>);
    let status = RwSignal::new(None::<String>);
    let search = move || {
        let mut query = Vec::new();
        if let Some(ms) = day_start(&from.get_untracked(), false) {
            query.push(format!("from={ms}"));
        }
        if let Some(ms) = day_start(&to.get_untracked(), true) {
            query.push(format!("to={ms}"));
        }
        for (name, value) in [("agent", agent), ("code", code), ("q", text)] {
            let value = value.get_untracked();
            if !value.trim().is_empty() {
                query.push(format!("{name}={}", encode(value.trim())));
            }
        }
        let path = format!("/api/v1/records?{}", query.join("&"));
        results.set(None);
        spawn_local(async move {
            let answer: Result<Vec<RecordSummary>, Failure> = api::request("GET", &path, None::<&()>).await;
            results.set(Some(answer.map_err(|f| f.message)));
        });
    };
    search();
    let code_label = move |code: &str| {
        desk.site.with_untracked(|s| {
            s.as_ref()
                .and_then(|s| {
                    s.rules.lifecycle.wrap.codes.iter().find(|c| c.code == code).map(|c| c.label.clone())
                })
                .unwrap_or_else(|| code.to_owned())
        })
    };
    let may_erase = desk.role().may_administer();
    view! {
        <section class="ad-page ad-records" aria-label="Interaction records">
            <header class="ad-page-head">
                <h1>"Interaction records"</h1>
                <p class="ad-muted">"Completed interactions. Export a transcript, or delete a contact's data on request."</p>
            </header>
            <form class="ad-filters" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); search(); }>
                <label>"From" <input type="date" name="from" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev)) /></label>
                <label>"To" <input type="date" name="to" prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev)) /></label>
                <label>"Agent"
                    <select name="agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                        <option value="">"Any agent"</option>
                        {move || desk.roster.get().0.into_iter().map(|a| view! {
                            <option value=a.agent.to_string() selected=agent.get_untracked() == a.agent.0>{a.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Disposition"
                    <select name="code" on:change=move |ev| code.set(event_target_value(&ev))>
                        <option value="">"Any code"</option>
                        {move || desk.site.get().map(|s| s.rules.lifecycle.wrap.codes).unwrap_or_default().into_iter().map(|c| view! {
                            <option value=c.code.clone() selected=code.get_untracked() == c.code>{c.label}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="ad-grow">"Text"
                    <input type="search" name="q" placeholder="Words in the transcript or the contact's name"
                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="ad-primary">"Search"</button>
            </form>
            {move || status.get().map(|s| view! { <p class="ad-notice" role="status">{s}</p> })}
            {move || match results.get() {
                None => view! { <p class="ad-empty">"Searching…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="ad-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="ad-empty">"No completed interactions match."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <p class="ad-muted">{format!("{} interaction{}", list.len(), if list.len() == 1 { "" } else { "s" })}</p>
                    <table class="ad-table ad-record-list">
                        <thead><tr><th>"Completed"</th><th>"Contact"</th><th>"Agent"</th><th>"Disposition"</th><th>"Duration"</th><th>"Export"</th>{may_erase.then(|| view! { <th></th> })}</tr></thead>
                        <tbody>
                            {list.into_iter().map(|r| {
                                let id = r.record.interaction;
                                let codes = r.record.codes.iter().map(|c| code_label(c)).collect::<Vec<_>>().join(", ");
                                let contact = r.contact.clone();
                                view! {
                                    <tr class="ad-record" data-interaction=id.to_string()>
                                        <td>{date_time(r.record.completed_at)}</td>
                                        <td><span class="ad-contact">{r.contact_label.clone()}</span><br/><span class="ad-muted">{r.preview.clone()}</span></td>
                                        <td>{r.agent_name.clone().unwrap_or_else(|| "–".into())}</td>
                                        <td>{if codes.is_empty() { "–".to_owned() } else { codes }}</td>
                                        <td class="ad-num">{clock_duration(r.record.duration_ms)}</td>
                                        <td class="ad-export">
                                            <a href=format!("/api/v1/chats/{id}/transcript?format=json") download=format!("conversation-{id}.json")>"JSON"</a>
                                            " "
                                            <a href=format!("/api/v1/chats/{id}/transcript?format=text") download=format!("conversation-{id}.txt")>"Text"</a>
                                        </td>
                                        {may_erase.then(|| view! { <td><EraseContact contact label=r.contact_label.clone() status on_done=search /></td> })}
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

/// "Delete contact data", confirmed in place.
#[component]
fn EraseContact(
    contact: Option<ContactId>,
    label: String,
    status: RwSignal<Option<String>>,
    on_done: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let Some(contact) = contact else { return ().into_any() };
    let erase = move |_| {
        let contact = contact.clone();
        let label = label.clone();
        confirming.set(false);
        spawn_local(async move {
            let path = format!("/api/v1/contacts/{}", encode(&contact.0));
            let answer: Result<serde_json::Value, Failure> = api::request("DELETE", &path, None::<&()>).await;
            status.set(Some(match answer {
                Ok(done) => format!(
                    "Deleted everything about {label}: {} conversation(s), {} file(s).",
                    done["conversations"].as_u64().unwrap_or(0),
                    done["files"].as_u64().unwrap_or(0)
                ),
                Err(failure) => format!("Could not delete {label}'s data: {}", failure.message),
            }));
            on_done();
        });
    };
    view! {
        {move || if confirming.get() {
            let erase = erase.clone();
            view! {
                <span class="ad-confirm">"Delete all of this contact's data?"
                    <button class="ad-danger ad-end-confirm ad-erase-confirm" on:click=erase>"Delete"</button>
                    <button class="ad-secondary" on:click=move |_| confirming.set(false)>"Keep"</button>
                </span>
            }.into_any()
        } else {
            view! { <button class="ad-danger ad-erase" on:click=move |_| confirming.set(true)>"Delete contact data"</button> }.into_any()
        }}
    }
    .into_any()
}
