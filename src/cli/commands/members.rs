//! `rigger members --discovery-srv DOMAIN`: the live membership in the shapes of
//! etcdctl 3.5's `member list` (`-w simple|table|json`), asked of the members found
//! through the client SRV records as `health` finds them, so that what rigger prints
//! can be read, diffed and parsed as etcdctl's is.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::table::{Align, bordered};
use crate::cli::WriteOut;
use crate::cli::exit;
use crate::providers::etcd_api::Report;
use crate::providers::members::{EtcdMember, ListHeader, MemberCall, Membership};
use crate::world::WorldConfig;

pub struct MembersArgs {
    pub client: super::health::Client,
    pub write_out: WriteOut,
}

pub fn members(config: &WorldConfig, args: MembersArgs) -> u8 {
    // A list is not refused for a passing reason worth waiting out at a prompt. The
    // table also says each member's release, which only the member itself tells.
    let with_versions = matches!(args.write_out, WriteOut::Table);
    let listed =
        super::health::ask_cluster("members", config, args.client, move |etcd, at| async move {
            let listed = etcd
                .membership(&at, &MemberCall::List, Duration::ZERO)
                .await?;
            let versions = match with_versions {
                true => versions(etcd.health(&at).await.ok()),
                false => BTreeMap::new(),
            };
            Ok((listed, versions))
        });
    let listed = match listed {
        Ok(listed) => listed,
        Err(status) => return status,
    };
    let (listed, versions) = match listed {
        Ok(m) => m,
        Err(e) => return super::fail(format!("members: {}", e.message), e.help),
    };
    let text = match args.write_out {
        WriteOut::Simple => simple(&listed),
        WriteOut::Table => table(&listed, &versions),
        WriteOut::Json => json(&listed),
    };
    crate::base::output::data(&text);
    exit::OK
}

/// The members in etcd's order (by ID), as etcdctl prints them.
fn by_id(listed: &Membership) -> Vec<&EtcdMember> {
    let mut all: Vec<&EtcdMember> = listed.members.iter().collect();
    all.sort_by_key(|m| id(m));
    all
}

fn id(m: &EtcdMember) -> u64 {
    u64::from_str_radix(&m.id, 16).unwrap_or(0)
}

/// etcdctl's columns: ID, status (unstarted until the member has a name), name, peer
/// and client URLs (comma-joined), learner.
fn rows(listed: &Membership) -> Vec<Vec<String>> {
    by_id(listed)
        .into_iter()
        .map(|m| {
            vec![
                m.id.clone(),
                if m.name.is_empty() {
                    "unstarted"
                } else {
                    "started"
                }
                .into(),
                m.name.clone(),
                m.peer_urls.join(","),
                m.client_urls.join(","),
                m.is_learner.to_string(),
            ]
        })
        .collect()
}

/// Each member's release by its id, as the health check read it from the member.
fn versions(report: Option<Report>) -> BTreeMap<String, String> {
    report
        .into_iter()
        .flat_map(|r| r.members)
        .filter_map(|m| Some((m.id?, m.version?)))
        .collect()
}

/// `-w simple`: a line a member, its columns joined by ", ".
fn simple(listed: &Membership) -> String {
    rows(listed)
        .iter()
        .map(|r| format!("{}\n", r.join(", ")))
        .collect()
}

/// `-w table`: etcdctl's bordered table, every cell to the right, with a last column
/// etcdctl's lacks: the release each member runs (empty when it did not answer).
fn table(listed: &Membership, versions: &BTreeMap<String, String>) -> String {
    let headers = [
        "ID",
        "STATUS",
        "NAME",
        "PEER ADDRS",
        "CLIENT ADDRS",
        "IS LEARNER",
        "VERSION",
    ];
    let rows: Vec<Vec<String>> = rows(listed)
        .into_iter()
        .map(|mut row| {
            row.push(versions.get(&row[0]).cloned().unwrap_or_default());
            row
        })
        .collect();
    bordered(&headers, &rows, |_| Align::Right)
}

/// etcdctl's `MemberListResponse` as Go's encoding/json writes it: numbers for the IDs,
/// and (omitempty) no key for a zero, an empty string or list, or false.
#[derive(Serialize)]
struct Response<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<Header>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    members: Vec<Member<'a>>,
}

#[derive(Serialize)]
struct Header {
    #[serde(skip_serializing_if = "is_zero")]
    cluster_id: u64,
    #[serde(skip_serializing_if = "is_zero")]
    member_id: u64,
    #[serde(skip_serializing_if = "is_zero")]
    raft_term: u64,
}

#[derive(Serialize)]
struct Member<'a> {
    #[serde(rename = "ID", skip_serializing_if = "is_zero")]
    id: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "peerURLs", skip_serializing_if = "<[String]>::is_empty")]
    peer_urls: &'a [String],
    #[serde(rename = "clientURLs", skip_serializing_if = "<[String]>::is_empty")]
    client_urls: &'a [String],
    #[serde(rename = "isLearner", skip_serializing_if = "std::ops::Not::not")]
    is_learner: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `-w json`: one line.
fn json(listed: &Membership) -> String {
    let header = listed.header.map(|h: ListHeader| Header {
        cluster_id: h.cluster_id,
        member_id: h.member_id,
        raft_term: h.raft_term,
    });
    let members = by_id(listed)
        .into_iter()
        .map(|m| Member {
            id: id(m),
            name: &m.name,
            peer_urls: &m.peer_urls,
            client_urls: &m.client_urls,
            is_learner: m.is_learner,
        })
        .collect();
    let response = Response { header, members };
    format!(
        "{}\n",
        serde_json::to_string(&response).expect("members serialise")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed() -> Membership {
        let member = |id: &str, name: &str, learner: bool| EtcdMember {
            id: id.into(),
            name: name.into(),
            peer_urls: vec![format!("https://{id}.x.test:2380")],
            client_urls: if name.is_empty() {
                Vec::new()
            } else {
                vec![format!("https://{id}.x.test:2379")]
            },
            is_learner: learner,
            is_leader: false,
        };
        Membership {
            members: vec![member("ff", "b", false), member("1a", "", true)],
            header: Some(ListHeader {
                cluster_id: 7,
                member_id: 255,
                raft_term: 2,
            }),
            added: None,
            asked: String::new(),
            retries: 0,
            compacted: None,
            done: Vec::new(),
        }
    }

    #[test]
    fn members_are_in_etcds_order_with_etcdctls_columns() {
        assert_eq!(
            simple(&listed()),
            "1a, unstarted, , https://1a.x.test:2380, , true\n\
             ff, started, b, https://ff.x.test:2380, https://ff.x.test:2379, false\n"
        );
    }

    #[test]
    fn the_json_leaves_out_what_go_leaves_out() {
        assert_eq!(
            json(&listed()),
            "{\"header\":{\"cluster_id\":7,\"member_id\":255,\"raft_term\":2},\"members\":[\
             {\"ID\":26,\"peerURLs\":[\"https://1a.x.test:2380\"],\"isLearner\":true},\
             {\"ID\":255,\"name\":\"b\",\"peerURLs\":[\"https://ff.x.test:2380\"],\"clientURLs\":[\"https://ff.x.test:2379\"]}]}\n"
        );
    }
}
