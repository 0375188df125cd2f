//! Rate limits: how often anonymous and semi-anonymous callers may act, so that one script cannot guess
//! passwords, flood a conversation or start chats by the thousand. Agents signed in are not limited here.
//!
//! Each limit is a token bucket kept as a single timestamp (the generic cell rate algorithm): `burst`
//! actions at once, then one every `every_ms`. The state is one [`Millis`], so it is cheap to keep in a
//! Durable Object's memory or storage; [`Limit::take`] is pure and says how long to wait when refused.

use crate::ids::{ClientMessageId, Millis};

/// `burst` actions at once, then one every `every_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub every_ms: i64,
}

/// Sign-in attempts for one email from one address: ten, then one a minute. Every attempt counts, taken
/// before the password is checked, so parallel guesses cannot slip through.
pub const SIGN_IN_PER_EMAIL_AND_ADDRESS: Limit = Limit { burst: 10, every_ms: 60_000 };
/// Sign-in attempts for one email from a browser that signed in to it before, counted apart from every other
/// attempt: the account's owner keeps a way in while a stranger's guesses hold the limits below.
pub const SIGN_IN_PER_KNOWN_BROWSER: Limit = Limit { burst: 10, every_ms: 60_000 };
/// Sign-in attempts for one email from anywhere (guessing spread over many addresses): thirty, then one every
/// 10 s. Looser than the one above, so a stranger cannot lock an agent out as easily as the agent's own address.
pub const SIGN_IN_PER_EMAIL: Limit = Limit { burst: 30, every_ms: 10_000 };
/// Sign-in attempts from one address (many emails tried; a whole team signing in behind one office NAT at the
/// start of a shift is well inside it): fifty, then one every 5 s.
pub const SIGN_IN_PER_ADDRESS: Limit = Limit { burst: 50, every_ms: 5_000 };
/// New chats from one address (a shop's visitors behind one office NAT included): thirty, then one every 2 s.
pub const CHAT_STARTS_PER_IP: Limit = Limit { burst: 30, every_ms: 2_000 };
/// Calls of the operator's routes (the whole-site `PUT`, the first-run setup) from one address, whatever
/// their token: twenty, then one every 3 s. Provisioning scripts stay well inside it; guessing does not.
pub const SETUP_PER_ADDRESS: Limit = Limit { burst: 20, every_ms: 3_000 };
/// The shortest setup token (`CONFAB_ADMIN_TOKEN`) the operator's routes work with, in bytes.
pub const MIN_SETUP_TOKEN_BYTES: usize = 32;
/// Messages from a conversation's contact: far above anyone's typing, far below a flood.
pub const CONTACT_MESSAGES: Limit = Limit { burst: 30, every_ms: 200 };
/// Attachments a conversation's contact uploads.
pub const CONTACT_UPLOADS: Limit = Limit { burst: 10, every_ms: 6_000 };

impl Limit {
    /// A limit as a deployment variable writes it, `BURST/EVERY_MS` (`30/200`: thirty at once, then one
    /// every 200 ms); `None` if it is not one.
    pub fn parse(text: &str) -> Option<Limit> {
        let (burst, every_ms) = text.trim().split_once('/')?;
        let limit = Limit { burst: burst.trim().parse().ok()?, every_ms: every_ms.trim().parse().ok()? };
        (limit.burst >= 1 && limit.every_ms >= 0).then_some(limit)
    }

    /// Takes one action at `now` from the bucket whose state is `state` (0 for a fresh one). Refused: how many
    /// milliseconds until the next action is allowed; the state is then unchanged, so refused attempts do not
    /// push the wait further out.
    pub fn take(&self, state: &mut Millis, now: Millis) -> Result<(), i64> {
        let due = (*state).max(now);
        let allowed_from = due - self.every_ms * (i64::from(self.burst.max(1)) - 1);
        if now < allowed_from {
            return Err(allowed_from - now);
        }
        *state = due + self.every_ms;
        Ok(())
    }

