//! Upload quotas: how many files, and how many bytes, one contact, one address, one agent and one whole site
//! may upload in a day, so that nobody (a script with many tokens, a leaked session) can fill a site's
//! storage. A site sets its own; [`UploadQuotas::default`] is what a site gets unless it says otherwise.
//!
//! A quota is a bucket that drains evenly over [`QUOTA_WINDOW_MS`]: after using a whole day's quota at once,
//! a key gets it back bit by bit (a tenth of it 2.4 hours later), not all at midnight, so there is no moment
//! at which a flood may start again at full strength. Its state is two timestamps ([`QuotaUse`]), cheap to
//! keep in a Durable Object.

use crate::attachments::MAX_ATTACHMENT_BYTES;
use crate::ids::Millis;
use serde::{Deserialize, Serialize};

/// The period a quota is for: a day.
pub const QUOTA_WINDOW_MS: i64 = 24 * 3_600_000;

const MEGABYTE: u64 = 1024 * 1024;

/// What one key may upload per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadQuota {
    pub files: u32,
    pub megabytes: u32,
}

/// A site's upload quotas, each per day. An upload must fit all that apply: a contact's, its address's and
/// the site's; an agent's and the site's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UploadQuotas {
    /// One contact, over all its conversations.
    pub per_contact: UploadQuota,
    /// Everyone behind one address (an IPv6 /64): contacts who keep starting over as new visitors.
    pub per_address: UploadQuota,
    /// One agent's account.
    pub per_agent: UploadQuota,
    /// Everyone on the site together: the most a site's storage grows by in a day.
    pub per_site: UploadQuota,
}

impl Default for UploadQuotas {
    /// Far above what a person sends in a day of chats (a few screenshots and documents), far below what a
    /// script would store.
    fn default() -> Self {
        UploadQuotas {
            per_contact: UploadQuota { files: 50, megabytes: 500 },
            per_address: UploadQuota { files: 200, megabytes: 2_000 },
            per_agent: UploadQuota { files: 500, megabytes: 5_000 },
            per_site: UploadQuota { files: 20_000, megabytes: 200_000 },
        }
    }
}

/// The largest number a quota may be set to, files or megabytes.
pub const MAX_QUOTA_SETTING: u32 = 10_000_000;

impl UploadQuotas {
    /// What is wrong with the quotas an admin set, naming the field (`rules.uploads.per_contact.files`).
    pub fn check(&self) -> Result<(), String> {
        let min_megabytes = (MAX_ATTACHMENT_BYTES / MEGABYTE) as u32;
        let all = [
            ("per_contact", self.per_contact),
            ("per_address", self.per_address),
            ("per_agent", self.per_agent),
            ("per_site", self.per_site),
        ];
        for (name, quota) in all {
            if !(1..=MAX_QUOTA_SETTING).contains(&quota.files) {
                return Err(format!("rules.uploads.{name}.files: between 1 and {MAX_QUOTA_SETTING} a day"));
            }
            // Below the largest file, that file could never be sent.
            if !(min_megabytes..=MAX_QUOTA_SETTING).contains(&quota.megabytes) {
                return Err(format!(
                    "rules.uploads.{name}.megabytes: between {min_megabytes} (the largest file) and \
                     {MAX_QUOTA_SETTING} a day"
                ));
            }
        }
        Ok(())
    }
}

/// Who uploads a file, as far as quotas care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uploader<'a> {
    /// A conversation's contact, from `address` (its limits key, `limits::address_key`).
    Contact {
        contact: &'a str,
        address: &'a str,
    },
    Agent {
        agent: &'a str,
    },
}

/// Whose quota an upload is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaOf {
    Contact,
    Address,
    Agent,
    Site,
}

impl QuotaOf {
    /// What to tell the uploader when this quota is full, with how long until a file fits again.
    pub fn refusal(self, wait_ms: i64) -> String {
        let whose = match self {
            QuotaOf::Contact | QuotaOf::Agent => "you have sent as many files today as this site allows",
            QuotaOf::Address => "as many files as this site allows have been sent from your network today",
            QuotaOf::Site => "this site has taken as many files today as it allows",
        };
        format!("{whose}: another fits in {}", in_words(wait_ms))
    }
}

