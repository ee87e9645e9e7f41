//! The world a run acts on, built on first use: the providers for each concern, the
//! run's journal, and the runtime their network work runs on.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::providers::aws::Aws;
use crate::providers::cloudflare::Cloudflare;
use crate::providers::lab::{Lab, netns};
use crate::providers::plan::Plan;
use crate::providers::route53::Route53;
use crate::providers::ssh::{Ssh, SshConfig};
use crate::providers::unreachable::Unreachable;
use crate::providers::{Compute, Dns, ProviderError, Transport};
use crate::services::health::{self, Report, Status, TlsFiles};
use crate::services::journal::{Journal, Resource};
use crate::services::pki::{self, CertFiles, LeafSpec};
use crate::services::resolve::{self, Answer};
use crate::state::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// This machine as a small cloud: namespaces, embedded DNS, real etcd.
    Lab,
    /// AWS EC2 (credentials, region and endpoint from the AWS default chain).
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsChoice {
    /// The lab's embedded DNS server (lab target only).
    Lab,
    /// Cloudflare's v4 API (CLOUDFLARE_API_TOKEN).
    Cloudflare,
    /// Amazon Route 53 (the AWS default chain's credentials).
    Route53,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportChoice {
    /// Straight into the lab host's namespaces (lab only).
    Exec,
    /// SSH: the cloud's way, and the lab's when asked (each host then runs sshd).
    Ssh,
}

/// How SSH connects, when it is the transport.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshSettings {
    pub user: Option<String>,
    pub key: Option<PathBuf>,
    pub accept_new: bool,
}

/// Which providers a run used: written at the head of its journal, so `destroy` takes
/// each resource down through the provider that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorldSpec {
    pub target: Target,
    pub dns: DnsChoice,
    /// Servers `wait_resolves` asks instead of the zone's own (`--dns-server`).
    #[serde(default)]
    pub dns_servers: Vec<SocketAddr>,
    #[serde(default = "exec")]
    pub transport: TransportChoice,
    #[serde(default)]
    pub ssh: SshSettings,
}

fn exec() -> TransportChoice {
    TransportChoice::Exec
}

impl Default for WorldSpec {
    fn default() -> Self {
        Self {
            target: Target::Lab,
            dns: DnsChoice::Lab,
            dns_servers: Vec::new(),
            transport: TransportChoice::Exec,
            ssh: SshSettings::default(),
        }
    }
}

/// How to reach a world; the world itself is built when a script first needs it.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub spec: WorldSpec,
    pub state: StateDir,
    /// `--dry-run`: write down every action, do none.
    pub dry_run: bool,
}

pub struct World {
    pub compute: Arc<dyn Compute>,
    pub dns: Arc<dyn Dns>,
    pub transport: Arc<dyn Transport>,
    pub journal: Journal,
    pub state: StateDir,
    pub lab: Option<Lab>,
    /// Set in a dry run: what would have been done.
    pub plan: Option<Arc<Plan>>,
    runtime: Option<Runtime>,
}

impl World {
    /// Brings the world up (for the lab: namespaces and DNS daemon) and starts its runtime.
    pub fn open(config: &WorldConfig) -> Result<Self, ProviderError> {
        Self::open_with(config, true)
    }

    /// The world as it is, without creating it: `None` when it is the lab and there is
    /// no lab here.
    pub fn existing(config: &WorldConfig) -> Result<Option<Self>, ProviderError> {
        match config.spec.target {
            Target::Lab if !Lab::new(&config.state).exists() => Ok(None),
            _ => Self::open_with(config, false).map(Some),
        }
    }

    fn open_with(config: &WorldConfig, create: bool) -> Result<Self, ProviderError> {
        if config.dry_run {
            return Self::planned(config);
        }
        let spec = &config.spec;
        match (spec.target, spec.dns) {
            (Target::Lab, DnsChoice::Lab) => Self::lab(config, create),
            (Target::Aws, DnsChoice::Cloudflare | DnsChoice::Route53) => {
                Self::cloud(config, create)
            }
            (Target::Lab, DnsChoice::Cloudflare | DnsChoice::Route53) => {
                Err(ProviderError::invalid(
                    "lab hosts resolve names through the lab's own DNS; a cloud DNS provider needs --target aws",
                ))
            }
            (Target::Aws, DnsChoice::Lab) => Err(ProviderError::invalid(
                "EC2 instances cannot ask the lab's DNS server; use --dns cloudflare or route53 with --target aws",
            )),
        }
    }

