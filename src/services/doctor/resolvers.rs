//! Each node's own resolver against the zone's servers (etcd-io/etcd#3553): a member
//! reads the SRV records through its machine's resolver, not the zone's servers, so a
//! resolver that caches an old set, forwards to other servers or does not answer gives
//! that member a cluster of its own (at first boot) or a wrong view (when it joins).
//! Reading a node goes through the one node lookup (`services::node_lookup`, as
//! `node_resolve` asks); judging is here, pure.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::RecordType;

use super::checks::finding;
use crate::base::error::Result;
use crate::providers::discovery::{Finding, Severity};
use crate::providers::{Answer, Instance, Transport};
use crate::services::node_lookup;

/// What a node's resolver gave for each owner: its targets as "target:port", or why it
/// gave nothing (its words).
pub type Seen = BTreeMap<String, std::result::Result<BTreeSet<String>, String>>;

/// What `node`'s own resolver gives for each of `owners`, asked as `node_resolve` asks
/// it: from inside a lab host's namespace, or with `dig` over SSH. The error is for a
/// node that cannot be asked at all.
pub async fn read(transport: &dyn Transport, node: &Instance, owners: &[&str]) -> Result<Seen> {
    let each = node_lookup::lookup_each(transport, node, owners, RecordType::SRV).await?;
    Ok(owners
        .iter()
        .zip(each)
        .map(|(owner, gave)| (owner.to_string(), gave.map(|answers| targets(&answers))))
        .collect())
}

/// SRV answers as "target:port".
fn targets(answers: &BTreeSet<Answer>) -> BTreeSet<String> {
    answers
        .iter()
        .filter_map(|a| match a {
            Answer::Srv { target, port } => Some(format!("{target}:{port}")),
            _ => None,
        })
        .collect()
}

/// The findings for `node`, whose resolver gave `seen`, where the zone's servers give
/// `zone` (owner -> "target:port"); owners neither names are not compared.
pub fn judge(node: &str, zone: &BTreeMap<String, BTreeSet<String>>, seen: &Seen) -> Vec<Finding> {
    let mut out = Vec::new();
    let empty = BTreeSet::new();
    let owners: BTreeSet<&String> = zone.keys().chain(seen.keys()).collect();
    for owner in owners {
        let published = zone.get(owner).unwrap_or(&empty);
        let (given, why) = match seen.get(owner) {
            Some(Ok(set)) => (set.clone(), None),
            Some(Err(why)) => (BTreeSet::new(), Some(why.clone())),
            None => continue,
        };
        if published.is_empty() && given.is_empty() {
            continue;
        }
        if why.is_none() && given == *published {
            continue;
        }
        let list = |s: &BTreeSet<String>| {
            if s.is_empty() {
                "nothing".to_string()
            } else {
                s.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        };
        let gave = match &why {
            Some(why) => format!("no answer ({why})"),
            None => list(&given),
        };
        out.push(finding(
            "node-resolver-differs",
            Severity::Error,
            node.to_string(),
            format!(
                "{node}'s own resolver gives {gave} for {owner}, where the zone's servers give {}: \
                 etcd there reads its peers through that resolver, so at first boot it forms a \
                 cluster of what it sees (etcd-io/etcd#3553), and joining later it looks for the \
                 wrong peers",
                list(published)
            ),
            vec![format!("{node}: dig SRV {owner}: {gave}")],
            format!(
                "point {node}'s resolver (its /etc/resolv.conf) at servers that serve the zone \
                 as published, or wait out its cache (the records' TTL) before starting etcd there"
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the node lookup's `dig` printed, as `read` gives it.
    fn parse(stdout: &str) -> Seen {
        node_lookup::dig_sections(stdout, RecordType::SRV)
            .into_iter()
            .map(|(owner, gave)| (owner, gave.map(|answers| targets(&answers))))
            .collect()
    }

    #[test]
    fn a_node_that_sees_another_set_or_none_is_an_error() {
        let out = "== _s._tcp.d\n0 0 2380 a.d.\n0 0 2380 b.d.\n== _p._tcp.d\n";
        let seen = parse(out);
        let zone = BTreeMap::from([(
            "_s._tcp.d".to_string(),
            BTreeSet::from(["a.d:2380".to_string(), "b.d:2380".to_string()]),
        )]);
        assert!(judge("n1", &zone, &seen).is_empty());
        let fewer = parse("== _s._tcp.d\n0 0 2380 a.d.\n== _p._tcp.d\n");
        let found = judge("n2", &zone, &fewer);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "node-resolver-differs");
        assert!(
            found[0].message.contains(
                "gives a.d:2380 for _s._tcp.d, where the zone's servers give a.d:2380, b.d:2380"
            ),
            "{}",
            found[0].message
        );
        let silent =
            parse("== _s._tcp.d\n;; communications error to 127.0.0.1#53: connection refused\n");
        let found = judge("n3", &zone, &silent);
        assert!(
            found[0]
                .message
                .contains("no answer (communications error to 127.0.0.1#53: connection refused)"),
            "{}",
            found[0].message
        );
    }
}
