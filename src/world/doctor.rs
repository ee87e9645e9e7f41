//! The discovery check in a world: the servers to ask (those given, or the zone's own,
//! as `wait_resolves` finds them), then the probe's reading. A zone the DNS provider
//! does not have is the doctor's finding, not a failure to check.

use std::sync::Arc;

use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::discovery::{Diagnosis, DiscoveryCheck};
use crate::providers::{Dns, Probe};

/// Checks `check.domain`; with no servers in `check`, asks `dns` for the zone's own.
pub async fn check_discovery(
    dns: Option<Arc<dyn Dns>>,
    probe: Arc<dyn Probe>,
    mut check: DiscoveryCheck,
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
    probe.discovery(&check).await
}
