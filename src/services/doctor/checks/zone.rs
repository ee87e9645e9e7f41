//! The zone as a whole: servers that do not hold it, and servers that disagree.

use std::collections::BTreeSet;

use super::super::served::{Lookup, RrData, Served, View};
use super::{Context, finding, targets};
use crate::providers::discovery::{DiscoveryCheck, Finding, Severity};

/// A server that refuses the domain holds no zone for it: etcd asking it finds nothing.
pub fn unserved(check: &DiscoveryCheck, served: &Served) -> Vec<Finding> {
    let domain = &check.domain;
    let refused: Vec<&View> = served
        .views
        .iter()
        .filter(|v| v.zone == Lookup::Refused && !v.answered())
        .collect();
    if refused.is_empty() {
        return Vec::new();
    }
    let evidence = refused
        .iter()
        .map(|v| v.zone.said(domain, "SOA", v.server))
        .collect();
    let servers: Vec<String> = refused.iter().map(|v| v.server.to_string()).collect();
    vec![finding(
        "no-zone",
        Severity::Error,
        domain.clone(),
        format!(
            "there is no zone {domain} at {}: the server refuses to answer for it, so a member \
             asking it finds no records (\"error querying DNS SRV records\")",
            servers.join(", ")
        ),
        evidence,
        format!(
            "create the zone {domain} there (rigger's cluster script does, in the lab), or ask \
             the servers that hold it (--dns-server)"
        ),
    )]
}

/// A server of the zone that does not answer, beside others that do: a member whose
/// resolver asks it waits for it, and fails over or gives up.
pub fn silent(check: &DiscoveryCheck, served: &Served) -> Vec<Finding> {
    served
        .views
        .iter()
        .filter_map(|v| match &v.zone {
            Lookup::Failed(why) if !v.answered() => Some(finding(
                "server-no-answer",
                Severity::Warning,
                v.server.to_string(),
                format!(
                    "{} did not answer ({why}), while the zone's other servers did: a member \
                     whose resolver asks it waits, then asks another or gives up",
                    v.server
                ),
                vec![v.zone.said(&check.domain, "SOA", v.server)],
                "bring the server back, or take it out of the zone's NS records".to_string(),
            )),
            _ => None,
        })
        .collect()
}

/// A server that answers the SRV questions but serves no SOA (a resolver, a dnsmasq
/// with local records): etcd never asks the SOA, so this is no fault, only a note that
/// whatever needs the zone's apex was not held against it.
pub fn without_soa(check: &DiscoveryCheck, served: &Served) -> Vec<String> {
    let domain = &check.domain;
    served
        .views
        .iter()
        .filter(|v| v.answered() && !v.holds_zone())
        .map(|v| {
            let said = match &v.zone {
                Lookup::Refused => "REFUSED".to_string(),
                Lookup::Failed(why) => why.clone(),
                Lookup::Answer { .. } => "no SOA record".to_string(),
            };
            format!(
                "{} answers the SRV questions but serves no SOA for {domain} ({said}): a \
                 resolver or a forwarder (as members often ask), not the zone's server; its \
                 answers were read as etcd reads them",
                v.server
            )
        })
        .collect()
}

/// What a server holds for the names that matter, comparable between servers.
fn records_at(view: &View, owner: &str) -> BTreeSet<String> {
    view.srv_at(owner)
        .srv()
        .into_iter()
        .map(|(p, w, port, t, _)| format!("{p} {w} {port} {t}"))
        .collect()
}

fn addresses_at(view: &View, target: &str) -> BTreeSet<String> {
    let found = view.addresses.get(target).map(Lookup::addresses);
    found
        .unwrap_or_default()
        .into_iter()
        .map(|ip| ip.to_string())
        .collect()
}

fn shown(view: &View, name: &str, rtype: &str, lookup: Option<&Lookup>) -> Vec<String> {
    let lines: Vec<String> = lookup
        .map(|l| l.records().iter().map(|r| r.line()).collect())
        .unwrap_or_default();
    if lines.is_empty() {
        let said = lookup.map_or_else(
            || format!("{name}. {rtype}: not asked at {}", view.server),
            |l| l.said(name, rtype, view.server),
        );
        return vec![said];
    }
    lines
        .into_iter()
        .map(|l| format!("{}: {l}", view.server))
        .collect()
}

/// Members that read different sets at first boot form different clusters
/// (etcd-io/etcd#3553): every server must give the same peers and addresses.
pub fn disagreements(cx: &Context, served: &Served) -> Vec<Finding> {
    let answering: Vec<&View> = served.views.iter().filter(|v| v.answered()).collect();
    if answering.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let fix = "wait until every server serves the same records (a zone transfer or a \
               provider's propagation still under way), or correct the one that differs; \
               then start etcd"
        .to_string();
    for owner in cx.owners.all() {
        let first = records_at(answering[0], owner);
        if answering.iter().all(|v| records_at(v, owner) == first) {
            continue;
        }
        let evidence = answering
            .iter()
            .flat_map(|v| shown(v, owner, "SRV", v.srv.get(owner)))
            .collect();
        out.push(finding(
            "servers-disagree",
            Severity::Error,
            owner,
            format!(
                "the zone's servers answer {owner} with different records: members that \
                 read different sets at first boot form different clusters (\"conflicting \
                 cluster ID\", etcd-io/etcd#3553)"
            ),
            evidence,
            fix.clone(),
        ));
    }
    let mut names = BTreeSet::new();
    for v in &answering {
        let records: Vec<_> = cx
            .owners
            .all()
            .iter()
            .flat_map(|o| v.srv_at(o).records().iter())
            .filter(|r| matches!(r.data, RrData::Srv { .. }))
            .collect();
        names.extend(targets(&records));
    }
    for target in names {
        // A target only some servers name is a difference in the SRV sets, said above.
        if !answering.iter().all(|v| v.addresses.contains_key(&target)) {
            continue;
        }
        let first = addresses_at(answering[0], &target);
        if answering.iter().all(|v| addresses_at(v, &target) == first) {
            continue;
        }
        let evidence = answering
            .iter()
            .flat_map(|v| shown(v, &target, "A", v.addresses.get(&target)))
            .collect();
        out.push(finding(
            "servers-disagree",
            Severity::Error,
            target.clone(),
            format!(
                "the zone's servers give {target} different addresses: members would match \
                 it to different peers"
            ),
            evidence,
            fix.clone(),
        ));
    }
    out
}
