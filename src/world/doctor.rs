//! The discovery check in a world: the servers to ask (those given, or the zone's own,
//! as `wait_resolves` finds them), then the probe's reading. A zone the DNS provider
//! does not have is the doctor's finding, not a failure to check. When asked to, the
//! records are then held against the live membership, if the cluster answers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::join_all;
use hickory_proto::rr::RecordType;

use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::discovery::{Diagnosis, DiscoveryCheck, Finding};
use crate::providers::etcd_api::ClusterAt;
use crate::providers::probe::Answer;
use crate::providers::{Dns, EtcdApi, Instance, Probe, TlsFiles, Transport};
use crate::services::doctor::owners::Owners;
use crate::services::doctor::resolvers;
use crate::services::resolve;

/// How to ask the cluster: its membership over TLS with these files (or plain HTTP),
/// and each of its machines, through `transport`, what its own resolver answers.
pub struct AskCluster {
    pub tls: Option<TlsFiles>,
    /// Where its health and membership are asked.
    pub etcd: Arc<dyn EtcdApi>,
    pub nodes: Vec<Instance>,
    pub transport: Option<Arc<dyn Transport>>,
}

/// Checks `check.domain`; with no servers in `check`, asks `dns` for the zone's own.
/// With `cluster`, a cluster that answers is asked for its membership too, and every
/// difference from the records is a warning (a cluster that is not up yet, or does not
/// answer, is said to be unchecked).
pub async fn check_discovery(
    dns: Option<Arc<dyn Dns>>,
    probe: Arc<dyn Probe>,
    mut check: DiscoveryCheck,
    cluster: Option<AskCluster>,
) -> Result<Diagnosis> {
    if check.servers.is_empty() {
        let dns = dns.ok_or_else(|| {
            Error::missing(format!("no DNS server to ask about {}", check.domain))
                .with_help("give one with --dns-server IP:PORT")
        })?;
        match dns.authoritative(&check.domain).await {
            Ok(servers) => check.servers = servers,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Ok(crate::services::doctor::no_zone(&check, &e));
            }
            Err(e) => return Err(e),
        }
    }
    let diagnosis = probe.discovery(&check).await?;
    let Some(cluster) = cluster else {
        return Ok(diagnosis);
    };
    let diagnosis = match &cluster.transport {
        Some(transport) if !cluster.nodes.is_empty() => {
            let (more, unchecked) = node_resolvers(&check, &cluster.nodes, transport).await;
            diagnosis.with(more, unchecked)
        }
        _ => diagnosis,
    };
    let domain = &check.domain;
    let at = ClusterAt {
        domain: domain.clone(),
        service_name: check.service_name.clone(),
        tls: cluster.tls.clone(),
        servers: check.servers.clone(),
    };
    let flags = &at.script_flags();
    // Read apart from health: a certificate past its end is why nobody answers.
    let expiring = match (&cluster.tls, check.servers.first()) {
        (Some(tls), Some(&server)) => crate::services::certs::notes_for(&at, tls, server).await,
        _ => Vec::new(),
    };
    let diagnosis = diagnosis.with(
        crate::services::doctor::expiry::findings(flags, &expiring),
        Vec::new(),
    );
    let asked = cluster.etcd.health(&at).await;
    Ok(match asked {
        Ok(report) if report.membership_read => {
            let mut more = crate::services::doctor::membership::findings(
                flags,
                &report.drift,
                &diagnosis.findings,
            );
            more.extend(crate::services::doctor::versions::findings(
                flags,
                &report.members,
            ));
            let mut quotas = Vec::new();
            for m in &report.members {
                if let Ok(Some(quota)) = cluster.etcd.quota(&at, &m.endpoint).await {
                    quotas.push((m.clone(), quota));
                }
            }
            more.extend(crate::services::doctor::quota::findings(flags, &quotas));
            more.extend(crate::services::doctor::quota::alarm_findings(
                flags,
                &report.alarms,
            ));
            diagnosis.with(more, Vec::new())
        }
        Ok(_) => diagnosis.with(
            Vec::new(),
            vec!["the membership: the cluster did not answer `member list` (no member up, or no leader)".into()],
        ),
        Err(e) => diagnosis.with(Vec::new(), vec![format!("the membership: {}", e.message)]),
    })
}

/// What each of `nodes` sees through its own resolver for the peer SRV names, held
/// against what the first of the zone's servers gives (etcd-io/etcd#3553).
async fn node_resolvers(
    check: &DiscoveryCheck,
    nodes: &[Instance],
    transport: &Arc<dyn Transport>,
) -> (Vec<Finding>, Vec<String>) {
    let owners = Owners::new(&check.domain, check.service_name.as_deref());
    let peer = [owners.server_ssl.as_str(), owners.server.as_str()];
    let Some(&server) = check.servers.first() else {
        return (Vec::new(), Vec::new());
    };
    let mut zone = BTreeMap::new();
    for owner in peer {
        match resolve::ask(server, owner, RecordType::SRV).await {
            Ok(answers) => {
                let targets = answers.iter().filter_map(|a| match a {
                    Answer::Srv { target, port } => {
                        Some(format!("{}:{port}", target.trim_end_matches('.')))
                    }
                    _ => None,
                });
                zone.insert(owner.to_string(), targets.collect::<BTreeSet<_>>());
            }
            Err(e) => {
                return (
                    Vec::new(),
                    vec![format!("each node's resolver: {owner} at {server}: {e}")],
                );
            }
        }
    }
    let asked = join_all(
        nodes
            .iter()
            .map(|n| resolvers::read(transport.as_ref(), n, &peer)),
    )
    .await;
    let (mut findings, mut unchecked) = (Vec::new(), Vec::new());
    for (node, seen) in nodes.iter().zip(asked) {
        match seen {
            Ok(seen) => findings.extend(resolvers::judge(&node.name, &zone, &seen)),
            Err(e) => unchecked.push(format!("{}'s resolver: {}", node.name, e.message)),
        }
    }
    (findings, unchecked)
}
