//! DNS questions asked of one given server, with no cache and no system configuration:
//! what `wait_resolves` and the health check need to see what the zone really says.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::base::error::{Error, ErrorKind};
use crate::base::human;
use crate::providers::dns::exchange::{Failure, Tries, exchange, question};
use crate::providers::probe::{Answer, show};

/// Why a DNS question got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
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
            ResolveError::NoAnswer { .. } => ErrorKind::Failed,
        };
        Error::new(kind, e.to_string())
    }
}

/// One try, a second long: the caller polls anyway.
const TRIES: Tries = Tries {
    timeout: Duration::from_secs(1),
    attempts: 1,
};

/// Asks `server` for `name`/`rtype`, as a stub resolver does (recursion desired, no
/// cache, not this machine's /etc/hosts). An empty set means the server said there is
/// none (NXDOMAIN, or no record of that type).
pub async fn ask(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<Answer>, ResolveError> {
    let fqdn = Name::from_str(&format!("{}.", name.trim_end_matches('.'))).map_err(|e| {
        ResolveError::BadName {
            name: name.to_string(),
            why: e.to_string(),
        }
    })?;
    let msg = question(fqdn, rtype, true);
    let id = msg.metadata.id;
    let no_answer = |why: String| ResolveError::NoAnswer { server, why };
    let request = msg
        .to_vec()
        .map_err(|e| no_answer(format!("cannot encode the question: {e}")))?;
    let raw = exchange(server, &request, id, TRIES)
        .await
        .map_err(|failure| {
            no_answer(match failure {
                // hickory's words again.
                Failure::Silent { .. } => "request timed out".into(),
                Failure::Io { source, .. } => Failure::plain(&source),
            })
        })?;
    let answer = Message::from_vec(&raw)
        .map_err(|e| no_answer(format!("the answer does not parse: {e}")))?;
    match answer.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        ResponseCode::Refused => {
            return Err(ResolveError::Refused {
                server,
                name: name.to_string(),
            });
        }
        // Worded as hickory's resolver, which asked here before, worded it.
        other => return Err(no_answer(format!("DNS error: error response: {other}"))),
    }
    Ok(answer
        .answers
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
        .collect())
}

/// The first address `server` gives for `name`, if it gives any: where a member named
/// in an SRV record is dialled.
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
