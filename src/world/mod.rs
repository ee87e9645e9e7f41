//! The world a run acts on: the backends the table names for its choices, each wrapped
//! so that what it creates is journaled, the run's journal, and the runtime their
//! network work runs on. Opened on first use; a dry run opens the plan instead.

pub mod doctor;
pub mod inventory;
pub mod journal;
pub mod journaled_etcd;
pub mod journaling;
pub mod query;
pub mod spec;
pub mod standing;

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

pub use spec::{WorldConfig, WorldSpec};

use self::journal::{Intent, Journal, Resource};
use self::journaling::Book;
use crate::base::error::{Error, ErrorKind, Result};
use crate::base::names::ClusterKey;
use crate::base::writer::Writer;
use crate::providers::backends;
use crate::providers::etcd_api::ClusterAt;
use crate::providers::members::{JoinedMember, MemberCall};
use crate::providers::opening::Opening;
use crate::providers::plan::Plan;
use crate::providers::{Compute, Dns, EtcdApi, Local, Probe, Transport};
use crate::services::pki::LocalFiles;
use crate::services::probe::Network;

/// What a world's backends are, once: the journaled ones scripts use, or the raw ones
/// that undo works through.
#[derive(Clone)]
pub struct Backends {
    pub compute: Arc<dyn Compute>,
    pub dns: Arc<dyn Dns>,
    pub transport: Arc<dyn Transport>,
    pub local: Arc<dyn Local>,
    pub probe: Arc<dyn Probe>,
    pub etcd: Arc<dyn EtcdApi>,
}

/// Run when the world closes; told whether everything the run made is gone again.
type Epilogue = Box<dyn Fn(bool) + Send + Sync>;

pub struct World {
    /// What scripts act through: every creation journaled.
    pub backends: Backends,
    /// The same backends unwrapped, for taking things down (which journals itself).
    raw: Backends,
    journal: Arc<Journal>,
    handle: Handle,
    /// A runtime the world owns (the lab's, in its namespace).
    runtime: Option<Runtime>,
    epilogue: Epilogue,
    /// One writer at a time in the state dir, for as long as a world that creates is open.
    _writer: Option<Writer>,
}

/// How a run ended, for [`World::close`].
#[derive(Debug, Clone, Copy)]
pub struct Ending {
    pub failed: bool,
    pub interrupted: bool,
    /// `--keep-on-error`: leave what a failed run made.
    pub keep: bool,
}

impl World {
    /// Opens the world, bringing it up if it needs to be (the lab: namespaces, DNS).
    pub fn open(config: &WorldConfig) -> Result<Self> {
        Self::open_with(config, true)
    }

    /// The world as it is, without creating anything: `None` when its target has
    /// nothing here (no lab in this state dir).
    pub fn existing(config: &WorldConfig) -> Result<Option<Self>> {
        let target = backends::target(&config.spec.target)?;
        if !(target.exists)(&config.state) {
            return Ok(None);
        }
        Self::open_with(config, false).map(Some)
    }

