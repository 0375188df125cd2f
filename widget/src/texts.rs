//! Everything the widget says, in each language it speaks (`confab_protocol::widget::LOCALES`). The site's
//! own title and greeting are the site owner's words and are shown as written.

use confab_protocol::attachments::Refused;
use confab_protocol::frames::ErrorCode;
use confab_protocol::validate::MAX_MESSAGE_CHARS;
use confab_protocol::widget::PreChatProblem;

/// One language's words. `{name}` in a text is replaced by a file or person's name.
#[derive(Debug)]
pub(crate) struct Texts {
    pub(crate) lang: &'static str,
    pub(crate) greeting: &'static str,
    pub(crate) connecting: &'static str,
    pub(crate) online: &'static str,
    pub(crate) offline: &'static str,
    pub(crate) end_chat: &'static str,
    pub(crate) close: &'static str,
    pub(crate) end_question: &'static str,
    pub(crate) keep_chatting: &'static str,
    pub(crate) you_ended: &'static str,
    pub(crate) chat_ended: &'static str,
    pub(crate) write_again: &'static str,
    pub(crate) typing: &'static str,
    pub(crate) sending: &'static str,
    pub(crate) sent: &'static str,
    pub(crate) seen: &'static str,
    pub(crate) uploading: &'static str,
    pub(crate) attach: &'static str,
    pub(crate) emoji: &'static str,
    pub(crate) placeholder: &'static str,
    pub(crate) message: &'static str,
    pub(crate) messages: &'static str,
    pub(crate) send: &'static str,
    pub(crate) end_offline: &'static str,
    pub(crate) conversation_gone: &'static str,
    pub(crate) too_long: &'static str,
    pub(crate) not_sent: &'static str,
    pub(crate) too_fast: &'static str,
    pub(crate) unreachable: &'static str,
    /// A new chat was refused: the site's queue is full.
    pub(crate) queue_full: &'static str,
    pub(crate) upload_quota: &'static str,
    pub(crate) show_earlier: &'static str,
    pub(crate) file_type: &'static str,
    pub(crate) file_too_large: &'static str,
    pub(crate) file_empty: &'static str,
    pub(crate) pre_chat_intro: &'static str,
    pub(crate) name: &'static str,
    pub(crate) email: &'static str,
    pub(crate) optional: &'static str,
    pub(crate) start_chat: &'static str,
    pub(crate) name_missing: &'static str,
    pub(crate) name_too_long: &'static str,
    pub(crate) email_missing: &'static str,
    pub(crate) email_invalid: &'static str,
    pub(crate) not_set_up: &'static str,
}

pub(crate) const EN: Texts = Texts {
    lang: "en",
    greeting: "Hi! How can we help? We usually answer within a few minutes.",
    connecting: "Connecting…",
    online: "Online",
    offline: "Offline — reconnecting",
    end_chat: "End chat",
    close: "Close the chat window",
    end_question: "End this chat? You can always write again later.",
    keep_chatting: "Keep chatting",
    you_ended: "You ended the chat.",
    chat_ended: "The chat has ended.",
    write_again: "Write below whenever you want to start again.",
    typing: "{name} is typing…",
    sending: "Sending…",
    sent: "Sent",
    seen: "Seen",
    uploading: "Uploading {name}",
    attach: "Attach a file",
    emoji: "Insert an emoji",
    placeholder: "Write a message…",
    message: "Message",
    messages: "Messages",
    send: "Send",
    end_offline: "You're offline: the chat will end when you're back online. Try again then.",
    conversation_gone: "This conversation is no longer available. Write to start a new one.",
    too_long: "This message is too long: at most {name} characters.",
    not_sent: "This could not be sent. Please try again.",
    too_fast: "You're writing very fast: your messages go out in a moment.",
    unreachable: "Can't reach the chat service. Check your connection and try again.",
    queue_full: "All our agents are busy and no more chats can wait right now. Please try again in a few minutes.",
    upload_quota: "No more files can be sent for a while: the limit for files is reached. You can still write.",
    show_earlier: "Show earlier messages",
    file_type: "{name} can't be sent: images, audio, video, PDF and office documents can.",
    file_too_large: "{name} is too large: files can be up to 100 MB.",
    file_empty: "{name} is empty.",
    pre_chat_intro: "Before we start: how can we reach you?",
    name: "Name",
    email: "Email",
    optional: "optional",
    start_chat: "Start chat",
    name_missing: "Please enter your name.",
    name_too_long: "That name is too long.",
    email_missing: "Please enter your email address.",
    email_invalid: "That email address doesn't look right.",
    not_set_up: "This chat is not set up: the script tag needs a data-site attribute.",
};

