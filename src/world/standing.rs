//! What stands of a cluster across every run that built or changed it: its machines
//! and records as the state dir's journals name them (day-2 scripts never hand-build a
//! node map), and taking one machine's share of it down again (`retire`), each thing
//! marked gone in the journal of the run that made it.

use std::sync::Arc;

use super::journal::{Intent, Journal, Resource};
use super::{ROUNDS, World, round_of};
use crate::base::error::{Error, Result};
use crate::base::names::ClusterKey;
use crate::providers::{Compute, Instance, Process, Record, RecordData, TlsFiles};

/// A cluster's machines and records, as the state names them.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub machines: Vec<Instance>,
    pub records: Vec<Record>,
    /// The processes standing on its machines (a member's etcd, run as a process).
    pub processes: Vec<Process>,
    /// The CA and client certificate the run that built the cluster made for it
    /// (`etcd::client_tls`): a day-2 run asks with them rather than issuing its own,
    /// which its rollback would take away again.
    pub client: Option<TlsFiles>,
    /// The other clusters whose records stand in the same domain (`DOMAIN/NAME`), for
    /// saying which one was meant when the one asked has nothing.
    pub neighbours: Vec<String>,
}

impl World {
    /// Every journal of the state dir, this run's own as it is in memory.
    fn journals(&self) -> Result<Vec<Arc<Journal>>> {
        let mut all: Vec<Arc<Journal>> = self
            .journal
            .others()
            .map_err(|e| Error::failed(format!("cannot read the state's journals: {e}")))?
            .into_iter()
            .map(Arc::new)
            .collect();
        all.push(self.journal.clone());
        Ok(all)
    }

    /// The machines and records of the cluster `key` that the state names: a record is
    /// the cluster's when its name is under the domain and it is not marked as another
    /// cluster's (a named one sharing the domain); a machine when a standing A record of
    /// the cluster names it as `<name>.<domain>`. A cloud state that names no machine (it
    /// was lost) is asked of the cloud by the cluster's tag.
    pub async fn standing(&self, key: &ClusterKey) -> Result<Standing> {
        standing_of(self.journals()?, self.backends.compute.as_ref(), key).await
    }

    /// Stops the process `name` the state names on `node` (whichever run started it) and
    /// starts `argv` in its place under the same name, recorded in the journal that named
    /// the old one: it is the cluster's, as the old one was, so this run's rollback leaves
    /// it and `destroy` takes it down with the cluster. A dry run writes it down.
    pub async fn replace_process(
        &self,
        node: &Instance,
        name: &str,
        argv: &[String],
    ) -> Result<Process> {
        let mut held = None;
        for journal in self.journals()? {
            let old = journal
                .live_newest_first()
                .into_iter()
                .find_map(|r| match r {
                    Resource::Process(p) if p.node == node.name && p.name == name => Some(p),
                    _ => None,
                });
            if let Some(old) = old {
                held = Some((journal, old));
                break;
            }
        }
        let Some((journal, old)) = held else {
            return Err(Error::not_found(format!(
                "the state names no process {name} on {}",
                node.name
            ))
            .with_help("a member run by systemd is restarted through its unit, not as a process"));
        };
        self.raw.transport.stop(&old).await?;
        // The old one's log is kept beside the new one's, named after its pid.
        let kept = format!("{}.{}", old.log, old.pid);
        let moved = format!(
            "mv -f '{}' '{kept}' 2>/dev/null; true",
            old.log.replace('\'', "")
        );
        self.raw
            .transport
            .run(node, &moved, std::time::Duration::from_secs(30))
            .await?;
        if !self.journal.persists() {
            // A plan: nothing is written anywhere, the replacement is what it shows.
            return self.raw.transport.spawn(node, name, argv).await;
        }
        let written = |r: std::io::Result<()>| {
            r.map_err(|e| Error::failed(format!("cannot write the journal: {e}")))
        };
        let seq = journal
            .intend(Intent::Process {
                node: node.name.clone(),
                name: name.into(),
            })
            .map_err(|e| Error::failed(format!("cannot write the journal: {e}")))?;
        match self.raw.transport.spawn(node, name, argv).await {
            Ok(p) => {
                // Only now is the old one gone from the journal: a start that failed leaves
                // it named (stopped), for the next replacement (going back) to find.
                written(journal.removed(&Resource::Process(old)))?;
                written(journal.confirm(seq, Resource::Process(p.clone())))?;
                tracing::info!(
                    "started {name} on {} (pid {}) in place of pid {}",
                    node.name,
                    p.pid,
                    kept.rsplit('.').next().unwrap_or_default()
                );
                Ok(p)
            }
            Err(e) => {
                let _ = journal.abandon(seq);
                Err(e)
            }
        }
    }

