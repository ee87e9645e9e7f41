//! What the state dir says rigger manages, by run and by cluster: read from the
//! journals, for `rigger state`, `rigger env` and a destroy scoped to one cluster.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::journal::{Intent, Journal, Resource};
use super::spec::WorldSpec;
use crate::base::state_dir::StateDir;
use crate::providers::RecordData;
use crate::providers::owners::Owners;

/// One run's journal: the world it acted on, and what of it still stands.
pub struct Run {
    pub id: String,
    pub world: WorldSpec,
    /// The clusters (discovery domains) its resources belong to.
    pub clusters: BTreeSet<String>,
    /// Oldest first, as they were made.
    pub resources: Vec<Resource>,
}

impl Run {
    pub fn of(journal: &Journal, state: &StateDir) -> Self {
        let mut resources = journal.live_newest_first();
        resources.reverse();
        Self {
            id: journal.run_id(),
            world: journal.world().clone(),
            clusters: clusters_of(&resources, state),
            resources,
        }
    }
}

/// Every run in the state dir with something still standing, oldest first.
pub fn runs(state: &StateDir) -> std::io::Result<Vec<Run>> {
    let journals = Journal::all(state)?;
    let runs = journals.iter().map(|j| Run::of(j, state));
    Ok(runs.filter(|r| !r.resources.is_empty()).collect())
}

/// The runs that made something for the cluster of `domain`.
pub fn of_cluster<'a>(runs: &'a [Run], domain: &str) -> Vec<&'a Run> {
    runs.iter()
        .filter(|r| r.clusters.contains(domain))
        .collect()
}

/// The clusters resources belong to: the cluster a record is marked with, a zone the run
/// made (the lab's zone of a domain), and a domain whose certificates it wrote.
pub fn clusters_of(resources: &[Resource], state: &StateDir) -> BTreeSet<String> {
    let pki = state.root().join("pki");
    let mut zones = BTreeSet::new();
    let mut clusters: BTreeSet<String> = resources
        .iter()
        .filter_map(|r| match r {
            Resource::DnsRecord(record) => record.spec.cluster.clone(),
            Resource::Pending(Intent::DnsRecord { spec }) => spec.cluster.clone(),
            Resource::DnsZone(zone) => {
                zones.insert(zone.name.clone());
                None
            }
            Resource::Pending(Intent::DnsZone { name }) => {
                zones.insert(name.clone());
                None
            }
            Resource::File { path } => pki_domain(&pki, Path::new(path)),
            _ => None,
        })
        .collect();
    // A zone made for a named cluster (`DOMAIN/NAME`) is that cluster's, not a cluster
    // of its own: the domain's other clusters may share it.
    for zone in zones {
        let prefix = format!("{zone}/");
        if !clusters.iter().any(|c| c.starts_with(&prefix)) {
            clusters.insert(zone);
        }
    }
    clusters
}

/// `<state>/pki/DOMAIN/FILE` -> DOMAIN; `<state>/pki/DOMAIN/NAME/FILE` (a named
/// cluster's) -> DOMAIN/NAME.
fn pki_domain(pki: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(pki).ok()?;
    let parts: Vec<String> = rest
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.len() {
        2 => Some(parts[0].clone()),
        3 => Some(format!("{}/{}", parts[0], parts[1])),
        _ => None,
    }
}

/// How a client reaches the cluster of `domain`: the endpoints its client SRV records
/// name, as etcdctl finds them, and the client certificate rigger made for it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Access {
    pub domain: String,
    pub endpoints: Vec<String>,
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// The access to the cluster of `domain` from what `runs` made for it.
pub fn access(domain: &str, runs: &[&Run], state: &StateDir) -> Access {
    // `domain` is the cluster's key: `DOMAIN`, or `DOMAIN/NAME` for a named one.
    let (d, name) = crate::base::names::split_cluster(domain);
    let owners = Owners::new(d, name);
    let (tls, plain) = (owners.client_ssl, owners.client);
    let mut endpoints = BTreeSet::new();
    for resource in runs.iter().flat_map(|r| &r.resources) {
        let Resource::DnsRecord(record) = resource else {
            continue;
        };
        let RecordData::SRV { target, port, .. } = &record.spec.data else {
            continue;
        };
        let scheme = if record.spec.name == tls {
            "https"
        } else if record.spec.name == plain {
            "http"
        } else {
            continue;
        };
        endpoints.insert(format!("{scheme}://{target}:{port}"));
    }
    // A client certificate only for a cluster that speaks TLS: etcdctl has no use for
    // one with plain members.
    let tls = endpoints.iter().any(|e| e.starts_with("https://"));
    let pki = state.root().join("pki").join(domain);
    let file = |name: &str| Some(pki.join(name)).filter(|p| tls && p.is_file());
    Access {
        domain: domain.to_string(),
        endpoints: endpoints.into_iter().collect(),
        cacert: file("ca.crt"),
        cert: file("client.crt"),
        key: file("client.key"),
    }
}
