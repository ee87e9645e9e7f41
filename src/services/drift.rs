//! Drift: where DNS and the live membership disagree. etcd reads the SRV records only
//! at first boot and never updates them (etcd-io/etcd#10238), so after a membership
//! change DNS says what the tool that made the change made it say. The membership is
//! the truth; every difference is named with its subject and what DNS says.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use super::resolve;
use crate::providers::members::{Drift, EtcdMember, url_host};
use crate::providers::probe::Answer;
use hickory_proto::rr::RecordType;

/// What DNS says, read at the zone's own server.
#[derive(Debug, Default)]
pub struct Published {
    /// SRV owner name -> its targets (host, port).
    pub srv: BTreeMap<String, BTreeSet<(String, u16)>>,
    /// Host -> the addresses its A records give.
    pub a: BTreeMap<String, BTreeSet<IpAddr>>,
}

/// Reads the SRV records `names` and the A records of their targets and of `hosts`.
pub async fn read(server: SocketAddr, names: &[String], hosts: &[String]) -> Published {
    let mut published = Published::default();
    let mut wanted: BTreeSet<String> = hosts.iter().cloned().collect();
    for name in names {
        let answers = resolve::ask(server, name, RecordType::SRV).await;
        let targets: BTreeSet<(String, u16)> = answers
            .into_iter()
            .flatten()
            .filter_map(|a| match a {
                Answer::Srv { target, port } => Some((target, port)),
                _ => None,
            })
            .collect();
        wanted.extend(targets.iter().map(|(t, _)| t.clone()));
        published.srv.insert(name.clone(), targets);
    }
    for host in wanted {
        let answers = resolve::ask(server, &host, RecordType::A).await;
        let ips = answers.into_iter().flatten().filter_map(|a| match a {
            Answer::Ip(ip) => Some(ip),
            _ => None,
        });
        published.a.insert(host, ips.collect());
    }
    published
}

impl Published {
    /// The addresses `host` stands for: itself when it is an IP, else its A records.
    fn ips(&self, host: &str) -> BTreeSet<IpAddr> {
        match host.parse::<IpAddr>() {
            Ok(ip) => BTreeSet::from([ip]),
            Err(_) => self.a.get(host).cloned().unwrap_or_default(),
        }
    }

    /// Whether the SRV target `target:port` is the member URL `url`, as etcd matches
    /// them: the same name and port, or names that resolve to the same address and port.
    fn same(&self, target: &str, port: u16, url: &str) -> bool {
        let Some((host, url_port)) = host_port(url) else {
            return false;
        };
        if port != url_port {
            return false;
        }
        host == target || !self.ips(target).is_disjoint(&self.ips(&host))
    }
}

/// Which of a member's URLs an SRV owner name is about: peer or client.
type UrlsOf = fn(&EtcdMember) -> &Vec<String>;

fn host_port(url: &str) -> Option<(String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    Some((url_host(url)?, parsed.port_or_known_default()?))
}

/// Whether the client endpoint `url` (as found through a client SRV record) is one of
/// `members`' client URLs.
pub fn is_member(url: &str, members: &[EtcdMember], published: &Published) -> bool {
    let Some((host, port)) = host_port(url) else {
        return false;
    };
    members
        .iter()
        .any(|m| m.client_urls.iter().any(|u| published.same(&host, port, u)))
}