    /// Takes down everything the state names of the machine `name` (`fqdn` in DNS): its
    /// processes, every record naming it (its A record, SRV records pointing at it), its
    /// certificate files and the machine itself, in the take-down's rounds, and marks
    /// each gone in the journal that named it. Returns what was removed.
    pub async fn retire(&self, name: &str, fqdn: &str) -> Result<Vec<String>> {
        let mut todo: Vec<(Arc<Journal>, Resource)> = Vec::new();
        for journal in self.journals()? {
            for resource in journal.live_newest_first() {
                if belongs(&resource, name, fqdn) {
                    todo.push((journal.clone(), resource));
                }
            }
        }
        let mut removed = Vec::new();
        let mut failed = Vec::new();
        for round in 0..ROUNDS {
            let this = todo.iter().filter(|(_, r)| round_of(r) == round);
            let undone = this.map(|(journal, resource)| async move {
                (journal, resource, self.raw.undo(resource).await)
            });
            for (journal, resource, outcome) in futures::future::join_all(undone).await {
                match outcome {
                    Ok(_) => {
                        let _ = journal.removed(resource);
                        // An earlier run with nothing left standing is forgotten.
                        if !Arc::ptr_eq(journal, &self.journal) {
                            let _ = journal.discard_if_empty();
                        }
                        removed.push(resource.describe());
                    }
                    Err(e) => failed.push(format!("{}: {}", resource.describe(), e.message)),
                }
            }
        }
        if !failed.is_empty() {
            return Err(Error::failed(format!(
                "could not remove {} of {name}: {}",
                failed.len(),
                failed.join("; ")
            ))
            .with_help("run it again, or `rigger destroy` to remove everything"));
        }
        Ok(removed)
    }
}

/// The machines and records of the cluster `key` that `journals` name; the cloud's
/// tagged machines when they name none.
pub(super) async fn standing_of(
    journals: Vec<Arc<Journal>>,
    compute: &dyn Compute,
    key: &ClusterKey,
) -> Result<Standing> {
    let domain = key.domain.as_str();
    let label = key.to_string();
    let suffix = format!(".{domain}");
    // A record marked as a cluster's is that cluster's; an unmarked one (journals from
    // before markers) is the domain's one cluster's.
    let ours = |r: &Record| match &r.spec.cluster {
        Some(cluster) => *cluster == label,
        None => key.name.is_none(),
    };
    let mut found = Standing::default();
    let mut instances = Vec::new();
    let mut files = Vec::new();
    let mut processes = Vec::new();
    for journal in journals {
        for resource in journal.live_newest_first() {
            match resource {
                Resource::DnsRecord(r)
                    if r.spec.name == domain || r.spec.name.ends_with(&suffix) =>
                {
                    if ours(&r) {
                        found.records.push(r);
                    } else if let Some(other) = r.spec.cluster
                        && ClusterKey::parse(&other).is_ok_and(|k| k.domain == domain)
                    {
                        // A cluster of this very domain (not of a subdomain).
                        found.neighbours.push(other);
                    }
                }
                Resource::Instance(i) => instances.push(i),
                Resource::Process(p) => processes.push(p),
                Resource::File { path } => files.push(std::path::PathBuf::from(path)),
                _ => {}
            }
        }
    }
    let named = |i: &Instance| {
        let fqdn = format!("{}{suffix}", i.name);
        found
            .records
            .iter()
            .any(|r| r.spec.name == fqdn && matches!(r.spec.data, RecordData::A { .. }))
    };
    found.machines = instances.into_iter().filter(|i| named(i)).collect();
    if found.machines.is_empty() {
        found.machines = compute.tagged(&label).await?;
    }
    // The client files `pki_ca` and `client_tls` wrote in `pki/<DOMAIN>[/<NAME>]/`.
    let folder = key.folder();
    let file = |name: &str| {
        files.iter().find(|p| {
            p.file_name().is_some_and(|f| f == name)
                && p.parent().is_some_and(|d| d.ends_with(&folder))
        })
    };
    if let (Some(ca), Some(cert), Some(key)) =
        (file("ca.crt"), file("client.crt"), file("client.key"))
    {
        found.client = Some(TlsFiles {
            ca: ca.clone(),
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    found.neighbours.sort_unstable();
    found.neighbours.dedup();
    found.machines.sort_by(|a, b| a.name.cmp(&b.name));
    found.machines.dedup_by(|a, b| a.id == b.id);
    found.processes = processes
        .into_iter()
        .filter(|p| found.machines.iter().any(|m| m.name == p.node))
        .collect();
    found.records.sort_by(|a, b| {
        (&a.spec.name, a.spec.data.content()).cmp(&(&b.spec.name, b.spec.data.content()))
    });
    Ok(found)
}

/// Whether `resource` is the machine `name`'s, or about it.
fn belongs(resource: &Resource, name: &str, fqdn: &str) -> bool {
    let record = |spec_name: &str, data: &RecordData| {
        spec_name == fqdn || matches!(data, RecordData::SRV { target, .. } if target == fqdn)
    };
    // Its certificate and key, as `pki_cert` names them after the node.
    let file = |path: &str| {
        let file = std::path::Path::new(path).file_name();
        let file = file
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        file == format!("{name}.crt") || file == format!("{name}.key")
    };
    match resource {
        Resource::Instance(i) => i.name == name,
        Resource::Process(p) => p.node == name,
        Resource::DnsRecord(r) => record(&r.spec.name, &r.spec.data),
        Resource::File { path } => file(path),
        Resource::Pending(Intent::Instance { name: n }) => n == name,
        Resource::Pending(Intent::Process { node, .. }) => node == name,
        Resource::Pending(Intent::DnsRecord { spec }) => record(&spec.name, &spec.data),
        Resource::Pending(Intent::Files { paths }) => paths.iter().any(|p| file(p)),
        _ => false,
    }
}
