//! The world as a read-only command sees it (`health`, `members`, `doctor`): the DNS
//! provider, the network and etcd's API, on the runtime the target's network needs.
//! No journal, no writer lock, no journaled wrappers: nothing here creates anything.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use super::WorldConfig;
use super::journal::Journal;
use super::standing::{Standing, standing_of};
use crate::base::error::{Error, Result};
use crate::base::names::ClusterKey;
use crate::providers::opening::{Machines, Opening};
use crate::providers::{Dns, EtcdApi, Probe, Transport, backends};
use crate::services::probe::Network;

pub struct Query {
    pub dns: Arc<dyn Dns>,
    pub probe: Arc<dyn Probe>,
    pub etcd: Arc<dyn EtcdApi>,
    opening: Opening,
    machines: Machines,
    handle: Handle,
    /// A runtime the query owns (the lab's, in its namespace).
    runtime: Option<Runtime>,
}

impl Query {
    /// The world of the state dir as it is: `None` when its target has nothing here (no
    /// lab in this state dir).
    pub fn open(config: &WorldConfig) -> Result<Option<Self>> {
        let target = backends::target(&config.spec.target)?;
        if !(target.exists)(&config.state) {
            return Ok(None);
        }
        let opening = super::opening(config, false)?;
        (target.allowed)()?;
        let mut machines = (target.open)(&opening)?;
        let dns = (backends::dns(opening.dns)?.open)(&opening)?;
        let network = Arc::new(Network::new(
            crate::base::runtime::handle(),
            !target.dial_names,
        ));
        let runtime = machines.runtime.take();
        let handle = runtime
            .as_ref()
            .map_or_else(crate::base::runtime::handle, |r| r.handle().clone());
        Ok(Some(Self {
            dns,
            probe: network.clone(),
            etcd: network,
            opening,
            machines,
            handle,
            runtime,
        }))
    }

    /// How commands reach the machines, opened when asked (the doctor asks each machine's
    /// own resolver).
    pub fn transport(&self) -> Result<Arc<dyn Transport>> {
        (backends::transport(self.opening.transport)?.open)(&self.opening, &self.machines)
    }

    /// The machines and records of the cluster `key`, as the state's journals name them.
    pub async fn standing(&self, key: &ClusterKey) -> Result<Standing> {
        let journals = Journal::all(&self.opening.state)
            .map_err(|e| Error::failed(format!("cannot read the state's journals: {e}")))?
            .into_iter()
            .map(Arc::new)
            .collect();
        standing_of(journals, self.machines.compute.as_ref(), key).await
    }

    /// Runs `work` as a task on the query's runtime (so its sockets are in the world's
    /// network) and waits for it. Only for threads outside any runtime (commands).
    pub fn block_on<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        super::block_on_task(&self.handle, work)
    }
}

impl Drop for Query {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}
