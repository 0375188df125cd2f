//! How a site's chat widget looks and greets: the site owner's settings, and the rules for the pre-chat
//! form and for how agents are named to contacts.

use crate::json::{FromJson, ToJson};
use serde::{Deserialize, Serialize};

/// The languages the widget speaks. `auto` (the default) picks the visitor's browser language when it is one
/// of these, English otherwise.
pub const LOCALES: [&str; 2] = ["en", "de"];

/// The widget's settings (`widget` in a site's setup; `GET /api/v1/sites/{site}/widget` serves them to the
/// loader and the widget). Every field has a default, so a site without any still gets a working widget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(default)]
pub struct WidgetSettings {
    /// The chat window's title. Empty: the site's name.
    pub title: String,
    /// The first thing a contact reads. Empty: a greeting in the contact's language.
    pub greeting: String,
    /// The launcher's and the contact's bubbles' colour, `#rrggbb`.
    pub color: String,
    pub position: Position,
    /// Whether contacts see the agent's name on replies (otherwise the window's title).
    pub show_agent_names: bool,
    pub pre_chat: PreChatForm,
    /// `auto`, or one of [`LOCALES`].
    pub locale: String,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            title: String::new(),
            greeting: String::new(),
            color: String::from("#2f5bea"),
            position: Position::Right,
            show_agent_names: true,
            pre_chat: PreChatForm::default(),
            locale: String::from("auto"),
        }
    }
}

/// Which bottom corner of the page the launcher sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    #[default]
    Right,
    Left,
}

/// What the widget asks before the first message. Both fields hidden (the default): no form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, FromJson)]
#[serde(default)]
pub struct PreChatForm {
    pub name: Field,
    pub email: Field,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    #[default]
    Hidden,
    Optional,
    Required,
}

/// Longest title, greeting, name and email, in characters.
pub const MAX_TITLE_CHARS: usize = 60;
pub const MAX_GREETING_CHARS: usize = 500;
pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_EMAIL_CHARS: usize = 254;

impl WidgetSettings {
    /// Checks settings a site owner submits; the error says what to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(format!("widget.title is longer than {MAX_TITLE_CHARS} characters"));
        }
        if self.greeting.chars().count() > MAX_GREETING_CHARS {
            return Err(format!("widget.greeting is longer than {MAX_GREETING_CHARS} characters"));
        }
        if !is_hex_color(&self.color) {
            return Err(format!("widget.color must look like #2f5bea, not {:?}", self.color));
        }
        if self.locale != "auto" && !LOCALES.contains(&self.locale.as_str()) {
            return Err(format!("widget.locale must be auto or one of {}", LOCALES.join(", ")));
        }
        Ok(())
    }

    /// These settings as contacts get them: an empty title is the site's name.
    pub fn for_site(&self, site_name: &str) -> WidgetSettings {
        let mut settings = self.clone();
        if settings.title.trim().is_empty() {
            settings.title = site_name.chars().take(MAX_TITLE_CHARS).collect();
        }
        settings
    }

    /// The contact details a new chat starts with. The pre-chat form's rules apply unless the site's user is
    /// identified (the page vouches for them) or the site asks nothing.
    pub fn contact_details(
        &self,
        name: Option<&str>,
        email: Option<&str>,
        identified: bool,
    ) -> Result<ContactDetails, PreChatProblem> {
        if identified || !self.asks_before_chat() {
            let given = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
            let email = given(email);
            if email.as_deref().is_some_and(|e| !is_plausible_email(e)) {
                return Err(PreChatProblem::EmailInvalid);
            }
            return Ok(ContactDetails { name: given(name), email });
        }
        self.pre_chat.check(name.unwrap_or_default(), email.unwrap_or_default())
    }

    /// Whether the widget asks anything of a new contact (a pre-chat form before the first message, or, with
    /// optional questions only, fields above the message box).
    pub fn asks_before_chat(&self) -> bool {
        self.pre_chat.name != Field::Hidden || self.pre_chat.email != Field::Hidden
    }

    /// The name a contact sees on an agent's messages and typing: the agent's, or the chat's title when the
    /// site hides agent names.
    pub fn agent_label<'a>(&'a self, agent_name: &'a str) -> &'a str {
        if self.show_agent_names { agent_name } else { &self.title }
    }
}

