//! Who a contact is when a chat starts: the contact id (a verified user of the site, or an anonymous
//! visitor), the email kept for follow-up and the label agents know the contact by. The edge draws the
//! randomness and checks signatures; what the id and label are is decided here.

use crate::ids::ContactId;
use crate::widget::MAX_EMAIL_CHARS;

/// Longest user id of a verified identity.
pub const MAX_USER_ID_CHARS: usize = 200;
/// Longest contact label.
pub const MAX_LABEL_CHARS: usize = 60;

/// A user the site vouches for is the same contact in every browser: `u-` and the site's user id. An id that
/// is empty, longer than [`MAX_USER_ID_CHARS`] or holds control characters is refused, never cut or cleaned:
/// two different signed ids must never become one contact.
pub fn verified_user(user_id: &str) -> Result<ContactId, String> {
    if user_id.is_empty() || user_id.chars().any(char::is_control) {
        return Err("identity.user_id must be non-empty text without control characters".into());
    }
    if user_id.chars().count() > MAX_USER_ID_CHARS {
        return Err(format!("identity.user_id is longer than {MAX_USER_ID_CHARS} characters"));
    }
    Ok(ContactId(format!("u-{user_id}")))
}

/// An anonymous visitor: `v-` and a random UUID in its 32-digit form. The caller draws `random` (this crate
/// has no randomness), so a test can name the visitor it expects.
pub fn new_visitor(random: [u8; 16]) -> ContactId {
    ContactId(format!("v-{}", uuid::Builder::from_random_bytes(random).into_uuid().simple()))
}

/// The email kept for the agent to follow up by mail: trimmed and at most [`MAX_EMAIL_CHARS`], whether the
/// pre-chat form or the site's identity gave it.
pub fn capped_email(email: &str) -> String {
    email.trim().chars().take(MAX_EMAIL_CHARS).collect()
}

/// What agents call the contact: its name if it gave one, else its email, trimmed to [`MAX_LABEL_CHARS`];
/// with neither (or a blank name), `Visitor` and the first four characters of the visitor id, so two
/// anonymous visitors in the log can be told apart.
pub fn label(name: Option<&str>, email: Option<&str>, contact: &ContactId) -> String {
    name.or(email)
        .map(|given| given.trim().chars().take(MAX_LABEL_CHARS).collect::<String>())
        .filter(|given| !given.is_empty())
        .unwrap_or_else(|| {
            let short: String = contact.as_str().trim_start_matches("v-").chars().take(4).collect();
            format!("Visitor {short}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verified_user_is_its_user_id_and_an_id_that_would_need_cutting_is_refused() {
        assert_eq!(verified_user("42"), Ok(ContactId("u-42".into())));
        let longest = "é".repeat(MAX_USER_ID_CHARS);
        assert_eq!(verified_user(&longest), Ok(ContactId(format!("u-{longest}"))));
        // Cut, these two would be one contact: each is refused instead.
        let (a, b) = (format!("{longest}a"), format!("{longest}b"));
        assert!(verified_user(&a).is_err() && verified_user(&b).is_err());
        assert!(verified_user("a\nb").is_err(), "cleaned, it would be the user \"ab\"");
        assert!(verified_user("").is_err());
    }

    #[test]
    fn a_new_visitor_is_a_random_uuid_in_simple_form() {
        let visitor = new_visitor([0xab; 16]);
        // `from_random_bytes` stamps the UUID's version (4) and variant bits.
        assert_eq!(visitor, ContactId("v-abababababab4bababababababababab".into()));
        assert_eq!(visitor.as_str().len(), 34);
        assert_ne!(new_visitor([1; 16]), new_visitor([2; 16]));
    }

    #[test]
    fn the_email_is_trimmed_and_capped() {
        assert_eq!(capped_email("  ada@shop.example \n"), "ada@shop.example");
        let long = format!("{}@shop.example", "a".repeat(MAX_EMAIL_CHARS));
        assert_eq!(capped_email(&long).chars().count(), MAX_EMAIL_CHARS);
        assert_eq!(capped_email(&format!(" {long}")), capped_email(&long), "trimmed before it is capped");
    }

    #[test]
    fn the_label_is_the_name_else_the_email_else_the_visitor_id() {
        let visitor = ContactId("v-0123456789abcdef0123456789abcdef".into());
        assert_eq!(label(Some(" Ada "), Some("ada@shop.example"), &visitor), "Ada");
        assert_eq!(label(None, Some("ada@shop.example"), &visitor), "ada@shop.example");
        assert_eq!(label(None, None, &visitor), "Visitor 0123");
        assert_eq!(label(Some("  "), Some("ada@shop.example"), &visitor), "Visitor 0123", "a blank name");
        assert_eq!(label(Some(&"x".repeat(61)), None, &visitor), "x".repeat(MAX_LABEL_CHARS));
        assert_eq!(label(None, None, &ContactId("u-42".into())), "Visitor u-42");
    }
}
