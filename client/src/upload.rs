//! File uploads with progress (XMLHttpRequest: `fetch` reports no upload progress).

use crate::api::Failure;
use confab_protocol::frames::Attachment;
use confab_protocol::json;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

/// Uploads `file` to a conversation. `on_progress` gets 0.0 to 1.0 as bytes leave; `on_done` gets the stored
/// attachment, or why it was refused.
pub fn upload(
    interaction: &str,
    file: &File,
    bearer: Option<&str>,
    on_progress: impl Fn(f64) + 'static,
    on_done: impl FnOnce(Result<Attachment, Failure>) + 'static,
) {
    let network =
        || Failure { code: None, message: "The upload failed. Check your connection and try again.".into() };
    let Ok(xhr) = XmlHttpRequest::new() else { return on_done(Err(network())) };
    let path = format!(
        "/api/v1/chats/{interaction}/attachments?name={}",
        String::from(js_sys::encode_uri_component(&file.name()))
    );
    if xhr.open("POST", &path).is_err() {
        return on_done(Err(network()));
    }
    if let Some(token) = bearer {
        let _ = xhr.set_request_header("authorization", &format!("Bearer {token}"));
    }
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        if event.length_computable() && event.total() > 0.0 {
            on_progress(event.loaded() / event.total());
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    // `loadend` fires once, after success, error or abort; the callbacks live until then.
    let on_done = Rc::new(RefCell::new(Some(on_done)));
    let done_xhr = xhr.clone();
    let keep_progress = RefCell::new(Some(progress));
    let finished = Closure::<dyn FnMut()>::new(move || {
        keep_progress.borrow_mut().take();
        let Some(done) = on_done.borrow_mut().take() else { return };
        let text = done_xhr.response_text().ok().flatten().unwrap_or_default();
        let status = done_xhr.status().unwrap_or(0);
        let result = if (200..300).contains(&status) {
            json::read::<Attachment>(&text).ok_or_else(network)
        } else {
            Err(Failure::from_answer(&text).unwrap_or_else(network))
        };
        done(result);
    });
    xhr.set_onloadend(Some(finished.as_ref().unchecked_ref()));
    // The request holds the only reference to its completion handler from here on.
    finished.forget();
    if xhr.send_with_opt_blob(Some(file)).is_err() {
        web_sys::console::warn_1(&"upload could not start".into());
    }
}