    /// A world that only writes down what it would do: no credentials, no privileges,
    /// nothing created, not even a journal.
    fn planned(config: &WorldConfig) -> Result<Self, ProviderError> {
        let plan = Arc::new(Plan::default());
        Ok(Self {
            compute: plan.clone(),
            dns: plan.clone(),
            transport: plan.clone(),
            journal: Journal::create(&config.state, false, &config.spec)?,
            state: config.state.clone(),
            lab: None,
            plan: Some(plan),
            runtime: Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()?,
            ),
        })
    }

    fn lab(config: &WorldConfig, create: bool) -> Result<Self, ProviderError> {
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
        let (compute, transport): (Arc<dyn Compute>, Arc<dyn Transport>) =
            match config.spec.transport {
                TransportChoice::Exec => (shared.clone(), shared.clone()),
                TransportChoice::Ssh => {
                    let files = crate::providers::lab::sshd::client_files(lab.dir());
                    let ssh = Ssh::new(SshConfig {
                        user: config
                            .spec
                            .ssh
                            .user
                            .clone()
                            .unwrap_or_else(|| "root".into()),
                        port: 22,
                        key: Some(files.key),
                        accept_new: false,
                        known_hosts: Some(files.known_hosts),
                        control_dir: files.control_dir,
                        netns: Some(file.netns()),
                        // sshd listens before launch_instance returns.
                        wait: Duration::ZERO,
                    });
                    (Arc::new(lab.clone().with_sshd()), Arc::new(ssh))
                }
            };
        Ok(Self {
            compute,
            dns: shared,
            transport,
            journal: Journal::create(&config.state, create, &config.spec)?,
            state: config.state.clone(),
            lab: Some(lab),
            plan: None,
            runtime: Some(runtime),
        })
    }

    fn cloud(config: &WorldConfig, create: bool) -> Result<Self, ProviderError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("rigger-cloud")
            .build()?;
        let journal = Journal::create(&config.state, create, &config.spec)?;
        let run_id = journal.run_id();
        let aws = runtime.block_on(crate::providers::aws::load_config())?;
        let resolvers = config.spec.dns_servers.clone();
        let dns: Arc<dyn Dns> = match config.spec.dns {
            DnsChoice::Route53 => Arc::new(Route53::new(&aws, resolvers)),
            _ => Arc::new(Cloudflare::from_env(resolvers)?),
        };
        Ok(Self {
            compute: Arc::new(Aws::new(&aws, &run_id)),
            dns,
            transport: cloud_transport(config, aws.endpoint_url()),
            journal,
            state: config.state.clone(),
            lab: None,
            plan: None,
            runtime: Some(runtime),
        })
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

    /// The providers, to move into a task.
    fn providers(&self) -> Providers {
        Providers {
            compute: self.compute.clone(),
            dns: self.dns.clone(),
            transport: self.transport.clone(),
        }
    }
}

/// The world's providers, cloneable into a task on the world's runtime.
#[derive(Clone)]
struct Providers {
    compute: Arc<dyn Compute>,
    dns: Arc<dyn Dns>,
    transport: Arc<dyn Transport>,
}

