//! Small view helpers both Leptos front ends use.

use confab_protocol::api::FileLink;
use confab_protocol::format;
use confab_protocol::frames::Attachment;
use leptos::prelude::*;

/// Message text with `*bold*` and `_italic_` styled; always text nodes, never HTML.
pub fn formatted(text: &str) -> Vec<AnyView> {
    format::spans(text)
        .into_iter()
        .map(|span| match (span.bold, span.italic) {
            (false, false) => span.text.into_any(),
            (true, false) => view! { <strong>{span.text}</strong> }.into_any(),
            (false, true) => view! { <em>{span.text}</em> }.into_any(),
            (true, true) => view! { <strong><em>{span.text}</em></strong> }.into_any(),
        })
        .collect()
}

/// Calls `f` once after `ms` milliseconds.
pub fn set_timeout(f: impl FnOnce() + 'static, ms: i64) {
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            wasm_bindgen::JsCast::unchecked_ref(&callback),
            ms as i32,
        );
    }
}

/// A file in a message: images are previewed inline, other files download on click. Links are signed and
/// short-lived, so each is fetched when needed (with the contact's token, or the agent's cookie).
#[component]
pub fn AttachmentView(interaction: String, attachment: Attachment, bearer: Option<String>) -> impl IntoView {
    let path = format!("/api/v1/chats/{interaction}/attachments/{}/link", attachment.id);
    let fetch_link = move || {
        let (path, bearer) = (path.clone(), bearer.clone());
        async move {
            crate::api::request_json::<FileLink>("GET", &path, None, bearer.as_deref()).await.map(|l| l.url)
        }
    };
    let label = format!("{} · {}", attachment.name, format::human_size(attachment.size));
    if attachment.kind.is_image() {
        let url = RwSignal::new(None::<String>);
        let fetch = fetch_link.clone();
        leptos::task::spawn_local(async move {
            if let Ok(link) = fetch().await {
                url.set(Some(link));
            }
        });
        let name = attachment.name.clone();
        view! {
            <a class="att att-image" href=move || url.get() target="_blank" rel="noopener" title=label>
                {move || url.get().map(|src| view! { <img src=src alt=name.clone() loading="lazy" /> })}
            </a>
        }
        .into_any()
    } else {
        let open = move |_| {
            let fetch = fetch_link.clone();
            leptos::task::spawn_local(async move {
                if let (Ok(link), Some(window)) = (fetch().await, web_sys::window()) {
                    let _ = window.open_with_url_and_target(&link, "_blank");
                }
            });
        };
        view! { <button type="button" class="att att-file" on:click=open>{label}</button> }.into_any()
    }
}

/// Calls `f` every `ms` milliseconds, for the page's lifetime.
pub fn set_interval(f: impl Fn() + 'static, ms: i32) {
    let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(f);
    if let Some(window) = web_sys::window() {
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            wasm_bindgen::JsCast::unchecked_ref(callback.as_ref()),
            ms,
        );
    }
    callback.forget();
}

/// The emoji pickers' choice: the ones people use in support chats.
pub const EMOJI: [&str; 24] = [
    "😀", "😂", "😊", "😍", "🙂", "😉", "🤔", "😅", "😮", "😢", "😡", "🙄", "👍", "👎", "👏", "🙏", "👋",
    "🎉", "❤️", "🔥", "✅", "❌", "⭐", "💡",
];

/// Puts `text` where the cursor is in `input` (replacing a selection), leaves the cursor after it, and
/// returns the box's new text.
pub fn insert_at_cursor(input: &web_sys::HtmlTextAreaElement, text: &str) -> String {
    let start = input.selection_start().ok().flatten().unwrap_or(0);
    let end = input.selection_end().ok().flatten().unwrap_or(start);
    let _ = input.set_range_text_with_start_and_end_and_mode(text, start, end, "end");
    let _ = input.focus();
    input.value()
}

/// Waits `ms` milliseconds (in the browser's event loop).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Keeps a transcript list on its newest line: scrolled to the bottom whenever something new appears there
/// (`newest`: what the bottom shows, a message, a pending one, an upload, a typing indicator), and otherwise
/// left where the reader is: when a page of earlier messages comes in above, what the reader was looking at
/// stays in view.
#[derive(Clone, Copy)]
pub struct TranscriptScroll {
    /// What the bottom showed and the list's height, when last followed.
    seen: StoredValue<(u64, i32)>,
}

impl Default for TranscriptScroll {
    fn default() -> Self {
        TranscriptScroll { seen: StoredValue::new((0, 0)) }
    }
}

impl TranscriptScroll {
    /// After the list changed (call it in an effect tracking what the list shows).
    pub fn follow(&self, list: &web_sys::Element, newest: impl std::hash::Hash) {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let newest = BuildHasherDefault::<DefaultHasher>::default().hash_one(newest);
        let (newest_before, height_before) = self.seen.get_value();
        if newest == newest_before {
            // Lines came in above (or changed): what was in view stays in view.
            list.set_scroll_top(list.scroll_top() + list.scroll_height() - height_before);
        } else {
            list.set_scroll_top(list.scroll_height());
        }
        self.seen.set_value((newest, list.scroll_height()));
    }
}
