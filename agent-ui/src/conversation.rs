//! One conversation in the agent desktop: its transcript with the lifecycle's notices, the timers, the
//! composer (emoji, files, standard responses), the actions (transfer, park, end) and, after the end, the
//! wrap-up. It runs on the conversation's own socket, as an agent.

use crate::desk::{DeskState, Screen};
use crate::transfer::TransferDialog;
use crate::wrap::WrapPanel;
use confab_client::conversation::{ConversationLink, Events, Link};
use confab_client::view::{
    AttachmentView, EMOJI, TranscriptScroll, formatted, insert_at_cursor, set_timeout,
};
use confab_client::{clock_time, now_ms, upload};
use confab_protocol::attachments;
use confab_protocol::delivery::{self, ClientLog};
use confab_protocol::format::clock_duration;
use confab_protocol::frames::{Author, ClientFrame, ErrorCode, InteractionView, Participant, ServerFrame};
use confab_protocol::ids::{AgentId, InteractionId};
use confab_protocol::lifecycle::{AgentActions, EndedBy, Event, Phase, State, WriteBlock};
use confab_protocol::routing::{AssignKind, TransferOutcome, TransferTarget};
use confab_protocol::widget;
use leptos::prelude::*;
use web_sys::KeyboardEvent;

/// A lifecycle notice in the transcript, placed after the message it followed.
#[derive(Debug, Clone, PartialEq)]
struct TranscriptNote {
    after_seq: confab_protocol::ids::Seq,
    at: i64,
    text: String,
}

/// Everything the view follows on the conversation's socket. `Copy` handles.
#[derive(Clone, Copy)]
struct Live {
    interaction: InteractionId,
    log: RwSignal<ClientLog>,
    link_state: RwSignal<Link>,
    view: RwSignal<Option<InteractionView>>,
    notices: RwSignal<Vec<TranscriptNote>>,
    error: RwSignal<Option<String>>,
    contact_typing: RwSignal<bool>,
    typing_seen_at: StoredValue<i64>,
    typing_sent_at: StoredValue<i64>,
    link: StoredValue<Option<ConversationLink>, LocalStorage>,
}

impl Live {
    fn send(&self, frame: ClientFrame) -> bool {
        let sent = self.link.with_value(|l| l.as_ref().is_some_and(|l| l.send(&frame)));
        if !sent {
            self.error
                .set(Some("Not connected to this conversation right now; try again in a moment.".into()));
        }
        sent
    }

    fn typing(&self, on: bool) {
        let now = now_ms();
        if delivery::typing_due(on, self.typing_sent_at.get_value(), now)
            && self.link.with_value(|l| l.as_ref().is_some_and(|l| l.send(&ClientFrame::Typing { on })))
        {
            self.typing_sent_at.set_value(if on { now } else { 0 });
        }
    }

    /// Adds a lifecycle notice after the last message written before it (an earlier page's events come in
    /// while newer messages are held). The edge replays the events on every (re)connection: one already
    /// shown is not shown twice.
    fn note(&self, at: i64, text: String) {
        let after_seq =
            self.log.with_untracked(|l| l.messages.iter().rev().find(|m| m.at <= at).map_or(0, |m| m.seq));
        if self.notices.with_untracked(|n| n.iter().any(|x| x.at == at && x.text == text)) {
            return;
        }
        self.notices.update(|n| n.push(TranscriptNote { after_seq, at, text }));
    }
}

