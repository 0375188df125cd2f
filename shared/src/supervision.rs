//! The supervisor's live view of a site: how many contacts wait in each queue and for how long, each agent's
//! presence and load, and which service levels are breached. The desk builds an [`Overview`] from its routing
//! state and its conversation list; the desktop re-derives waits and breaches every second from the
//! timestamps in it, so the view stays current between updates.

use crate::ids::{AgentId, InteractionId, Millis, QueueId};
use crate::lifecycle::Phase;
use crate::listing::ConversationSummary;
use crate::routing::{self, Presence};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A site's service levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaTargets {
    /// A contact should not wait longer than this for an agent.
    pub queue_wait_ms: i64,
    /// An agent should answer a contact's message within this.
    pub reply_ms: i64,
}

impl Default for SlaTargets {
    fn default() -> Self {
        SlaTargets { queue_wait_ms: 60_000, reply_ms: 2 * 60_000 }
    }
}

/// The live view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub targets: SlaTargets,
    /// Every queue of the site, `default` first, with what waits in it.
    pub queues: Vec<QueueLoad>,
    pub agents: Vec<AgentLoad>,
    /// Contacts waiting for an agent (queued or being offered), oldest first.
    pub waiting: Vec<WaitingContact>,
    /// Contacts in an active or parked chat whose message has no answer yet, oldest first.
    pub unanswered: Vec<UnansweredContact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueLoad {
    pub queue: QueueId,
    pub waiting: u32,
    /// Since when the longest-waiting contact waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_since: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLoad {
    pub agent: AgentId,
    pub name: String,
    pub presence: Presence,
    /// Offered, active and incoming-transfer chats.
    pub load: u32,
    pub capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingContact {
    pub interaction: InteractionId,
    pub queue: QueueId,
    pub contact_label: String,
    pub since: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnansweredContact {
    pub interaction: InteractionId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentId>,
    pub contact_label: String,
    pub since: Millis,
}

/// Which service level a breach is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// Waiting for an agent longer than [`SlaTargets::queue_wait_ms`].
    QueueWait,
    /// Waiting for an agent's answer longer than [`SlaTargets::reply_ms`].
    Reply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub interaction: InteractionId,
    pub kind: BreachKind,
    pub contact_label: String,
    pub agent: Option<AgentId>,
    /// How long the contact has waited.
    pub waited_ms: i64,
}

impl Overview {
    /// The view of `desk` now. `summaries` gives contact labels and who waits for an answer; `name` gives
    /// agents' display names.
    pub fn build(
        desk: &routing::Desk,
        summaries: &[ConversationSummary],
        name: impl Fn(&AgentId) -> String,
        targets: SlaTargets,
    ) -> Overview {
        let label = |interaction: &InteractionId| {
            summaries
                .iter()
                .find(|s| s.interaction == *interaction)
                .map_or_else(|| "Visitor".to_owned(), |s| s.contact_label.clone())
        };
        // Offered chats still wait, from the contact's side: they count where they were queued.
        let offered = desk.offers.iter().filter_map(|(id, offer)| Some((*id, offer.from_queue.as_ref()?)));
        let mut waiting: Vec<WaitingContact> = desk
            .waiting
            .iter()
            .filter(|w| w.transfer_from.is_none())
            .map(|w| (w.interaction, w))
            .chain(offered.filter(|(_, w)| w.transfer_from.is_none()))
            .map(|(interaction, w)| WaitingContact {
                interaction,
                queue: w.queue.clone(),
                contact_label: label(&interaction),
                since: w.since,
            })
            .collect();
        waiting.sort_by_key(|w| (w.since, w.interaction));
        let mut queues: BTreeMap<QueueId, QueueLoad> = std::iter::once(routing::default_queue())
            .chain(desk.queues.iter().cloned())
            .map(|queue| (queue.clone(), QueueLoad { queue, waiting: 0, oldest_since: None }))
            .collect();
        for w in &waiting {
            let entry = queues.entry(w.queue.clone()).or_insert_with(|| QueueLoad {
                queue: w.queue.clone(),
                waiting: 0,
                oldest_since: None,
            });
            entry.waiting += 1;
            entry.oldest_since = Some(entry.oldest_since.map_or(w.since, |s| s.min(w.since)));
        }
        let default = queues.remove(&routing::default_queue());
        let queues = default.into_iter().chain(queues.into_values()).collect();
        let agents = desk
            .agents
            .iter()
            .map(|(agent, seat)| AgentLoad {
                agent: agent.clone(),
                name: name(agent),
                presence: seat.presence,
                load: seat.load.len() as u32,
                capacity: seat.profile.capacity,
            })
            .collect();
        let mut unanswered: Vec<UnansweredContact> = summaries
            .iter()
            .filter_map(|s| {
                let status = s.status.as_ref()?;
                if !matches!(status.phase, Phase::Active | Phase::Parked) {
                    return None;
                }
                Some(UnansweredContact {
                    interaction: s.interaction,
                    agent: status.agent.clone(),
                    contact_label: s.contact_label.clone(),
                    since: status.awaiting_reply_since?,
                })
            })
            .collect();
        unanswered.sort_by_key(|u| (u.since, u.interaction));
        Overview { targets, queues, agents, waiting, unanswered }
    }

    /// How long the longest-waiting contact of `queue` has waited at `now`.
    pub fn longest_wait(queue: &QueueLoad, now: Millis) -> Option<i64> {
        queue.oldest_since.map(|since| (now - since).max(0))
    }

    /// The service levels breached at `now`, longest wait first.
    pub fn breaches(&self, now: Millis) -> Vec<Breach> {
        let queue = self.waiting.iter().map(|w| Breach {
            interaction: w.interaction,
            kind: BreachKind::QueueWait,
            contact_label: w.contact_label.clone(),
            agent: None,
            waited_ms: now - w.since,
        });
        let queue = queue.filter(|b| b.waited_ms > self.targets.queue_wait_ms).collect::<Vec<_>>();
        let reply = self.unanswered.iter().map(|u| Breach {
            interaction: u.interaction,
            kind: BreachKind::Reply,
            contact_label: u.contact_label.clone(),
            agent: u.agent.clone(),
            waited_ms: now - u.since,
        });
        let mut all: Vec<Breach> =
            queue.into_iter().chain(reply.filter(|b| b.waited_ms > self.targets.reply_ms)).collect();
        all.sort_by_key(|b| std::cmp::Reverse(b.waited_ms));
        all
    }

    /// Agents in each presence, for the view's header: (ready, not ready, offline).
    pub fn presence_counts(&self) -> (usize, usize, usize) {
        let count = |p: Presence| self.agents.iter().filter(|a| a.presence == p).count();
        (count(Presence::Ready), count(Presence::NotReady), count(Presence::Offline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::LogStatus;
    use crate::routing::RoutingProfile;

    fn id(n: u128) -> InteractionId {
        InteractionId(uuid::Uuid::from_u128(n))
    }

    fn summary(n: u128, label: &str, status: Option<LogStatus>) -> ConversationSummary {
        ConversationSummary {
            interaction: id(n),
            contact: None,
            contact_label: label.into(),
            contact_email: None,
            started_at: 0,
            last_text: None,
            last_at: 0,
            status,
        }
    }

    #[test]
    fn queues_agents_and_breaches() {
        let billing = QueueId("billing".into());
        let mut desk = routing::Desk::new(30_000, [billing.clone()]);
        let ada = AgentId("ada".into());
        desk.upsert_agent(ada.clone(), RoutingProfile { capacity: 1, ..RoutingProfile::default() }, 0);
        desk.set_presence(&ada, Presence::Ready, 0).expect("known agent");
        // Ada takes the first chat; the next two wait, one in billing.
        desk.enqueue(id(1), 1, routing::default_queue(), None, 1_000);
        desk.accept(&ada, id(1), 2_000).expect("offered to ada");
        desk.enqueue(id(2), 1, routing::default_queue(), None, 10_000);
        desk.enqueue(id(3), 1, billing.clone(), None, 20_000);
        let active = LogStatus {
            phase: Phase::Active,
            agent: Some(ada.clone()),
            until: None,
            awaiting_reply_since: Some(5_000),
        };
        let summaries =
            [summary(1, "Grace", Some(active)), summary(2, "Linus", None), summary(3, "Barbara", None)];
        let overview = Overview::build(&desk, &summaries, |a| a.0.to_uppercase(), SlaTargets::default());

        let lengths: Vec<_> =
            overview.queues.iter().map(|q| (q.queue.as_str(), q.waiting, q.oldest_since)).collect();
        assert_eq!(lengths, [("default", 1, Some(10_000)), ("billing", 1, Some(20_000))]);
        assert_eq!(Overview::longest_wait(&overview.queues[0], 40_000), Some(30_000));
        assert_eq!(overview.agents[0].name, "ADA");
        assert_eq!((overview.agents[0].load, overview.agents[0].capacity), (1, 1));
        assert_eq!(overview.presence_counts(), (1, 0, 0));

        // At 70 s: Linus waited 60 s (not over), Grace's message is 65 s old (not over 2 min).
        assert!(overview.breaches(70_000).is_empty());
        // At 126 s: Grace waits 121 s for a reply, Linus 116 s and Barbara 106 s in the queue.
        let breaches = overview.breaches(126_000);
        let seen: Vec<_> = breaches.iter().map(|b| (b.contact_label.as_str(), b.kind)).collect();
        assert_eq!(
            seen,
            [
                ("Grace", BreachKind::Reply),
                ("Linus", BreachKind::QueueWait),
                ("Barbara", BreachKind::QueueWait)
            ]
        );
        assert_eq!(breaches[0].agent, Some(ada));
    }

    #[test]
    fn an_offered_chat_still_counts_as_waiting() {
        let mut desk = routing::Desk::new(30_000, []);
        let ada = AgentId("ada".into());
        desk.upsert_agent(ada.clone(), RoutingProfile::default(), 0);
        desk.set_presence(&ada, Presence::Ready, 0).expect("known agent");
        desk.enqueue(id(1), 1, routing::default_queue(), None, 1_000);
        assert!(desk.offers.contains_key(&id(1)), "offered at once");
        let overview = Overview::build(&desk, &[], |a| a.0.clone(), SlaTargets::default());
        assert_eq!(overview.queues[0].waiting, 1);
        assert_eq!(overview.waiting[0].contact_label, "Visitor");
    }
}
