//! The names: whether the records are under the owners etcd reads, or under a likely
//! misspelling of one (etcd-io/etcd#13691), or nowhere.

use super::super::owners::misspellings;
use super::super::served::Lookup;
use super::{Context, finding};
use crate::providers::discovery::{Finding, Scheme, Severity};

pub const NO_RECORDS: &str = "no-records";

/// What the server said about `owner`, as zone-file lines or its answer.
fn evidence(cx: &Context, owner: &str) -> Vec<String> {
    let lookup = cx.view.srv_at(owner);
    match lookup {
        Lookup::Answer { records, .. } if !records.is_empty() => {
            records.iter().map(|r| r.line()).collect()
        }
        other => vec![other.said(owner, "SRV", cx.view.server)],
    }
}

/// The client owner of the members' scheme, to publish.
fn client_owner<'a>(cx: &'a Context) -> &'a str {
    match cx.scheme {
        Some(Scheme::Http) => &cx.owners.client,
        _ => &cx.owners.client_ssl,
    }
}

fn server_owner<'a>(cx: &'a Context) -> &'a str {
    match cx.scheme {
        Some(Scheme::Http) => &cx.owners.server,
        _ => &cx.owners.server_ssl,
    }
}

pub fn named(cx: &Context) -> Vec<Finding> {
    let o = &cx.owners;
    let domain = &cx.check.domain;
    let has = |owner: &str| !cx.srv(owner).is_empty();
    let hits: Vec<_> = misspellings(domain, cx.check.service_name.as_deref())
        .into_iter()
        .filter(|m| has(&m.owner))
        .collect();
    let (servers, clients) = (
        has(&o.server_ssl) || has(&o.server),
        has(&o.client_ssl) || has(&o.client),
    );
    if !servers && !clients && hits.is_empty() {
        let evidence = o
            .all()
            .iter()
            .flat_map(|owner| evidence(cx, owner))
            .collect();
        return vec![finding(
            NO_RECORDS,
            Severity::Error,
            domain.clone(),
            format!(
                "there are no SRV records for etcd under {domain}: members find no peers and \
                 stop (\"error querying DNS SRV records\"), and clients find no endpoints"
            ),
            evidence,
            format!(
                "publish, for each member, an SRV record under {} (its peer port, {}) and \
                 one under {} (its client port, 2379), and an A record for its name; `rigger \
                 run records --set domain={domain}{}` prints them",
                server_owner(cx),
                cx.check.peer_port,
                client_owner(cx),
                cx.check
                    .service_name
                    .as_ref()
                    .map_or(String::new(), |n| format!(" --set name={n}"))
            ),
        )];
    }
    let mut out = Vec::new();
    if !servers {
        let server_hits: Vec<_> = hits.iter().filter(|m| o.is_server(&m.meant)).collect();
        for m in &server_hits {
            out.push(finding(
                "server-srv-misspelt",
                Severity::Error,
                m.owner.clone(),
                format!(
                    "the peers are published under {}, which {}: etcd looks up {} and finds \
                     nothing (\"error querying DNS SRV records for {}\")",
                    m.owner,
                    m.how,
                    m.meant,
                    m.meant.split('.').next().unwrap_or_default()
                ),
                evidence(cx, &m.owner),
                format!("publish the same records under {}", m.meant),
            ));
        }
        if server_hits.is_empty() {
            let evidence = [&o.server_ssl, &o.server]
                .iter()
                .flat_map(|owner| evidence(cx, owner))
                .collect();
            out.push(finding(
                "no-server-srv",
                Severity::Error,
                server_owner(cx),
                format!(
                    "there are client records but no peer records (neither {} nor {}): \
                     members find no peers and stop (\"error querying DNS SRV records\")",
                    o.server_ssl, o.server
                ),
                evidence,
                format!(
                    "publish an SRV record per member under {} with its peer port ({})",
                    server_owner(cx),
                    cx.check.peer_port
                ),
            ));
        }
    }
    if !clients {
        let client_hits: Vec<_> = hits.iter().filter(|m| !o.is_server(&m.meant)).collect();
        for m in &client_hits {
            out.push(finding(
                "client-srv-misspelt",
                Severity::Warning,
                m.owner.clone(),
                format!(
                    "the client endpoints are published under {}, which {}: etcd starts, but \
                     clients that discover the cluster (`etcdctl --discovery-srv {domain}`) \
                     look up {} and find no endpoints",
                    m.owner, m.how, m.meant
                ),
                evidence(cx, &m.owner),
                format!("publish the same records under {}", m.meant),
            ));
        }
        if client_hits.is_empty() {
            let evidence = [&o.client_ssl, &o.client]
                .iter()
                .flat_map(|owner| evidence(cx, owner))
                .collect();
            out.push(finding(
                "no-client-srv",
                Severity::Warning,
                client_owner(cx),
                format!(
                    "there are no client records (neither {} nor {}): etcd starts, but \
                     clients that discover the cluster (`etcdctl --discovery-srv {domain}`, \
                     `rigger health`) find no endpoints",
                    o.client_ssl, o.client
                ),
                evidence,
                format!(
                    "publish an SRV record per member under {} with its client port (2379)",
                    client_owner(cx)
                ),
            ));
        }
    }
    out
}
