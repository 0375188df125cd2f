//! The Limiter: one object per rate-limited key (an email's sign-in attempts, an address's sign-ins or chat
//! starts, a conversation's uploads) or upload quota (a contact's, an address's, an agent's, a site's files of
//! the day), holding that key's bucket, and the messages it takes.

use crate::platform::config;
use crate::rpc::{Message, Namespace, call};
use confab_protocol::limits::{self, Limit};
use confab_protocol::quota::{QuotaKey, QuotaOf, UploadQuota};
use serde::{Deserialize, Serialize};
use worker::{Env, Result};

/// What is limited, and by which rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Guarded {
    #[serde(rename = "sign-in-email-ip")]
    SignInPerEmailAndAddress,
    #[serde(rename = "sign-in-email")]
    SignInPerEmail,
    #[serde(rename = "sign-in-ip")]
    SignInPerAddress,
    /// A browser that signed in to the email before.
    #[serde(rename = "sign-in-browser")]
    SignInPerKnownBrowser,
    #[serde(rename = "chat-ip")]
    ChatStartsPerIp,
    /// Per conversation: its contact's uploads.
    #[serde(rename = "contact-uploads")]
    ContactUploads,
    /// The operator's routes (whole-site `PUT`, first-run setup), per address.
    #[serde(rename = "setup-ip")]
    SetupPerAddress,
}

impl Guarded {
    /// The object's name prefix (each key has its own object).
    fn name(self) -> &'static str {
        match self {
            Guarded::SignInPerEmailAndAddress => "sign-in-email-ip",
            Guarded::SignInPerEmail => "sign-in-email",
            Guarded::SignInPerAddress => "sign-in-ip",
            Guarded::SignInPerKnownBrowser => "sign-in-browser",
            Guarded::ChatStartsPerIp => "chat-ip",
            Guarded::ContactUploads => "contact-uploads",
            Guarded::SetupPerAddress => "setup-ip",
        }
    }

    /// The rule, as the deployment configured it.
    pub(crate) fn limit(self, env: &Env) -> Limit {
        match self {
            Guarded::SignInPerEmailAndAddress => limits::SIGN_IN_PER_EMAIL_AND_ADDRESS,
            Guarded::SignInPerEmail => limits::SIGN_IN_PER_EMAIL,
            Guarded::SignInPerAddress => limits::SIGN_IN_PER_ADDRESS,
            Guarded::SignInPerKnownBrowser => limits::SIGN_IN_PER_KNOWN_BROWSER,
            Guarded::ChatStartsPerIp => {
                config::limit(env, "CONFAB_LIMIT_CHAT_STARTS_PER_ADDRESS", limits::CHAT_STARTS_PER_IP)
            }
            Guarded::ContactUploads => limits::CONTACT_UPLOADS,
            Guarded::SetupPerAddress => {
                config::limit(env, "CONFAB_LIMIT_SETUP_PER_ADDRESS", limits::SETUP_PER_ADDRESS)
            }
        }
    }
}

/// What a limiter is asked; it answers the milliseconds to wait (0: allowed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", content = "body", rename_all = "kebab-case")]
pub(crate) enum LimiterMessage {
    /// Take one action, if allowed.
    Take(Guarded),
    /// Count a file of `bytes` against the quota, if it fits.
    Spend { quota: UploadQuota, bytes: u64 },
    /// Give back a file counted before (its upload failed, or another quota refused it); answers 0.
    GiveBack { quota: UploadQuota, bytes: u64 },
}

impl Message for LimiterMessage {
    const NAMESPACE: Namespace = Namespace::Limiter;
}

/// Takes one action of `guarded` for `key`. `Err` holds the milliseconds to wait.
pub(crate) async fn take(env: &Env, guarded: Guarded, key: &str) -> Result<std::result::Result<(), i64>> {
    let name = format!("{}:{key}", guarded.name());
    Ok(match call::<_, i64>(env, &name, &LimiterMessage::Take(guarded)).await {
        Ok(wait) if wait > 0 => Err(wait),
        Ok(_) => Ok(()),
        // A limiter that cannot answer must not lock everyone out.
        Err(e) => {
            worker::console_error!("limiter {name}: {e}");
            Ok(())
        }
    })
}

/// Counts one upload of `bytes` against every quota of `keys`, or none: refused, whose quota was full and the
/// milliseconds until the file would fit. A quota whose object cannot answer lets the upload through, as a
/// limiter does.
pub(crate) async fn spend(
    env: &Env,
    keys: &[QuotaKey],
    bytes: u64,
) -> Result<std::result::Result<(), (QuotaOf, i64)>> {
    for (i, entry) in keys.iter().enumerate() {
        let name = format!("upload-{}", entry.key);
        let asked = LimiterMessage::Spend { quota: entry.quota, bytes };
        match call::<_, i64>(env, &name, &asked).await {
            Ok(wait) if wait > 0 => {
                give_back(env, &keys[..i], bytes).await;
                return Ok(Err((entry.of, wait)));
            }
            Ok(_) => {}
            Err(e) => worker::console_error!("quota {name}: {e}"),
        }
    }
    Ok(Ok(()))
}

/// Gives back an upload of `bytes` counted against `keys` (best effort: a quota that misses it only errs
/// on the strict side, for a day at most).
pub(crate) async fn give_back(env: &Env, keys: &[QuotaKey], bytes: u64) {
    for entry in keys {
        let name = format!("upload-{}", entry.key);
        let message = LimiterMessage::GiveBack { quota: entry.quota, bytes };
        if let Err(e) = call::<_, i64>(env, &name, &message).await {
            worker::console_error!("quota {name}: {e}");
        }
    }
}
