//! The admin's Settings screen: the site (name, allowed origins, the embed snippet and CSP lines), the
//! widget's looks and pre-chat form, identity verification (secret shown once, rotatable, enforcement),
//! timers and service levels, queues, disposition codes, standard responses, and the accounts. Settings are
//! edited as one draft and saved together (the edge checks them as a whole and names the field at fault);
//! accounts are saved one at a time. Every change applies at once: the desk is reconfigured on save.

use crate::desk::DeskState;
use confab_client::api::{self, Failure};
use confab_protocol::admin::{
    self, AgentAccount, AgentChanges, IdentitySecret, NewAgent, Role, SiteAdminView, SiteSettings,
};
use confab_protocol::api::StandardResponse;
use confab_protocol::frames::ErrorCode;
use confab_protocol::ids::{AgentId, QueueId};
use confab_protocol::lifecycle::DispositionCode;
use confab_protocol::quota::{UploadQuota, UploadQuotas};
use confab_protocol::widget::{Field, LOCALES, Position};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// A button that copies `text` and says so for two seconds.
#[component]
pub(crate) fn CopyButton(text: Signal<String>, #[prop(into)] label: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text.get_untracked());
            copied.set(true);
            set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
        }
    };
    view! {
        <button type="button" class="ad-secondary ad-copy" aria-label=label on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

fn field_key(field: Field) -> &'static str {
    match field {
        Field::Hidden => "hidden",
        Field::Optional => "optional",
        Field::Required => "required",
    }
}

fn field_from(key: &str) -> Field {
    match key {
        "optional" => Field::Optional,
        "required" => Field::Required,
        _ => Field::Hidden,
    }
}

/// Whole seconds or minutes in an input, milliseconds in the settings.
fn ms_from(value: &str, unit_ms: i64) -> Option<i64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| (v * unit_ms as f64) as i64)
}

