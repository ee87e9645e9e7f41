//! Questions asked of the network without changing it: whether DNS answers what was
//! published, whether a port listens, what a zone's discovery records say. A trait like
//! the others, so a dry run can stand in for it. What is asked of etcd itself is the
//! [`super::etcd_api::EtcdApi`].

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::rr::RecordType;

use crate::base::error::Result;
use crate::providers::discovery::{Diagnosis, DiscoveryCheck};

/// One answer a DNS server gave, in the form `wait_resolves` compares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Answer {
    Ip(IpAddr),
    Srv { target: String, port: u16 },
    Other(String),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Srv { target, port } => write!(f, "{target}:{port}"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// A set of answers as people read it.
pub fn show(set: &BTreeSet<Answer>) -> String {
    if set.is_empty() {
        "nothing".to_string()
    } else {
        set.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A wait until every server answers `name`/`rtype` with exactly `want`.
#[derive(Debug, Clone)]
pub struct DnsWait {
    pub servers: Vec<SocketAddr>,
    pub name: String,
    pub rtype: RecordType,
    pub want: BTreeSet<Answer>,
    pub timeout: Duration,
    pub interval: Duration,
    /// The live view's line on which the wait says, after each poll, how far it got
    /// (`Span::none()`: nowhere).
    pub line: tracing::Span,
}

#[async_trait]
pub trait Probe: Send + Sync {
    /// Waits until every server of `wait` answers what it wants; fails with what each
    /// said last.
    async fn wait_resolves(&self, wait: &DnsWait) -> Result<()>;

    /// Waits until `address` (`host:port`) accepts a TCP connection.
    async fn wait_tcp(&self, address: &str, timeout: Duration, interval: Duration) -> Result<()>;

    /// Reads the discovery records of `check.domain` from `check.servers` as etcd will
    /// read them, and says what is wrong with them. Fails only when no server answers.
    async fn discovery(&self, check: &DiscoveryCheck) -> Result<Diagnosis>;
}