    fn open_with(config: &WorldConfig, create: bool) -> Result<Self> {
        if config.dry_run {
            return Self::planned(config);
        }
        let spec = &config.spec;
        // Refuse a bad combination before anything (even the journal) exists.
        let mut opening = opening(config, create)?;
        (backends::target(&spec.target)?.allowed)()?;
        let writer = create.then(|| Writer::take(&config.state)).transpose()?;
        let journal = Arc::new(Journal::create(&config.state, create, spec)?);
        opening.run_id = journal.run_id();
        let target = backends::target(opening.target)?;
        let machines = (target.open)(&opening)?;
        let others = backends::dns(opening.dns)
            .and_then(|row| (row.open)(&opening))
            .and_then(|dns| {
                let transport =
                    (backends::transport(opening.transport)?.open)(&opening, &machines)?;
                Ok((dns, transport))
            });
        let (dns, transport) = match others {
            Ok(both) => both,
            Err(e) => {
                // Nothing was made yet: a lab this opening brought up goes down again.
                // Its runtime first: a worker thread that the scheduler starts late
                // enters the lab's namespace as it starts, and must find it there.
                let crate::providers::opening::Machines {
                    runtime, epilogue, ..
                } = machines;
                drop(runtime);
                if let Some(epilogue) = epilogue {
                    epilogue(true);
                }
                return Err(e);
            }
        };
        let network = Arc::new(Network::new(
            crate::base::runtime::handle(),
            !target.dial_names,
        ));
        let raw = Backends {
            compute: machines.compute,
            dns,
            transport,
            local: Arc::new(LocalFiles::new(&config.state)),
            probe: network.clone(),
            etcd: network,
        };
        let book = Book(journal.clone());
        let backends = Backends {
            compute: book.wrap(raw.compute.clone()),
            dns: book.wrap(raw.dns.clone()),
            transport: book.wrap(raw.transport.clone()),
            local: book.wrap(raw.local.clone()),
            // Questions change nothing: asked as they are.
            probe: raw.probe.clone(),
            etcd: book.wrap(raw.etcd.clone()),
        };
        let handle = machines
            .runtime
            .as_ref()
            .map_or_else(crate::base::runtime::handle, |r| r.handle().clone());
        Ok(Self {
            backends,
            raw,
            journal,
            handle,
            runtime: machines.runtime,
            epilogue: machines.epilogue.unwrap_or_else(|| Box::new(|_| {})),
            _writer: writer,
        })
    }