    /// Whether an action at `now` would be allowed, without taking it (to refuse before costly work).
    pub fn allows(&self, state: Millis, now: Millis) -> Result<(), i64> {
        let mut copy = state;
        self.take(&mut copy, now)
    }
}

/// A contact's messages under a limit ([`CONTACT_MESSAGES`] unless the deployment sets another), kept in the order the client sent them: once a message
/// is refused, the ones after it are refused too until it comes back (or [`ORDER_HOLD_MS`] passes, for a
/// client that gave it up). Otherwise a token freed in the middle of a burst would let a later message in
/// before an earlier refused one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageGate {
    due: Millis,
    /// The first refused message, and when.
    blocked_by: Option<(ClientMessageId, Millis)>,
}

/// How long a refused message holds back the ones after it.
pub const ORDER_HOLD_MS: i64 = 10_000;

impl MessageGate {
    /// Whether the new message `client_id` may be stored at `now`; refused: the wait in milliseconds.
    pub fn admit(&mut self, limit: Limit, client_id: ClientMessageId, now: Millis) -> Result<(), i64> {
        if let Some((first, since)) = self.blocked_by
            && first != client_id
            && now - since < ORDER_HOLD_MS
        {
            return Err(limit.allows(self.due, now).err().unwrap_or(limit.every_ms.max(1)));
        }
        match limit.take(&mut self.due, now) {
            Ok(()) => {
                self.blocked_by = None;
                Ok(())
            }
            Err(wait) => {
                let holding = self.blocked_by.is_some_and(|(_, since)| now - since < ORDER_HOLD_MS);
                if !holding {
                    self.blocked_by = Some((client_id, now));
                }
                Err(wait)
            }
        }
    }
}

/// Seconds for a `Retry-After` header: the wait, rounded up, at least 1.
pub fn retry_after_secs(wait_ms: i64) -> i64 {
    ((wait_ms + 999) / 1000).max(1)
}

/// The limits a deployment may set, each by its variable (`BURST/EVERY_MS`), with the default used when the
/// variable is not set. The sign-in limits are not configurable.
pub const CONFIGURABLE: [(&str, Limit); 3] = [
    ("CONFAB_LIMIT_CHAT_STARTS_PER_ADDRESS", CHAT_STARTS_PER_IP),
    ("CONFAB_LIMIT_CONTACT_MESSAGES", CONTACT_MESSAGES),
    ("CONFAB_LIMIT_SETUP_PER_ADDRESS", SETUP_PER_ADDRESS),
];

/// How long an uploaded file waits for the message that sends it before it is deleted: a day, so a contact
/// who attached a file and lost the connection still sends it on coming back.
pub const UNSENT_FILES_KEPT_MS: i64 = 24 * 3_600_000;
/// The variable a deployment sets it with, in milliseconds.
pub const UNSENT_FILES_KEPT_VARIABLE: &str = "CONFAB_UNSENT_FILES_KEPT_MS";

/// A deployment's `CONFAB_UNSENT_FILES_KEPT_MS`: a whole number of milliseconds, at least one second.
pub fn parse_kept_ms(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok().filter(|ms| *ms >= 1_000)
}

/// What is wrong with a deployment's variables, read through `var`; empty when the edge can serve. A limit
/// that cannot be read is refused rather than replaced by its default: an operator who set `30:200` for a
/// load test would otherwise measure the default without knowing.
pub fn deployment_problems(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut problems = Vec::new();
    if var("CONFAB_SECRET").is_none_or(|secret| secret.trim().is_empty()) {
        problems.push(
            "CONFAB_SECRET is not set: it signs contact tokens and sessions (`wrangler secret put CONFAB_SECRET`)"
                .to_owned(),
        );
    }
    if let Some(value) = var(UNSENT_FILES_KEPT_VARIABLE)
        && parse_kept_ms(&value).is_none()
    {
        problems.push(format!(
            "{UNSENT_FILES_KEPT_VARIABLE} is {value:?}: write a number of milliseconds, at least 1000"
        ));
    }
    for (name, _) in CONFIGURABLE {
        if let Some(value) = var(name)
            && Limit::parse(&value).is_none()
        {
            problems.push(format!(
                "{name} is {value:?}: write BURST/EVERY_MS, e.g. \"30/200\" (thirty at once, then one every 200 ms)"
            ));
        }
    }
    problems
}