/// How an event reads in the transcript (`None`: nothing worth a line).
fn describe(event: &Event, desk: &DeskState) -> Option<(i64, String)> {
    // "You" at the start of a line, "you" further on.
    let name = |agent: &AgentId| if *agent == desk.me() { "You".to_owned() } else { desk.agent_name(agent) };
    let object =
        |agent: &AgentId| if *agent == desk.me() { "you".to_owned() } else { desk.agent_name(agent) };
    let target = |target: &TransferTarget| match target {
        TransferTarget::Agent(agent) => desk.agent_name(agent),
        TransferTarget::Queue(queue) => format!("the {} queue", queue.0),
    };
    Some(match event {
        Event::Assigned { agent, how, at } => (
            *at,
            match how {
                AssignKind::Accepted | AssignKind::AutoAccepted => {
                    format!("{} accepted the chat", name(agent))
                }
                AssignKind::Transferred { from } => {
                    format!("{} transferred the chat to {}", name(from), object(agent))
                }
                AssignKind::Unparked => format!("{} took the chat back", name(agent)),
            },
        ),
        Event::TransferRequested { from, target: to, at } => {
            (*at, format!("{} asked to transfer the chat to {}", name(from), target(to)))
        }
        Event::TransferEnded { outcome, at, .. } => (
            *at,
            match outcome {
                // The handover has its own line, the assignment's ("… transferred the chat to …").
                TransferOutcome::Accepted { .. } => return None,
                TransferOutcome::Rejected { by } => format!("{} rejected the transfer", name(by)),
                TransferOutcome::Expired => "Nobody accepted the transfer in time".into(),
                TransferOutcome::Cancelled => "The transfer was cancelled".into(),
            },
        ),
        Event::Parked { agent, until, auto, at } => (
            *at,
            match auto {
                true => format!("Parked automatically (no reply needed) until {}", clock_time(*until)),
                false => format!("{} parked the chat until {}", name(agent), clock_time(*until)),
            },
        ),
        Event::Unparked { by_contact: true, at, .. } => (*at, "The contact replied: the chat is back".into()),
        Event::Unparked { agent, at, .. } => (*at, format!("{} unparked the chat", name(agent))),
        Event::ReturnedToQueue { at, .. } => {
            (*at, "The contact replied; the chat went back to the queue".into())
        }
        Event::Ended { by, at, duration_ms } => {
            let who = match by {
                EndedBy::Contact => "The contact ended the chat".to_owned(),
                EndedBy::Agent(agent) => format!("{} ended the chat", name(agent)),
                EndedBy::Timeout => "The chat ended: the park limit passed without a reply".to_owned(),
            };
            (*at, format!("{who} · it lasted {}", clock_duration(*duration_ms)))
        }
        Event::Completed { record } => (
            record.completed_at,
            match record.auto_closed {
                true => "Wrap-up closed by its timer".into(),
                false => "Wrap-up completed".into(),
            },
        ),
        Event::Reactivated { by, at } => {
            (*at, format!("{} wrote a follow-up: the conversation is open again", name(by)))
        }
        _ => return None,
    })
}