    /// A world that only writes down what it would do: no credentials, no privileges,
    /// nothing created, not even a journal. Where the real DNS can be read, the plan
    /// reads it, so it refuses what the real run would refuse; where a live cluster can
    /// be asked (the lab's with the privileges to enter it), it asks it too.
    fn planned(config: &WorldConfig) -> Result<Self> {
        let opening = opening(config, false)?;
        let target = backends::target(opening.target)?;
        let exists = (target.exists)(&config.state);
        let reader = if exists {
            match (backends::dns(opening.dns)?.open)(&opening) {
                Ok(dns) => Some(dns),
                Err(e) => {
                    tracing::debug!("the plan cannot read {}: {e}", opening.dns);
                    None
                }
            }
        } else {
            None
        };
        // Where the reads that dial members run: `Some(runtime)` when a live cluster
        // can be asked, in the target's own network (a lab's namespace, which takes the
        // privileges to enter) or this machine's (`Some(None)`).
        let network: Option<Option<Runtime>> = if !exists {
            None
        } else if target.local {
            match (target.allowed)().and_then(|()| (target.open)(&opening)) {
                Ok(machines) => Some(machines.runtime),
                Err(e) => {
                    tracing::debug!(
                        "the plan cannot ask the clusters of {}: {e}",
                        opening.target
                    );
                    None
                }
            }
        } else {
            Some(None)
        };
        let local: Arc<dyn Local> = Arc::new(LocalFiles::new(&config.state));
        let state = config.state.clone();
        let node_dir = target.node_dir;
        let mut plan = Plan::new(reader, local, Box::new(move |spec| node_dir(&state, spec)));
        if network.is_some() {
            let live = Network::new(crate::base::runtime::handle(), !target.dial_names);
            plan = plan.reading(Arc::new(live));
        }
        let runtime = network.flatten();
        let handle = runtime
            .as_ref()
            .map_or_else(crate::base::runtime::handle, |r| r.handle().clone());
        let plan = Arc::new(plan);
        let backends = Backends {
            compute: plan.clone(),
            dns: plan.clone(),
            transport: plan.clone(),
            local: plan.clone(),
            probe: plan.clone(),
            etcd: plan.clone(),
        };
        Ok(Self {
            raw: backends.clone(),
            backends,
            journal: Arc::new(Journal::create(&config.state, false, &config.spec)?),
            handle,
            runtime,
            epilogue: Box::new(move |_| plan.print()),
            _writer: None,
        })
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// The state dir this world's runs are journaled in.
    pub fn state(&self) -> &crate::base::state_dir::StateDir {
        self.journal.state_dir()
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Runs `work` as a task on the world's runtime (so its sockets are in the world's
    /// network) and waits for it. Only for threads outside any runtime (commands).
    pub fn block_on<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        block_on_task(&self.handle, work)
    }

    /// Ends the run in this world: rolls back what a failed run made (unless kept),
    /// forgets an empty journal, and lets the backends finish (a plan is printed, an
    /// empty lab this run left is taken down).
    pub fn close(&self, ending: Ending) {
        let mut all_gone = self.journal.is_empty();
        if ending.failed && !ending.keep {
            all_gone = self.roll_back(ending.interrupted);
        } else if ending.failed && !self.journal.is_empty() {
            tracing::warn!(
                "kept what the failed run created (--keep-on-error); `rigger destroy` removes it"
            );
        }
        let _ = self.journal.discard_if_empty();
        // A run that leaves nothing standing, failed or not, leaves no lab it brought up.
        (self.epilogue)(all_gone);
    }

    /// Undoes what the run created, newest first; says what could not be undone and
    /// returns whether everything is gone.
    fn roll_back(&self, interrupted: bool) -> bool {
        let standing = self.journal.live_newest_first().len();
        if standing == 0 {
            return true;
        }
        let why = if interrupted {
            "was interrupted"
        } else {
            "failed"
        };
        tracing::warn!("the run {why}; rolling back the {standing} resources it created");
        crate::base::hook::point("rollback");
        let failed = take_down(self, &self.journal);
        for (resource, e) in &failed {
            tracing::error!("could not remove {}: {e}", resource.describe());
        }
        if !failed.is_empty() {
            tracing::error!(
                "{} resources are left; `rigger destroy` retries them",
                failed.len()
            );
        }
        failed.is_empty()
    }
}

/// What every backend of `config` is opened with (`create`: whether the run may make
/// things).
fn opening(config: &WorldConfig, create: bool) -> Result<Opening> {
    let spec = &config.spec;
    backends::check(
        &spec.target,
        &spec.dns,
        &spec.transport,
        &spec.dns_servers,
        spec.resolver,
        spec.inventory.as_deref(),
    )?;
    let mut opening = Opening::new(
        backends::target(&spec.target)?.name,
        backends::dns(&spec.dns)?.name,
        backends::transport(&spec.transport)?.name,
        config.state.clone(),
    );
    opening.dns_servers = spec.dns_servers.clone();
    opening.resolver = spec.resolver;
    opening.inventory = spec.inventory.clone();
    opening.ssh = spec.ssh.clone();
    opening.create = create;
    opening.lab_dns = backends::dns(&spec.dns)?.lab_server;
    opening.sshd = backends::transport(&spec.transport)?.sshd;
    Ok(opening)
}

/// Runs `work` as a task on `handle`'s runtime and waits for it.
fn block_on_task<T: Send + 'static>(
    handle: &Handle,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let task = handle.spawn(work);
    handle
        .block_on(task)
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// A probe of this machine's own network, for questions that need no world (a port on
/// loopback): `None` in a dry run, whose plan writes every wait down instead.
pub fn machine_probe(config: Option<&WorldConfig>) -> Option<Arc<dyn Probe>> {
    (!config.is_some_and(|c| c.dry_run)).then(|| machine_network() as Arc<dyn Probe>)
}

/// This machine's own network, asked directly: for servers given outside the lab, which
/// need no provider (nor its credentials).
pub fn machine_network() -> Arc<Network> {
    Arc::new(Network::new(crate::base::runtime::handle(), false))
}

impl Backends {
    /// Takes one resource down; false when there was nothing to take down. Something
    /// that was still being made when a run died may exist or not: it is looked for,
    /// and removed if found.
    async fn undo(&self, resource: &Resource) -> Result<bool> {
        match resource {
            Resource::Instance(i) => self.compute.terminate(i).await,
            Resource::DnsZone(z) => self.dns.delete_zone(z).await,
            Resource::DnsRecord(r) => self.dns.delete(r).await,
            Resource::Process(p) => self.transport.stop(p).await,
            Resource::File { path } => self.local.remove(std::path::Path::new(path)),
            Resource::Pending(intent) => return self.undo_pending(intent).await,
            Resource::EtcdMember(m) => return self.remove_member(m).await,
        }
        .map(|()| true)
    }