pub(crate) const DE: Texts = Texts {
    lang: "de",
    greeting: "Hallo! Wie können wir helfen? Wir antworten meist innerhalb weniger Minuten.",
    connecting: "Verbinde…",
    online: "Online",
    offline: "Offline – verbinde neu",
    end_chat: "Chat beenden",
    close: "Chatfenster schließen",
    end_question: "Diesen Chat beenden? Sie können jederzeit wieder schreiben.",
    keep_chatting: "Weiter chatten",
    you_ended: "Sie haben den Chat beendet.",
    chat_ended: "Der Chat wurde beendet.",
    write_again: "Schreiben Sie einfach unten, um neu zu beginnen.",
    typing: "{name} schreibt…",
    sending: "Wird gesendet…",
    sent: "Gesendet",
    seen: "Gelesen",
    uploading: "{name} wird hochgeladen",
    attach: "Datei anhängen",
    emoji: "Emoji einfügen",
    placeholder: "Nachricht schreiben…",
    message: "Nachricht",
    messages: "Nachrichten",
    send: "Senden",
    end_offline: "Sie sind offline: Der Chat endet, sobald Sie wieder online sind. Versuchen Sie es dann erneut.",
    conversation_gone: "Dieses Gespräch ist nicht mehr verfügbar. Schreiben Sie, um ein neues zu beginnen.",
    too_long: "Diese Nachricht ist zu lang: höchstens {name} Zeichen.",
    not_sent: "Das konnte nicht gesendet werden. Bitte versuchen Sie es erneut.",
    too_fast: "Sie schreiben sehr schnell: Ihre Nachrichten werden gleich gesendet.",
    unreachable: "Der Chat ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut.",
    queue_full: "Alle unsere Mitarbeiter sind beschäftigt, und gerade können keine weiteren Chats warten. Bitte versuchen Sie es in ein paar Minuten erneut.",
    upload_quota: "Eine Weile können keine weiteren Dateien gesendet werden: Das Limit für Dateien ist erreicht. Schreiben können Sie weiterhin.",
    show_earlier: "Frühere Nachrichten anzeigen",
    file_type: "{name} kann nicht gesendet werden: möglich sind Bilder, Audio, Video, PDF und Office-Dokumente.",
    file_too_large: "{name} ist zu groß: Dateien dürfen bis zu 100 MB groß sein.",
    file_empty: "{name} ist leer.",
    pre_chat_intro: "Bevor es losgeht: Wie erreichen wir Sie?",
    name: "Name",
    email: "E-Mail",
    optional: "optional",
    start_chat: "Chat starten",
    name_missing: "Bitte geben Sie Ihren Namen ein.",
    name_too_long: "Dieser Name ist zu lang.",
    email_missing: "Bitte geben Sie Ihre E-Mail-Adresse ein.",
    email_invalid: "Diese E-Mail-Adresse scheint nicht zu stimmen.",
    not_set_up: "Dieser Chat ist nicht eingerichtet: Dem Script-Tag fehlt das Attribut data-site.",
};

impl Texts {
    /// The words for one of `LOCALES` (English for anything else).
    pub(crate) fn of(locale: &str) -> &'static Texts {
        match locale {
            "de" => &DE,
            _ => &EN,
        }
    }

    /// `text` with `{name}` replaced.
    pub(crate) fn with(text: &str, name: &str) -> String {
        text.replace("{name}", name)
    }

    /// Why a file was refused before upload.
    pub(crate) fn refused(&self, refused: &Refused) -> String {
        match refused {
            Refused::TypeNotAllowed { name } | Refused::ContentMismatch { name, .. } => {
                Self::with(self.file_type, name)
            }
            Refused::TooLarge { name, .. } => Self::with(self.file_too_large, name),
            Refused::Empty { name } => Self::with(self.file_empty, name),
        }
    }

    /// What to tell the contact about a refused message; `None` when there is nothing to say.
    pub(crate) fn message_refused(&self, code: ErrorCode) -> Option<String> {
        match code {
            ErrorCode::EmptyMessage => None,
            ErrorCode::MessageTooLong => Some(Self::with(self.too_long, &MAX_MESSAGE_CHARS.to_string())),
            ErrorCode::TooManyRequests => Some(self.too_fast.to_owned()),
            _ => Some(self.not_sent.to_owned()),
        }
    }

    pub(crate) fn pre_chat_problem(&self, problem: PreChatProblem) -> &'static str {
        match problem {
            PreChatProblem::NameMissing => self.name_missing,
            PreChatProblem::NameTooLong => self.name_too_long,
            PreChatProblem::EmailMissing => self.email_missing,
            PreChatProblem::EmailInvalid => self.email_invalid,
        }
    }
}
