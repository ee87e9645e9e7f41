//! The network's answers, asked for real: DNS servers directly, TCP ports, cluster
//! health. Runs on the world's runtime, so in the lab every socket is inside the lab.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::rr::RecordType;
use tokio::runtime::Handle;

use super::doctor::read::Ask;
use super::doctor::served::Lookup;
use super::{doctor, health, membership, ready, resolve, snapshot, wait};
use crate::base::error::{Error, Result};
use crate::providers::discovery::{Diagnosis, DiscoveryCheck};
use crate::providers::etcd_api::{ClusterAt, EtcdApi, Report, Snapshot};
use crate::providers::members::{MemberCall, Membership};
use crate::providers::probe::{DnsWait, Probe};

pub struct Network {
    /// Where loopback addresses are dialled from: this machine's own network. Inside a
    /// lab namespace, 127.0.0.1 would be the lab's loopback, not this machine's.
    machine: Handle,
    /// Lab addresses only: names would be looked up by this machine's resolver, which
    /// asks outside the lab.
    addresses_only: bool,
}

impl Network {
    pub fn new(machine: Handle, addresses_only: bool) -> Self {
        Self {
            machine,
            addresses_only,
        }
    }
}

#[async_trait]
impl Probe for Network {
    async fn wait_resolves(&self, w: &DnsWait) -> Result<()> {
        if w.servers.is_empty() {
            return Err(
                Error::missing(format!("no DNS server to ask about {}", w.name)).with_help(
                    "give one with --dns-server IP:PORT (e.g. an address of the zone's name servers)",
                ),
            );
        }
        let progress = |said: &str| crate::base::progress::say(&w.line, said);
        resolve::wait_for(
            &w.servers, &w.name, w.rtype, &w.want, w.timeout, w.interval, &progress,
        )
        .await
        .map_err(Error::from)
    }

    async fn wait_tcp(&self, address: &str, timeout: Duration, interval: Duration) -> Result<()> {
        if is_loopback(address) {
            let address = address.to_string();
            return self
                .machine
                .spawn(async move { wait::tcp(&address, timeout, interval).await })
                .await
                .map_err(|e| Error::failed(e.to_string()))?
                .map_err(Error::from);
        }
        if self.addresses_only && address.parse::<SocketAddr>().is_err() {
            return Err(Error::invalid(format!("{address:?}: in the lab, give an address, not a name"))
                .with_help("names resolve through the lab's DNS: wait_resolves(name, ip) first, then wait_tcp(`${ip}:port`)"));
        }
        wait::tcp(address, timeout, interval)
            .await
            .map_err(Error::from)
    }

    async fn discovery(&self, check: &DiscoveryCheck) -> Result<Diagnosis> {
        let ask = Arc::new(Wire {
            machine: self.machine.clone(),
        });
        doctor::examine(check, ask).await
    }
}

#[async_trait]
impl EtcdApi for Network {
    async fn health(&self, at: &ClusterAt) -> Result<Report> {
        Ok(health::check(at).await?)
    }

    async fn wait_healthy(&self, at: &ClusterAt, within: Duration) -> Result<bool> {
        Ok(ready::wait_healthy(at, within).await?)
    }

    async fn snapshot(&self, at: &ClusterAt, to: &std::path::Path) -> Result<Snapshot> {
        let tls = at.tls.as_ref();
        let report = health::check(at).await?;
        let server = *at.servers.first().ok_or_else(|| {
            crate::base::error::Error::missing(format!("no DNS server to ask about {}", at.domain))
        })?;
        snapshot::save(&report, tls, server, to).await
    }

    async fn membership(
        &self,
        at: &ClusterAt,
        call: &MemberCall,
        patience: Duration,
    ) -> Result<Membership> {
        membership::change(at, call, patience).await
    }

    async fn quota(&self, at: &ClusterAt, endpoint: &str) -> Result<Option<u64>> {
        let server = *at.servers.first().ok_or_else(|| {
            crate::base::error::Error::missing(format!("no DNS server to ask about {}", at.domain))
        })?;
        crate::services::metrics::quota(endpoint, at.tls.as_ref(), server).await
    }
}

/// The doctor's questions on the wire: a server on loopback is asked from this machine's
/// own network, any other from the world's (the lab's namespace, in the lab).
struct Wire {
    machine: Handle,
}

#[async_trait]
impl Ask for Wire {
    async fn ask(&self, server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
        if !server.ip().is_loopback() {
            return doctor::wire::ask(server, name, rtype).await;
        }
        let name = name.to_string();
        let asked = self
            .machine
            .spawn(async move { doctor::wire::ask(server, &name, rtype).await });
        asked
            .await
            .unwrap_or_else(|e| Lookup::Failed(format!("the question was lost: {e}")))
    }
}

/// `127.0.0.1:2379`, `[::1]:22`, `localhost:80`.
pub fn is_loopback(address: &str) -> bool {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_addresses_are_recognised() {
        assert!(is_loopback("127.0.0.1:2379"));
        assert!(is_loopback("127.5.5.5:1"));
        assert!(is_loopback("[::1]:22"));
        assert!(is_loopback("localhost:80"));
        assert!(!is_loopback("198.18.1.1:2379"));
        assert!(!is_loopback("etcd-1.example.test:2379"));
    }
}
