//! Reaching nodes: the trait every transport implements, and one module per transport.

pub mod reach;
pub mod ssh;
pub mod unreachable;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::base::error::Result;
use crate::providers::Instance;

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
    /// The machine's own SSH user and port, when it has them (an inventory's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<crate::providers::compute::SshTo>,
}

/// Where a node's own resolver can be asked from this process: the node's network
/// namespace and the name servers its resolv.conf names (a lab host).
#[derive(Debug, Clone)]
pub struct NodeResolver {
    pub netns: String,
    pub servers: Vec<std::net::IpAddr>,
}

#[async_trait]
pub trait Transport: Send + Sync {
    /// The node's resolver, when this process can ask it itself (the lab); `None` when
    /// only a command on the node can (over SSH, `dig`).
    fn resolver(&self, _node: &Instance) -> Result<Option<NodeResolver>> {
        Ok(None)
    }
    async fn run(&self, node: &Instance, command: &str, timeout: Duration) -> Result<ExecOutput>;
    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()>;
    /// Writes files that belong together (a certificate and its key), each `(path,
    /// bytes, mode)`: every one written aside first, then all renamed into place one
    /// right after the other, so that a reader finds one old and one new for as short a
    /// moment as the machine allows. By default, one upload after the other.
    async fn upload_together(
        &self,
        node: &Instance,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<()> {
        for (path, bytes, mode) in files {
            self.upload(node, path, bytes, *mode).await?;
        }
        Ok(())
    }
    /// Starts `argv` on `node` detached, so it outlives rigger.
    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process>;
    async fn stop(&self, process: &Process) -> Result<()>;
}