/// `#rrggbb`.
pub fn is_hex_color(color: &str) -> bool {
    color.len() == 7 && color.starts_with('#') && color[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The text colour that reads well on `background` (`#rrggbb`): white on dark colours, near-black on light
/// ones, so any brand colour a site picks keeps its buttons and bubbles legible.
pub fn text_color_on(background: &str) -> &'static str {
    let channel = |i: usize| u32::from_str_radix(background.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    // Perceived brightness (ITU-R BT.601 weights), 0 to 255.
    let brightness = (channel(1) * 299 + channel(3) * 587 + channel(5) * 114) / 1000;
    if brightness > 160 { "#111827" } else { "#ffffff" }
}

/// The language to speak: the site's choice, or with `auto` the first of the visitor's languages (in the
/// browser's order of preference, like `de-AT`) that the widget speaks; English otherwise.
pub fn pick_locale<'a>(setting: &str, preferred: impl IntoIterator<Item = &'a str>) -> &'static str {
    let known = |tag: &str| LOCALES.iter().copied().find(|l| tag.split('-').next() == Some(*l));
    if setting != "auto" {
        return known(setting).unwrap_or(LOCALES[0]);
    }
    preferred.into_iter().find_map(|tag| known(&tag.to_ascii_lowercase())).unwrap_or(LOCALES[0])
}

/// What the pre-chat form found wrong, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PreChatProblem {
    #[error("a name is required")]
    NameMissing,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("an email address is required")]
    EmailMissing,
    #[error("the email address does not look right")]
    EmailInvalid,
}

/// The contact's answers to the pre-chat form, trimmed, with empty answers as `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToJson, FromJson)]
pub struct ContactDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl PreChatForm {
    /// Whether a contact must answer before its first message (a required field): the widget then shows the
    /// form first. With optional questions only, the first message starts the chat, with what was answered.
    pub fn requires_an_answer(&self) -> bool {
        self.name == Field::Required || self.email == Field::Required
    }
}

impl PreChatProblem {
    /// Whether the problem is with the email field (otherwise the name field).
    pub fn is_about_email(self) -> bool {
        matches!(self, PreChatProblem::EmailMissing | PreChatProblem::EmailInvalid)
    }
}

impl PreChatForm {
    /// Checks the answers against the form (the widget before starting, the edge again on arrival).
    pub fn check(&self, name: &str, email: &str) -> Result<ContactDetails, PreChatProblem> {
        let (name, email) = (name.trim(), email.trim());
        if name.is_empty() && self.name == Field::Required {
            return Err(PreChatProblem::NameMissing);
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(PreChatProblem::NameTooLong);
        }
        if email.is_empty() && self.email == Field::Required {
            return Err(PreChatProblem::EmailMissing);
        }
        if !email.is_empty() && !is_plausible_email(email) {
            return Err(PreChatProblem::EmailInvalid);
        }
        let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Ok(ContactDetails { name: given(name), email: given(email) })
    }
}

/// An address a person could have typed correctly: one `@`, something before it, a dotted domain after it,
/// no spaces. (Whether it exists only a mail server can tell.)
pub fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    email.chars().count() <= MAX_EMAIL_CHARS
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || NOT_IN_AN_ADDRESS.contains(c))
}

/// Characters no real address uses that mean something in a `mailto:` link or in markup (`?cc=`, `&body=`,
/// `#`, `%`-escapes, paths, lists, quotes and brackets): an address holding one is refused, so an agent's
/// "email the contact" link goes to that address alone.
const NOT_IN_AN_ADDRESS: &str = "?&#%/\\,;:<>\"()[]`";

