//! What the zone's servers served, as read off the wire: the doctor judges this and
//! nothing else, so every check is a pure function of it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// A record's data, as the answer carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RrData {
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
        /// The target name used DNS name compression on the wire (a pointer), which
        /// Go's resolver refuses (golang/go#27546).
        compressed: bool,
    },
    Address(IpAddr),
    Cname(String),
    Other {
        rtype: String,
        text: String,
    },
}

/// One record of an answer: lowercase owner without the final dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    pub owner: String,
    pub ttl: u32,
    pub data: RrData,
}

impl Rr {
    /// The record as a zone file line: `owner. ttl IN TYPE data`.
    pub fn line(&self) -> String {
        let data = match &self.data {
            RrData::Srv {
                priority,
                weight,
                port,
                target,
                ..
            } => format!("SRV {priority} {weight} {port} {target}."),
            RrData::Address(IpAddr::V4(ip)) => format!("A {ip}"),
            RrData::Address(IpAddr::V6(ip)) => format!("AAAA {ip}"),
            RrData::Cname(to) => format!("CNAME {to}."),
            RrData::Other { rtype, text } => format!("{rtype} {text}"),
        };
        format!("{}. {} IN {data}", self.owner, self.ttl)
    }
}

/// A server's answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Its answer records (CNAMEs on the way included); none, with `nxdomain` when the
    /// name does not exist at all.
    Answer { records: Vec<Rr>, nxdomain: bool },
    /// The server holds no zone for the name.
    Refused,
    /// No usable answer: a timeout, SERVFAIL, a message that does not parse.
    Failed(String),
}

impl Lookup {
    pub fn records(&self) -> &[Rr] {
        match self {
            Self::Answer { records, .. } => records,
            _ => &[],
        }
    }

    /// The SRV records of the answer: (priority, weight, port, target, the record).
    pub fn srv(&self) -> Vec<(u16, u16, u16, &str, &Rr)> {
        self.records()
            .iter()
            .filter_map(|r| match &r.data {
                RrData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                    ..
                } => Some((*priority, *weight, *port, target.as_str(), r)),
                _ => None,
            })
            .collect()
    }

    /// The addresses the answer ends at.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let found = self.records().iter().filter_map(|r| match r.data {
            RrData::Address(ip) => Some(ip),
            _ => None,
        });
        found.collect()
    }

    /// What the server said, for evidence when there is no record to show.
    pub fn said(&self, name: &str, rtype: &str, server: SocketAddr) -> String {
        match self {
            Self::Answer { records, nxdomain } if records.is_empty() => format!(
                "{name}. {rtype}: {} at {server}",
                if *nxdomain {
                    "NXDOMAIN (no such name)"
                } else {
                    "no records (NODATA)"
                }
            ),
            Self::Answer { .. } => format!("{name}. {rtype}: answered at {server}"),
            Self::Refused => format!("{name}. {rtype}: REFUSED at {server}"),
            Self::Failed(why) => format!("{name}. {rtype}: no answer from {server}: {why}"),
        }
    }
}

/// One server's answers: the domain's SOA, every SRV owner asked, and the addresses of
/// every target those named (A and AAAA together, CNAMEs followed).
#[derive(Debug, Clone)]
pub struct View {
    pub server: SocketAddr,
    pub zone: Lookup,
    pub srv: BTreeMap<String, Lookup>,
    pub addresses: BTreeMap<String, Lookup>,
}

impl View {
    /// The SRV answer for `owner`; a name that was not asked reads as no records.
    pub fn srv_at(&self, owner: &str) -> &Lookup {
        static NOTHING: Lookup = Lookup::Answer {
            records: Vec::new(),
            nxdomain: false,
        };
        self.srv.get(owner).unwrap_or(&NOTHING)
    }

    /// Whether this server answered for the zone at all: its SOA, or the SRV records
    /// etcd asks for even where no SOA is served.
    pub fn answered(&self) -> bool {
        self.holds_zone() || self.srv.values().any(|l| !l.records().is_empty())
    }

    /// Whether it answered the domain's SOA question (it speaks for the zone).
    pub fn holds_zone(&self) -> bool {
        matches!(self.zone, Lookup::Answer { .. })
    }
}

/// Every server's view, and the members' certificates when the doctor was asked to
/// look at them (by SRV target).
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub views: Vec<View>,
    pub certs: BTreeMap<String, super::certs::Cert>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_zone_file_lines() {
        let srv = Rr {
            owner: "_etcd-server-ssl._tcp.d.test".into(),
            ttl: 300,
            data: RrData::Srv {
                priority: 0,
                weight: 0,
                port: 2380,
                target: "n1.d.test".into(),
                compressed: false,
            },
        };
        assert_eq!(
            srv.line(),
            "_etcd-server-ssl._tcp.d.test. 300 IN SRV 0 0 2380 n1.d.test."
        );
        let a = Rr {
            owner: "n1.d.test".into(),
            ttl: 60,
            data: RrData::Address("198.18.1.1".parse().unwrap()),
        };
        assert_eq!(a.line(), "n1.d.test. 60 IN A 198.18.1.1");
    }
}