/// What is wrong with the deployment's setup token, if it is too short to guard the operator's routes (which
/// then refuse to work until it is replaced).
pub fn setup_token_problem(token: &str) -> Option<String> {
    (token.len() < MIN_SETUP_TOKEN_BYTES).then(|| {
        format!(
            "CONFAB_ADMIN_TOKEN is {} bytes long; the setup routes need at least {MIN_SETUP_TOKEN_BYTES} (`openssl rand -hex 32` makes one)",
            token.len()
        )
    })
}

/// The key an address's limits are counted under: an IPv4 address as it is; an IPv6 address by its /64, the
/// block one customer line gets (anyone holding one holds all of its 2^64 addresses). Text that is not an
/// address is its own key.
pub fn address_key(address: &str) -> String {
    match address.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_address_counts_by_its_64_and_an_ipv4_address_by_itself() {
        let one_line = ["2001:db8:1:2::1", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:db8:1:2:abcd::9"];
        for address in one_line {
            assert_eq!(address_key(address), "2001:db8:1:2::/64", "{address}");
        }
        assert_ne!(address_key("2001:db8:1:3::1"), address_key("2001:db8:1:2::1"), "the next /64 is another");
        assert_eq!(address_key("203.0.113.7"), "203.0.113.7");
        assert_ne!(address_key("203.0.113.7"), address_key("203.0.113.8"));
        assert_eq!(address_key("::ffff:203.0.113.7"), "203.0.113.7", "a mapped IPv4 address is that address");
        assert_eq!(address_key(" unknown "), "unknown");
    }

    #[test]
    fn a_setup_token_needs_32_bytes() {
        assert!(setup_token_problem(&"x".repeat(31)).is_some_and(|p| p.contains("31 bytes")));
        assert_eq!(setup_token_problem(&"x".repeat(32)), None);
    }

    #[test]
    fn a_burst_then_one_per_period() {
        let limit = Limit { burst: 3, every_ms: 10_000 };
        let mut state = 0;
        let now = 1_000_000;
        for _ in 0..3 {
            assert_eq!(limit.take(&mut state, now), Ok(()));
        }
        assert_eq!(limit.take(&mut state, now), Err(10_000));
        assert_eq!(limit.take(&mut state, now + 4_000), Err(6_000), "refusals do not extend the wait");
        assert_eq!(limit.take(&mut state, now + 10_000), Ok(()));
        assert_eq!(limit.take(&mut state, now + 10_000), Err(10_000));
        // After a long pause the whole burst is back, and no more.
        let later = now + 3_600_000;
        for _ in 0..3 {
            assert_eq!(limit.take(&mut state, later), Ok(()));
        }
        assert!(limit.take(&mut state, later).is_err());
    }

    #[test]
    fn checking_does_not_take() {
        let limit = Limit { burst: 1, every_ms: 1_000 };
        let mut state = 0;
        assert_eq!(limit.allows(state, 5_000), Ok(()));
        assert_eq!(limit.allows(state, 5_000), Ok(()));
        assert_eq!(limit.take(&mut state, 5_000), Ok(()));
        assert_eq!(limit.allows(state, 5_500), Err(500));
    }

    #[test]
    fn a_refused_message_holds_back_the_ones_after_it() {
        let id = |n: u128| ClientMessageId(uuid::Uuid::from_u128(n));
        let mut gate = MessageGate::default();
        let now = 1_000_000;
        for n in 0..u128::from(CONTACT_MESSAGES.burst) {
            assert_eq!(gate.admit(CONTACT_MESSAGES, id(n), now), Ok(()));
        }
        let first_refused = u128::from(CONTACT_MESSAGES.burst);
        assert!(gate.admit(CONTACT_MESSAGES, id(first_refused), now).is_err());
        // A token is free again, but a later message may not overtake the refused one...
        let later = now + CONTACT_MESSAGES.every_ms;
        assert!(gate.admit(CONTACT_MESSAGES, id(first_refused + 1), later).is_err());
        // ...which goes first, then the next.
        assert_eq!(gate.admit(CONTACT_MESSAGES, id(first_refused), later), Ok(()));
        assert!(gate.admit(CONTACT_MESSAGES, id(first_refused + 1), later).is_err(), "no token left");
        assert_eq!(
            gate.admit(CONTACT_MESSAGES, id(first_refused + 1), later + CONTACT_MESSAGES.every_ms),
            Ok(())
        );
        // A refused message the client gave up holds the others back only for a while.
        let t = later + 10 * CONTACT_MESSAGES.every_ms;
        for n in 100..100 + u128::from(CONTACT_MESSAGES.burst) {
            let _ = gate.admit(CONTACT_MESSAGES, id(n), t);
        }
        assert!(gate.admit(CONTACT_MESSAGES, id(500), t).is_err());
        assert!(gate.admit(CONTACT_MESSAGES, id(501), t + 1_000).is_err());
        assert_eq!(gate.admit(CONTACT_MESSAGES, id(501), t + ORDER_HOLD_MS), Ok(()));
    }

    #[test]
    fn deployments_write_limits_as_burst_slash_period() {
        assert_eq!(Limit::parse("30/200"), Some(CONTACT_MESSAGES));
        assert_eq!(Limit::parse(" 1000 / 0 "), Some(Limit { burst: 1000, every_ms: 0 }));
        for wrong in ["", "30", "0/200", "30/-1", "x/200", "30/2s"] {
            assert_eq!(Limit::parse(wrong), None, "{wrong:?}");
        }
        // A period of 0 never refuses.
        let unlimited = Limit { burst: 1, every_ms: 0 };
        let mut state = 0;
        assert!((0..10_000).all(|_| unlimited.take(&mut state, 5).is_ok()));
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(1), 1);
        assert_eq!(retry_after_secs(1_000), 1);
        assert_eq!(retry_after_secs(1_001), 2);
        assert_eq!(retry_after_secs(0), 1);
    }

    #[test]
    fn ten_sign_in_attempts_then_a_minute_each() {
        let mut state = 0;
        let now = 50_000;
        for attempt in 1..=10 {
            assert!(SIGN_IN_PER_EMAIL_AND_ADDRESS.take(&mut state, now).is_ok(), "attempt {attempt}");
        }
        assert_eq!(SIGN_IN_PER_EMAIL_AND_ADDRESS.allows(state, now), Err(60_000));
    }

    #[test]
    fn a_deployment_with_an_unreadable_limit_or_no_secret_is_refused_by_name() {
        fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        }
        assert!(deployment_problems(vars(&[("CONFAB_SECRET", "s3cret")])).is_empty(), "defaults are fine");
        let set = [("CONFAB_SECRET", "s3cret"), ("CONFAB_LIMIT_CONTACT_MESSAGES", "1000000/0")];
        assert!(deployment_problems(vars(&set)).is_empty(), "a readable limit is fine");
        let wrong = [("CONFAB_SECRET", "s3cret"), ("CONFAB_LIMIT_CONTACT_MESSAGES", "30:200")];
        let problems = deployment_problems(vars(&wrong));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("CONFAB_LIMIT_CONTACT_MESSAGES is \"30:200\": write BURST/EVERY_MS"));
        let kept = [("CONFAB_SECRET", "s3cret"), ("CONFAB_UNSENT_FILES_KEPT_MS", "1h")];
        assert_eq!(deployment_problems(vars(&kept)).len(), 1, "milliseconds, not words");
        assert!(
            deployment_problems(vars(&[("CONFAB_SECRET", "s"), ("CONFAB_UNSENT_FILES_KEPT_MS", "5000")]))
                .is_empty()
        );
        let problems = deployment_problems(vars(&[("CONFAB_LIMIT_CHAT_STARTS_PER_ADDRESS", "0/5")]));
        assert_eq!(problems.len(), 2, "no secret, and a burst of 0: {problems:?}");
        assert!(problems[0].starts_with("CONFAB_SECRET is not set"));
    }
}