#[component]
pub(crate) fn Settings(desk: DeskState) -> impl IntoView {
    let loaded = RwSignal::new(None::<Result<SiteAdminView, String>>);
    let load = move || {
        spawn_local(async move {
            let view: Result<SiteAdminView, Failure> =
                api::request("GET", "/api/v1/admin/site", None::<&()>).await;
            loaded.set(Some(view.map_err(|f| f.message)));
        });
    };
    load();
    view! {
        <section class="ad-page ad-settings" aria-label="Settings">
            <header class="ad-page-head">
                <h1>"Settings"</h1>
                <p class="ad-muted">"Changes apply at once, without a restart."</p>
            </header>
            {move || match loaded.get() {
                None => view! { <p class="ad-empty">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="ad-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(site)) => view! { <SettingsForm desk site /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn SettingsForm(desk: DeskState, site: SiteAdminView) -> impl IntoView {
    let saved = RwSignal::new(site.settings.clone());
    let draft = RwSignal::new(site.settings.clone());
    let secret_set = RwSignal::new(site.identity_secret_set);
    let accounts = RwSignal::new(site.agents.clone());
    let status = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    // A save was refused because the settings changed since this form got them.
    let stale = RwSignal::new(false);
    let dirty = Memo::new(move |_| draft.with(|d| saved.with(|s| d != s)));
    let save = move |_| {
        busy.set(true);
        status.set(None);
        let body = draft.get_untracked();
        let body_sent = body.clone();
        spawn_local(async move {
            let answer: Result<SiteAdminView, Failure> =
                api::request("PUT", "/api/v1/admin/site", Some(&body)).await;
            busy.set(false);
            match answer {
                Ok(view) => {
                    // What was typed while saving stays (and stays unsaved), now based on the stored version;
                    // otherwise show what was stored.
                    if draft.with_untracked(|d| *d == body_sent) {
                        draft.set(view.settings.clone());
                    } else {
                        draft.update(|d| d.version = view.settings.version.clone());
                    }
                    saved.set(view.settings);
                    stale.set(false);
                    status.set(Some(Ok("Saved. The widget and the desk use the new settings now.".into())));
                    desk.reload_site();
                }
                Err(failure) => {
                    stale.set(failure.code == Some(ErrorCode::Conflict));
                    status.set(Some(Err(failure.message)));
                }
            }
        });
    };
    // After a refused save (someone else changed the settings): the settings as stored now, in place of
    // this form's edits, which the admin then makes again.
    let reload = move |_| {
        spawn_local(async move {
            let view: Result<SiteAdminView, Failure> =
                api::request("GET", "/api/v1/admin/site", None::<&()>).await;
            match view {
                Ok(view) => {
                    saved.set(view.settings.clone());
                    draft.set(view.settings);
                    secret_set.set(view.identity_secret_set);
                    accounts.set(view.agents);
                    stale.set(false);
                    status.set(Some(Ok("Reloaded: these are the settings as saved now.".into())));
                }
                Err(failure) => status.set(Some(Err(failure.message))),
            }
        });
    };
    let site_id = site.site.clone();
    view! {
        <div class="ad-settings-body">
            <SiteSection draft site_id />
            <WidgetSection draft />
            <IdentitySection draft saved secret_set />
            <TimersSection draft />
            <LimitsSection draft />
            <QueuesSection draft />
            <CodesSection draft />
            <ResponsesSection draft />
            <div class="ad-savebar" data-dirty=move || dirty.get().to_string()>
                // "Saved" stands until the next edit; an error until it is dealt with.
                {move || match (status.get(), dirty.get()) {
                    (Some(Err(text)), _) => view! { <p class="ad-error" role="alert">{text}</p> }.into_any(),
                    (Some(Ok(text)), false) => view! { <p class="ad-ok" role="status">{text}</p> }.into_any(),
                    (_, dirty) => view! { <p class="ad-muted">{if dirty { "You have unsaved changes." } else { "All changes saved." }}</p> }.into_any(),
                }}
                {move || stale.get().then(|| view! {
                    <button class="ad-secondary ad-reload-settings" on:click=reload>"Reload settings"</button>
                })}
                <button class="ad-secondary" disabled=move || !dirty.get() on:click=move |_| { draft.set(saved.get_untracked()); status.set(None); }>"Discard"</button>
                <button class="ad-primary ad-save-settings" disabled=move || !dirty.get() || busy.get() on:click=save>
                    {move || if busy.get() { "Saving…" } else { "Save changes" }}
                </button>
            </div>
            <AccountsSection desk accounts queues=Signal::derive(move || saved.with(|s| s.rules.queues.clone())) />
        </div>
    }
}

/// Text input bound to one field of the draft.
macro_rules! bind_text {
    ($draft:ident, $($field:tt)+) => {
        (
            move || $draft.with(|d| d.$($field)+.clone()),
            move |ev| { let value = event_target_value(&ev); $draft.update(|d| d.$($field)+ = value); },
        )
    };
}

#[component]
fn SiteSection(draft: RwSignal<SiteSettings>, site_id: confab_protocol::ids::SiteId) -> impl IntoView {
    let (name, set_name) = bind_text!(draft, name);
    let origins = move || draft.with(|d| d.allowed_origins.join("\n"));
    let set_origins = move |ev| {
        let text = event_target_value(&ev);
        draft.update(|d| {
            d.allowed_origins =
                text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
        });
    };
    let edge = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let snippet = admin::embed_snippet(&edge, &site_id);
    let csp = admin::embed_csp(&edge);
    let (snippet_text, csp_text) = (snippet.clone(), csp.clone());
    view! {
        <fieldset class="ad-section-box">
            <legend>"Site"</legend>
            <label>"Name" <input name="site-name" prop:value=name on:input=set_name /></label>
            <label>"Allowed origins"
                <textarea name="allowed-origins" rows="3" placeholder="https://shop.example"
                    prop:value=origins on:change=set_origins></textarea>
                <span class="ad-help">"One per line, like https://shop.example: the pages that may show the chat. Any other page is refused."</span>
            </label>
            <div class="ad-embed">
                <h3>"Embed snippet"</h3>
                <p class="ad-help">{format!("Paste once before </body> on every page of the site (site id: {site_id}).")}</p>
                <div class="ad-code-row"><code class="ad-snippet">{snippet}</code><CopyButton text=Signal::derive(move || snippet_text.clone()) label="Copy the embed snippet" /></div>
                <h3>"Content Security Policy"</h3>
                <p class="ad-help">"If the site's pages send a Content-Security-Policy, add these sources:"</p>
                <div class="ad-code-row"><code class="ad-csp">{csp}</code><CopyButton text=Signal::derive(move || csp_text.clone()) label="Copy the CSP sources" /></div>
            </div>
        </fieldset>
    }
}

#[component]
fn WidgetSection(draft: RwSignal<SiteSettings>) -> impl IntoView {
    let (title, set_title) = bind_text!(draft, widget.title);
    let (greeting, set_greeting) = bind_text!(draft, widget.greeting);
    let (color, set_color) = bind_text!(draft, widget.color);
    let (locale, set_locale) = bind_text!(draft, widget.locale);
    view! {
        <fieldset class="ad-section-box">
            <legend>"Chat widget"</legend>
            <div class="ad-row">
                <label>"Title" <input name="widget-title" placeholder="The site's name" prop:value=title on:input=set_title /></label>
                <label>"Colour" <input type="color" name="widget-color" prop:value=color on:input=set_color /></label>
                <label>"Corner"
                    <select name="widget-position" prop:value=move || draft.with(|d| if d.widget.position == Position::Left { "left" } else { "right" })
                        on:change=move |ev| { let left = event_target_value(&ev) == "left"; draft.update(|d| d.widget.position = if left { Position::Left } else { Position::Right }); }>
                        <option value="right">"Bottom right"</option>
                        <option value="left">"Bottom left"</option>
                    </select>
                </label>
                <label>"Language"
                    <select name="widget-locale" prop:value=locale on:change=set_locale>
                        <option value="auto">"The visitor's browser"</option>
                        {LOCALES.iter().map(|l| view! { <option value=*l>{l.to_uppercase()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            <label>"Greeting" <textarea name="widget-greeting" rows="2" placeholder="Hi! How can we help?" prop:value=greeting on:input=set_greeting></textarea></label>
            <div class="ad-row">
                <label>"Ask for the name"
                    <select name="prechat-name" prop:value=move || draft.with(|d| field_key(d.widget.pre_chat.name))
                        on:change=move |ev| { let f = field_from(&event_target_value(&ev)); draft.update(|d| d.widget.pre_chat.name = f); }>
                        <option value="hidden">"No"</option><option value="optional">"Optional"</option><option value="required">"Required"</option>
                    </select>
                </label>
                <label>"Ask for the email"
                    <select name="prechat-email" prop:value=move || draft.with(|d| field_key(d.widget.pre_chat.email))
                        on:change=move |ev| { let f = field_from(&event_target_value(&ev)); draft.update(|d| d.widget.pre_chat.email = f); }>
                        <option value="hidden">"No"</option><option value="optional">"Optional"</option><option value="required">"Required"</option>
                    </select>
                </label>
                <label class="ad-check"><input type="checkbox" name="show-agent-names" prop:checked=move || draft.with(|d| d.widget.show_agent_names)
                    on:change=move |ev| { let on = event_target_checked(&ev); draft.update(|d| d.widget.show_agent_names = on); } />
                    "Show agents' names to visitors"</label>
            </div>
        </fieldset>
    }
}

#[component]
fn IdentitySection(
    draft: RwSignal<SiteSettings>,
    saved: RwSignal<SiteSettings>,
    secret_set: RwSignal<bool>,
) -> impl IntoView {
    let shown = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let generate = move |_| {
        confirming.set(false);
        spawn_local(async move {
            let answer: Result<IdentitySecret, Failure> =
                api::request("POST", "/api/v1/admin/site/identity-secret", None::<&()>).await;
            match answer {
                Ok(made) => {
                    secret_set.set(true);
                    shown.set(Some(made.secret));
                    error.set(None);
                }
                Err(failure) => error.set(Some(failure.message)),
            }
        });
    };
    let turn_off = move |_| {
        spawn_local(async move {
            let answer: Result<SiteAdminView, Failure> =
                api::request("DELETE", "/api/v1/admin/site/identity-secret", None::<&()>).await;
            match answer {
                Ok(view) => {
                    secret_set.set(false);
                    shown.set(None);
                    // The edge turned enforcement off with the secret: both the draft and the saved state say so.
                    // An edit in progress is based on the settings' new version only if nothing else changed
                    // in them meanwhile; otherwise it keeps the old one, and its save is refused as it should be.
                    let version = view.settings.version.clone();
                    let nothing_else_changed = saved.with_untracked(|s| {
                        SiteSettings { identity_required: false, version: None, ..s.clone() }
                            == SiteSettings { version: None, ..view.settings }
                    });
                    draft.update(|d| {
                        d.identity_required = false;
                        if nothing_else_changed {
                            d.version = version.clone();
                        }
                    });
                    saved.update(|s| {
                        s.identity_required = false;
                        if nothing_else_changed {
                            s.version = version;
                        }
                    });
                }
                Err(failure) => error.set(Some(failure.message)),
            }
        });
    };
    view! {
        <fieldset class="ad-section-box">
            <legend>"Identity verification"</legend>
            <p class="ad-help">"Your backend signs each signed-in user's id with this secret (HMAC-SHA256), so their chats follow them across browsers and nobody can pose as them. Keep it on your server only."</p>
            <p>{move || if secret_set.get() { "A secret is set." } else { "Not set up: visitors are anonymous." }}</p>
            {move || shown.get().map(|secret| {
                let copy = secret.clone();
                view! {
                    <div class="ad-secret">
                        <p class="ad-warn">"Copy it now: it is shown only this once."</p>
                        <div class="ad-code-row"><code class="ad-secret-value">{secret}</code><CopyButton text=Signal::derive(move || copy.clone()) label="Copy the identity secret" /></div>
                    </div>
                }
            })}
            <div class="ad-row">
                {move || if confirming.get() {
                    view! { <span class="ad-confirm">"The current secret stops working at once: signed-in users' chats work again once your backend signs with the new one. Continue?"
                        <button class="ad-primary" on:click=generate>"Generate"</button>
                        <button class="ad-secondary" on:click=move |_| confirming.set(false)>"Cancel"</button></span> }.into_any()
                } else {
                    view! { <button class="ad-secondary ad-rotate" on:click=move |ev| if secret_set.get_untracked() { confirming.set(true) } else { generate(ev) }>
                        {move || if secret_set.get() { "Rotate secret" } else { "Generate secret" }}</button> }.into_any()
                }}
                {move || secret_set.get().then(|| view! { <button class="ad-link" on:click=turn_off>"Turn off"</button> })}
                <label class="ad-check"><input type="checkbox" name="identity-required" disabled=move || !secret_set.get()
                    prop:checked=move || draft.with(|d| d.identity_required)
                    on:change=move |ev| { let on = event_target_checked(&ev); draft.update(|d| d.identity_required = on); } />
                    "Only take chats from verified users"</label>
            </div>
            {move || error.get().map(|e| view! { <p class="ad-error" role="alert">{e}</p> })}
        </fieldset>
    }
}

/// A number input for a duration in `unit_ms` units (seconds or minutes).
#[component]
fn DurationInput(
    label: &'static str,
    name: &'static str,
    unit: &'static str,
    unit_ms: i64,
    get: impl Fn(&SiteSettings) -> i64 + Copy + Send + Sync + 'static,
    set: impl Fn(&mut SiteSettings, i64) + Copy + Send + Sync + 'static,
    draft: RwSignal<SiteSettings>,
) -> impl IntoView {
    view! {
        <label>{label}
            <span class="ad-unit"><input type="number" min="0" step="1" name=name
                prop:value=move || draft.with(|d| (get(d) / unit_ms).to_string())
                on:change=move |ev| if let Some(ms) = ms_from(&event_target_value(&ev), unit_ms) { draft.update(|d| set(d, ms)); } />
            {unit}</span>
        </label>
    }
}

#[component]
fn TimersSection(draft: RwSignal<SiteSettings>) -> impl IntoView {
    view! {
        <fieldset class="ad-section-box">
            <legend>"Timers and service levels"</legend>
            <p class="ad-help">"The offer timeout and the service levels apply at once; parking, auto-park and wrap-up times to chats that start after saving."</p>
            <div class="ad-row">
                <DurationInput label="Offer timeout" name="offer-timeout" unit="s" unit_ms=1000 draft
                    get=|d| d.rules.offer_timeout_ms set=|d, v| d.rules.offer_timeout_ms = v />
                <DurationInput label="Auto-park after (0: never)" name="auto-park" unit="min" unit_ms=60_000 draft
                    get=|d| d.rules.lifecycle.auto_park_after_ms.unwrap_or(0)
                    set=|d, v| d.rules.lifecycle.auto_park_after_ms = (v > 0).then_some(v) />
                <DurationInput label="Park limit" name="park-limit" unit="min" unit_ms=60_000 draft
                    get=|d| d.rules.lifecycle.park_limit_ms set=|d, v| d.rules.lifecycle.park_limit_ms = v />
                <DurationInput label="Wrap-up time" name="wrap-time" unit="s" unit_ms=1000 draft
                    get=|d| d.rules.lifecycle.wrap.timeout_ms set=|d, v| d.rules.lifecycle.wrap.timeout_ms = v />
            </div>
            <div class="ad-row">
                <DurationInput label="SLA: wait for an agent" name="sla-queue" unit="s" unit_ms=1000 draft
                    get=|d| d.rules.sla.queue_wait_ms set=|d, v| d.rules.sla.queue_wait_ms = v />
                <DurationInput label="SLA: answer within" name="sla-reply" unit="s" unit_ms=1000 draft
                    get=|d| d.rules.sla.reply_ms set=|d, v| d.rules.sla.reply_ms = v />
            </div>
        </fieldset>
    }
}

/// A whole number input for a count in the settings.
#[component]
fn CountInput(
    label: String,
    name: String,
    get: impl Fn(&SiteSettings) -> u32 + Copy + Send + Sync + 'static,
    set: impl Fn(&mut SiteSettings, u32) + Copy + Send + Sync + 'static,
    draft: RwSignal<SiteSettings>,
) -> impl IntoView {
    view! {
        <input type="number" min="1" step="1" name=name aria-label=label
            prop:value=move || draft.with(|d| get(d).to_string())
            on:change=move |ev| if let Some(n) = count_from(&event_target_value(&ev)) { draft.update(|d| set(d, n)); } />
    }
}

/// A whole number in an input.
fn count_from(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

/// One row of the upload quotas: whose, and its files and megabytes a day.
fn quota_row(
    draft: RwSignal<SiteSettings>,
    whose: &'static str,
    key: &'static str,
    quota: fn(&mut UploadQuotas) -> &mut UploadQuota,
) -> impl IntoView {
    let read = move |d: &SiteSettings| {
        let mut quotas = d.rules.uploads;
        *quota(&mut quotas)
    };
    view! {
        <tr><th scope="row">{whose}</th>
            <td><CountInput label=format!("{whose}: files a day") name=format!("quota-{key}-files") draft
                get=move |d| read(d).files set=move |d, v| quota(&mut d.rules.uploads).files = v /></td>
            <td><CountInput label=format!("{whose}: MB a day") name=format!("quota-{key}-mb") draft
                get=move |d| read(d).megabytes set=move |d, v| quota(&mut d.rules.uploads).megabytes = v /></td>
        </tr>
    }
}

#[component]
fn LimitsSection(draft: RwSignal<SiteSettings>) -> impl IntoView {
    view! {
        <fieldset class="ad-section-box">
            <legend>"Limits"</legend>
            <p class="ad-help">"They keep one visitor or a script from filling the queue or the site's storage. Files count by day; what was used comes back evenly over the day."</p>
            <div class="ad-row">
                <label>"Chats waiting at most"
                    <span class="ad-unit"><CountInput label="Chats waiting at most".to_owned() name="max-waiting".to_owned() draft
                        get=|d| d.rules.max_waiting_chats set=|d, v| d.rules.max_waiting_chats = v />"chats"</span>
                </label>
            </div>
            <table class="ad-table ad-quota-table">
                <thead><tr><th>"Uploads"</th><th>"Files a day"</th><th>"MB a day"</th></tr></thead>
                <tbody>
                    {quota_row(draft, "Each customer", "contact", |q| &mut q.per_contact)}
                    {quota_row(draft, "Each network address", "address", |q| &mut q.per_address)}
                    {quota_row(draft, "Each agent", "agent", |q| &mut q.per_agent)}
                    {quota_row(draft, "The whole site", "site", |q| &mut q.per_site)}
                </tbody>
            </table>
        </fieldset>
    }
}

#[component]
fn QueuesSection(draft: RwSignal<SiteSettings>) -> impl IntoView {
    let new_queue = RwSignal::new(String::new());
    let add = move || {
        let queue = new_queue.get_untracked().trim().to_lowercase();
        if !queue.is_empty() {
            draft.update(|d| d.rules.queues.push(QueueId(queue)));
            new_queue.set(String::new());
        }
    };
    view! {
        <fieldset class="ad-section-box">
            <legend>"Queues"</legend>
            <p class="ad-help">"Every site has the default queue. Agents take chats from the queues set on their account (none: all)."</p>
            <ul class="ad-chips">
                <li class="ad-chip">"default"</li>
                {move || draft.with(|d| d.rules.queues.clone()).into_iter().enumerate().map(|(i, q)| view! {
                    <li class="ad-chip">{q.to_string()}
                        <button class="ad-link" aria-label=format!("Remove queue {q}") on:click=move |_| draft.update(|d| { d.rules.queues.remove(i); })>"×"</button>
                    </li>
                }).collect_view()}
            </ul>
            <div class="ad-row">
                <input name="new-queue" placeholder="billing" prop:value=move || new_queue.get()
                    on:input=move |ev| new_queue.set(event_target_value(&ev))
                    on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" { ev.prevent_default(); add(); } />
                <button class="ad-secondary" on:click=move |_| add()>"Add queue"</button>
            </div>
        </fieldset>
    }
}

#[component]
fn CodesSection(draft: RwSignal<SiteSettings>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let add = move || {
        let (c, l) = (code.get_untracked().trim().to_lowercase(), label.get_untracked().trim().to_owned());
        if !c.is_empty() && !l.is_empty() {
            draft.update(|d| d.rules.lifecycle.wrap.codes.push(DispositionCode { code: c, label: l }));
            code.set(String::new());
            label.set(String::new());
        }
    };
    view! {
        <fieldset class="ad-section-box">
            <legend>"Disposition codes"</legend>
            <table class="ad-table ad-code-table">
                <thead><tr><th>"Code"</th><th>"Label agents see"</th><th></th></tr></thead>
                <tbody>
                    {move || draft.with(|d| d.rules.lifecycle.wrap.codes.clone()).into_iter().enumerate().map(|(i, c)| view! {
                        <tr><td><code>{c.code.clone()}</code></td><td>{c.label.clone()}</td>
                            <td><button class="ad-link" aria-label=format!("Remove code {}", c.code) on:click=move |_| draft.update(|d| { d.rules.lifecycle.wrap.codes.remove(i); })>"Remove"</button></td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <div class="ad-row">
                <input name="new-code" placeholder="refund" aria-label="New code" prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev)) />
                <input name="new-code-label" placeholder="Refund issued" aria-label="New code's label" prop:value=move || label.get() on:input=move |ev| label.set(event_target_value(&ev))
                    on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" { ev.prevent_default(); add(); } />
                <button class="ad-secondary ad-add-code" on:click=move |_| add()>"Add code"</button>
            </div>
            <div class="ad-row">
                <label class="ad-check"><input type="checkbox" name="codes-required" prop:checked=move || draft.with(|d| d.rules.lifecycle.wrap.required)
                    on:change=move |ev| { let on = event_target_checked(&ev); draft.update(|d| d.rules.lifecycle.wrap.required = on); } />
                    "Required: wrap-up cannot complete without a code"</label>
                <label class="ad-check"><input type="checkbox" name="codes-multiple" prop:checked=move || draft.with(|d| d.rules.lifecycle.wrap.multiple)
                    on:change=move |ev| { let on = event_target_checked(&ev); draft.update(|d| d.rules.lifecycle.wrap.multiple = on); } />
                    "Several codes per interaction"</label>
            </div>
        </fieldset>
    }
}

#[component]
fn ResponsesSection(draft: RwSignal<SiteSettings>) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let add = move |_| {
        let (t, x) = (title.get_untracked().trim().to_owned(), text.get_untracked().trim().to_owned());
        if !t.is_empty() && !x.is_empty() {
            draft.update(|d| d.standard_responses.push(StandardResponse { title: t, text: x }));
            title.set(String::new());
            text.set(String::new());
        }
    };
    view! {
        <fieldset class="ad-section-box">
            <legend>"Standard responses"</legend>
            <ul class="ad-response-list">
                {move || draft.with(|d| d.standard_responses.clone()).into_iter().enumerate().map(|(i, r)| view! {
                    <li><strong>{r.title.clone()}</strong><span class="ad-muted">{r.text}</span>
                        <button class="ad-link" aria-label=format!("Remove response {}", r.title) on:click=move |_| draft.update(|d| { d.standard_responses.remove(i); })>"Remove"</button></li>
                }).collect_view()}
            </ul>
            <div class="ad-row">
                <input name="new-response-title" placeholder="Title" aria-label="New response's title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev)) />
                <textarea name="new-response-text" rows="2" placeholder="What the agent inserts" aria-label="New response's text" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <button class="ad-secondary" on:click=add>"Add response"</button>
            </div>
        </fieldset>
    }
}

#[component]
fn AccountsSection(
    desk: DeskState,
    accounts: RwSignal<Vec<AgentAccount>>,
    queues: Signal<Vec<QueueId>>,
) -> impl IntoView {
    let editing = RwSignal::new(None::<AgentId>);
    let adding = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let set_active = move |id: AgentId, active: bool| {
        let changes = AgentChanges { active: Some(active), ..AgentChanges::default() };
        spawn_local(async move {
            let path = format!("/api/v1/admin/agents/{id}");
            match api::request::<AgentAccount>("PATCH", &path, Some(&changes)).await {
                Ok(account) => {
                    accounts.update(|list| {
                        list.iter_mut().filter(|a| a.id == account.id).for_each(|a| *a = account.clone())
                    });
                    error.set(None);
                }
                Err(failure) => error.set(Some(failure.message)),
            }
        });
    };
    let me = desk.me();
    view! {
        <fieldset class="ad-section-box ad-accounts">
            <legend>"Accounts"</legend>
            {move || error.get().map(|e| view! { <p class="ad-error" role="alert">{e}</p> })}
            <table class="ad-table">
                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Chats at once"</th><th>"Queues"</th><th>"Status"</th><th></th></tr></thead>
                <tbody>
                    {move || accounts.get().into_iter().map(|a| {
                        let id = a.id.clone();
                        let (edit_id, toggle_id) = (id.clone(), id.clone());
                        let is_me = a.id == me;
                        if editing.get().as_ref() == Some(&a.id) {
                            return view! { <tr><td colspan="7"><AccountForm existing=Some(a) accounts editing adding queues /></td></tr> }.into_any();
                        }
                        view! {
                            <tr class="ad-account" data-agent=id.to_string() data-active=a.active.to_string()>
                                <td>{a.name.clone()}{is_me.then_some(" (you)")}</td>
                                <td>{a.email.clone()}</td>
                                <td>{a.role.label()}</td>
                                <td class="ad-num">{a.capacity}{a.auto_accept.then_some(" · auto-accept")}</td>
                                <td>{if a.queues.is_empty() { "All".to_owned() } else { a.queues.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ") }}</td>
                                <td>{if a.active { "Active" } else { "Deactivated" }}</td>
                                <td class="ad-row-actions">
                                    <button class="ad-link" on:click=move |_| { adding.set(false); editing.set(Some(edit_id.clone())); }>"Edit"</button>
                                    {(!is_me).then(|| {
                                        let active = a.active;
                                        view! { <button class="ad-link ad-toggle-active" on:click=move |_| set_active(toggle_id.clone(), !active)>
                                            {if active { "Deactivate" } else { "Reactivate" }}</button> }
                                    })}
                                </td>
                            </tr>
                        }.into_any()
                    }).collect_view()}
                </tbody>
            </table>
            {move || if adding.get() {
                view! { <AccountForm existing=None accounts editing adding queues /> }.into_any()
            } else {
                view! { <button class="ad-secondary ad-add-account" on:click=move |_| { editing.set(None); adding.set(true); }>"Add account"</button> }.into_any()
            }}
        </fieldset>
    }
}

/// Creates an account (`existing` is `None`) or edits one, with an optional new password.
#[component]
fn AccountForm(
    existing: Option<AgentAccount>,
    accounts: RwSignal<Vec<AgentAccount>>,
    editing: RwSignal<Option<AgentId>>,
    adding: RwSignal<bool>,
    queues: Signal<Vec<QueueId>>,
) -> impl IntoView {
    let is_new = existing.is_none();
    let start = existing.clone().unwrap_or(AgentAccount {
        id: AgentId(String::new()),
        name: String::new(),
        email: String::new(),
        role: Role::Agent,
        active: true,
        capacity: 3,
        auto_accept: false,
        queues: Vec::new(),
    });
    let id = RwSignal::new(start.id.0.clone());
    let name = RwSignal::new(start.name.clone());
    let email = RwSignal::new(start.email.clone());
    let role = RwSignal::new(start.role);
    let capacity = RwSignal::new(start.capacity);
    let auto_accept = RwSignal::new(start.auto_accept);
    let chosen_queues = RwSignal::new(start.queues.clone());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let close = move || {
        editing.set(None);
        adding.set(false);
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let password_given = Some(password.get_untracked()).filter(|p| !p.is_empty());
        spawn_local(async move {
            let answer: Result<AgentAccount, Failure> = if is_new {
                let body = NewAgent {
                    id: AgentId(id.get_untracked().trim().to_owned()),
                    name: name.get_untracked(),
                    email: email.get_untracked(),
                    password: password_given.unwrap_or_default(),
                    role: role.get_untracked(),
                    capacity: capacity.get_untracked(),
                    auto_accept: auto_accept.get_untracked(),
                    queues: chosen_queues.get_untracked(),
                };
                api::request("POST", "/api/v1/admin/agents", Some(&body)).await
            } else {
                let body = AgentChanges {
                    name: Some(name.get_untracked()),
                    email: Some(email.get_untracked()),
                    role: Some(role.get_untracked()),
                    capacity: Some(capacity.get_untracked()),
                    auto_accept: Some(auto_accept.get_untracked()),
                    queues: Some(chosen_queues.get_untracked()),
                    password: password_given,
                    active: None,
                };
                api::request("PATCH", &format!("/api/v1/admin/agents/{}", id.get_untracked()), Some(&body))
                    .await
            };
            busy.set(false);
            match answer {
                Ok(account) => {
                    accounts.update(|list| match list.iter_mut().find(|a| a.id == account.id) {
                        Some(a) => *a = account,
                        None => list.push(account),
                    });
                    close();
                }
                Err(failure) => error.set(Some(failure.message)),
            }
        });
    };
    view! {
        <form class="ad-account-form" on:submit=submit>
            <h3>{if is_new { "New account".to_owned() } else { format!("Edit {}", start.name) }}</h3>
            <div class="ad-row">
                {is_new.then(|| view! { <label>"Id" <input name="account-id" required placeholder="ada" prop:value=move || id.get() on:input=move |ev| id.set(event_target_value(&ev)) /></label> })}
                <label>"Name" <input name="account-name" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                <label>"Email" <input type="email" name="account-email" required prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev)) /></label>
                <label>{if is_new { "Password" } else { "New password (optional)" }}
                    <input type="password" name="account-password" autocomplete="new-password" required=is_new minlength="8"
                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) /></label>
            </div>
            <div class="ad-row">
                <label>"Role"
                    <select name="account-role" prop:value=move || role.get().as_str() on:change=move |ev| if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r) }>
                        {Role::ALL.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Chats at once" <input type="number" name="account-capacity" min="1" max=admin::MAX_CAPACITY.to_string()
                    prop:value=move || capacity.get().to_string() on:change=move |ev| if let Ok(n) = event_target_value(&ev).parse() { capacity.set(n) } /></label>
                <label class="ad-check"><input type="checkbox" name="account-auto-accept" prop:checked=move || auto_accept.get()
                    on:change=move |ev| auto_accept.set(event_target_checked(&ev)) />"Auto-accept offers"</label>
            </div>
            <div class="ad-row ad-queue-picks">
                <span>"Queues (none: all)"</span>
                {move || std::iter::once(QueueId("default".into())).chain(queues.get()).map(|q| {
                    let (checked_q, toggled_q) = (q.clone(), q.clone());
                    view! {
                        <label class="ad-check"><input type="checkbox" prop:checked=move || chosen_queues.with(|c| c.contains(&checked_q))
                            on:change=move |ev| { let on = event_target_checked(&ev); let q = toggled_q.clone();
                                chosen_queues.update(|c| { c.retain(|x| *x != q); if on { c.push(q); } }); } />{q.to_string()}</label>
                    }
                }).collect_view()}
            </div>
            {move || error.get().map(|e| view! { <p class="ad-error" role="alert">{e}</p> })}
            <div class="ad-row">
                <button type="submit" class="ad-primary ad-save-account" disabled=move || busy.get()>{if is_new { "Create account" } else { "Save account" }}</button>
                <button type="button" class="ad-secondary" on:click=move |_| close()>"Cancel"</button>
            </div>
        </form>
    }
}
