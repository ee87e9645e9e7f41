//! What is asked of an etcd cluster itself, through its client API: how healthy it is,
//! and its membership (read, and changed by the day-2 procedures). Apart from the
//! read-only [`super::probe::Probe`] because a change here is journaled (a member
//! added is removed again by a rollback) and a question there never is.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use super::members::{Drift, MemberCall, Membership};
use super::owners::Owners;
use super::tls::TlsFiles;
use crate::base::error::Result;
use crate::base::names::ClusterKey;

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// etcd's member ID in hex, when some member could tell it.
    pub id: Option<String>,
    pub endpoint: String,
    pub healthy: bool,
    /// Answers, but has no leader yet: counts towards a quorum, not as healthy.
    pub electing: bool,
    pub detail: String,
    /// How long its health check took (as etcdctl writes it: `9.203461ms`).
    #[serde(serialize_with = "as_go_duration")]
    pub took: Duration,
    /// Its etcd release (`/version`), when it answered.
    pub version: Option<String>,
    /// The last raft entry it holds and the last it applied (3.5 on), from its status:
    /// how far behind the leader it is.
    pub raft_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub is_leader: bool,
    /// Its database file's size, and how much of it holds data (3.4 says only the
    /// first): what compaction frees and defragmentation gives back is the difference.
    pub db_size: Option<u64>,
    pub db_size_in_use: Option<u64>,
}

/// An alarm etcd raised for the whole cluster (as `etcdctl alarm list` says it): NOSPACE
/// (a member's database reached its quota: no writes until it is freed and the alarm
/// disarmed) or CORRUPT (members disagree about the data).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Alarm {
    /// The member that raised it, hex.
    pub member: String,
    pub alarm: String,
}

/// A certificate in use that ends within 30 days, or has ended: the file rigger asked
/// with, or what a member serves on its client port.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertNote {
    /// The file's path, or `host:port` of the member serving it.
    pub what: String,
    /// Its end, as people read a date (`2027-12-06 23:41 UTC`).
    pub ends: String,
    pub days_left: i64,
    pub expired: bool,
}

impl CertNote {
    pub fn line(&self) -> String {
        let served = self.what.contains(':') && !self.what.starts_with('/');
        let what = if served {
            format!("{} serves a certificate that", self.what)
        } else {
            format!("the certificate {}", self.what)
        };
        let left = match self.days_left {
            1 => "1 day left".to_string(),
            n => format!("{n} days left"),
        };
        if self.expired {
            format!("{what} expired on {}", self.ends)
        } else {
            format!(
                "warning: {what} expires on {} ({left}): `rigger run rotate-certs` renews it",
                self.ends
            )
        }
    }
}

fn as_go_duration<S: serde::Serializer>(
    d: &Duration,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::base::human::go_duration(*d))
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    /// Some members are down but a quorum answers.
    Degraded,
    /// No quorum: the cluster cannot serve writes.
    Unavailable,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub status: Status,
    pub members: Vec<Member>,
    /// Said instead of the verdict when nobody was asked (a plan assumes health).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumed: Option<String>,
    /// Where DNS and the live membership disagree (none when the membership could not
    /// be read): a cluster with drift is degraded even when every member is healthy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// Whether the membership was read, so that no drift means DNS equals it.
    #[serde(skip)]
    pub membership_read: bool,
    /// The cluster version (`/version`'s `etcdcluster`, as `3.5.0`): the lowest minor
    /// its members run, once the leader has decided it.
    pub cluster_version: Option<String>,
    /// The cluster's ID (hex), as its leader (else any member that answered) said it.
    pub cluster_id: Option<String>,
    /// The alarms raised: any makes the cluster unavailable for writes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarms: Vec<Alarm>,
    /// Certificates in use that end within 30 days or have ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertNote>,
}

