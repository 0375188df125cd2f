//! Credentials: signed tokens (HMAC-SHA256), agent password hashes (PBKDF2 through WebCrypto), cookies.
//!
//! Tokens are `base64url(payload).base64url(mac)`, where the MAC covers a purpose string as well as the
//! payload, so a contact token can never be replayed as an agent session or the reverse.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use confab_protocol::contact::ContactClaim;
use hmac::{Hmac, Mac};
use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The session cookie's name. `__Host-`: browsers take it only `Secure`, for `Path=/` and this host alone, so no
/// sibling subdomain can set or shadow it.
pub(crate) const SESSION_COOKIE: &str = "__Host-confab_session";
/// How long an agent session lasts (a long shift plus margin).
pub(crate) const SESSION_MS: i64 = 14 * 60 * 60 * 1000;
/// PBKDF2-SHA256 rounds. 100,000 is the most Workers' WebCrypto accepts.
pub(crate) const PBKDF2_ROUNDS: u32 = 100_000;

/// What a token is for; part of the signed data.
#[derive(Clone, Copy)]
pub(crate) enum Purpose {
    Contact,
    AgentSession,
    /// A time-limited download link of an attachment.
    Attachment,
    /// A browser an account signed in from.
    KnownBrowser,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            // v2: a claim with its issue time (v1 tokens, which never expired, open nothing).
            Purpose::Contact => b"confab contact v2\n",
            Purpose::AgentSession => b"confab agent-session v1\n",
            Purpose::Attachment => b"confab attachment-link v1\n",
            Purpose::KnownBrowser => b"confab known-browser v1\n",
        }
    }
}

fn mac(secret: &str, purpose: Purpose, payload: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(purpose.label());
    mac.update(payload);
    mac
}

pub(crate) fn sign(secret: &str, purpose: Purpose, payload: &str) -> String {
    let tag = mac(secret, purpose, payload.as_bytes()).finalize().into_bytes();
    format!("{}.{}", B64.encode(payload), B64.encode(tag))
}

/// The payload of a token signed by [`sign`] with the same secret and purpose, or `None`.
pub(crate) fn verify(secret: &str, purpose: Purpose, token: &str) -> Option<String> {
    let (payload, tag) = token.split_once('.')?;
    let payload = B64.decode(payload).ok()?;
    let tag = B64.decode(tag).ok()?;
    mac(secret, purpose, &payload).verify_slice(&tag).ok()?;
    String::from_utf8(payload).ok()
}

/// A contact's token: it names the site and the contact, and opens that contact's conversations only, for
/// as long as [`ContactClaim::holds`] says.
pub(crate) fn contact_token(secret: &str, claim: &ContactClaim) -> String {
    // A claim always serializes: its fields are strings and numbers.
    sign(secret, Purpose::Contact, &serde_json::to_string(claim).unwrap_or_default())
}

/// What a genuinely signed contact token claims (whether it still holds is [`ContactClaim::holds`]).
pub(crate) fn contact_claim(secret: &str, token: &str) -> Option<ContactClaim> {
    serde_json::from_str(&verify(secret, Purpose::Contact, token)?).ok()
}

/// The generation of a site's identity secret, as a verified user's contact token carries it: a new secret
/// is a new generation, so the tokens of users proven under the old one open nothing. (A digest: whoever
/// could guess the secret from it could as well from any signature the site's pages carry.)
pub(crate) fn identity_generation(identity_secret: &str) -> String {
    use sha2::Digest;
    let digest =
        Sha256::new().chain_update(b"confab identity generation\n").chain_update(identity_secret).finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `signature` is `hex(HMAC-SHA256(secret, user_id))`, compared in constant time.
pub(crate) fn identity_signature_valid(secret: &str, user_id: &str, signature: &str) -> bool {
    let Some(given) = decode_hex(signature.trim()) else { return false };
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// A signed-in agent, as carried in the session cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AgentSession {
    pub(crate) site: String,
    pub(crate) id: String,
    pub(crate) name: String,
    /// Expiry, milliseconds since the Unix epoch.
    pub(crate) exp: i64,
    /// The account's session epoch when this session began: a password change moves the account's on, which
    /// ends every session begun before it.
    #[serde(default)]
    pub(crate) epoch: u32,
}

impl AgentSession {
    pub(crate) fn cookie(&self, secret: &str) -> String {
        let payload = serde_json::to_string(self).unwrap_or_default();
        let token = sign(secret, Purpose::AgentSession, &payload);
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
            SESSION_MS / 1000
        )
    }

    /// The session in a `Cookie` header, if it is present, correctly signed and not expired.
    pub(crate) fn from_cookie_header(secret: &str, header: Option<&str>, now: i64) -> Option<Self> {
        let token =
            header?.split(';').find_map(|c| c.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))?;
        let session: AgentSession =
            serde_json::from_str(&verify(secret, Purpose::AgentSession, token)?).ok()?;
        (session.exp > now).then_some(session)
    }
}

