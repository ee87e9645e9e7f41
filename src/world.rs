//! The world a run acts on, built on first use: the providers for each concern, the
//! run's journal, and the runtime their network work runs on.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::providers::lab::{Lab, netns};
use crate::providers::{Compute, Dns, ProviderError, Transport};
use crate::services::journal::{Journal, Resource};
use crate::state::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// This machine as a small cloud: namespaces, embedded DNS, real etcd.
    Lab,
}

/// How to reach a world; the world itself is built when a script first needs it.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub target: Target,
    pub state: StateDir,
}

pub struct World {
    pub compute: Arc<dyn Compute>,
    pub dns: Arc<dyn Dns>,
    pub transport: Arc<dyn Transport>,
    pub journal: Journal,
    pub state: StateDir,
    pub lab: Option<Lab>,
    runtime: Option<Runtime>,
}

impl World {
    /// Brings the world up (for the lab: namespaces and DNS daemon) and starts its runtime.
    pub fn open(config: &WorldConfig) -> Result<Self, ProviderError> {
        Self::open_with(config, true)
    }

    /// The world as it is, without creating it: `None` when there is no lab here.
    pub fn existing(config: &WorldConfig) -> Result<Option<Self>, ProviderError> {
        match config.target {
            Target::Lab if !Lab::new(&config.state).exists() => Ok(None),
            Target::Lab => Self::open_with(config, false).map(Some),
        }
    }

    fn open_with(config: &WorldConfig, create: bool) -> Result<Self, ProviderError> {
        match config.target {
            Target::Lab => {
                let lab = Lab::new(&config.state);
                let file = if create {
                    lab.ensure_up()?
                } else {
                    crate::providers::lab::require_privileges()?;
                    lab.load()?
                };
                let ns = file.netns();
                // Every thread of this runtime lives in the lab namespace, so every socket
                // that lab work opens is inside the lab, which has no route out.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .thread_name("rigger-lab")
                    .on_thread_start(move || {
                        if let Err(e) = netns::enter(&ns) {
                            // A thread outside the lab must never do lab work.
                            eprintln!("rigger: cannot enter the lab namespace: {e}");
                            std::process::abort();
                        }
                    })
                    .build()?;
                let shared = Arc::new(lab.clone());
                Ok(Self {
                    compute: shared.clone(),
                    dns: shared.clone(),
                    transport: shared,
                    journal: Journal::create(&config.state, create)?,
                    state: config.state.clone(),
                    lab: Some(lab),
                    runtime: Some(runtime),
                })
            }
        }
    }

    pub fn handle(&self) -> Handle {
        self.runtime
            .as_ref()
            .map_or_else(Handle::current, |r| r.handle().clone())
    }

    /// Runs `work` as a task on the world's runtime (so its sockets are in the world's
    /// network) and waits for it. Only for threads outside any runtime (commands).
    pub fn block_on<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let handle = self.handle();
        let task = handle.spawn(work);
        handle
            .block_on(task)
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Takes one resource down.
    pub async fn undo(&self, resource: &Resource) -> Result<(), ProviderError> {
        match resource {
            Resource::Instance(i) => self.compute.terminate(i).await,
            Resource::DnsZone(z) => self.dns.delete_zone(z).await,
            Resource::DnsRecord(r) => self.dns.delete(r).await,
            Resource::Process(p) => self.transport.stop(p).await,
            Resource::File { path } => match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

/// Takes down everything `journal` names, newest first; returns what could not be undone.
pub async fn take_down(world: &World, journal: &Journal) -> Vec<(Resource, ProviderError)> {
    let mut failed = Vec::new();
    for resource in journal.live_newest_first() {
        match world.undo(&resource).await {
            Ok(()) => {
                tracing::info!("removed {}", resource.describe());
                if let Err(e) = journal.removed(&resource) {
                    failed.push((resource, e.into()));
                }
            }
            Err(e) => failed.push((resource, e)),
        }
    }
    failed
}
