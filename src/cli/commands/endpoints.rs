//! A health report in the shapes of etcdctl 3.5's `endpoint health --cluster`
//! (`-w table`, `-w json`), so that what rigger prints can be read, diffed and parsed as
//! etcdctl's is.

use serde::Serialize;

use super::table::{Align, bordered};
use crate::base::human::go_duration;
use crate::providers::etcd_api::{Member, Report};

/// etcdctl's `epHealth`: the fields and their names as its JSON has them.
#[derive(Serialize)]
struct Endpoint<'a> {
    endpoint: &'a str,
    health: bool,
    took: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    error: &'a str,
}

fn endpoint(m: &Member) -> Endpoint<'_> {
    Endpoint {
        endpoint: &m.endpoint,
        health: m.healthy,
        took: go_duration(m.took),
        // etcdctl has no error for a healthy member; rigger's detail of an unhealthy
        // one is its error.
        error: if m.healthy { "" } else { &m.detail },
    }
}

/// `-w json`: one line, an array of the members.
pub fn json(report: &Report) -> String {
    let all: Vec<Endpoint> = report.members.iter().map(endpoint).collect();
    format!(
        "{}\n",
        serde_json::to_string(&all).expect("endpoints serialise")
    )
}

/// `-w table`: etcdctl's bordered table, headers centred, endpoints and errors to the
/// left, health and time to the right.
pub fn table(report: &Report) -> String {
    let rows: Vec<Vec<String>> = report
        .members
        .iter()
        .map(|m| {
            let e = endpoint(m);
            vec![
                e.endpoint.to_string(),
                e.health.to_string(),
                e.took,
                e.error.to_string(),
            ]
        })
        .collect();
    let headers = ["ENDPOINT", "HEALTH", "TOOK", "ERROR"];
    bordered(&headers, &rows, |i| match i {
        1 | 2 => Align::Right,
        _ => Align::Left,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::providers::etcd_api::Status;

    fn report() -> Report {
        let member = |endpoint: &str, healthy: bool, detail: &str, took: u64| Member {
            id: None,
            endpoint: endpoint.into(),
            healthy,
            electing: false,
            detail: detail.into(),
            took: Duration::from_nanos(took),
            version: None,
            raft_index: None,
            applied_index: None,
            is_leader: false,
            db_size: None,
            db_size_in_use: None,
        };
        Report {
            cluster_version: None,
            cluster_id: None,
            alarms: Vec::new(),
            certificates: Vec::new(),
            domain: "example.test".into(),
            status: Status::Degraded,
            members: vec![
                member("http://a.example.test:2379", true, "", 9_198_408),
                member(
                    "http://b.example.test:2379",
                    false,
                    "context deadline exceeded",
                    5_001_189_030,
                ),
            ],
            assumed: None,
            drift: Vec::new(),
            membership_read: true,
        }
    }

    #[test]
    fn the_table_is_laid_out_as_etcdctls() {
        // As etcdctl 3.5.1 printed it for the same members (captured by hand).
        assert_eq!(
            table(&report()),
            "\
+----------------------------+--------+-------------+---------------------------+
|          ENDPOINT          | HEALTH |    TOOK     |           ERROR           |
+----------------------------+--------+-------------+---------------------------+
| http://a.example.test:2379 |   true |  9.198408ms |                           |
| http://b.example.test:2379 |  false | 5.00118903s | context deadline exceeded |
+----------------------------+--------+-------------+---------------------------+
"
        );
    }

    #[test]
    fn the_json_has_etcdctls_fields() {
        assert_eq!(
            json(&report()),
            "[{\"endpoint\":\"http://a.example.test:2379\",\"health\":true,\"took\":\"9.198408ms\"},\
             {\"endpoint\":\"http://b.example.test:2379\",\"health\":false,\"took\":\"5.00118903s\",\
             \"error\":\"context deadline exceeded\"}]\n"
        );
    }
}
