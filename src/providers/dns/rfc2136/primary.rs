//! A zone's primary and name servers found through a resolver, as `nsupdate` finds the
//! server to update when it is given none: the SOA of the name names the primary
//! (MNAME), whose address the same resolver gives; the zone's NS set is what
//! `wait_resolves` waits on. Questions here ask for recursion (RD), and an answer
//! without authority is what a resolver gives.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::base::error::{Error, Result};
use crate::providers::dns::exchange::{Failure, Tries, exchange, question};
use crate::providers::dns::rdata::fqdn;

const TRIES: Tries = Tries {
    timeout: std::time::Duration::from_secs(2),
    attempts: 3,
};

/// A zone as its SOA names it: its apex and its primary server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primary {
    pub apex: String,
    /// The MNAME, as the SOA gives it.
    pub name: String,
    /// Where updates go: its address, port 53.
    pub at: SocketAddr,
}

/// The resolver asked: the one given (`--resolver`), or this machine's.
#[derive(Debug, Clone, Copy)]
pub struct Resolver(pub SocketAddr);

impl Resolver {
    /// This machine's resolver: the first `nameserver` of /etc/resolv.conf.
    pub fn of_this_machine() -> Result<Self> {
        let (config, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
            Error::missing(format!("cannot read this machine's resolver: {e}"))
                .with_help("give the resolver with --resolver IP:PORT, or the primary with --dns-server IP:PORT")
        })?;
        let first = config.name_servers().first().ok_or_else(|| {
            Error::missing("/etc/resolv.conf names no nameserver to ask the zone's SOA")
                .with_help("give the resolver with --resolver IP:PORT, or the primary with --dns-server IP:PORT")
        })?;
        Ok(Self(SocketAddr::new(first.ip, 53)))
    }

    /// One question, recursion desired: NOERROR or NXDOMAIN, else an error that names
    /// the resolver and what it said.
    async fn ask(&self, name: &Name, rtype: RecordType) -> Result<Message> {
        let what = format!("the {rtype} of {}", plain(name));
        let msg = question(name.clone(), rtype, true);
        let id = msg.metadata.id;
        let bytes = msg
            .to_vec()
            .map_err(|e| Error::invalid(format!("cannot ask {what}: {e}")))?;
        let raw = exchange(self.0, &bytes, id, TRIES)
            .await
            .map_err(|failure| {
                let why = match failure {
                    Failure::Silent { .. } => "no answer".to_string(),
                    Failure::Io { source, .. } => Failure::plain(&source),
                };
                Error::timeout(format!("the resolver {} was asked {what}: {why}", self.0))
                    .with_help("give a resolver that answers with --resolver IP:PORT, or the primary with --dns-server IP:PORT")
            })?;
        let answer = Message::from_vec(&raw).map_err(|e| {
            Error::failed(format!(
                "the resolver {} answered {what} with a message that does not parse: {e}",
                self.0
            ))
        })?;
        match answer.metadata.response_code {
            ResponseCode::NoError | ResponseCode::NXDomain => Ok(answer),
            other => Err(Error::failed(format!(
                "the resolver {} answered {what} with {other}",
                self.0
            ))),
        }
    }

    /// The zone `name` is in, and its primary; `None` when no zone holds it.
    pub async fn primary(&self, name: &str) -> Result<Option<Primary>> {
        let qname = fqdn(name).map_err(Error::invalid)?;
        let answer = self.ask(&qname, RecordType::SOA).await?;
        // The name's own SOA when it is an apex, else the SOA of the zone above it in
        // the authority section of the negative answer (RFC 2308).
        let soa = answer
            .answers
            .iter()
            .chain(&answer.authorities)
            .find_map(|r| match &r.data {
                RData::SOA(soa) if r.name.zone_of(&qname) => Some((r.name.clone(), soa.clone())),
                _ => None,
            });
        let Some((apex, soa)) = soa else {
            return Ok(None);
        };
        let (apex, mname) = (plain(&apex), soa.mname.clone());
        let found = self.addresses(&mname).await?;
        let Some(ip) = found.first() else {
            return Err(Error::not_found(format!(
                "the SOA of {apex} names {} as its primary, and the resolver {} has no address for it",
                plain(&mname),
                self.0
            ))
            .with_help(format!(
                "publish an A record for {}, or give the primary with --dns-server IP:PORT",
                plain(&mname)
            )));
        };
        Ok(Some(Primary {
            apex,
            name: plain(&mname),
            at: SocketAddr::new(*ip, 53),
        }))
    }

    /// The addresses of the zone's name servers (its NS set), port 53.
    pub async fn name_servers(&self, apex: &str) -> Result<Vec<SocketAddr>> {
        let qname = fqdn(apex).map_err(Error::invalid)?;
        let answer = self.ask(&qname, RecordType::NS).await?;
        let names: Vec<Name> = answer
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::NS(ns) if r.name == qname => Some(ns.0.clone()),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return Err(Error::not_found(format!(
                "the resolver {} gives no NS records for {apex}",
                self.0
            )));
        }
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for (name, found) in names
            .iter()
            .zip(futures::future::join_all(names.iter().map(|n| self.addresses(n))).await)
        {
            let found = found?;
            if found.is_empty() {
                missing.push(plain(name));
            }
            out.extend(found.into_iter().map(|ip| SocketAddr::new(ip, 53)));
        }
        if !missing.is_empty() {
            return Err(Error::not_found(format!(
                "the name servers of {apex} {} have no address at the resolver {}",
                missing.join(", "),
                self.0
            )));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The A and AAAA addresses of `host`, asked together.
    async fn addresses(&self, host: &Name) -> Result<Vec<IpAddr>> {
        let (v4, v6) = futures::join!(
            self.ask(host, RecordType::A),
            self.ask(host, RecordType::AAAA)
        );
        let mut out = Vec::new();
        for answer in [v4?, v6?] {
            out.extend(answer.answers.iter().filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            }));
        }
        Ok(out)
    }
}

/// A name without its final dot, lowercase.
fn plain(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}
