//! The discovery check in a world: the servers to ask (those given, or the zone's own,
//! as `wait_resolves` finds them), then the probe's reading. A zone the DNS provider
//! does not have is the doctor's finding, not a failure to check. When asked to, the
//! records are then held against the live membership, if the cluster answers.

use std::sync::Arc;

use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::discovery::{Diagnosis, DiscoveryCheck};
use crate::providers::{Dns, Probe, TlsFiles};

/// How to ask the cluster for its membership: over TLS with these files, or plain HTTP.
pub struct AskCluster {
    pub tls: Option<TlsFiles>,
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
    let domain = &check.domain;
    let asked = probe
        .health(domain, cluster.tls.as_ref(), &check.servers)
        .await;
    Ok(match asked {
        Ok(report) if report.membership_read => {
            let more = crate::services::doctor::membership::findings(
                domain,
                &report.drift,
                &diagnosis.findings,
            );
            diagnosis.with(more, Vec::new())
        }
        Ok(_) => diagnosis.with(
            Vec::new(),
            vec!["the membership: the cluster did not answer `member list` (no member up, or no leader)".into()],
        ),
        Err(e) => diagnosis.with(Vec::new(), vec![format!("the membership: {}", e.message)]),
    })
}
