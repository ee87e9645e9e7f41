//! Reading a discovery zone from each of its servers: the domain's SOA, every SRV owner
//! etcd reads and every likely misspelling of one, and the addresses of every target
//! those name. Servers are read at once, and so are a server's questions: the SOA, the
//! owners and the addresses of the targets the caller expects go out together, and only
//! a target no one expected is asked after the answer that named it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::join_all;
use hickory_proto::rr::RecordType;

use super::owners::{Owners, misspellings};
use super::served::{Lookup, RrData, Served, View};

/// Asks one server one question. The network's own is [`super::wire::ask`]; the probe
/// wraps it to choose the network each server is reached through.
#[async_trait]
pub trait Ask: Send + Sync {
    async fn ask(&self, server: SocketAddr, name: &str, rtype: RecordType) -> Lookup;
}

/// At most this many CNAMEs are followed from a target to its address.
const CHAIN: usize = 8;

/// Every server's view of `domain`, in the order of `servers`. `expected` are the SRV
/// targets the caller believes are published (the members it launched): their addresses
/// are asked beside the owners instead of after them.
pub async fn read(
    domain: &str,
    service_name: Option<&str>,
    servers: &[SocketAddr],
    expected: &BTreeSet<String>,
    ask: Arc<dyn Ask>,
) -> Served {
    let owners = Owners::new(domain, service_name);
    let mut names: Vec<String> = owners.all().iter().map(|o| o.to_string()).collect();
    names.extend(
        misspellings(domain, service_name)
            .into_iter()
            .map(|m| m.owner),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for (i, &server) in servers.iter().enumerate() {
        let (domain, names, ask) = (domain.to_string(), names.clone(), ask.clone());
        let expected = expected.clone();
        tasks.spawn(async move {
            let view = view(server, &domain, &names, &expected, ask.as_ref()).await;
            (i, view)
        });
    }
    let mut views = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(view) => views.push(view),
            // A reading task only ends by returning; a panic in one is a bug to show.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    views.sort_by_key(|(i, _)| *i);
    Served {
        views: views.into_iter().map(|(_, v)| v).collect(),
        certs: BTreeMap::new(),
    }
}

async fn view(
    server: SocketAddr,
    domain: &str,
    owners: &[String],
    expected: &BTreeSet<String>,
    ask: &dyn Ask,
) -> View {
    // Every question at once: a remote server costs a round trip a question, and the
    // owners etcd (and its misspellings) might use are some thirty of them. Asking them
    // beside the SOA rather than after it costs only a server without the zone a few
    // wasted questions (all at once, so no more time); their answers are dropped.
    let (zone, answers, early) = futures::join!(
        ask.ask(server, domain, RecordType::SOA),
        join_all(
            owners
                .iter()
                .map(|owner| ask.ask(server, owner, RecordType::SRV)),
        ),
        join_all(expected.iter().map(|t| addresses(server, t, ask))),
    );
    let mut view = View {
        server,
        zone,
        srv: BTreeMap::new(),
        addresses: BTreeMap::new(),
    };
    // A server that neither holds the zone nor answers an owner has nothing more to say.
    // One that answers the owners without a SOA (a resolver, a dnsmasq with local
    // records) is what many members ask: etcd never asks the SOA, so neither does the
    // reading past this point.
    let answers_owners = answers.iter().any(|l| !l.records().is_empty());
    if !view.answered() && !answers_owners {
        return view;
    }
    view.srv = owners.iter().cloned().zip(answers).collect();
    let targets: BTreeSet<String> = view
        .srv
        .values()
        .flat_map(|l| l.srv().into_iter().map(|(.., t, _)| t.to_string()))
        .collect();
    // The view holds exactly the targets the records name: an expected one that no
    // record names was asked for nothing, and one no one expected is asked now.
    let mut known: BTreeMap<String, Lookup> = expected.iter().cloned().zip(early).collect();
    let unexpected: Vec<&String> = targets.iter().filter(|t| !known.contains_key(*t)).collect();
    let late = join_all(unexpected.iter().map(|t| addresses(server, t, ask))).await;
    known.extend(unexpected.into_iter().cloned().zip(late));
    view.addresses = targets
        .into_iter()
        .filter_map(|t| known.remove(&t).map(|found| (t, found)))
        .collect();
    view
}

/// The A and AAAA records of `name` together, following CNAMEs the server leaves open
/// (an alias into another zone).
async fn addresses(server: SocketAddr, name: &str, ask: &dyn Ask) -> Lookup {
    let mut records = Vec::new();
    let mut asking = name.to_string();
    for _ in 0..CHAIN {
        // The A answer decides; an AAAA question some servers fumble adds nothing.
        let (v4, v6) = futures::join!(
            ask.ask(server, &asking, RecordType::A),
            ask.ask(server, &asking, RecordType::AAAA)
        );
        let nxdomain = match &v4 {
            Lookup::Answer { nxdomain, .. } => *nxdomain,
            // Refused or failed on the first name: that is the answer. Further down a
            // chain, the chain ends there.
            other if records.is_empty() => return other.clone(),
            _ => {
                return Lookup::Answer {
                    records,
                    nxdomain: false,
                };
            }
        };
        for r in v4.records().iter().chain(v6.records()) {
            if !records.contains(r) {
                records.push(r.clone());
            }
        }
        let addressed = records.iter().any(|r| matches!(r.data, RrData::Address(_)));
        // The alias the answer ends at, when it ends at one without an address.
        let open = records.iter().rev().find_map(|r| match &r.data {
            RrData::Cname(to) if !records.iter().any(|o| &o.owner == to) => Some(to.clone()),
            _ => None,
        });
        match open {
            Some(to) if !addressed => asking = to,
            _ => return Lookup::Answer { records, nxdomain },
        }
    }
    Lookup::Answer {
        records,
        nxdomain: false,
    }
}

#[cfg(test)]
pub mod tests {
    use std::collections::HashMap;
    use std::net::IpAddr;

    use super::*;
    use crate::services::doctor::served::Rr;

    /// A zone in memory: answers by (name, type); anything else does not exist.
    #[derive(Default)]
    pub struct Canned {
        pub answers: HashMap<(String, RecordType), Vec<Rr>>,
        pub refused: bool,
        /// Refuses the SOA only: a forwarder with local records (dnsmasq).
        pub no_soa: bool,
    }

    impl Canned {
        pub fn add(&mut self, owner: &str, data: RrData) {
            let rtype = match &data {
                RrData::Srv { .. } => RecordType::SRV,
                RrData::Address(IpAddr::V4(_)) => RecordType::A,
                RrData::Address(IpAddr::V6(_)) => RecordType::AAAA,
                RrData::Cname(_) => RecordType::CNAME,
                RrData::Other { .. } => RecordType::TXT,
            };
            let rr = Rr {
                owner: owner.to_string(),
                ttl: 300,
                data,
            };
            self.answers
                .entry((owner.to_string(), rtype))
                .or_default()
                .push(rr);
        }
    }

    #[async_trait]
    impl Ask for Canned {
        async fn ask(&self, _server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
            if self.refused {
                return Lookup::Refused;
            }
            if rtype == RecordType::SOA && self.no_soa {
                return Lookup::Refused;
            }
            if rtype == RecordType::SOA {
                return Lookup::Answer {
                    records: Vec::new(),
                    nxdomain: false,
                };
            }
            // A CNAME answers for every type, as a server gives it (without chasing).
            let cname = self.answers.get(&(name.to_string(), RecordType::CNAME));
            let records = cname
                .or_else(|| self.answers.get(&(name.to_string(), rtype)))
                .cloned()
                .unwrap_or_default();
            let exists = self.answers.keys().any(|(n, _)| n == name);
            Lookup::Answer {
                records,
                nxdomain: !exists,
            }
        }
    }

    fn server() -> SocketAddr {
        "198.18.0.1:53".parse().unwrap()
    }

    #[tokio::test]
    async fn an_alias_is_followed_to_its_address() {
        let mut zone = Canned::default();
        zone.add("n1.d.test", RrData::Cname("h1.other.test".into()));
        zone.add(
            "h1.other.test",
            RrData::Address("198.18.1.1".parse().unwrap()),
        );
        let got = addresses(server(), "n1.d.test", &zone).await;
        let lines: Vec<String> = got.records().iter().map(Rr::line).collect();
        assert_eq!(
            lines,
            [
                "n1.d.test. 300 IN CNAME h1.other.test.",
                "h1.other.test. 300 IN A 198.18.1.1"
            ]
        );
        let missing = addresses(server(), "n9.d.test", &zone).await;
        assert_eq!(
            missing,
            Lookup::Answer {
                records: Vec::new(),
                nxdomain: true
            }
        );
    }

    /// A zone whose SOA answers only once the addresses of `first` were asked too: asked
    /// one after the other, the SOA would never answer.
    struct Together {
        zone: Canned,
        first: String,
        asked: tokio::sync::watch::Sender<Vec<(String, RecordType)>>,
    }

    #[async_trait]
    impl Ask for Together {
        async fn ask(&self, server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
            self.asked
                .send_modify(|a| a.push((name.to_string(), rtype)));
            if rtype == RecordType::SOA {
                let mut seen = self.asked.subscribe();
                let first = (self.first.clone(), RecordType::A);
                let waited = seen.wait_for(|a| a.contains(&first));
                if tokio::time::timeout(std::time::Duration::from_secs(2), waited)
                    .await
                    .is_err()
                {
                    return Lookup::Failed("asked after the SOA".into());
                }
            }
            self.zone.ask(server, name, rtype).await
        }
    }

    #[tokio::test]
    async fn expected_targets_are_asked_with_the_owners_and_the_rest_after() {
        let mut zone = Canned::default();
        let owner = "_etcd-server-ssl._tcp.d.test";
        for (target, ip) in [("n1.d.test", "198.18.1.1"), ("n2.d.test", "198.18.1.2")] {
            zone.add(
                owner,
                RrData::Srv {
                    priority: 0,
                    weight: 0,
                    port: 2380,
                    target: target.into(),
                    compressed: false,
                },
            );
            zone.add(target, RrData::Address(ip.parse().unwrap()));
        }
        let (asked, _) = tokio::sync::watch::channel(Vec::new());
        let ask = Arc::new(Together {
            zone,
            first: "n1.d.test".into(),
            asked,
        });
        // n1 is expected and published, n9 expected and not, n2 published and not expected.
        let expected: BTreeSet<String> = ["n1.d.test", "n9.d.test"].map(String::from).into();
        let served = read("d.test", None, &[server()], &expected, ask.clone()).await;
        let view = &served.views[0];
        assert!(view.answered(), "{:?}", view.zone);
        let targets: Vec<&str> = view.addresses.keys().map(String::as_str).collect();
        assert_eq!(targets, ["n1.d.test", "n2.d.test"]);
        let address = |t: &str| view.addresses[t].records()[0].line();
        assert_eq!(address("n2.d.test"), "n2.d.test. 300 IN A 198.18.1.2");
        // The unexpected target was asked once the owners had answered.
        let asked = ask.asked.borrow().clone();
        let at = |name: &str, rtype| asked.iter().position(|q| q == &(name.to_string(), rtype));
        let n2 = at("n2.d.test", RecordType::A).expect("n2 asked");
        let srv = at(owner, RecordType::SRV).expect("owner asked");
        assert!(srv < n2, "{asked:?}");
    }

    #[tokio::test]
    async fn a_server_without_the_zone_has_nothing_more_to_say() {
        let zone = Canned {
            refused: true,
            ..Canned::default()
        };
        let served = read(
            "d.test",
            None,
            &[server()],
            &BTreeSet::new(),
            Arc::new(zone),
        )
        .await;
        assert_eq!(served.views[0].zone, Lookup::Refused);
        assert!(served.views[0].srv.is_empty());
    }
}
