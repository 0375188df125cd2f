//! Who a contact is when a chat starts: the contact id (a verified user of the site, or an anonymous
//! visitor), the email kept for follow-up and the label agents know the contact by. The edge draws the
//! randomness and checks signatures; what the id and label are is decided here.

use crate::ids::{ContactId, Millis};
use crate::widget::MAX_EMAIL_CHARS;
use serde::{Deserialize, Serialize};

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

/// How long a contact token opens its contact's conversations after it was issued. Every visit that opens
/// the chat (and every chat start) issues a fresh one, so a customer who comes back within half a year finds
/// the conversation; a token copied out of a browser long ago opens nothing.
pub const CONTACT_TOKEN_LIFETIME_MS: Millis = 180 * 24 * 3_600_000;

/// What a contact token says (signed by the edge): whose it is, on which site, since when, and for a verified
/// user the generation of the site's identity secret it was proven under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactClaim {
    pub site: String,
    pub contact: ContactId,
    pub issued_at: Millis,
    /// For a verified user (`u-…`): the site's identity secret's generation at the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// Why a genuinely signed contact token opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefused {
    OtherSite,
    Expired,
    /// A verified user's token from before the site's identity secret changed (or was removed).
    IdentityChanged,
}

impl TokenRefused {
    pub fn reason(self) -> &'static str {
        match self {
            TokenRefused::OtherSite => "this contact token is for another site",
            TokenRefused::Expired => "this contact token has expired: start a new chat",
            TokenRefused::IdentityChanged => {
                "the site changed its identity secret since this token was issued: identify again"
            }
        }
    }
}

/// Whether `contact` is a user the site vouched for (rather than an anonymous visitor).
pub fn is_verified(contact: &ContactId) -> bool {
    contact.as_str().starts_with("u-")
}

impl ContactClaim {
    /// A fresh claim for `contact` at `now`; a verified user's carries `identity`, the site's identity
    /// secret's generation.
    pub fn new(site: &str, contact: ContactId, now: Millis, identity: Option<String>) -> Self {
        let identity = if is_verified(&contact) { identity } else { None };
        ContactClaim { site: site.to_owned(), contact, issued_at: now, identity }
    }

    /// The same claim issued again at `now` (a token renewed while in use).
    pub fn renewed(&self, now: Millis) -> Self {
        ContactClaim { issued_at: now, ..self.clone() }
    }

    /// Whether the token opens `site`'s conversations of its contact at `now`, given the generation of the
    /// site's identity secret now (`None`: the site verifies no identities).
    pub fn holds(&self, site: &str, now: Millis, identity_now: Option<&str>) -> Result<(), TokenRefused> {
        if self.site != site {
            return Err(TokenRefused::OtherSite);
        }
        if now.saturating_sub(self.issued_at) > CONTACT_TOKEN_LIFETIME_MS {
            return Err(TokenRefused::Expired);
        }
        if is_verified(&self.contact) && (self.identity.is_none() || self.identity.as_deref() != identity_now)
        {
            return Err(TokenRefused::IdentityChanged);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_token_holds_for_its_site_within_its_lifetime() {
        let visitor = ContactClaim::new("shop", ContactId("v-1".into()), 1_000, Some("g1".into()));
        assert_eq!(visitor.identity, None, "a visitor's token names no identity secret");
        assert_eq!(visitor.holds("shop", 1_000 + CONTACT_TOKEN_LIFETIME_MS, None), Ok(()));
        assert_eq!(
            visitor.holds("shop", 1_001 + CONTACT_TOKEN_LIFETIME_MS, None),
            Err(TokenRefused::Expired)
        );
        assert_eq!(visitor.holds("other", 1_000, None), Err(TokenRefused::OtherSite));
        let renewed = visitor.renewed(1_000 + CONTACT_TOKEN_LIFETIME_MS);
        assert_eq!(renewed.holds("shop", 1_001 + CONTACT_TOKEN_LIFETIME_MS, None), Ok(()), "renewed in use");
        assert_eq!(renewed.contact, visitor.contact);
    }

    #[test]
    fn a_verified_users_token_ends_when_the_identity_secret_changes() {
        let user = ContactClaim::new("shop", ContactId("u-42".into()), 1_000, Some("g1".into()));
        assert_eq!(user.holds("shop", 2_000, Some("g1")), Ok(()));
        assert_eq!(user.holds("shop", 2_000, Some("g2")), Err(TokenRefused::IdentityChanged), "rotated");
        assert_eq!(
            user.holds("shop", 2_000, None),
            Err(TokenRefused::IdentityChanged),
            "verification removed"
        );
        let unproven = ContactClaim { identity: None, ..user.clone() };
        assert_eq!(unproven.holds("shop", 2_000, Some("g1")), Err(TokenRefused::IdentityChanged));
        assert_eq!(user.renewed(5_000).identity.as_deref(), Some("g1"), "renewal keeps the generation");
    }

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
