//! DNS questions asked of one given server, with no cache and no system configuration:
//! what `wait_resolves` and the health check need to see what the zone really says.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::Resolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};

use crate::base::error::{Error, ErrorKind};
use crate::base::human;
use crate::providers::probe::{Answer, show};

/// Why a DNS question got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot build a resolver: {0}")]
    Resolver(String),
    #[error("{name:?} is not a DNS name: {why}")]
    BadName { name: String, why: String },
    #[error("{server} did not answer: {why}")]
    NoAnswer { server: SocketAddr, why: String },
    /// An answer, not a silence: a server refuses names in no zone it serves.
    #[error("{server} refused to answer for {name}: it has no zone holding it")]
    Refused { server: SocketAddr, name: String },
    #[error("{name} {rtype} did not resolve to {want} within {}; {said}", human::duration(*.waited))]
    Timeout {
        name: String,
        rtype: RecordType,
        want: String,
        waited: Duration,
        said: String,
    },
}

impl From<ResolveError> for Error {
    fn from(e: ResolveError) -> Self {
        let kind = match e {
            ResolveError::BadName { .. } => ErrorKind::Invalid,
            ResolveError::Refused { .. } => ErrorKind::NotFound,
            ResolveError::Timeout { .. } => ErrorKind::Timeout,
            ResolveError::Resolver(_) | ResolveError::NoAnswer { .. } => ErrorKind::Failed,
        };
        Error::new(kind, e.to_string())
    }
}

/// Asks `server` for `name`/`rtype`. An empty set means the server said there is none.
/// A stub resolver's question is hickory-resolver's job; rigger's own exchange
/// (`providers/dns/exchange.rs`) is for what a resolver does not do: RFC 2136's UPDATE,
/// and the doctor's reading of whole answers, authority sections and all.
pub async fn ask(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<Answer>, ResolveError> {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let config = ResolverConfig::from_parts(
        None,
        Vec::new(),
        vec![NameServerConfig::new(server.ip(), true, vec![udp, tcp])],
    );
    let mut opts = ResolverOpts::default();
    opts.cache_size = 0;
    // Retries, not tries: the caller polls anyway.
    opts.attempts = 0;
    opts.timeout = Duration::from_secs(1);
    opts.ndots = 0;
    // The zone's answer, not this machine's /etc/hosts.
    opts.use_hosts_file = ResolveHosts::Never;
    opts.num_concurrent_reqs = 1;
    let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .map_err(|e| ResolveError::Resolver(e.to_string()))?;
    let fqdn = Name::from_str(&format!("{}.", name.trim_end_matches('.'))).map_err(|e| {
        ResolveError::BadName {
            name: name.to_string(),
            why: e.to_string(),
        }
    })?;
    match resolver.lookup(fqdn, rtype).await {
        Ok(lookup) => Ok(lookup
            .answers()
            .iter()
            .filter(|r| r.record_type() == rtype)
            .map(|r| match &r.data {
                RData::A(a) => Answer::Ip(IpAddr::V4(a.0)),
                RData::AAAA(a) => Answer::Ip(IpAddr::V6(a.0)),
                RData::SRV(s) => Answer::Srv {
                    target: s
                        .target
                        .to_string()
                        .trim_end_matches('.')
                        .to_ascii_lowercase(),
                    port: s.port,
                },
                other => Answer::Other(other.to_string()),
            })
            .collect()),
        Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Ok(BTreeSet::new()),
        Err(NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused))) => {
            Err(ResolveError::Refused {
                server,
                name: name.to_string(),
            })
        }
        Err(e) => Err(ResolveError::NoAnswer {
            server,
            why: e.to_string(),
        }),
    }
}

/// The first address `server` gives for `name`, if it gives any: where a member named
/// in an SRV record is dialled.
/// A member's client URL (`https://etcd-1.example.test:2379`) as its host name and the
/// address `server` gives that name, with the URL's port.
pub async fn endpoint_address(
    server: SocketAddr,
    endpoint: &str,
) -> Result<(String, SocketAddr), String> {
    let url = url::Url::parse(endpoint).map_err(|e| format!("{endpoint}: {e}"))?;
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(2379);
    let ip = address(server, &host)
        .await
        .ok_or_else(|| format!("{host} does not resolve at {server}"))?;
    Ok((host, SocketAddr::new(ip, port)))
}

pub async fn address(server: SocketAddr, name: &str) -> Option<IpAddr> {
    let answers = ask(server, name, RecordType::A).await.ok()?;
    answers.into_iter().find_map(|a| match a {
        Answer::Ip(ip) => Some(ip),
        _ => None,
    })
}

