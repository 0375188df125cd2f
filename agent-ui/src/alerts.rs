//! Getting the agent's attention when a chat is offered or a contact answers: a short chime, and a browser
//! notification while the desktop is in the background (when the agent allowed them).

use wasm_bindgen::JsCast;

/// Asks for permission to show notifications (browsers only ask from a click, like the presence menu).
pub(crate) fn ask_permission() {
    if web_sys::Notification::permission() == web_sys::NotificationPermission::Default {
        let _ = web_sys::Notification::request_permission();
    }
}

/// Chimes, and when the desktop is not in front, shows a notification that brings it back on click.
pub(crate) fn alert(title: &str) {
    chime();
    let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
    if hidden && web_sys::Notification::permission() == web_sys::NotificationPermission::Granted {
        let options = web_sys::NotificationOptions::new();
        options.set_body("Confab agent desktop");
        options.set_tag("confab-offer");
        if let Ok(notification) = web_sys::Notification::new_with_options(title, &options) {
            let focus = wasm_bindgen::closure::Closure::<dyn Fn()>::new(|| {
                if let Some(window) = web_sys::window() {
                    let _ = window.focus();
                }
            });
            notification.set_onclick(Some(focus.as_ref().unchecked_ref()));
            focus.forget();
        }
    }
}

/// Two short tones (no sound file to load). Silently nothing where audio is not allowed yet.
fn chime() {
    let Ok(context) = web_sys::AudioContext::new() else { return };
    let start = context.current_time();
    for (i, frequency) in [880.0_f32, 1320.0].into_iter().enumerate() {
        let (Ok(tone), Ok(gain)) = (context.create_oscillator(), context.create_gain()) else { return };
        tone.frequency().set_value(frequency);
        let at = start + i as f64 * 0.18;
        let _ = gain.gain().set_value_at_time(0.0001, at);
        let _ = gain.gain().exponential_ramp_to_value_at_time(0.2, at + 0.02);
        let _ = gain.gain().exponential_ramp_to_value_at_time(0.0001, at + 0.16);
        let _ = tone
            .connect_with_audio_node(&gain)
            .and_then(|_| gain.connect_with_audio_node(&context.destination()));
        let _ = tone.start_with_when(at);
        let _ = tone.stop_with_when(at + 0.17);
    }
}
