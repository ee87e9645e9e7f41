//! An etcd cluster's membership as rigger reads and changes it: the questions and
//! changes a day-2 procedure asks of the cluster itself (etcd's cluster API), and the
//! answers. Asked through the world's Probe, so that in the lab every request leaves
//! from inside the lab.

use serde::{Deserialize, Serialize};

use super::tls::TlsFiles;

/// One member as etcd lists it. IDs are etcd's uint64 in hex, as etcdctl prints them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EtcdMember {
    pub id: String,
    /// Empty for a member that was added but has not started yet.
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
    pub is_leader: bool,
}

impl EtcdMember {
    /// The host names its peer URLs advertise (`etcd-1.example.test`): what its SRV
    /// targets must be.
    pub fn peer_hosts(&self) -> Vec<String> {
        self.peer_urls.iter().filter_map(|u| url_host(u)).collect()
    }
}

/// `https://etcd-1.example.test:2380` -> `etcd-1.example.test`.
pub fn url_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
}

/// What is asked of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberCall {
    /// The members and the leader.
    List,
    /// `member add`: a learner (no vote until promoted) unless `learner` is false.
    Add {
        peer_urls: Vec<String>,
        learner: bool,
    },
    /// `member promote`: retried while the learner is not yet in sync with the leader.
    Promote { id: u64 },
    /// `member remove`.
    Remove { id: u64 },
    /// `move-leader`: asked of the leader, which hands leadership to `to`.
    MoveLeader { to: u64 },
    /// `defrag` of the member `id`: its database file rewritten without the free pages
    /// compaction left, given back to the disk. The member answers nothing meanwhile.
    Defragment { id: u64 },
    /// `compact --physical` to the keyspace's current revision: every older revision
    /// gone, its space free inside each member's database file for a defrag to give back.
    Compact,
    /// `alarm disarm` of the alarm `alarm` (`NOSPACE`) the member `member` raised.
    Disarm { member: u64, alarm: String },
    /// An etcd user `name` (no password: its client certificate names it) whose role,
    /// of the same name, may `read` or `readwrite` the keys under `prefix`; auth turned
    /// on first if it is off, with the `root` user and role.
    UserAdd {
        name: String,
        prefix: String,
        readwrite: bool,
    },
    /// The user `name` and its role taken away.
    UserRemove { name: String },
}

impl MemberCall {
    /// As etcdctl would say it.
    pub fn describe(&self) -> String {
        match self {
            Self::List => "member list".into(),
            Self::Add { peer_urls, learner } => format!(
                "member add{} --peer-urls={}",
                if *learner { " --learner" } else { "" },
                peer_urls.join(",")
            ),
            Self::Promote { id } => format!("member promote {id:x}"),
            Self::Remove { id } => format!("member remove {id:x}"),
            Self::MoveLeader { to } => format!("move-leader {to:x}"),
            Self::Defragment { id } => format!("defrag {id:x}"),
            Self::Compact => "compact --physical (to the current revision)".into(),
            Self::Disarm { member, alarm } => format!("alarm disarm {alarm} of {member:x}"),
            Self::UserAdd {
                name,
                prefix,
                readwrite,
            } => format!(
                "user add {name} --no-password; role add {name}; role grant-permission {name} {} {prefix} --prefix; user grant-role {name} {name} (auth enable first if off)",
                if *readwrite { "readwrite" } else { "read" }
            ),
            Self::UserRemove { name } => format!("user delete {name}; role delete {name}"),
        }
    }
}

/// The header of etcd's answer to `member list`: which cluster, which member answered,
/// in which raft term (etcdctl's `-w json` prints it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListHeader {
    pub cluster_id: u64,
    pub member_id: u64,
    pub raft_term: u64,
}

/// The membership after a call, as the member that answered it sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    pub members: Vec<EtcdMember>,
    /// The list's header, when a list was read (not for scripts: etcdctl's shape only).
    #[serde(skip)]
    pub header: Option<ListHeader>,
    /// The member `Add` made (its name is empty until it starts).
    pub added: Option<EtcdMember>,
    /// The client URL of the member that answered.
    pub asked: String,
    /// How many times etcd refused for a passing reason before it took the call.
    pub retries: u32,
    /// The revision `Compact` compacted the keyspace to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compacted: Option<u64>,
    /// What a call of several steps did, as etcdctl would say each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<String>,
}

/// A member rigger added to a cluster, as a journal keeps it: enough to remove it again
/// (a learner that never caught up, a run rolled back).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JoinedMember {
    /// The cluster's key: `DOMAIN`, or `DOMAIN/NAME` for a named one.
    pub domain: String,
    /// Hex, as etcd's IDs are shown.
    pub id: String,
    pub peer_urls: Vec<String>,
    /// The client certificate it was added with (paths).
    pub tls: Option<TlsFiles>,
}

/// One difference between DNS and the membership.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Drift {
    /// `missing_srv`, `learner_in_srv`, `not_a_member`, `missing_a`, `wrong_a`.
    pub kind: &'static str,
    /// The host name the difference is about.
    pub subject: String,
    pub text: String,
}
