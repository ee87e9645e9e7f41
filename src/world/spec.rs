//! The choices a world is opened with: written at the head of every journal, so
//! `destroy` takes each resource down through the backends that made it.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::base::state_dir::StateDir;
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
    #[serde(default = "exec")]
    pub transport: String,
    #[serde(default)]
    pub ssh: SshSettings,
}

fn exec() -> String {
    "exec".into()
}

impl Default for WorldSpec {
    fn default() -> Self {
        Self {
            target: "lab".into(),
            dns: "lab".into(),
            dns_servers: Vec::new(),
            transport: exec(),
            ssh: SshSettings::default(),
        }
    }
}

impl WorldSpec {
    pub fn is_lab(&self) -> bool {
        self.target == "lab"
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