    /// Removes a member rigger added from its cluster. A cluster nobody answers for any
    /// more (its machines gone first, in a destroy) has nothing to remove it from.
    async fn remove_member(&self, m: &JoinedMember) -> Result<bool> {
        let Ok(id) = u64::from_str_radix(&m.id, 16) else {
            return Ok(false);
        };
        // The cluster's client certificate went with the run that built it (a destroy
        // takes the oldest run first): so did the cluster.
        if let Some(tls) = &m.tls
            && [&tls.ca, &tls.cert, &tls.key].iter().any(|f| !f.exists())
        {
            return Ok(false);
        }
        let Ok(key) = ClusterKey::parse(&m.domain) else {
            return Ok(false);
        };
        let servers = self.dns.authoritative(&key.domain).await?;
        let at = ClusterAt::new(key, m.tls.clone(), servers);
        let call = MemberCall::Remove { id };
        match self
            .etcd
            .membership(&at, &call, Duration::from_secs(2))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn undo_pending(&self, intent: &Intent) -> Result<bool> {
        match intent {
            Intent::Instance { name } => match self.compute.find(name).await? {
                Some(instance) => self.compute.terminate(&instance).await.map(|()| true),
                None => Ok(false),
            },
            Intent::DnsZone { name } => match self.dns.find_zone(name).await? {
                Some(zone) if self.dns.creates_zones() => {
                    self.dns.delete_zone(&zone).await.map(|()| true)
                }
                _ => Ok(false),
            },
            // The run may have published it; a record with the same data is taken to be
            // it (the window is one backend call).
            Intent::DnsRecord { spec } => {
                let mut found = false;
                for record in self.dns.list(&spec.name).await? {
                    if record.spec.data == spec.data {
                        self.dns.delete(&record).await?;
                        found = true;
                    }
                }
                Ok(found)
            }
            // A process has no name to be found by; it goes with its machine.
            Intent::Process { .. } => Ok(false),
            // Added or not: found by its peer URLs, if some member still answers.
            Intent::EtcdMember {
                domain,
                peer_urls,
                tls,
            } => {
                let Ok(key) = ClusterKey::parse(domain) else {
                    return Ok(false);
                };
                let Ok(servers) = self.dns.authoritative(&key.domain).await else {
                    return Ok(false);
                };
                let at = ClusterAt::new(key, tls.clone(), servers);
                let listed = self
                    .etcd
                    .membership(&at, &MemberCall::List, Duration::ZERO)
                    .await;
                let Ok(listed) = listed else { return Ok(false) };
                let found = listed
                    .members
                    .into_iter()
                    .find(|m| &m.peer_urls == peer_urls);
                match found {
                    Some(m) => {
                        let joined = JoinedMember {
                            domain: domain.clone(),
                            id: m.id,
                            peer_urls: peer_urls.clone(),
                            tls: tls.clone(),
                        };
                        self.remove_member(&joined).await
                    }
                    None => Ok(false),
                }
            }
            Intent::Files { paths } => {
                let mut found = false;
                for path in paths {
                    let path = std::path::Path::new(path);
                    found |= path.exists();
                    self.local.remove(path)?;
                }
                Ok(found)
            }
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

/// Takes down everything `journal` names, in rounds: first the processes, then records,
/// machines and files together, then zones (which must be empty first). Inside a round
/// every undo runs at once, so a round costs one round trip whatever the cluster's size.
/// Each undo runs as a task on the world's runtime: for the lab that is the only place
/// from which a lab address may be dialled. Call it from outside any runtime. Returns
/// what could not be undone.
pub fn take_down(world: &World, journal: &Journal) -> Vec<(Resource, Error)> {
    let mut failed = Vec::new();
    let live = journal.live_newest_first();
    for round in 0..ROUNDS {
        let this: Vec<Resource> = live
            .iter()
            .filter(|r| round_of(r) == round)
            .cloned()
            .collect();
        if this.is_empty() {
            continue;
        }
        let raw = world.raw.clone();
        let outcomes = world.block_on(async move {
            let mut set = tokio::task::JoinSet::new();
            // Machines go in one call where the backend takes many (EC2's
            // TerminateInstances), records likewise (a Cloudflare batch, one Route 53
            // change); everything else one call each, all at once.
            let (machines, others): (Vec<_>, Vec<_>) = this
                .into_iter()
                .enumerate()
                .partition(|(_, r)| matches!(r, Resource::Instance(_)));
            let (records, others): (Vec<_>, Vec<_>) = others
                .into_iter()
                .partition(|(_, r)| matches!(r, Resource::DnsRecord(_)));
            for batch in [records, machines] {
                if batch.is_empty() {
                    continue;
                }
                let raw = raw.clone();
                set.spawn(async move {
                    let outcomes = undo_batch(&raw, &batch).await;
                    settled(batch, outcomes)
                });
            }
            for (i, resource) in others {
                let raw = raw.clone();
                set.spawn(async move {
                    let outcome = raw.undo(&resource).await;
                    vec![(i, resource, outcome)]
                });
            }
            let mut outcomes = Vec::new();
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok(done) => outcomes.extend(done),
                    // A panicked undo: what it was undoing stays in the journal.
                    Err(e) => tracing::error!("an undo task failed: {e}"),
                }
            }
            // Said newest first, as the journal lists them.
            outcomes.sort_by_key(|(i, ..)| *i);
            outcomes
        });
        for (_, resource, outcome) in outcomes {
            match outcome {
                Ok(found) => {
                    if found {
                        tracing::info!("removed {}", resource.describe());
                    } else {
                        tracing::info!("nothing to remove: {}", resource.describe());
                    }
                    if let Err(e) = journal.removed(&resource) {
                        failed.push((resource, e.into()));
                    }
                }
                Err(e) => failed.push((resource, e)),
            }
        }
    }
    failed
}

/// Takes down a batch of records, or one of machines, in the one call the backend
/// takes many in; an outcome for each, in order.
async fn undo_batch(raw: &Backends, batch: &[(usize, Resource)]) -> Vec<Result<()>> {
    let (mut records, mut machines) = (Vec::new(), Vec::new());
    for (_, resource) in batch {
        match resource {
            Resource::DnsRecord(r) => records.push(r.clone()),
            Resource::Instance(i) => machines.push(i.clone()),
            _ => {}
        }
    }
    if records.is_empty() {
        raw.compute.terminate_all(&machines).await
    } else {
        raw.dns.delete_all(&records).await
    }
}

/// A batch's resources with the outcome of each, as the round reports them.
fn settled(
    batch: Vec<(usize, Resource)>,
    outcomes: Vec<Result<()>>,
) -> Vec<(usize, Resource, Result<bool>)> {
    batch
        .into_iter()
        .zip(outcomes)
        .map(|((i, r), outcome)| (i, r, outcome.map(|()| true)))
        .collect()
}

const ROUNDS: usize = 3;

/// Which round of a take-down a resource goes in: what runs on a machine before the
/// machine, what is in a zone before the zone.
fn round_of(resource: &Resource) -> usize {
    match resource {
        // A member leaves its cluster while the records it is found by still exist.
        Resource::Process(_)
        | Resource::Pending(Intent::Process { .. })
        | Resource::EtcdMember(_)
        | Resource::Pending(Intent::EtcdMember { .. }) => 0,
        Resource::DnsZone(_) | Resource::Pending(Intent::DnsZone { .. }) => 2,
        _ => 1,
    }
}