/// The cookie of a browser that signed in to an account: its sign-in attempts for that account are counted
/// apart, so a stranger guessing the account's password cannot lock its owner out of a browser they used.
const KNOWN_BROWSER_COOKIE: &str = "__Host-confab_browser";
/// How long a browser stays known after its last sign-in.
const KNOWN_BROWSER_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// A browser that signed in to the account with `email` (normalized): its id, for its own sign-in limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KnownBrowser {
    pub(crate) email: String,
    pub(crate) id: String,
    pub(crate) exp: i64,
}

impl KnownBrowser {
    /// A new id for a browser that just signed in as `email`.
    pub(crate) fn new(email: &str, now: i64) -> Result<KnownBrowser> {
        let id: String = random_bytes::<16>()?.iter().map(|b| format!("{b:02x}")).collect();
        Ok(KnownBrowser { email: email.to_owned(), id, exp: now + KNOWN_BROWSER_MS })
    }

    pub(crate) fn cookie(&self, secret: &str) -> String {
        let token = sign(secret, Purpose::KnownBrowser, &serde_json::to_string(self).unwrap_or_default());
        format!(
            "{KNOWN_BROWSER_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
            KNOWN_BROWSER_MS / 1000
        )
    }

    /// The known browser in a `Cookie` header, if it is there, genuinely signed and not expired.
    pub(crate) fn from_cookie_header(secret: &str, header: Option<&str>, now: i64) -> Option<Self> {
        let token = header?
            .split(';')
            .find_map(|c| c.trim().strip_prefix(KNOWN_BROWSER_COOKIE)?.strip_prefix('='))?;
        let browser: KnownBrowser =
            serde_json::from_str(&verify(secret, Purpose::KnownBrowser, token)?).ok()?;
        (browser.exp > now).then_some(browser)
    }
}

/// The `Set-Cookie` value that signs an agent out.
pub(crate) fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

fn js_err(e: JsValue) -> Error {
    Error::RustError(format!("WebCrypto: {e:?}"))
}

fn crypto() -> Result<web_sys::Crypto> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(js_err)?
        .dyn_into::<web_sys::Crypto>()
        .map_err(|_| Error::RustError("no WebCrypto in this runtime".into()))
}

/// `N` bytes from the runtime's cryptographic random source.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    crypto()?.get_random_values_with_u8_array(&mut bytes).map_err(js_err)?;
    Ok(bytes)
}

/// PBKDF2-SHA256 of a password, by WebCrypto (native speed, unlike a wasm implementation).
pub(crate) async fn pbkdf2(password: &str, salt: &[u8], rounds: u32) -> Result<Vec<u8>> {
    let subtle = crypto()?.subtle();
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let raw: Object = Uint8Array::from(password.as_bytes()).into();
    let key =
        JsFuture::from(subtle.import_key_with_str("raw", &raw, "PBKDF2", false, &usages).map_err(js_err)?)
            .await
            .map_err(js_err)?;
    let params = Object::new();
    for (k, v) in [
        ("name", JsValue::from_str("PBKDF2")),
        ("hash", JsValue::from_str("SHA-256")),
        ("salt", Uint8Array::from(salt).into()),
        ("iterations", JsValue::from(rounds)),
    ] {
        Reflect::set(&params, &JsValue::from_str(k), &v).map_err(js_err)?;
    }
    let bits =
        JsFuture::from(subtle.derive_bits_with_object(&params, &key.unchecked_into(), 256).map_err(js_err)?)
            .await
            .map_err(js_err)?;
    Ok(Uint8Array::new(&bits).to_vec())
}

/// A stored password: salt and hash, base64url.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PasswordHash {
    pub(crate) salt: String,
    pub(crate) hash: String,
    pub(crate) rounds: u32,
}

impl PasswordHash {
    pub(crate) async fn new(password: &str) -> Result<Self> {
        let salt = random_bytes::<16>()?;
        let hash = pbkdf2(password, &salt, PBKDF2_ROUNDS).await?;
        Ok(PasswordHash { salt: B64.encode(salt), hash: B64.encode(hash), rounds: PBKDF2_ROUNDS })
    }

    pub(crate) async fn matches(&self, password: &str) -> Result<bool> {
        let (Ok(salt), Ok(expected)) = (B64.decode(&self.salt), B64.decode(&self.hash)) else {
            return Ok(false);
        };
        let actual = pbkdf2(password, &salt, self.rounds).await?;
        // Constant time: look at every byte whatever the first difference.
        Ok(actual.len() == expected.len()
            && actual.iter().zip(&expected).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0)
    }
}