/// The differences between `members` and `published`. `server_srv` and `client_srv`
/// are the SRV owner names for the peer and client ports; an owner name with no records
/// at all is not one the cluster is found by, and is not compared. `answering` maps a
/// host to the member ID (hex) that answered at the address its A record gives, where
/// one did.
pub fn compare(
    members: &[EtcdMember],
    published: &Published,
    server_srv: &str,
    client_srv: &str,
    answering: &BTreeMap<String, String>,
) -> Vec<Drift> {
    let mut drift = Vec::new();
    let who = |m: &EtcdMember| {
        if m.name.is_empty() {
            format!("member {}", m.id)
        } else {
            format!("member {} ({})", m.name, m.id)
        }
    };
    let kinds: [(&str, UrlsOf); 2] = [
        (server_srv, |m| &m.peer_urls),
        (client_srv, |m| &m.client_urls),
    ];
    for (srv, urls_of) in kinds {
        let Some(listed) = published.srv.get(srv).filter(|l| !l.is_empty()) else {
            continue;
        };
        for m in members {
            for url in urls_of(m) {
                let there = listed.iter().any(|(t, p)| published.same(t, *p, url));
                let subject = url_host(url).unwrap_or_else(|| url.clone());
                if m.is_learner && there {
                    drift.push(Drift {
                        kind: "learner_in_srv",
                        subject,
                        text: format!("{} is a learner, but {srv} names it: clients and joining members would count it as voting", who(m)),
                    });
                } else if !m.is_learner && !there {
                    drift.push(Drift {
                        kind: "missing_srv",
                        subject,
                        text: format!("{} is missing from {srv}", who(m)),
                    });
                }
            }
        }
        for (target, port) in listed {
            let member = members
                .iter()
                .any(|m| urls_of(m).iter().any(|u| published.same(target, *port, u)));
            if !member {
                drift.push(Drift {
                    kind: "not_a_member",
                    subject: target.clone(),
                    text: format!("{srv} names {target}, which is not a member"),
                });
            }
        }
    }
    for m in members {
        for host in m
            .peer_hosts()
            .into_iter()
            .filter(|h| h.parse::<IpAddr>().is_err())
        {
            match published.a.get(&host).filter(|ips| !ips.is_empty()) {
                None => drift.push(Drift {
                    kind: "missing_a",
                    subject: host.clone(),
                    text: format!("{} advertises {host}, which has no A record", who(m)),
                }),
                Some(ips) => {
                    if let Some(other) = answering.get(&host).filter(|id| **id != m.id) {
                        let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
                        drift.push(Drift {
                            kind: "wrong_a",
                            subject: host.clone(),
                            text: format!(
                                "the A record of {host} points at {}, where member {other} answers, not {}",
                                ips.join(", "),
                                who(m)
                            ),
                        });
                    }
                }
            }
        }
    }
    drift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, host: &str, learner: bool) -> EtcdMember {
        EtcdMember {
            id: id.into(),
            name: host.split('.').next().unwrap().into(),
            peer_urls: vec![format!("https://{host}:2380")],
            client_urls: vec![format!("https://{host}:2379")],
            is_learner: learner,
            is_leader: false,
        }
    }

    /// a.t and b.t vote; c.t is a learner.
    fn two_voters_and_a_learner() -> [EtcdMember; 3] {
        [
            member("1", "a.t", false),
            member("2", "b.t", false),
            member("3", "c.t", true),
        ]
    }

    fn published(srv: &[&str], a: &[(&str, &str)]) -> Published {
        let mut p = Published::default();
        for (name, port) in [("_s", 2380), ("_c", 2379)] {
            let set = srv.iter().map(|t| (t.to_string(), port)).collect();
            p.srv.insert(name.to_string(), set);
        }
        for (host, ip) in a {
            p.a.entry(host.to_string())
                .or_default()
                .insert(ip.parse().unwrap());
        }
        p
    }

    #[test]
    fn dns_equal_to_the_membership_is_no_drift() {
        let members = two_voters_and_a_learner();
        let p = published(
            &["a.t", "b.t"],
            &[
                ("a.t", "198.18.1.1"),
                ("b.t", "198.18.1.2"),
                ("c.t", "198.18.1.3"),
            ],
        );
        let answering = BTreeMap::from([("a.t".to_string(), "1".to_string())]);
        assert_eq!(compare(&members, &p, "_s", "_c", &answering), vec![]);
    }

    #[test]
    fn every_kind_of_difference_is_named() {
        let members = two_voters_and_a_learner();
        let p = published(&["a.t", "c.t", "gone.t"], &[("a.t", "198.18.1.9")]);
        let answering = BTreeMap::from([("a.t".to_string(), "2".to_string())]);
        let kinds: Vec<(&str, String)> = compare(&members, &p, "_s", "_c", &answering)
            .into_iter()
            .map(|d| (d.kind, d.subject))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("missing_srv", "b.t".to_string()),
                ("learner_in_srv", "c.t".to_string()),
                ("not_a_member", "gone.t".to_string()),
                ("missing_srv", "b.t".to_string()),
                ("learner_in_srv", "c.t".to_string()),
                ("not_a_member", "gone.t".to_string()),
                ("wrong_a", "a.t".to_string()),
                ("missing_a", "b.t".to_string()),
                ("missing_a", "c.t".to_string()),
            ]
        );
    }
}
