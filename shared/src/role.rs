//! The roles of staff accounts, which every route and admin rule checks.

use serde::{Deserialize, Serialize};

/// What an account may do on its site. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handles chats.
    #[default]
    Agent,
    /// Also sees the live view of queues and agents, and searches and exports interaction records.
    Supervisor,
    /// Also configures the site and its accounts, and deletes a contact's data.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    pub fn may_supervise(self) -> bool {
        self >= Role::Supervisor
    }

    pub fn may_administer(self) -> bool {
        self == Role::Admin
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Agent => "Agent",
            Role::Supervisor => "Supervisor",
            Role::Admin => "Admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}
