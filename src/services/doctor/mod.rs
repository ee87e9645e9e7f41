//! The doctor: reads a discovery zone from its servers the way etcd will (the names it
//! looks up, the addresses it resolves, the bytes Go's resolver parses) and says what is
//! wrong before any etcd meets it. Reading is [`read`] over [`wire`]; judging is
//! [`checks`], pure, so every verdict is tested against the answers alone.

pub mod certs;
pub mod checks;
pub mod expiry;
pub mod membership;
pub mod owners;
pub mod quota;
pub mod read;
pub mod resolvers;
pub mod served;
pub mod versions;
pub mod wire;

use std::sync::Arc;

use self::read::Ask;
use self::served::Lookup;
use crate::base::error::{Error, Result};
use crate::providers::discovery::{Diagnosis, DiscoveryCheck};

/// Reads `check.domain` from `check.servers` through `ask` and judges it. Fails only
/// when no server answers at all: then nothing could be checked.
pub async fn examine(check: &DiscoveryCheck, ask: Arc<dyn Ask>) -> Result<Diagnosis> {
    if check.servers.is_empty() {
        return Err(
            Error::missing(format!("no DNS server to ask about {}", check.domain)).with_help(
                "give one with --dns-server IP:PORT (an address of the zone's name servers)",
            ),
        );
    }
    let served = read::read(
        &check.domain,
        check.service_name.as_deref(),
        &check.servers,
        check.peers.as_ref().unwrap_or(&Default::default()),
        ask,
    )
    .await;
    let silent: Vec<String> = served
        .views
        .iter()
        .filter_map(|v| match &v.zone {
            Lookup::Failed(why) if !v.answered() => Some(format!("{}: {why}", v.server)),
            _ => None,
        })
        .collect();
    if silent.len() == served.views.len() {
        return Err(Error::failed(format!(
            "cannot check {}: no server answered ({})",
            check.domain,
            silent.join("; ")
        ))
        .with_help("check that the server is up and reachable from where rigger runs, or give another with --dns-server"));
    }
    let mut served = served;
    if let Some(dir) = &check.certs {
        served.certs = certificates(&served, dir);
    }
    let (findings, unchecked) = checks::judge(check, &served);
    Ok(Diagnosis::new(
        &check.domain,
        check.servers.clone(),
        findings,
        unchecked,
    ))
}

/// The certificate of every target the first answering server names under a TLS
/// (`-ssl`) owner: members reached over plain HTTP present none.
fn certificates(
    served: &served::Served,
    dir: &std::path::Path,
) -> std::collections::BTreeMap<String, certs::Cert> {
    let Some(view) = served.views.iter().find(|v| v.answered()) else {
        return Default::default();
    };
    let targets = view
        .srv
        .iter()
        .filter(|(owner, _)| owner.contains("-ssl"))
        .flat_map(|(_, l)| l.srv())
        .map(|(.., t, _)| t);
    targets
        .map(|t| (t.to_string(), certs::read(dir, t)))
        .collect()
}

/// The answer when the DNS provider has no zone for the domain at all (a Cloudflare
/// account without it): a finding, not a failure, so a script or a person reads it as
/// what is wrong with the zone.
pub fn no_zone(check: &DiscoveryCheck, why: &Error) -> Diagnosis {
    let domain = &check.domain;
    let finding = checks::finding(
        "no-zone",
        crate::providers::discovery::Severity::Error,
        domain.clone(),
        format!(
            "{}: there are no records to read, and members find none (\"error querying DNS \
             SRV records\")",
            why.message
        ),
        vec![why.message.clone()],
        why.help.clone().unwrap_or_else(|| {
            format!("create the zone {domain}, or ask the servers that hold it (--dns-server)")
        }),
    );
    Diagnosis::new(domain, Vec::new(), vec![finding], Vec::new())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use async_trait::async_trait;
    use hickory_proto::rr::RecordType;

    use super::*;

    /// Asks on the wire from the test's own runtime (loopback only).
    struct Direct;

    #[async_trait]
    impl Ask for Direct {
        async fn ask(&self, server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
            wire::ask(server, name, rtype).await
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_cannot_be_checked() {
        // Bound and silent: questions arrive and nothing comes back.
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut check = DiscoveryCheck::new("d.test");
        check.servers = vec![silent.local_addr().unwrap()];
        let err = examine(&check, Arc::new(Direct)).await.unwrap_err();
        assert!(
            err.message
                .starts_with("cannot check d.test: no server answered"),
            "{}",
            err.message
        );
    }
}
