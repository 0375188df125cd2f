//! Identity verification on a real workerd: a user the site vouches for (HMAC of the user id with the site's
//! identity secret) is one contact in every browser; forged signatures and, where required, anonymous chats
//! are refused. Also the contact's own session and the agent's site configuration.

mod support;

use anyhow::Result;
use confab_protocol::api::{ChatStarted, ContactSession, ContactSummary, SiteView};
use confab_tests::{DEMO_AGENTS, DEMO_SITE, Edge, demo_site};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use support::{edge_with_site, sign_in};

const SECRET: &str = "shop-backend-secret";

/// What the site's backend computes for a signed-in user.
fn sign(user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn start(edge: &Edge, body: serde_json::Value) -> std::result::Result<ChatStarted, u16> {
    match ureq::post(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/chats"))).send_json(body) {
        Ok(mut resp) => Ok(resp.body_mut().read_json().map_err(|_| 0u16)?),
        Err(ureq::Error::StatusCode(code)) => Err(code),
        Err(_) => Err(0),
    }
}

fn site_with_identity(required: bool) -> serde_json::Value {
    let mut site = demo_site("http://127.0.0.1:9");
    site["identity"] = json!({"secret": SECRET, "required": required});
    site["rules"] =
        json!({"lifecycle": {"wrap": {"codes": [{"code": "sale", "label": "Sale"}], "required": true}}});
    site
}

#[test]
fn a_verified_user_is_one_contact_in_every_browser_and_forgeries_are_refused() -> Result<()> {
    let edge = edge_with_site("identity", site_with_identity(false))?;
    let identity = json!({"user_id": "42", "name": "Marie Curie", "signature": sign("42")});
    // Two browsers, no shared token: the same contact.
    let laptop = start(&edge, json!({"identity": identity})).expect("verified");
    let phone = start(&edge, json!({"identity": identity})).expect("verified");
    assert_ne!(laptop.interaction, phone.interaction);
    let cookie = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let contacts: Vec<ContactSummary> =
        ureq::get(&edge.url("/api/v1/contacts")).header("cookie", &cookie).call()?.body_mut().read_json()?;
    let marie = contacts.iter().find(|c| c.contact.0 == "u-42").expect("the verified user");
    assert_eq!((marie.label.as_str(), marie.conversations), ("Marie Curie", 2));

    // Someone claiming to be user 42 without the backend's signature is refused.
    assert_eq!(
        start(&edge, json!({"identity": {"user_id": "42", "signature": sign("43")}})).err(),
        Some(401)
    );
    assert_eq!(start(&edge, json!({"identity": {"user_id": "42", "signature": "zz"}})).err(), Some(401));
    // Two ids the site signed that differ only past 200 characters are not cut into one contact: both are
    // refused, as is an id with a control character (cleaned, it would be another user's).
    let long = "7".repeat(200);
    for user_id in [format!("{long}1"), format!("{long}2"), "4\n2".to_owned()] {
        let identity = json!({"user_id": user_id, "signature": sign(&user_id)});
        assert_eq!(start(&edge, json!({"identity": identity})).err(), Some(400), "{user_id:?}");
    }
    assert!(
        start(&edge, json!({"identity": {"user_id": long, "signature": sign(&long)}})).is_ok(),
        "200 are fine"
    );
    // An email that would add a recipient to the agent's "write to the contact" link is refused, whether the
    // site's backend or the contact gave it.
    let cc = "marie@example.org?cc=eve@evil.example";
    let identity = json!({"user_id": "42", "email": cc, "signature": sign("42")});
    assert_eq!(start(&edge, json!({"identity": identity})).err(), Some(400));
    assert_eq!(start(&edge, json!({"email": cc})).err(), Some(400));
    // Anonymous chats are still fine where identity is optional.
    assert!(start(&edge, json!({})).is_ok());

    // The contact's own session lists its conversations (for the widget coming back).
    let session: ContactSession = ureq::get(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/contact")))
        .header("authorization", &format!("Bearer {}", phone.contact_token))
        .call()?
        .body_mut()
        .read_json()?;
    assert_eq!(session.conversations, vec![laptop.interaction, phone.interaction]);
    assert!(matches!(
        ureq::get(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/contact"))).call(),
        Err(ureq::Error::StatusCode(401))
    ));

    // Agents read their site's rules (the disposition codes for wrap-up, among others).
    let view: SiteView =
        ureq::get(&edge.url("/api/v1/site")).header("cookie", &cookie).call()?.body_mut().read_json()?;
    assert_eq!(view.rules.lifecycle.wrap.codes.len(), 1);
    assert!(view.rules.lifecycle.wrap.required);
    Ok(())
}

#[test]
fn a_site_that_requires_identity_refuses_anonymous_chats() -> Result<()> {
    let edge = edge_with_site("identity-required", site_with_identity(true))?;
    assert_eq!(start(&edge, json!({})).err(), Some(401));
    assert!(start(&edge, json!({"identity": {"user_id": "7", "signature": sign("7")}})).is_ok());
    Ok(())
}