impl Providers {
    /// Takes one resource down.
    async fn undo(&self, resource: &Resource) -> Result<(), ProviderError> {
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

/// The effects that are not a provider's: certificates, DNS waits, health checks, local
/// files. A dry run writes them down instead.
impl World {
    /// The CA for `name` under the state dir: its files, whether it was created now, and
    /// its folder.
    pub fn ensure_ca(&self, name: &str) -> Result<(CertFiles, bool, PathBuf), ProviderError> {
        let dir = self.state.root().join("pki").join(name);
        if let Some(plan) = &self.plan {
            plan.record(format!("create the certificate authority for {name}"));
            return Ok((
                CertFiles {
                    cert: dir.join("ca.crt"),
                    key: dir.join("ca.key"),
                },
                false,
                dir,
            ));
        }
        let dir = self.state.dir(&format!("pki/{name}"))?;
        let (files, created) = pki::ensure_ca(&dir, name)
            .map_err(|e| ProviderError::failed(format!("cannot create the CA: {e}")))?;
        Ok((files, created, dir))
    }

    /// A certificate signed by `ca`, written to `dir`.
    pub fn issue(
        &self,
        ca: &CertFiles,
        dir: &std::path::Path,
        leaf: &LeafSpec,
    ) -> Result<CertFiles, ProviderError> {
        if let Some(plan) = &self.plan {
            let sans: Vec<String> = leaf
                .dns
                .iter()
                .cloned()
                .chain(leaf.ips.iter().map(ToString::to_string))
                .collect();
            plan.record(format!(
                "issue the certificate {} ({})",
                leaf.name,
                sans.join(", ")
            ));
            return Ok(CertFiles {
                cert: dir.join(format!("{}.crt", leaf.name)),
                key: dir.join(format!("{}.key", leaf.name)),
            });
        }
        pki::issue(ca, dir, leaf)
            .map_err(|e| ProviderError::failed(format!("cannot issue {}: {e}", leaf.name)))
    }

    /// Waits until every server in `servers` answers `name` with exactly `want`.
    pub async fn wait_resolves(
        &self,
        servers: &[SocketAddr],
        name: &str,
        rtype: hickory_proto::rr::RecordType,
        want: &std::collections::BTreeSet<Answer>,
        timeout: Duration,
        interval: Duration,
    ) -> Result<(), ProviderError> {
        if let Some(plan) = &self.plan {
            plan.record(format!(
                "wait until {name} {rtype} resolves to {}",
                resolve::show(want)
            ));
            return Ok(());
        }
        if servers.is_empty() {
            return Err(ProviderError::new(
                "missing",
                format!("no DNS server to ask about {name}"),
            )
            .with_help(
                "give one with --dns-server IP:PORT (e.g. an address of the zone's name servers)",
            ));
        }
        resolve::wait_for(servers, name, rtype, want, timeout, interval)
            .await
            .map_err(|e| ProviderError::new("timeout", e))
    }

    /// The health of the cluster under `domain`, found through its client SRV records.
    pub async fn health(&self, domain: &str, tls: &TlsFiles) -> Result<Report, ProviderError> {
        if let Some(plan) = &self.plan {
            plan.record(format!("check the health of the cluster under {domain}"));
            return Ok(Report {
                domain: domain.into(),
                status: Status::Planned,
                members: Vec::new(),
            });
        }
        health::check(domain, Some(tls), &self.dns.authoritative(domain))
            .await
            .map_err(ProviderError::failed)
    }

    /// A local file's bytes (for upload_file); in a dry run a planned certificate does
    /// not exist yet, and its contents do not matter.
    pub fn read_local(&self, path: &str) -> Result<Vec<u8>, ProviderError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(bytes),
            Err(_) if self.plan.is_some() => Ok(format!("(the contents of {path})").into_bytes()),
            Err(e) => Err(ProviderError::invalid(format!("cannot read {path}: {e}"))),
        }
    }

    /// Takes one resource down, on the world's runtime.
    pub async fn undo(&self, resource: &Resource) -> Result<(), ProviderError> {
        self.providers().undo(resource).await
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
/// Each undo runs as a task on the world's runtime: for the lab that is the only place
/// from which a lab address may be dialled. Call it from outside any runtime.
pub fn take_down(world: &World, journal: &Journal) -> Vec<(Resource, ProviderError)> {
    let mut failed = Vec::new();
    for resource in journal.live_newest_first() {
        let providers = world.providers();
        let undo = resource.clone();
        match world.block_on(async move { providers.undo(&undo).await }) {
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

/// How rigger reaches cloud machines: SSH, unless the EC2 endpoint is overridden
/// (`AWS_ENDPOINT_URL`, or an endpoint in the profile). Such an endpoint is a stand-in
/// such as moto, whose instance addresses are fiction and must never be dialled.
fn cloud_transport(config: &WorldConfig, endpoint: Option<&str>) -> Arc<dyn Transport> {
    if let Some(url) = endpoint {
        return Arc::new(Unreachable {
            reason: format!(
                "its address comes from an overridden EC2 endpoint ({url}), such as a local stand-in, and may not be real"
            ),
            help: "rigger never connects to machines a stand-in invented; unset AWS_ENDPOINT_URL to use real EC2".into(),
        });
    }
    let ssh = &config.spec.ssh;
    Arc::new(Ssh::new(SshConfig {
        user: ssh.user.clone().unwrap_or_else(|| "admin".into()),
        port: 22,
        key: ssh.key.clone(),
        accept_new: ssh.accept_new,
        known_hosts: None,
        control_dir: config.state.root().join("ssh"),
        netns: None,
        wait: Duration::from_secs(180),
    }))
}
