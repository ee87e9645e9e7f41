//! The choices a world is opened with: written at the head of every journal, so
//! `destroy` takes each resource down through the backends that made it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::base::state_dir::StateDir;
use crate::providers::backends;
use crate::providers::opening::SshSettings;

/// Which backends a run uses, by their names in the backend table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldSpec {
    pub target: String,
    pub dns: String,
    /// Servers `wait_resolves` asks instead of the zone's own (`--dns-server`); for
    /// RFC 2136 also where updates go.
    #[serde(default)]
    pub dns_servers: Vec<SocketAddr>,
    /// `--resolver`: where RFC 2136 asks a zone's SOA for its primary when no
    /// `--dns-server` names it (and, in the lab, what lab hosts resolve through).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<SocketAddr>,
    /// `--inventory` (absolute): the machines `--target hosts` takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<std::path::PathBuf>,
    #[serde(default = "exec")]
    pub transport: String,
    #[serde(default)]
    pub ssh: SshSettings,
}

/// The default target's transport: what a journal written before transports were
/// chosen used.
fn exec() -> String {
    backends::TARGETS[0].transport.into()
}

impl Default for WorldSpec {
    /// The table's first target (the lab), with its own DNS provider and transport.
    fn default() -> Self {
        let target = &backends::TARGETS[0];
        Self {
            target: target.name.into(),
            dns: target.dns.into(),
            dns_servers: Vec::new(),
            resolver: None,
            inventory: None,
            transport: target.transport.into(),
            ssh: SshSettings::default(),
        }
    }
}

impl WorldSpec {
    /// Whether its machines are this machine's own (the lab).
    pub fn is_lab(&self) -> bool {
        backends::target(&self.target).is_ok_and(|t| t.local)
    }
}

/// How to reach a world; the world itself is opened when a script first needs it.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub spec: WorldSpec,
    pub state: StateDir,
    /// `--dry-run`: write down every action, do none.
    pub dry_run: bool,
}
