//! The wrap-up panel after a chat ends: disposition codes (one or several, optional or required), notes,
//! the countdown with Extend when codes are optional, and Complete.

use crate::desk::DeskState;
use confab_client::view::set_timeout;
use confab_protocol::format::clock_duration;
use confab_protocol::frames::{ClientFrame, InteractionView};
use confab_protocol::lifecycle::wrap_countdown;
use leptos::prelude::*;

#[component]
pub(crate) fn WrapPanel(
    desk: DeskState,
    live_view: RwSignal<Option<InteractionView>>,
    send: impl Fn(ClientFrame) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let rules =
        move || desk.site.with(|s| s.as_ref().map(|s| s.rules.lifecycle.wrap.clone()).unwrap_or_default());
    let chosen = move || live_view.with(|v| v.as_ref().map(|v| v.codes.clone()).unwrap_or_default());
    let deadline = Memo::new(move |_| {
        live_view.with(|v| v.as_ref().and_then(|v| v.wrap.as_ref().and_then(|w| w.deadline)))
    });
    let missing_code = move || rules().required && chosen().is_empty();
    // Notes are sent whole, a moment after typing stops (and when leaving the box).
    let notes =
        RwSignal::new(live_view.with_untracked(|v| v.as_ref().map(|v| v.notes.clone()).unwrap_or_default()));
    let edits = StoredValue::new(0u32);
    let save_notes = move || send(ClientFrame::Notes { text: notes.get_untracked() });
    let on_notes = move |ev: leptos::ev::Event| {
        notes.set(event_target_value(&ev));
        let edit = edits.get_value() + 1;
        edits.set_value(edit);
        set_timeout(
            move || {
                if edits.get_value() == edit {
                    save_notes()
                }
            },
            800,
        );
    };
    view! {
        <section class="ad-wrap" aria-label="Wrap-up">
            <header>
                <h2>"Wrap-up"</h2>
                {move || deadline.get().map(|until| view! {
                    <span class="ad-countdown" title="Closes by itself at zero"
                        data-urgent=move || wrap_countdown(until, desk.now.get()).urgent.to_string()>
                        {move || clock_duration(wrap_countdown(until, desk.now.get()).remaining_ms)}
                    </span>
                    <button type="button" class="ad-secondary ad-extend" on:click=move |_| send(ClientFrame::ExtendWrap)>"Extend"</button>
                })}
            </header>
            <fieldset class="ad-codes">
                <legend>
                    "Disposition " {move || if rules().multiple { "codes" } else { "code" }}
                    {move || if rules().required { " (required)" } else { " (optional)" }}
                </legend>
                {move || {
                    let (rules, chosen) = (rules(), chosen());
                    if rules.codes.is_empty() {
                        return view! { <p class="ad-empty">"This site has no disposition codes."</p> }.into_any();
                    }
                    rules.codes.into_iter().map(|c| {
                        let checked = chosen.contains(&c.code);
                        let code = c.code.clone();
                        view! {
                            <label class="ad-check">
                                <input type=if rules.multiple { "checkbox" } else { "radio" } name="disposition"
                                    value=c.code.clone() prop:checked=checked
                                    on:change=move |_| send(ClientFrame::ChooseCode { code: code.clone() }) />
                                " " {c.label}
                            </label>
                        }
                    }).collect_view().into_any()
                }}
            </fieldset>
            <label class="ad-notes">"Notes"
                <textarea rows="3" prop:value=move || notes.get() on:input=on_notes on:blur=move |_| save_notes()></textarea>
            </label>
            {move || missing_code().then(|| view! { <p class="ad-hint" role="status">"Choose a disposition code to complete."</p> })}
            <button type="button" class="ad-primary ad-complete" disabled=missing_code
                on:click=move |_| { save_notes(); send(ClientFrame::Complete); }>"Complete"</button>
        </section>
    }
}
