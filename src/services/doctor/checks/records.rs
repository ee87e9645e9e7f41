//! The records themselves: each peer record's fields and wire form, and each target's
//! address. etcd resolves every SRV target:port and its own advertised host:port to
//! IP:port and matches them; priority and weight are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::super::served::{Lookup, Rr, RrData};
use super::{Context, finding, target, targets as names};
use crate::providers::discovery::{Finding, Severity};

/// Findings about one owner's records, grouped by id so one finding names them all.
#[derive(Default)]
struct Grouped {
    order: Vec<(&'static str, String)>,
    records: BTreeMap<(&'static str, String), Vec<Rr>>,
}

impl Grouped {
    fn add(&mut self, id: &'static str, record: &Rr) {
        let key = (id, record.owner.clone());
        if !self.records.contains_key(&key) {
            self.order.push(key.clone());
        }
        self.records.entry(key).or_default().push(record.clone());
    }
}

pub fn fields(cx: &Context) -> Vec<Finding> {
    let port = cx.check.peer_port;
    let mut grouped = Grouped::default();
    for r in cx.peer_records() {
        let RrData::Srv {
            priority,
            weight,
            port: given,
            compressed,
            ..
        } = r.data
        else {
            continue;
        };
        if given == 0 || (given != port && (priority == port || weight == port)) {
            grouped.add("srv-fields-swapped", r);
        } else if given != port {
            grouped.add("srv-port-mismatch", r);
        }
        if compressed {
            grouped.add("srv-target-compressed", r);
        }
    }
    let mut out = Vec::new();
    for key in grouped.order {
        let records = &grouped.records[&key];
        let (id, owner) = key;
        let evidence = records.iter().map(Rr::line).collect();
        let fixed: Vec<String> = records
            .iter()
            .filter_map(|r| {
                let t = target(r)?;
                Some(format!("{}. {} IN SRV 0 0 {port} {t}.", r.owner, r.ttl))
            })
            .collect();
        out.push(match id {
            "srv-fields-swapped" => finding(
                id,
                Severity::Error,
                owner,
                format!(
                    "the SRV data is out of order: SRV reads priority, weight, port, target, \
                     and these give port {}, so etcd dials a port no member advertises and no \
                     member finds itself (\"cannot find local etcd member\")",
                    ports(records)
                ),
                evidence,
                format!("publish {}", fixed.join(" and ")),
            ),
            "srv-port-mismatch" => finding(
                id,
                Severity::Error,
                owner,
                format!(
                    "the SRV records give port {}, but members advertise port {port} \
                     (--initial-advertise-peer-urls; --peer-port tells the doctor): etcd \
                     matches itself by address and port, so the members named there do not \
                     find themselves (\"cannot find local etcd member\")",
                    ports(records)
                ),
                evidence,
                format!(
                    "publish port {port} (or advertise the port the records give): {}",
                    fixed.join(" and ")
                ),
            ),
            _ => finding(
                id,
                Severity::Error,
                owner,
                "the answer compresses the SRV target names (a pointer into the message): \
                 Go's resolver, which etcd uses, rejects such an answer whole \
                 (golang/go#27546), so etcd sees no records"
                    .to_string(),
                evidence,
                "serve SRV targets uncompressed, as RFC 2782 asks (BIND, Knot, PowerDNS and \
                 rigger's lab server do)"
                    .to_string(),
            ),
        });
    }
    out
}

fn ports(records: &[Rr]) -> String {
    let ports: BTreeSet<String> = records
        .iter()
        .filter_map(|r| match r.data {
            RrData::Srv { port, .. } => Some(port.to_string()),
            _ => None,
        })
        .collect();
    ports.into_iter().collect::<Vec<_>>().join(", ")
}

/// The SRV records that name `target`.
fn naming<'a>(records: &[&'a Rr], name: &str) -> Vec<&'a Rr> {
    let found = records
        .iter()
        .filter(|r| target(r).as_deref() == Some(name));
    found.copied().collect()
}