/// A wait as a person says it: "about 3 hours", "about 20 minutes", "a minute".
pub fn in_words(ms: i64) -> String {
    let minutes = (ms.max(0) + 59_999) / 60_000;
    match minutes {
        0 | 1 => "a minute".to_owned(),
        2..=89 => format!("about {minutes} minutes"),
        _ => format!("about {} hours", (minutes + 30) / 60),
    }
}

/// One quota an upload must fit: the key its use is counted under, the quota, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaKey {
    pub key: String,
    pub quota: UploadQuota,
    pub of: QuotaOf,
}

impl UploadQuotas {
    /// The quotas an upload by `uploader` to `site` must fit, the narrowest first (so a contact at its own
    /// quota is refused without touching the site's).
    pub fn for_upload(&self, site: &str, uploader: Uploader<'_>) -> Vec<QuotaKey> {
        let entry = |key: String, quota, of| QuotaKey { key, quota, of };
        let mut keys = match uploader {
            Uploader::Contact { contact, address } => vec![
                entry(format!("contact:{site}:{contact}"), self.per_contact, QuotaOf::Contact),
                entry(format!("address:{site}:{address}"), self.per_address, QuotaOf::Address),
            ],
            Uploader::Agent { agent } => {
                vec![entry(format!("agent:{site}:{agent}"), self.per_agent, QuotaOf::Agent)]
            }
        };
        keys.push(entry(format!("site:{site}"), self.per_site, QuotaOf::Site));
        keys
    }
}

/// What a key has used of its quota: for files and for bytes, the moment (ms) by which what it used will
/// have drained away. A fresh key's is `QuotaUse::default()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct QuotaUse {
    files_drained_at: f64,
    bytes_drained_at: f64,
}

impl QuotaUse {
    /// When the bucket is empty again (nothing of it needs keeping after that).
    pub fn drained_at(&self) -> Millis {
        self.files_drained_at.max(self.bytes_drained_at).ceil() as Millis
    }
}

impl UploadQuota {
    /// Milliseconds of the window one file, and one byte, use up.
    fn costs(&self) -> (f64, f64) {
        let window = QUOTA_WINDOW_MS as f64;
        let bytes = f64::from(self.megabytes.max(1)) * MEGABYTE as f64;
        (window / f64::from(self.files.max(1)), window / bytes)
    }

    /// Takes one file of `bytes` at `now`, if it fits. Refused: the milliseconds until it would (the state
    /// is then unchanged, so a refused upload uses nothing up).
    pub fn take(&self, used: &mut QuotaUse, bytes: u64, now: Millis) -> Result<(), i64> {
        let (per_file, per_byte) = self.costs();
        let now = now as f64;
        let files = used.files_drained_at.max(now) + per_file;
        let stored = used.bytes_drained_at.max(now) + per_byte * bytes as f64;
        // Full means a whole window's use ahead of now; a rounding hair over it still fits.
        let over = files.max(stored) - now - QUOTA_WINDOW_MS as f64;
        if over > 0.5 {
            return Err(over.ceil() as i64);
        }
        *used = QuotaUse { files_drained_at: files, bytes_drained_at: stored };
        Ok(())
    }