/// What one server said to a poll.
type Said<'a> = (&'a SocketAddr, Result<BTreeSet<Answer>, ResolveError>);

/// How far a wait has got, from what each server answered its last poll:
/// `waiting for NAME SRV: 2 of 3 targets at 198.18.0.1:53, 3 of 3 at 198.18.0.2:53`.
pub fn awaited(name: &str, rtype: RecordType, want: &BTreeSet<Answer>, seen: &[Said]) -> String {
    let unit = match rtype {
        RecordType::SRV => "targets",
        RecordType::A | RecordType::AAAA => "addresses",
        _ => "answers",
    };
    let mut counted = false;
    let clauses: Vec<String> = seen
        .iter()
        .map(|(server, got)| match got {
            Ok(got) => {
                let found = got.intersection(want).count();
                let unit = if counted {
                    String::new()
                } else {
                    format!(" {unit}")
                };
                counted = true;
                let other = got.len() - found;
                let other = if other > 0 {
                    format!(" (and {other} not expected)")
                } else {
                    String::new()
                };
                format!("{found} of {}{unit}{other} at {server}", want.len())
            }
            Err(ResolveError::Refused { .. }) => format!("refused at {server}"),
            Err(_) => format!("no answer at {server}"),
        })
        .collect();
    format!("waiting for {name} {rtype}: {}", clauses.join(", "))
}

/// Asks every server in `servers` until all answer `name`/`rtype` with exactly `want`,
/// every `interval`, for at most `timeout`, telling `progress` after each poll how far
/// it got ([`awaited`]). On timeout the error says what each server answered last.
pub async fn wait_for(
    servers: &[SocketAddr],
    name: &str,
    rtype: RecordType,
    want: &BTreeSet<Answer>,
    timeout: Duration,
    interval: Duration,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), ResolveError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        // Every server at once: a poll takes one round trip, not one a server.
        let answers = futures::future::join_all(servers.iter().map(|s| ask(*s, name, rtype))).await;
        let seen: Vec<Said> = servers.iter().zip(answers).collect();
        progress(&awaited(name, rtype, want, &seen));
        if seen
            .iter()
            .all(|(_, got)| got.as_ref().is_ok_and(|g| g == want))
        {
            return Ok(());
        }
        if tokio::time::Instant::now() + interval >= deadline {
            let said: Vec<String> = seen
                .iter()
                .map(|(s, got)| match got {
                    Ok(g) => format!("{s} answered {}", show(g)),
                    Err(e) => e.to_string(),
                })
                .collect();
            return Err(ResolveError::Timeout {
                name: name.to_string(),
                rtype,
                want: show(want),
                waited: timeout,
                said: said.join("; "),
            });
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srv(target: &str) -> Answer {
        Answer::Srv {
            target: target.into(),
            port: 2380,
        }
    }

    #[test]
    fn the_wait_says_how_many_of_the_answers_each_server_gave() {
        let want: BTreeSet<Answer> = ["a.t", "b.t", "c.t"].into_iter().map(srv).collect();
        let (one, two, three): (SocketAddr, SocketAddr, SocketAddr) = (
            "198.18.0.1:53".parse().unwrap(),
            "198.18.0.2:53".parse().unwrap(),
            "198.18.0.3:53".parse().unwrap(),
        );
        let seen = [
            (&one, Ok(["a.t", "b.t"].into_iter().map(srv).collect())),
            (
                &two,
                Ok(["a.t", "b.t", "c.t", "d.t"].into_iter().map(srv).collect()),
            ),
            (
                &three,
                Err(ResolveError::NoAnswer {
                    server: three,
                    why: "timed out".into(),
                }),
            ),
        ];
        assert_eq!(
            awaited("_etcd-server-ssl._tcp.t", RecordType::SRV, &want, &seen),
            "waiting for _etcd-server-ssl._tcp.t SRV: 2 of 3 targets at 198.18.0.1:53, \
             3 of 3 (and 1 not expected) at 198.18.0.2:53, no answer at 198.18.0.3:53"
        );
        let ip: BTreeSet<Answer> = [Answer::Ip("198.18.0.5".parse().unwrap())].into();
        let seen = [(&one, Ok(BTreeSet::new()))];
        assert_eq!(
            awaited("n.t", RecordType::A, &ip, &seen),
            "waiting for n.t A: 0 of 1 addresses at 198.18.0.1:53"
        );
    }
}