#[component]
pub(crate) fn ConversationView(desk: DeskState, interaction: InteractionId) -> impl IntoView {
    let live = Live {
        interaction,
        log: RwSignal::new(ClientLog::default()),
        link_state: RwSignal::new(Link::Connecting),
        view: RwSignal::new(None),
        notices: RwSignal::new(Vec::new()),
        error: RwSignal::new(None),
        contact_typing: RwSignal::new(false),
        typing_seen_at: StoredValue::new(0),
        typing_sent_at: StoredValue::new(0),
        link: StoredValue::new_local(None),
    };
    let on_news = move |frame: ServerFrame| match frame {
        ServerFrame::State { view } => live.view.set(Some(*view)),
        ServerFrame::Event { event } => {
            if let Some((at, text)) = describe(&event, &desk) {
                live.note(at, text);
            }
        }
        ServerFrame::Typing { who: Participant::Contact, on } => {
            live.typing_seen_at.set_value(now_ms());
            live.contact_typing.set(on);
            if on {
                set_timeout(
                    move || {
                        if now_ms() - live.typing_seen_at.get_value() >= delivery::TYPING_TIMEOUT_MS {
                            live.contact_typing.set(false);
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
            on_log: Box::new(move |l| live.log.set(l.clone())),
            on_link: Box::new(move |s| live.link_state.set(s)),
            on_error: Box::new(move |_, m| live.error.set(Some(m))),
            on_refused: Box::new(move || {
                live.error.set(Some("You can no longer open this conversation.".into()))
            }),
            on_news: Box::new(on_news),
        },
        |text| ServerFrame::decode(text).ok(),
    );
    live.link.set_value(Some(link));
    on_cleanup(move || live.link.with_value(|l| l.iter().for_each(ConversationLink::close)));

    let summary = move || desk.summary(interaction);
    let label = move || summary().map(|s| s.contact_label).unwrap_or_else(|| "Conversation".into());
    let phase = move || live.view.with(|v| v.as_ref().map(|v| v.phase));
    let transferring = RwSignal::new(false);
    // A memo: the panel (and the notes being typed in it) is drawn anew only when this changes, not on every
    // state update.
    let my_wrap_up = Memo::new(move |_| {
        live.view.with(|v| v.as_ref().is_some_and(|v| v.wrap.as_ref().is_some_and(|w| w.agent == desk.me())))
    });
    view! {
        <section class="ad-conversation" aria-label=move || format!("Conversation with {}", label())>
            <header class="ad-conv-head">
                <div class="ad-conv-title">
                    <h1>{label}</h1>
                    <span class="ad-phase" data-phase=move || phase().map(Phase::as_str).unwrap_or_default()>
                        {move || phase().map(phase_label)}
                    </span>
                    <span class="ad-link-state">{move || match live.link_state.get() {
                        Link::Online => "",
                        Link::Connecting => "Connecting…",
                        Link::Offline => "Offline — reconnecting",
                        Link::Closed => "Closed",
                    }}</span>
                </div>
                <Actions desk live transferring />
            </header>
            <Timers desk live />
            <div class="ad-conv-body">
                <div class="ad-conv-main">
                    <Transcript desk live />
                    {move || live.error.get().map(|e| view! {
                        <p class="ad-error" role="alert">{e} " "
                            <button class="ad-link" on:click=move |_| live.error.set(None)>"Dismiss"</button>
                        </p>
                    })}
                    // During the agent's own wrap-up the panel takes the composer's place.
                    {move || if my_wrap_up.get() {
                        view! { <WrapPanel desk live_view=live.view send=move |f| { live.send(f); } /> }.into_any()
                    } else {
                        view! { <Composer desk live /> }.into_any()
                    }}
                </div>
                <Info desk live />
            </div>
            {move || transferring.get().then(|| view! {
                <TransferDialog desk interaction close=move || transferring.set(false) />
            })}
        </section>
    }
}

/// How a phase reads in the conversation header.
pub(crate) fn phase_label(phase: Phase) -> &'static str {
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

/// What this agent may do on the open conversation (the lifecycle decides; the desktop only shows it).
fn actions(desk: DeskState, live: Live) -> Option<AgentActions> {
    let offered = desk.offers.with(|offers| offers.iter().any(|o| o.interaction == live.interaction));
    live.view.with(|v| v.as_ref().map(|v| v.state.actions_for(&desk.me(), offered)))
}

#[component]
fn Actions(desk: DeskState, live: Live, transferring: RwSignal<bool>) -> impl IntoView {
    let may = move |pick: fn(&AgentActions) -> bool| actions(desk, live).is_some_and(|a| pick(&a));
    let pending_transfer = move || actions(desk, live).and_then(|a| a.cancel_transfer);
    let confirming_end = RwSignal::new(false);
    view! {
        <div class="ad-actions">
            {move || match pending_transfer() {
                Some(target) => view! {
                    <span class="ad-pending" role="status">
                        "Transfer to "
                        {match target { TransferTarget::Agent(a) => desk.agent_name(&a), TransferTarget::Queue(q) => format!("queue {}", q.0) }}
                        " pending…"
                    </span>
                    <button class="ad-secondary" on:click=move |_| {
                        desk.send(confab_protocol::frames::DeskClientFrame::CancelTransfer { interaction: live.interaction });
                    }>"Cancel transfer"</button>
                }.into_any(),
                None => view! {
                    <button class="ad-secondary ad-transfer-open" disabled=move || !may(|a| a.transfer) on:click=move |_| transferring.set(true)>"Transfer"</button>
                }.into_any(),
            }}
            {move || if may(|a| a.unpark) {
                view! { <button class="ad-secondary ad-unpark" on:click=move |_| { live.send(ClientFrame::Unpark); }>"Unpark"</button> }.into_any()
            } else {
                view! { <button class="ad-secondary ad-park" disabled=move || !may(|a| a.park)
                    title="Frees a slot while you wait for the customer; the chat comes back when they reply"
                    on:click=move |_| { live.send(ClientFrame::Park); }>"Park"</button> }.into_any()
            }}
            {move || if confirming_end.get() {
                view! {
                    <span class="ad-confirm" role="alertdialog" aria-label="End this chat?">
                        "End this chat?"
                        <button class="ad-danger ad-end-confirm" on:click=move |_| { live.send(ClientFrame::End); confirming_end.set(false); }>"End"</button>
                        <button class="ad-secondary" on:click=move |_| confirming_end.set(false)>"Keep"</button>
                    </span>
                }.into_any()
            } else {
                view! { <button class="ad-danger ad-end" disabled=move || !may(|a| a.end)
                    on:click=move |_| confirming_end.set(true)>"End chat"</button> }.into_any()
            }}
        </div>
    }
}

/// The session's service timers, live: time to first response, time waiting for a reply, time to resolution.
#[component]
fn Timers(desk: DeskState, live: Live) -> impl IntoView {
    let sla = move || live.view.with(|v| v.as_ref().and_then(|v| v.sla.clone()));
    view! {
        {move || sla().map(|sla| {
            let now = desk.now.get();
            let reply = sla.time_to_reply(now);
            view! {
                <dl class="ad-timers">
                    <div><dt>"First response"</dt><dd data-running=sla.first_response.is_none().to_string()>{clock_duration(sla.time_to_first_response(now))}</dd></div>
                    <div><dt>"Waiting for reply"</dt><dd data-running=reply.is_some().to_string()>{reply.map_or_else(|| "—".to_owned(), clock_duration)}</dd></div>
                    <div><dt>"Resolution"</dt><dd data-running=sla.resolved.is_none().to_string()>{clock_duration(sla.time_to_resolution(now))}</dd></div>
                </dl>
            }
        })}
    }
}

/// One line of the transcript.
#[derive(Clone, PartialEq)]
enum Line {
    Message(confab_protocol::frames::Message),
    Pending(String, String),
    Note(TranscriptNote),
}

#[component]
fn Transcript(desk: DeskState, live: Live) -> impl IntoView {
    let list: NodeRef<leptos::html::Ol> = NodeRef::new();
    let lines = move || {
        let mut notices = live.notices.get();
        notices.sort_by_key(|n| (n.after_seq, n.at));
        let mut notices = notices.into_iter().peekable();
        let mut lines = Vec::new();
        live.log.with(|log| {
            for message in &log.messages {
                while let Some(n) = notices.next_if(|n| n.after_seq < message.seq) {
                    lines.push(Line::Note(n));
                }
                lines.push(Line::Message(message.clone()));
            }
            lines.extend(notices.map(Line::Note));
            lines.extend(log.outbox.iter().map(|o| Line::Pending(o.client_id.0.to_string(), o.text.clone())));
        });
        lines
    };
    // Keep the newest line in view (and what the agent reads when an earlier page comes in).
    let scroll = TranscriptScroll::default();
    Effect::new(move |_| {
        let newest = live.log.with(|l| (l.last_seq(), l.outbox.len()));
        // A notice after the newest message is news at the bottom; one of an earlier page is not.
        let last = newest.0.unwrap_or(0);
        let newest_notice =
            live.notices.with(|n| n.iter().filter(|n| n.after_seq >= last).map(|n| n.at).max());
        if let Some(list) = list.get() {
            scroll.follow(&list, (newest, newest_notice));
        }
    });
    let load_earlier = move |_| {
        live.link.with_value(|l| l.as_ref().map(ConversationLink::load_earlier));
    };
    let me = desk.me();
    let interaction = live.interaction.to_string();
    view! {
        <ol class="ad-transcript" node_ref=list aria-live="polite" aria-label="Transcript">
            {move || live.log.with(|l| l.earlier).then(|| view! {
                <li class="ad-earlier"><button type="button" class="ad-secondary ad-earlier-button" on:click=load_earlier>"Show earlier messages"</button></li>
            })}
            <For
                each=lines
                key=|line| match line {
                    Line::Message(m) => format!("m{}", m.seq),
                    Line::Pending(id, _) => format!("p{id}"),
                    Line::Note(n) => format!("n{}-{}-{}", n.after_seq, n.at, n.text),
                }
                children=move |line| match line {
                    Line::Message(m) => {
                        let (class, who) = match &m.author {
                            Author::Agent { id, name } if *id == me => ("ad-msg ad-from-agent ad-mine", format!("{name} (you)")),
                            Author::Agent { name, .. } => ("ad-msg ad-from-agent", name.clone()),
                            _ => ("ad-msg ad-from-contact", desk.summary(live.interaction).map(|s| s.contact_label).unwrap_or_else(|| "Contact".into())),
                        };
                        let interaction = interaction.clone();
                        view! {
                            <li class=class>
                                <span class="ad-who">{who} " · " {clock_time(m.at)}</span>
                                {(!m.text.is_empty()).then(|| view! { <span class="ad-text">{formatted(&m.text)}</span> })}
                                {m.attachments.into_iter().map(|attachment| view! {
                                    <AttachmentView interaction=interaction.clone() attachment bearer=None />
                                }).collect_view()}
                            </li>
                        }.into_any()
                    }
                    Line::Pending(_, text) => view! {
                        <li class="ad-msg ad-from-agent ad-mine" data-pending="true">
                            <span class="ad-who">"Sending…"</span>
                            <span class="ad-text">{text}</span>
                        </li>
                    }.into_any(),
                    Line::Note(n) => view! {
                        <li class="ad-system" role="note">{n.text} " · " {clock_time(n.at)}</li>
                    }.into_any(),
                }
            />
            {move || live.contact_typing.get().then(|| view! { <li class="ad-typing">"The contact is typing…"</li> })}
        </ol>
    }
}

#[component]
fn Composer(desk: DeskState, live: Live) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let input: NodeRef<leptos::html::Textarea> = NodeRef::new();
    let picker_open = RwSignal::new(None::<&'static str>);
    let uploads = RwSignal::new(Vec::<(u32, String, u32)>::new());
    let next_upload = StoredValue::new(0u32);
    // Writing is for the agent who holds the chat, or a follow-up after it ended (it reopens it).
    let blocked = move || {
        let Some(actions) = actions(desk, live) else { return Some("Connecting…") };
        // The lifecycle decides; this only says why in words.
        actions.write.err().map(|why| match why {
            WriteBlock::UnparkFirst => "Unpark the chat to write.",
            WriteBlock::AcceptFirst => "Accept the chat to write.",
            WriteBlock::WaitingInQueue => "Waiting for an agent to accept it.",
            WriteBlock::ParkedByAnother => "Another agent parked this chat.",
            WriteBlock::AnotherAgent => "Another agent has this chat.",
        })
    };
    let follow_up = move || {
        live.view.with(|v| v.as_ref().is_some_and(|v| matches!(v.state, State::Ended { .. } | State::New)))
    };
    let submit = move || match live.link.with_value(|l| l.as_ref().map(|l| l.write(&draft.get_untracked()))) {
        Some(Ok(())) => {
            draft.set(String::new());
            live.error.set(None);
            live.typing(false);
        }
        Some(Err(e)) if e.code() == ErrorCode::EmptyMessage => {}
        Some(Err(e)) => live.error.set(Some(e.to_string())),
        None => {}
    };
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };
    let insert = move |text: &str| {
        if let Some(el) = input.get_untracked() {
            draft.set(insert_at_cursor(&el, text));
        }
        picker_open.set(None);
    };
    let on_files = move |ev: leptos::ev::Event| {
        let picker: web_sys::HtmlInputElement = event_target(&ev);
        let Some(files) = picker.files() else { return };
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            if let Err(refused) = attachments::precheck(&file.name(), file.size() as u64) {
                live.error.set(Some(refused.to_string()));
                continue;
            }
            let id = next_upload.get_value();
            next_upload.set_value(id + 1);
            uploads.update(|u| u.push((id, file.name(), 0)));
            upload::upload(
                &live.interaction.to_string(),
                &file,
                None,
                move |p| {
                    uploads
                        .update(|u| u.iter_mut().filter(|x| x.0 == id).for_each(|x| x.2 = (p * 100.0) as u32))
                },
                move |result| {
                    uploads.update(|u| u.retain(|x| x.0 != id));
                    match result {
                        Ok(attachment) => {
                            if let Some(Err(e)) = live
                                .link
                                .with_value(|l| l.as_ref().map(|l| l.write_with("", vec![attachment])))
                            {
                                live.error.set(Some(e.to_string()));
                            }
                        }
                        Err(failure) => live.error.set(Some(failure.message)),
                    }
                },
            );
        }
        picker.set_value("");
    };
    let responses =
        move || desk.site.with(|s| s.as_ref().map(|s| s.standard_responses.clone()).unwrap_or_default());
    let response_query = RwSignal::new(String::new());
    view! {
        <form class="ad-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            {move || uploads.get().into_iter().map(|(_, name, percent)| view! {
                <p class="ad-upload">"Uploading " {name.clone()} " "
                    <progress max="100" value=percent aria-label=format!("Uploading {name}")></progress></p>
            }).collect_view()}
            {move || match picker_open.get() {
                Some("emoji") => view! {
                    <div class="ad-popover ad-emoji-grid" role="group" aria-label="Emoji">
                        {EMOJI.iter().map(|&e| view! { <button type="button" class="ad-emoji" on:click=move |_| insert(e)>{e}</button> }).collect_view()}
                    </div>
                }.into_any(),
                Some(_) => view! {
                    <div class="ad-popover ad-responses" role="dialog" aria-label="Standard responses">
                        <input type="search" class="ad-response-search" placeholder="Search standard responses" aria-label="Search standard responses"
                            prop:value=move || response_query.get() on:input=move |ev| response_query.set(event_target_value(&ev)) />
                        <ul>
                            {move || {
                                let query = response_query.get();
                                let found: Vec<_> = responses().into_iter().filter(|r| r.matches(&query)).collect();
                                if found.is_empty() {
                                    view! { <li class="ad-empty">"No standard response matches."</li> }.into_any()
                                } else {
                                    found.into_iter().map(|r| {
                                        let text = r.text.clone();
                                        view! {
                                            <li><button type="button" class="ad-response" on:click=move |_| insert(&text)>
                                                <strong>{r.title}</strong><span>{r.text}</span>
                                            </button></li>
                                        }
                                    }).collect_view().into_any()
                                }
                            }}
                        </ul>
                    </div>
                }.into_any(),
                None => ().into_any(),
            }}
            {move || blocked().map(|why| view! { <p class="ad-blocked">{why}</p> })}
            <div class="ad-compose-row">
                <textarea
                    class="ad-input"
                    rows="2"
                    node_ref=input
                    disabled=move || blocked().is_some()
                    placeholder=move || if follow_up() { "Write a follow-up: it reopens the conversation (Enter sends)" } else { "Reply… (Enter sends, Shift+Enter for a new line)" }
                    aria-label="Reply"
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        let text = event_target_value(&ev);
                        live.typing(!text.trim().is_empty());
                        draft.set(text);
                    }
                    on:keydown=on_keydown
                ></textarea>
                <div class="ad-tools">
                    <button type="button" class="ad-tool ad-emoji-toggle" aria-label="Insert an emoji" title="Emoji"
                        aria-expanded=move || (picker_open.get() == Some("emoji")).to_string()
                        on:click=move |_| picker_open.update(|p| *p = if *p == Some("emoji") { None } else { Some("emoji") })>"☺"</button>
                    <button type="button" class="ad-tool ad-responses-toggle" aria-label="Standard responses" title="Standard responses"
                        aria-expanded=move || (picker_open.get() == Some("responses")).to_string()
                        on:click=move |_| picker_open.update(|p| *p = if *p == Some("responses") { None } else { Some("responses") })>"¶"</button>
                    <label class="ad-tool" title="Attach a file">"📎"
                        <input type="file" class="ad-file" multiple accept=attachments::FileKind::PICKER_ACCEPT aria-label="Attach a file" on:change=on_files
                            disabled=move || blocked().is_some() />
                    </label>
                    <button class="ad-primary ad-send" type="submit" disabled=move || blocked().is_some()>"Send"</button>
                </div>
            </div>
        </form>
    }
}