/// The `mailto:` link for writing to `email`, if it is a plausible address (otherwise none is offered).
pub fn mailto(email: &str) -> Option<String> {
    is_plausible_email(email).then(|| format!("mailto:{email}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_that_would_change_a_mailto_link_is_refused() {
        assert!(is_plausible_email("o'brien+chat@shop.example"));
        assert_eq!(mailto("ada@shop.example").as_deref(), Some("mailto:ada@shop.example"));
        for forged in [
            "ada@shop.example?cc=eve@evil.example",
            "ada@shop.example&bcc=eve@evil.example",
            "ada@shop.example#x",
            "ada%40shop.example@evil.example",
            "ada@shop.example,eve@evil.example",
            "\"ada\"@shop.example",
            "ada@shop.example\u{7}",
            "<ada@shop.example>",
        ] {
            assert!(!is_plausible_email(forged), "{forged}");
            assert_eq!(mailto(forged), None, "{forged}");
        }
        // Given where the form asks nothing, an address is still checked.
        let asks_nothing = WidgetSettings::default();
        assert_eq!(
            asks_nothing.contact_details(None, Some("a@b.example?cc=c@d.example"), false),
            Err(PreChatProblem::EmailInvalid)
        );
        assert!(asks_nothing.contact_details(None, Some(" a@b.example "), true).is_ok());
    }

    #[test]
    fn default_settings_are_valid_and_ask_nothing() {
        let settings = WidgetSettings::default();
        assert_eq!(settings.check(), Ok(()));
        assert!(!settings.asks_before_chat());
    }

    #[test]
    fn bad_settings_say_which_field_is_wrong() {
        let colour = WidgetSettings { color: "blue".into(), ..WidgetSettings::default() };
        assert!(colour.check().is_err_and(|e| e.contains("widget.color")));
        let locale = WidgetSettings { locale: "xx".into(), ..WidgetSettings::default() };
        assert!(locale.check().is_err_and(|e| e.contains("widget.locale")));
        let title = WidgetSettings { title: "t".repeat(MAX_TITLE_CHARS + 1), ..WidgetSettings::default() };
        assert!(title.check().is_err_and(|e| e.contains("widget.title")));
    }

    #[test]
    fn text_on_the_site_colour_stays_readable() {
        assert_eq!(text_color_on("#2f5bea"), "#ffffff");
        assert_eq!(text_color_on("#000000"), "#ffffff");
        assert_eq!(text_color_on("#ffe600"), "#111827");
        assert_eq!(text_color_on("#ffffff"), "#111827");
    }

    #[test]
    fn auto_locale_follows_the_browser_then_falls_back_to_english() {
        assert_eq!(pick_locale("auto", ["fr-FR", "de-AT", "en"]), "de");
        assert_eq!(pick_locale("auto", ["DE"]), "de");
        assert_eq!(pick_locale("auto", ["fr"]), "en");
        assert_eq!(pick_locale("auto", []), "en");
        assert_eq!(pick_locale("de", ["en"]), "de");
        assert_eq!(pick_locale("klingon", ["de"]), "en");
    }

    #[test]
    fn the_pre_chat_form_enforces_required_fields_and_plausible_emails() {
        let form = PreChatForm { name: Field::Optional, email: Field::Required };
        assert_eq!(form.check("", ""), Err(PreChatProblem::EmailMissing));
        assert_eq!(form.check("Mia", "mia@"), Err(PreChatProblem::EmailInvalid));
        assert_eq!(form.check("Mia", "mia at example.com"), Err(PreChatProblem::EmailInvalid));
        assert_eq!(
            form.check("  Mia ", " mia@example.com "),
            Ok(ContactDetails { name: Some("Mia".into()), email: Some("mia@example.com".into()) })
        );
        assert_eq!(form.check("", "mia@example.com").map(|d| d.name), Ok(None));
        let named = PreChatForm { name: Field::Required, email: Field::Hidden };
        assert_eq!(named.check(" ", ""), Err(PreChatProblem::NameMissing));
        assert_eq!(named.check(&"n".repeat(MAX_NAME_CHARS + 1), ""), Err(PreChatProblem::NameTooLong));
    }

    #[test]
    fn only_a_required_question_stands_before_the_first_message() {
        let form = |name, email| PreChatForm { name, email };
        assert!(form(Field::Required, Field::Hidden).requires_an_answer());
        assert!(form(Field::Optional, Field::Required).requires_an_answer());
        assert!(!form(Field::Optional, Field::Optional).requires_an_answer(), "asked, but not in the way");
        assert!(!form(Field::Hidden, Field::Hidden).requires_an_answer());
    }

    #[test]
    fn an_identified_user_or_a_site_that_asks_nothing_skips_the_form() {
        let asks = WidgetSettings {
            pre_chat: PreChatForm { name: Field::Required, email: Field::Hidden },
            ..WidgetSettings::default()
        };
        assert_eq!(asks.contact_details(None, None, false), Err(PreChatProblem::NameMissing));
        assert_eq!(asks.contact_details(None, None, true), Ok(ContactDetails::default()));
        let name = asks.contact_details(Some(" Mia "), None, false).map(|d| d.name);
        assert_eq!(name, Ok(Some("Mia".into())));
        assert_eq!(
            WidgetSettings::default().contact_details(Some(" "), None, false),
            Ok(ContactDetails::default())
        );
    }

    #[test]
    fn an_empty_title_is_the_sites_name() {
        assert_eq!(WidgetSettings::default().for_site("Demo Shop").title, "Demo Shop");
        let titled = WidgetSettings { title: "Help".into(), ..WidgetSettings::default() };
        assert_eq!(titled.for_site("Demo Shop").title, "Help");
    }

    #[test]
    fn agent_names_show_only_when_the_site_allows() {
        let shown = WidgetSettings { title: "Acme".into(), ..WidgetSettings::default() };
        assert_eq!(shown.agent_label("Ada"), "Ada");
        let hidden = WidgetSettings { show_agent_names: false, ..shown };
        assert_eq!(hidden.agent_label("Ada"), "Acme");
    }
}
