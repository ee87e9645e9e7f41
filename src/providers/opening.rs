//! What a backend is opened with, and what opening a target gives back. Every backend
//! module reads this; the table of backends (`backends.rs`) only points at them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::base::error::Result;
use crate::base::state_dir::StateDir;
use crate::providers::Compute;
use crate::providers::transport::reach::SshReach;

/// How SSH connects, as the user chose it (`--ssh-user`, `--ssh-key`, `--ssh-accept-new`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshSettings {
    pub user: Option<String>,
    pub key: Option<PathBuf>,
    pub accept_new: bool,
}

/// What a backend is opened with: the choices of the run and what the backends opened
/// before it set up (the lab, the AWS settings).
pub struct Opening {
    pub target: &'static str,
    pub dns: &'static str,
    pub transport: &'static str,
    pub state: StateDir,
    /// `--dns-server`: where DNS questions (and, for RFC 2136, updates) go.
    pub dns_servers: Vec<SocketAddr>,
    /// `--resolver`: where RFC 2136 asks a zone's SOA for its primary.
    pub resolver: Option<SocketAddr>,
    /// `--inventory`: the machines of `--target hosts`.
    pub inventory: Option<PathBuf>,
    pub ssh: SshSettings,
    /// Unique per run in this state dir (client tokens derive from it).
    pub run_id: String,
    /// False when only looking at what exists (destroy, health, a dry run's reads).
    pub create: bool,
    /// Whether the DNS provider is the lab's own server (else lab hosts ask
    /// `--dns-server`), and whether the transport needs sshd on lab hosts: from the
    /// backend table, so that no backend knows another by name.
    pub lab_dns: bool,
    pub sshd: bool,
    aws: OnceLock<aws_config::SdkConfig>,
}

impl Opening {
    pub fn new(
        target: &'static str,
        dns: &'static str,
        transport: &'static str,
        state: StateDir,
    ) -> Self {
        Self {
            target,
            dns,
            transport,
            state,
            dns_servers: Vec::new(),
            resolver: None,
            inventory: None,
            ssh: SshSettings::default(),
            run_id: String::new(),
            create: false,
            lab_dns: false,
            sshd: false,
            aws: OnceLock::new(),
        }
    }

    /// The AWS SDK's settings, loaded once for every AWS backend of the run.
    pub fn aws(&self) -> Result<&aws_config::SdkConfig> {
        if let Some(config) = self.aws.get() {
            return Ok(config);
        }
        let config = crate::base::runtime::block_on(crate::providers::aws::load_config())?;
        Ok(self.aws.get_or_init(|| config))
    }
}

/// What opening a target gives: its machines, and the runtime its network work must
/// run on when this machine's own network is the wrong place (the lab's namespace).
pub struct Machines {
    pub compute: Arc<dyn Compute>,
    pub runtime: Option<tokio::runtime::Runtime>,
    /// Run when the world closes, told whether everything the run made is gone.
    pub epilogue: Option<Box<dyn Fn(bool) + Send + Sync>>,
    /// How SSH reaches them, when the run reaches them over SSH.
    pub ssh: SshReach,
}
