//! What a world is made of: one trait per concern, one module per backend. A primitive
//! asks a trait; adding a backend is a module and a line in `world`.

pub mod aws;
pub mod cloudflare;
pub mod lab;
pub mod plan;
pub mod records;
pub mod route53;
pub mod ssh;
pub mod unreachable;

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use records::{Record, RecordData, RecordSpec};

/// A provider's failure: a short kind scripts can branch on, and a message that says
/// what was asked and what went wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: &'static str,
    pub message: String,
    pub help: Option<String>,
}

impl ProviderError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            help: None,
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new("failed", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("not_found", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new("conflict", message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid", message)
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A command on a node that outlived its time limit.
    pub fn command_timeout(command: &str, node: &str, limit: Duration) -> Self {
        Self::new(
            "timeout",
            format!(
                "`{command}` on {node} did not finish within {}",
                crate::human::duration(limit)
            ),
        )
    }
}

impl From<std::io::Error> for ProviderError {
    fn from(e: std::io::Error) -> Self {
        Self::failed(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ProviderError>;

/// A machine as scripts see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub private_ip: String,
    #[serde(default)]
    pub public_ip: Option<String>,
    /// Folder on the machine where rigger keeps this node's files (certificates, data).
    pub dir: String,
}

/// What a script asks of a new machine. Every world takes every field, so one script
/// runs in all of them; the lab uses `name` only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub name: String,
    pub ami: Option<String>,
    pub instance_type: Option<String>,
    pub key_name: Option<String>,
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// GiB.
    pub root_volume_size: Option<i32>,
    /// GiB; a second volume for etcd's data when given.
    pub data_volume_size: Option<i32>,
    pub public_ip: Option<bool>,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, String>,
    pub user_data: Option<String>,
}

#[async_trait]
pub trait Compute: Send + Sync {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance>;
    async fn terminate(&self, instance: &Instance) -> Result<()>;
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
}

#[async_trait]
pub trait Dns: Send + Sync {
    /// The zone `name`: created if the world can create zones (the lab), looked up otherwise.
    async fn zone(&self, name: &str) -> Result<(Zone, bool)>;
    /// Creates a record in the zone that holds its name; an identical record is adopted.
    /// Returns the record and whether it was created (false: it already existed).
    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)>;
    async fn delete(&self, record: &Record) -> Result<()>;
    async fn delete_zone(&self, zone: &Zone) -> Result<()>;
    /// Records named `name` (any type).
    async fn list(&self, name: &str) -> Result<Vec<Record>>;
    /// The servers that answer authoritatively for `zone`: what `wait_resolves` asks.
    fn authoritative(&self, zone: &str) -> Vec<SocketAddr>;
}

/// What a command run on a node produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A long-running process started on a node (etcd).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Process {
    pub node: String,
    pub name: String,
    pub pid: i32,
    pub log: String,
    /// The address it was reached at, for transports that connect (SSH).
    #[serde(default)]
    pub address: Option<String>,
}

#[async_trait]
pub trait Transport: Send + Sync {
    async fn run(&self, node: &Instance, command: &str, timeout: Duration) -> Result<ExecOutput>;
    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()>;
    /// Starts `argv` on `node` detached, so it outlives rigger.
    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process>;
    async fn stop(&self, process: &Process) -> Result<()>;
}
