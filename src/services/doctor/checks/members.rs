//! The peer set against the members: a member missing from it does not find itself,
//! and a target no member runs on is counted all the same, so the cluster needs more
//! members for a quorum than it has (etcd never changes the records, etcd-io/etcd#10238).
//! The members are those the caller names (a script that launched them), or else those
//! the client records list.

use std::collections::BTreeSet;

use super::super::served::Rr;
use super::{Context, finding, target, targets};
use crate::providers::discovery::{Finding, Severity};

fn quorum(n: usize) -> usize {
    n / 2 + 1
}

pub fn sets(cx: &Context) -> Vec<Finding> {
    let peer_records = cx.peer_records();
    let peers = targets(&peer_records);
    if peers.is_empty() {
        return Vec::new();
    }
    let client_records = cx.client_records();
    let (members, from) = match &cx.check.peers {
        Some(expected) => (expected.clone(), "the members being started"),
        None => (targets(&client_records), "the client records"),
    };
    if members.is_empty() {
        return Vec::new();
    }
    let server_owner = cx
        .peer_records()
        .first()
        .map(|r| r.owner.clone())
        .unwrap_or_else(|| cx.owners.server_ssl.clone());
    let port = cx.check.peer_port;
    let mut out = Vec::new();
    for missing in members.difference(&peers) {
        let evidence: Vec<String> = lines(&client_records, missing)
            .into_iter()
            .chain(peer_records.iter().map(|r| r.line()))
            .collect();
        out.push(finding(
            "member-missing",
            Severity::Error,
            missing.clone(),
            format!(
                "{missing} is one of {from} but has no peer record under {server_owner}: \
                 etcd there does not find itself (\"cannot find local etcd member\") and \
                 stops, so the cluster comes up one member short"
            ),
            evidence,
            format!("publish {server_owner}. 300 IN SRV 0 0 {port} {missing}."),
        ));
    }
    let phantoms: BTreeSet<&String> = peers.difference(&members).collect();
    let n = peers.len();
    let running = n - phantoms.len();
    for phantom in &phantoms {
        let lose = running as isize - quorum(n) as isize;
        let weakness = if lose < 0 {
            format!(
                "the {running} that run cannot even form a quorum of {}",
                quorum(n)
            )
        } else if lose as usize == running - quorum(running) {
            format!(
                "the {running} that run can lose {lose} of them, as {running} alone could, \
                 and every vote counts a member that never answers"
            )
        } else {
            format!(
                "the {running} that run can lose {lose} of them, where {running} alone could lose {}",
                running - quorum(running)
            )
        };
        out.push(finding(
            "phantom-target",
            Severity::Warning,
            (*phantom).clone(),
            format!(
                "{phantom} is a peer target but not one of {from}: etcd counts every \
                 target, so if no member runs there the cluster has {n} members and needs \
                 {} for a quorum; {weakness}",
                quorum(n)
            ),
            lines(&peer_records, phantom),
            format!("remove the record for {phantom}, or start a member there"),
        ));
    }
    out
}

fn lines(records: &[&Rr], name: &str) -> Vec<String> {
    let found = records
        .iter()
        .filter(|r| target(r).as_deref() == Some(name));
    found.map(|r| r.line()).collect()
}