impl Report {
    /// The seed's output: one line per member, then the verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let id = m.id.as_deref().unwrap_or("(id unknown)");
            if m.healthy {
                out.push_str(&format!(
                    "member {id} is healthy: got healthy result from {}\n",
                    m.endpoint
                ));
            } else {
                out.push_str(&format!("member {id} is unhealthy: {}\n", m.detail));
            }
        }
        if let Some(why) = &self.assumed {
            out.push_str(&format!("{why}\n"));
            return out;
        }
        let healthy = self.members.iter().filter(|m| m.healthy).count();
        let electing = self.members.iter().filter(|m| m.electing).count();
        let total = self.members.len();
        for d in &self.drift {
            out.push_str(&format!("drift: {}\n", d.text));
        }
        for a in &self.alarms {
            out.push_str(&format!(
                "alarm: {} raised by member {}\n",
                a.alarm, a.member
            ));
        }
        for c in &self.certificates {
            out.push_str(&format!("{}\n", c.line()));
        }
        out.push_str(&match self.status {
            Status::Healthy => "cluster is healthy\n".to_string(),
            Status::Degraded if healthy == total && !self.drift.is_empty() => format!(
                "cluster is degraded: {healthy} of {total} members healthy, but DNS differs from the membership in {} (`rigger run reconcile` repairs it)\n",
                match self.drift.len() {
                    1 => "1 place".to_string(),
                    n => format!("{n} places"),
                }
            ),
            Status::Degraded if electing > 0 => format!(
                "cluster is degraded: {healthy} of {total} members healthy, {electing} electing a leader, quorum held\n"
            ),
            Status::Degraded => {
                format!("cluster is degraded: {healthy} of {total} members healthy, quorum held\n")
            }
            Status::Unavailable if !self.alarms.is_empty() => {
                let mut names: Vec<&str> = self.alarms.iter().map(|a| a.alarm.as_str()).collect();
                names.dedup();
                format!(
                    "cluster is unavailable: alarm {} raised, no writes until it is cleared\n",
                    names.join(", ")
                )
            }
            Status::Unavailable => {
                format!("cluster is unavailable: {healthy} of {total} members healthy, no quorum\n")
            }
        });
        out
    }
}

/// A snapshot of a cluster's data, saved from its leader as `etcdctl snapshot save`
/// saves one (the database, then its sha256): where, how big, from which member and
/// release, at which revision.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub path: std::path::PathBuf,
    pub bytes: u64,
    /// The member it came from (the leader), by its client URL.
    pub from: String,
    pub version: Option<String>,
    pub revision: u64,
    /// The database's sha256 (hex), as etcd sent it along and the file was checked to be.
    pub sha256: String,
    /// What the file holds, read back as `etcdutl snapshot status` reads it: its hash
    /// (CRC-32C, hex), entries (as 3.5 counts), live keys (as 3.6 counts), database size.
    pub hash: String,
    pub total_key: u64,
    pub keys: u64,
    pub total_size: u64,
}

/// An etcd cluster as rigger asks it: its members found under `domain` through
/// `servers` as etcdctl 3.5 finds them (`_etcd-client-ssl._tcp` over TLS with `tls`,
/// `_etcd-client._tcp` over plain HTTP), with `service_name` (etcd's
/// `--discovery-srv-name`) after the service label: `_etcd-client-ssl-NAME._tcp`.
#[derive(Debug, Clone)]
pub struct ClusterAt {
    pub domain: String,
    pub service_name: Option<String>,
    pub tls: Option<TlsFiles>,
    pub servers: Vec<SocketAddr>,
}

impl ClusterAt {
    /// The cluster `key` names, asked through `servers` with the client files `tls`.
    pub fn new(key: ClusterKey, tls: Option<TlsFiles>, servers: Vec<SocketAddr>) -> Self {
        Self {
            domain: key.domain,
            service_name: key.name,
            tls,
            servers,
        }
    }

