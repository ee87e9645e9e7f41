//! Machines: the trait every compute backend implements, and one module per backend.

pub mod describe;
pub mod ec2;
pub mod hosts;
pub mod inventory;
pub mod unavailable;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::base::error::Result;
use futures::future::join_all;

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
    /// A machine of its own, with its own disk and init (every cloud machine, and a
    /// booted lab machine), rather than a lab namespace sharing this machine's files.
    #[serde(default)]
    pub booted: bool,
    /// How SSH reaches it when it differs from the run's settings (a machine of an
    /// inventory with its own user or port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshTo>,
}

/// A machine's own SSH user and port.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SshTo {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
}

/// What a script asks of a new machine. Every world takes every field, so one script
/// runs in all of them; the lab uses `name` and `boot` only.
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
    /// In the lab: a machine that boots systemd from the machine image, reached over
    /// SSH, rather than a bare network namespace. A cloud machine always boots.
    #[serde(default)]
    pub boot: bool,
    /// On an inventory (`--target hosts`): take a free machine carrying every one of
    /// these labels. Machines that are made rather than taken have none to match.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

#[async_trait]
pub trait Compute: Send + Sync {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance>;
    async fn terminate(&self, instance: &Instance) -> Result<()>;
    /// Terminates every one of `instances`, one outcome each, in their order. By default
    /// all at once, one call each; a backend that takes many in one call does so.
    async fn terminate_all(&self, instances: &[Instance]) -> Vec<Result<()>> {
        let mut outcomes = Vec::with_capacity(instances.len());
        let calls = instances.iter().map(|i| self.terminate(i));
        for outcome in join_all(calls).await {
            outcomes.push(outcome);
        }
        outcomes
    }
    /// The live machine named `name`, if any: how a launch that was under way when
    /// rigger died is found again.
    async fn find(&self, name: &str) -> Result<Option<Instance>>;
    /// Every live machine carrying the cluster tag `cluster` (for a destroy whose state
    /// was lost). Backends without tags have none.
    async fn tagged(&self, _cluster: &str) -> Result<Vec<Instance>> {
        Ok(Vec::new())
    }
    /// How many more machines carrying every one of `labels` a launch can have: `None`
    /// where they are made on demand, the free machines of an inventory where they are
    /// taken.
    async fn free_count(
        &self,
        _labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<Option<usize>> {
        Ok(None)
    }
}