    /// Gives back a file of `bytes` taken before (an upload that failed, or that another quota refused).
    pub fn give_back(&self, used: &mut QuotaUse, bytes: u64) {
        let (per_file, per_byte) = self.costs();
        used.files_drained_at -= per_file;
        used.bytes_drained_at -= per_byte * bytes as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;
    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_day_of_files_at_once_then_they_come_back_bit_by_bit() {
        let quota = UploadQuota { files: 10, megabytes: 1_000 };
        let mut used = QuotaUse::default();
        for file in 1..=10 {
            assert_eq!(quota.take(&mut used, 1_000, NOW), Ok(()), "file {file}");
        }
        let wait = quota.take(&mut used, 1_000, NOW).expect_err("the eleventh of the day");
        assert!((2 * HOUR..=3 * HOUR).contains(&wait), "a tenth of a day: {wait} ms");
        assert!(quota.take(&mut used, 1_000, NOW + wait - 60_000).is_err(), "not a minute early");
        assert_eq!(quota.take(&mut used, 1_000, NOW + wait), Ok(()));
        assert!(quota.take(&mut used, 1_000, NOW + wait).is_err(), "one came back, and was used");
        assert!(used.drained_at() <= NOW + wait + QUOTA_WINDOW_MS);
        // A day later everything is back.
        let later = used.drained_at();
        for _ in 0..10 {
            assert_eq!(quota.take(&mut used, 1_000, later), Ok(()));
        }
    }

    #[test]
    fn bytes_count_too_and_a_refusal_uses_nothing() {
        let quota = UploadQuota { files: 1_000, megabytes: 100 };
        let mut used = QuotaUse::default();
        let forty = 40 * MEGABYTE;
        assert_eq!(quota.take(&mut used, forty, NOW), Ok(()));
        assert_eq!(quota.take(&mut used, forty, NOW), Ok(()));
        let before = used;
        let wait = quota.take(&mut used, forty, NOW).expect_err("120 MB of 100");
        assert_eq!(used, before, "refused: nothing taken");
        assert!((4 * HOUR..5 * HOUR).contains(&wait), "20 MB of 100 must drain: {wait} ms");
        assert_eq!(quota.take(&mut used, 20 * MEGABYTE, NOW), Ok(()), "what still fits, fits");
        // A whole quota's worth in one file fits an empty bucket exactly.
        let mut fresh = QuotaUse::default();
        assert_eq!(quota.take(&mut fresh, 100 * MEGABYTE, NOW), Ok(()));
    }

    #[test]
    fn what_is_given_back_can_be_used_again() {
        let quota = UploadQuota { files: 2, megabytes: 100 };
        let mut used = QuotaUse::default();
        assert_eq!(quota.take(&mut used, 10, NOW), Ok(()));
        assert_eq!(quota.take(&mut used, 10, NOW), Ok(()));
        assert!(quota.take(&mut used, 10, NOW).is_err());
        quota.give_back(&mut used, 10);
        assert_eq!(quota.take(&mut used, 10, NOW), Ok(()));
    }

    #[test]
    fn a_contact_counts_against_itself_its_address_and_its_site_and_an_agent_against_itself_and_its_site() {
        let q = UploadQuotas::default();
        let contact = q.for_upload("shop", Uploader::Contact { contact: "v-1", address: "203.0.113.7" });
        let keys: Vec<(&str, QuotaOf)> = contact.iter().map(|k| (k.key.as_str(), k.of)).collect();
        assert_eq!(
            keys,
            [
                ("contact:shop:v-1", QuotaOf::Contact),
                ("address:shop:203.0.113.7", QuotaOf::Address),
                ("site:shop", QuotaOf::Site)
            ]
        );
        assert_eq!(contact[0].quota, q.per_contact);
        let agent = q.for_upload("shop", Uploader::Agent { agent: "ada" });
        let keys: Vec<&str> = agent.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["agent:shop:ada", "site:shop"]);
        assert_eq!(agent[0].quota, q.per_agent);
        assert_eq!(agent[1].quota, q.per_site);
    }

    #[test]
    fn a_refusal_says_whose_quota_and_when_in_words() {
        assert_eq!(in_words(1), "a minute");
        assert_eq!(in_words(20 * 60_000), "about 20 minutes");
        assert_eq!(in_words(150 * 60_000), "about 3 hours");
        assert_eq!(
            QuotaOf::Site.refusal(2 * HOUR),
            "this site has taken as many files today as it allows: another fits in about 2 hours"
        );
        assert!(QuotaOf::Contact.refusal(1).starts_with("you have sent as many files today"));
    }

    #[test]
    fn quotas_below_the_largest_file_or_at_zero_are_refused_by_name() {
        assert_eq!(UploadQuotas::default().check(), Ok(()));
        let mut q = UploadQuotas::default();
        q.per_site.files = 0;
        assert!(q.check().expect_err("none").starts_with("rules.uploads.per_site.files: between 1 and"));
        let mut q = UploadQuotas::default();
        q.per_contact.megabytes = 99;
        assert!(
            q.check().expect_err("small").starts_with("rules.uploads.per_contact.megabytes: between 100")
        );
        q.per_contact.megabytes = 100;
        assert_eq!(q.check(), Ok(()));
    }
}