    /// The SRV owners its members and clients read.
    pub fn owners(&self) -> Owners {
        Owners::new(&self.domain, self.service_name.as_deref())
    }

    /// How rigger's scripts are told the cluster: `--set domain=D`, and `--set name=N`
    /// for a named one.
    pub fn script_flags(&self) -> String {
        match &self.service_name {
            Some(name) => format!("--set domain={} --set name={name}", self.domain),
            None => format!("--set domain={}", self.domain),
        }
    }

    /// The cluster as people name it: `DOMAIN`, or `DOMAIN/NAME` for a named one.
    pub fn label(&self) -> String {
        match &self.service_name {
            Some(name) => format!("{}/{name}", self.domain),
            None => self.domain.clone(),
        }
    }
}

#[async_trait]
pub trait EtcdApi: Send + Sync {
    /// The health of the cluster.
    async fn health(&self, at: &ClusterAt) -> Result<Report>;

    /// Waits up to `within` until every member answers its health check healthy, and
    /// says whether they did.
    async fn wait_healthy(&self, at: &ClusterAt, within: Duration) -> Result<bool>;

    /// Saves a snapshot of the cluster's data from its leader to `to` (mode 0600), checked
    /// against the sha256 etcd sends with it. Kept whatever happens to the run: it is a
    /// backup, not something the run made in the world.
    async fn snapshot(&self, at: &ClusterAt, to: &std::path::Path) -> Result<Snapshot>;

    /// Asks the cluster to `call`, retrying for up to `patience` while etcd refuses for
    /// a passing reason (a leader change, a learner not yet in sync).
    async fn membership(
        &self,
        at: &ClusterAt,
        call: &MemberCall,
        patience: Duration,
    ) -> Result<Membership>;

    /// The backend quota (bytes) of the member at `endpoint` (its client URL), as its
    /// metrics say it; `None` when they do not.
    async fn quota(&self, at: &ClusterAt, endpoint: &str) -> Result<Option<u64>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_cluster_with_drift_reads_as_degraded_with_each_difference() {
        let member = |id: &str| Member {
            id: Some(id.into()),
            endpoint: format!("https://{id}.example.test:2379"),
            healthy: true,
            electing: false,
            detail: String::new(),
            took: Duration::from_millis(3),
            version: Some("3.5.30".into()),
            raft_index: Some(8),
            applied_index: Some(8),
            is_leader: id == "a",
            db_size: Some(20480),
            db_size_in_use: Some(16384),
        };
        let report = Report {
            domain: "example.test".into(),
            status: Status::Degraded,
            members: vec![member("a"), member("b"), member("c")],
            assumed: None,
            membership_read: true,
            cluster_version: Some("3.5.0".into()),
            cluster_id: Some("c1".into()),
            alarms: Vec::new(),
            certificates: Vec::new(),
            drift: vec![Drift {
                kind: "not_a_member",
                subject: "etcd-ghost.example.test".into(),
                text: "_etcd-client-ssl._tcp.example.test names etcd-ghost.example.test, which is not a member".into(),
            }],
        };
        let text = report.text();
        assert!(text.contains("\ndrift: _etcd-client-ssl._tcp.example.test names etcd-ghost.example.test, which is not a member\n"), "{text}");
        assert!(text.ends_with("cluster is degraded: 3 of 3 members healthy, but DNS differs from the membership in 1 place (`rigger run reconcile` repairs it)\n"), "{text}");

        // A raised alarm is named, and the cluster is unavailable whoever answers.
        let alarmed = Report {
            status: Status::Unavailable,
            drift: Vec::new(),
            alarms: vec![Alarm {
                member: "a".into(),
                alarm: "NOSPACE".into(),
            }],
            ..report
        };
        let text = alarmed.text();
        assert!(
            text.contains("\nalarm: NOSPACE raised by member a\n"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "cluster is unavailable: alarm NOSPACE raised, no writes until it is cleared\n"
            ),
            "{text}"
        );
    }
}