/// The side panel: the interaction's id (with Copy), the contact, and the way to their history.
#[component]
fn Info(desk: DeskState, live: Live) -> impl IntoView {
    let id = live.interaction.to_string();
    let copied = RwSignal::new(false);
    let copy = {
        let id = id.clone();
        move |_| {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&id);
                copied.set(true);
                set_timeout(move || copied.set(false), 2000);
            }
        }
    };
    let summary = move || desk.summary(live.interaction);
    view! {
        <aside class="ad-info" aria-label="Interaction details">
            <h2>"Interaction"</h2>
            <p class="ad-id-row"><code class="ad-id">{id}</code>
                <button class="ad-link ad-copy" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button></p>
            <h2>"Contact"</h2>
            {move || summary().map(|s| {
                let contact = s.contact.clone();
                view! {
                    <p class="ad-contact">{s.contact_label.clone()}</p>
                    {s.contact_email.clone().map(|email| match widget::mailto(&email) {
                        Some(link) => view! { <p><a class="ad-email" href=link>{email}</a></p> }.into_any(),
                        None => view! { <p class="ad-email">{email}</p> }.into_any(),
                    })}
                    <p class="ad-muted">"Started " {clock_time(s.started_at)}</p>
                    {contact.map(|c| view! {
                        <button class="ad-secondary ad-history-open" on:click=move |_| {
                            desk.open_contact.set(Some(c.clone()));
                            desk.screen.set(Screen::Contacts);
                        }>"Contact history"</button>
                    })}
                }
            })}
            {move || live.view.with(|v| v.as_ref().and_then(|v| v.sla.as_ref().map(|s| s.started))).map(|started| view! {
                <p class="ad-muted">"This session since " {clock_time(started)}</p>
            })}
        </aside>
    }
}