/// Each target's address: missing, an alias, loopback, shared with another target.
/// Also what could not be checked (a target in a zone the server does not hold).
pub fn targets(cx: &Context) -> (Vec<Finding>, Vec<String>) {
    let peers = cx.peer_records();
    let mut all = peers.clone();
    all.extend(cx.client_records());
    let mut out = Vec::new();
    let mut unchecked = Vec::new();
    let server = cx.view.server;
    for name in names(&all) {
        let srv_lines = naming(&all, &name).into_iter().map(Rr::line);
        let lookup = cx.view.addresses.get(&name);
        let Some(Lookup::Answer { records, .. }) = lookup else {
            let why = match lookup {
                Some(Lookup::Failed(why)) => why.clone(),
                _ => "it holds no zone for the name".to_string(),
            };
            unchecked.push(format!("the address of {name} ({server}: {why})"));
            continue;
        };
        let addresses = lookup.map(Lookup::addresses).unwrap_or_default();
        if addresses.is_empty() {
            let mut evidence: Vec<String> = srv_lines.collect();
            evidence.extend(records.iter().map(Rr::line));
            evidence.push(lookup.expect("looked up").said(&name, "A/AAAA", server));
            out.push(finding(
                "target-no-address",
                Severity::Error,
                name.clone(),
                format!(
                    "{name} has no A or AAAA record: the member there cannot resolve its own \
                     name and stops (\"no such host\"), and the others leave it out, so the \
                     cluster comes up one member short"
                ),
                evidence,
                format!("publish an A record for {name} with the member's address"),
            ));
            continue;
        }
        let aliases: Vec<&Rr> = records
            .iter()
            .filter(|r| matches!(r.data, RrData::Cname(_)))
            .collect();
        if !aliases.is_empty() {
            let end = records.iter().rev().find_map(|r| match &r.data {
                RrData::Cname(to) => Some(to.clone()),
                _ => None,
            });
            out.push(finding(
                "cname-target",
                Severity::Warning,
                name.clone(),
                format!(
                    "{name} is an alias: RFC 2782 says an SRV target must not be one. etcd \
                     3.4 and 3.5 follow it, but other resolvers and clients may not"
                ),
                records.iter().map(Rr::line).collect(),
                format!(
                    "name {} in the SRV records, or publish an A record for {name}",
                    end.unwrap_or_default()
                ),
            ));
        }
        let loopback: Vec<IpAddr> = addresses
            .iter()
            .copied()
            .filter(|ip| ip.is_loopback() || ip.is_unspecified())
            .collect();
        if !loopback.is_empty() {
            out.push(finding(
                "loopback-target",
                Severity::Warning,
                name.clone(),
                format!(
                    "{name} resolves to {}, an address of every machine's own: etcd starts, \
                     but a member dialling it dials itself, and clients on other machines \
                     (etcdctl --discovery-srv) cannot reach it",
                    join(&loopback)
                ),
                records.iter().map(Rr::line).collect(),
                format!("publish the member's own address for {name}"),
            ));
        }
    }
    out.extend(shared(cx, &peers));
    (out, unchecked)
}

/// Two peer targets at one address: etcd takes both records for the member there,
/// which then has URLs in the cluster it does not advertise.
fn shared(cx: &Context, peers: &[&Rr]) -> Vec<Finding> {
    let mut at: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    for name in names(peers) {
        let found = cx.view.addresses.get(&name).map(Lookup::addresses);
        for ip in found.unwrap_or_default() {
            at.entry(ip).or_default().insert(name.clone());
        }
    }
    at.into_iter()
        .filter(|(ip, names)| names.len() > 1 && !ip.is_loopback())
        .map(|(ip, names)| {
            let names: Vec<String> = names.into_iter().collect();
            let evidence = names
                .iter()
                .flat_map(|n| cx.view.addresses[n].records().iter().map(Rr::line))
                .collect();
            finding(
                "duplicate-address",
                Severity::Error,
                ip.to_string(),
                format!(
                    "{} resolve to the same address {ip}: etcd takes every record there for \
                     the member at that address, which then has peer URLs in the cluster it \
                     does not advertise (\"--initial-cluster has ... but missing from \
                     --initial-advertise-peer-urls\"), and the cluster does not form",
                    names.join(" and ")
                ),
                evidence,
                "give each member its own address, and each address one name".to_string(),
            )
        })
        .collect()
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
