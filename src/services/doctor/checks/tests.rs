//! Every row of issue 13's table, as answers in memory: the finding's id, severity and
//! evidence for each broken zone, and none for the zones etcd takes as they are.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use hickory_proto::rr::RecordType;

use super::super::read::tests::Canned;
use super::super::read::{Ask, read};
use super::super::served::{Lookup, RrData, Served};
use super::judge;
use crate::providers::discovery::{DiscoveryCheck, EtcdVersion, Finding, Scheme, Severity};

const D: &str = "d.test";
const SSL: &str = "_etcd-server-ssl._tcp.d.test";
const PLAIN: &str = "_etcd-server._tcp.d.test";
const CSSL: &str = "_etcd-client-ssl._tcp.d.test";
const CPLAIN: &str = "_etcd-client._tcp.d.test";

fn server() -> SocketAddr {
    "198.18.0.1:53".parse().unwrap()
}

#[derive(Default)]
struct Zone(Canned);

impl Zone {
    fn srv(mut self, owner: &str, priority: u16, weight: u16, port: u16, target: &str) -> Self {
        self.0.add(
            owner,
            RrData::Srv {
                priority,
                weight,
                port,
                target: target.into(),
                compressed: false,
            },
        );
        self
    }

    fn a(mut self, name: &str, ip: &str) -> Self {
        self.0.add(name, RrData::Address(ip.parse().unwrap()));
        self
    }

    fn cname(mut self, name: &str, to: &str) -> Self {
        self.0.add(name, RrData::Cname(to.into()));
        self
    }

    /// Members n1..n3 at 198.18.1.1..3 with records under `server` (port 2380) and
    /// `client` (2379); an empty owner is left out.
    fn members(mut self, server: &str, client: &str) -> Self {
        for i in 1..=3 {
            let name = format!("n{i}.{D}");
            self = self.a(&name, &format!("198.18.1.{i}"));
            if !server.is_empty() {
                self = self.srv(server, 0, 0, 2380, &name);
            }
            if !client.is_empty() {
                self = self.srv(client, 0, 0, 2379, &name);
            }
        }
        self
    }

    async fn judge(self, check: &DiscoveryCheck) -> Vec<Finding> {
        let expected = check.peers.clone().unwrap_or_default();
        let served = read(D, None, &check.servers, &expected, Arc::new(self.0)).await;
        judge(check, &served).0
    }
}

/// `zone` as read for the cluster under the service name `name`.
async fn read_named(c: &DiscoveryCheck, name: &str, zone: Canned) -> Served {
    read(D, Some(name), &c.servers, &BTreeSet::new(), Arc::new(zone)).await
}

fn check() -> DiscoveryCheck {
    let mut c = DiscoveryCheck::new(D);
    c.servers = vec![server()];
    c
}

fn on(version: &str) -> DiscoveryCheck {
    let mut c = check();
    c.version = Some(EtcdVersion::parse(version).unwrap());
    c
}

fn http(mut c: DiscoveryCheck) -> DiscoveryCheck {
    c.scheme = Some(Scheme::Http);
    c
}

/// The findings as (id, severity, subject).
fn ids(findings: &[Finding]) -> Vec<(&str, Severity, &str)> {
    let found = findings.iter();
    found
        .map(|f| (f.id, f.severity, f.subject.as_str()))
        .collect()
}

fn only(findings: &[Finding]) -> &Finding {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    &findings[0]
}

/// The one finding, which is `want` (its id, severity and subject).
fn one<'a>(findings: &'a [Finding], want: (&str, Severity, &str)) -> &'a Finding {
    let f = only(findings);
    assert_eq!((f.id, f.severity, f.subject.as_str()), want);
    f
}

/// Asserts that a finding's text (its message or fix) says `part`.
fn says(text: &str, part: &str) {
    assert!(text.contains(part), "{text}");
}

#[tokio::test]
async fn a_clean_ssl_set_has_no_findings_on_any_version() {
    for c in [check(), on("3.4"), on("3.5")] {
        let got = Zone::default().members(SSL, CSSL).judge(&c).await;
        assert!(got.is_empty(), "{got:#?}");
    }
}

#[tokio::test]
async fn a_plain_set_fails_on_3_4_only() {
    let zone = || Zone::default().members(PLAIN, CPLAIN);
    let f = zone().judge(&on("3.4")).await;
    let f = one(&f, ("plain-srv-on-3.4", Severity::Error, PLAIN));
    says(&f.message, "couldn't resolve during SRV discovery");
    assert_eq!(f.evidence.len(), 3);
    assert_eq!(
        f.evidence[0],
        "_etcd-server._tcp.d.test. 300 IN SRV 0 0 2380 n1.d.test."
    );
    assert!(zone().judge(&on("3.5")).await.is_empty());
    // Not knowing the version: the end-of-life release would fail, said as a warning.
    let f = zone().judge(&check()).await;
    assert_eq!(ids(&f), [("plain-srv-on-3.4", Severity::Warning, PLAIN)]);
    assert!(f[0].fix.contains("--etcd-version"), "{}", f[0].fix);
}

#[tokio::test]
async fn both_sets_with_http_members_fail_on_both_versions() {
    let zone = || Zone::default().members(SSL, CSSL).members(PLAIN, CPLAIN);
    let f = zone().judge(&http(on("3.5"))).await;
    let f = only(&f);
    assert_eq!((f.id, f.severity), ("both-srv-sets", Severity::Error));
    assert!(f.message.contains("cluster ID mismatch"));
    // Both sets are the evidence.
    assert_eq!(f.evidence.len(), 6, "{:?}", f.evidence);
    let f = zone().judge(&http(on("3.4"))).await;
    assert_eq!(ids(&f), [("scheme-mismatch", Severity::Error, SSL)]);
    // Not knowing the version: failing on 3.4 alone is a warning, on 3.5 an error.
    let f = zone().judge(&http(check())).await;
    assert_eq!(
        ids(&f),
        [
            ("scheme-mismatch", Severity::Warning, SSL),
            ("both-srv-sets", Severity::Error, SSL)
        ]
    );
    // https members on 3.4, which reads the -ssl set alone, come up.
    let mut tls = on("3.4");
    tls.scheme = Some(Scheme::Https);
    assert!(zone().judge(&tls).await.is_empty());
}

#[tokio::test]
async fn an_ssl_set_with_http_members_fails() {
    for c in [http(on("3.4")), http(on("3.5")), http(check())] {
        let f = Zone::default().members(SSL, CSSL).judge(&c).await;
        let f = one(&f, ("scheme-mismatch", Severity::Error, SSL));
        assert!(f.message.contains("cannot find local etcd member"));
        says(&f.fix, PLAIN);
    }
}

#[tokio::test]
async fn priority_and_port_swapped_is_said_with_the_record_fixed() {
    let zone = Zone::default()
        .members("", CSSL)
        .srv(SSL, 2380, 0, 0, "n1.d.test")
        .srv(SSL, 0, 0, 2380, "n2.d.test")
        .srv(SSL, 0, 0, 2380, "n3.d.test");
    let f = zone.judge(&check()).await;
    let f = one(&f, ("srv-fields-swapped", Severity::Error, SSL));
    assert_eq!(
        f.evidence,
        ["_etcd-server-ssl._tcp.d.test. 300 IN SRV 2380 0 0 n1.d.test."]
    );
    says(
        &f.fix,
        "_etcd-server-ssl._tcp.d.test. 300 IN SRV 0 0 2380 n1.d.test.",
    );
}

#[tokio::test]
async fn an_srv_port_other_than_the_advertised_one_fails() {
    let zone = || {
        Zone::default()
            .members("", CSSL)
            .srv(SSL, 0, 0, 2381, "n1.d.test")
            .srv(SSL, 0, 0, 2381, "n2.d.test")
            .srv(SSL, 0, 0, 2381, "n3.d.test")
    };
    let f = zone().judge(&check()).await;
    let f = only(&f);
    assert_eq!((f.id, f.severity), ("srv-port-mismatch", Severity::Error));
    assert!(f.message.contains("port 2381") && f.message.contains("advertise port 2380"));
    assert_eq!(f.evidence.len(), 3);
    // Members that advertise 2381 are matched.
    let mut c = check();
    c.peer_port = 2381;
    assert!(zone().judge(&c).await.is_empty());
}

#[tokio::test]
async fn members_advertising_another_port_than_the_records_fail() {
    let mut c = check();
    c.peer_port = 2390;
    let f = Zone::default().members(SSL, CSSL).judge(&c).await;
    let f = only(&f);
    assert_eq!((f.id, f.subject.as_str()), ("srv-port-mismatch", SSL));
    says(&f.message, "advertise port 2390");
}

#[tokio::test]
async fn a_member_missing_from_the_peer_set_fails() {
    let zone = || {
        Zone::default()
            .members("", CSSL)
            .srv(SSL, 0, 0, 2380, "n1.d.test")
            .srv(SSL, 0, 0, 2380, "n2.d.test")
    };
    let f = zone().judge(&check()).await;
    let f = one(&f, ("member-missing", Severity::Error, "n3.d.test"));
    assert_eq!(
        f.evidence[0],
        "_etcd-client-ssl._tcp.d.test. 300 IN SRV 0 0 2379 n3.d.test."
    );
    assert!(f.fix.contains("SRV 0 0 2380 n3.d.test."));
    // The members a script starts are the ones that count.
    let mut c = check();
    c.peers = Some(
        ["n1.d.test", "n2.d.test", "n3.d.test"]
            .map(String::from)
            .into(),
    );
    let f = Zone::default()
        .members("", "")
        .srv(SSL, 0, 0, 2380, "n1.d.test")
        .srv(SSL, 0, 0, 2380, "n2.d.test")
        .judge(&c)
        .await;
    assert!(
        ids(&f).contains(&("member-missing", Severity::Error, "n3.d.test")),
        "{f:#?}"
    );
}

#[tokio::test]
async fn an_extra_peer_target_costs_fault_tolerance() {
    let zone = Zone::default()
        .members(SSL, CSSL)
        .a("n4.d.test", "198.18.1.4")
        .srv(SSL, 0, 0, 2380, "n4.d.test");
    let f = zone.judge(&check()).await;
    let f = one(&f, ("phantom-target", Severity::Warning, "n4.d.test"));
    says(
        &f.message,
        "has 4 members and needs 3 for a quorum; the 3 that run can lose 0 of them, where 3 alone could lose 1",
    );
    assert_eq!(
        f.evidence,
        ["_etcd-server-ssl._tcp.d.test. 300 IN SRV 0 0 2380 n4.d.test."]
    );
}

#[tokio::test]
async fn a_target_without_an_address_fails() {
    let zone = Zone::default()
        .members(SSL, CSSL)
        .srv(SSL, 0, 0, 2380, "n4.d.test")
        .srv(CSSL, 0, 0, 2379, "n4.d.test");
    let f = zone.judge(&check()).await;
    let f = one(&f, ("target-no-address", Severity::Error, "n4.d.test"));
    assert!(f.message.contains("no such host"));
    assert_eq!(
        f.evidence.last().unwrap(),
        "n4.d.test. A/AAAA: NXDOMAIN (no such name) at 198.18.0.1:53"
    );
}

#[tokio::test]
async fn two_targets_at_one_address_fail() {
    let zone = Zone::default()
        .srv(SSL, 0, 0, 2380, "n1.d.test")
        .srv(SSL, 0, 0, 2380, "n2.d.test")
        .srv(CSSL, 0, 0, 2379, "n1.d.test")
        .srv(CSSL, 0, 0, 2379, "n2.d.test")
        .a("n1.d.test", "198.18.1.1")
        .a("n2.d.test", "198.18.1.1");
    let f = zone.judge(&check()).await;
    let f = one(&f, ("duplicate-address", Severity::Error, "198.18.1.1"));
    assert_eq!(
        f.evidence,
        [
            "n1.d.test. 300 IN A 198.18.1.1",
            "n2.d.test. 300 IN A 198.18.1.1"
        ]
    );
}

#[tokio::test]
async fn a_loopback_target_is_a_warning() {
    let zone = Zone::default()
        .members(SSL, CSSL)
        .a("n4.d.test", "127.0.0.1")
        .srv(SSL, 0, 0, 2380, "n4.d.test")
        .srv(CSSL, 0, 0, 2379, "n4.d.test");
    let f = zone.judge(&check()).await;
    let f = one(&f, ("loopback-target", Severity::Warning, "n4.d.test"));
    assert_eq!(f.evidence, ["n4.d.test. 300 IN A 127.0.0.1"]);
}

#[tokio::test]
async fn misspelt_peer_owners_are_named() {
    for (owner, how) in [
        ("_etcd_server-ssl._tcp.d.test", "underscore"),
        ("_etcd-server-ssl.d.test", "no _tcp"),
    ] {
        let f = Zone::default().members(owner, CSSL).judge(&check()).await;
        let f = one(&f, ("server-srv-misspelt", Severity::Error, owner));
        says(&f.message, how);
        says(
            &f.message,
            "error querying DNS SRV records for _etcd-server-ssl",
        );
        assert_eq!(f.evidence.len(), 3);
        assert_eq!(f.fix, format!("publish the same records under {SSL}"));
    }
}

#[tokio::test]
async fn no_client_set_is_a_warning() {
    let f = Zone::default().members(SSL, "").judge(&check()).await;
    one(&f, ("no-client-srv", Severity::Warning, CSSL));
}

#[tokio::test]
async fn a_misspelt_client_owner_is_a_warning() {
    let owner = "_etcd_client-ssl._tcp.d.test";
    let f = Zone::default().members(SSL, owner).judge(&check()).await;
    let f = one(&f, ("client-srv-misspelt", Severity::Warning, owner));
    assert!(f.message.contains(CSSL));
}

#[tokio::test]
async fn a_cname_target_is_a_warning() {
    let zone = Zone::default()
        .srv(SSL, 0, 0, 2380, "n1.d.test")
        .srv(CSSL, 0, 0, 2379, "n1.d.test")
        .cname("n1.d.test", "h1.d.test")
        .a("h1.d.test", "198.18.1.1");
    let f = zone.judge(&check()).await;
    let f = one(&f, ("cname-target", Severity::Warning, "n1.d.test"));
    assert_eq!(
        f.evidence,
        [
            "n1.d.test. 300 IN CNAME h1.d.test.",
            "h1.d.test. 300 IN A 198.18.1.1"
        ]
    );
}

#[tokio::test]
async fn targets_outside_the_domain_are_fine() {
    let mut zone = Zone::default();
    for i in 1..=3 {
        let name = format!("m{i}.hosts.test");
        zone = zone
            .a(&name, &format!("198.18.1.{i}"))
            .srv(SSL, 0, 0, 2380, &name)
            .srv(CSSL, 0, 0, 2379, &name);
    }
    let f = zone.judge(&check()).await;
    assert!(f.is_empty(), "{f:#?}");
}

#[tokio::test]
async fn no_records_at_all_is_one_finding() {
    let f = Zone::default().judge(&check()).await;
    let f = one(&f, ("no-records", Severity::Error, D));
    assert_eq!(f.evidence.len(), 4);
    assert_eq!(
        f.evidence[0],
        "_etcd-server-ssl._tcp.d.test. SRV: NXDOMAIN (no such name) at 198.18.0.1:53"
    );
}

#[tokio::test]
async fn a_server_without_the_zone_is_a_finding() {
    let zone = Canned {
        refused: true,
        ..Canned::default()
    };
    let served = read(D, None, &[server()], &BTreeSet::new(), Arc::new(zone)).await;
    let (f, _) = judge(&check(), &served);
    let f = only(&f);
    assert_eq!((f.id, f.severity), ("no-zone", Severity::Error));
    assert_eq!(f.evidence, ["d.test. SOA: REFUSED at 198.18.0.1:53"]);
}

#[tokio::test]
async fn a_server_with_the_records_and_no_soa_is_read_as_etcd_reads_it() {
    let mut zone = Zone::default().members(SSL, CSSL).0;
    zone.no_soa = true;
    let served = read(D, None, &[server()], &BTreeSet::new(), Arc::new(zone)).await;
    let (f, unchecked) = judge(&check(), &served);
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(unchecked.len(), 1, "{unchecked:?}");
    assert!(
        unchecked[0].starts_with("198.18.0.1:53 answers the SRV questions but serves no SOA"),
        "{unchecked:?}"
    );
    // The same server with the priority and port of every peer record swapped.
    let mut swapped = Zone::default().members("", CSSL);
    for i in 1..=3 {
        swapped = swapped.srv(SSL, 2380, 0, 0, &format!("n{i}.{D}"));
    }
    swapped.0.no_soa = true;
    let served = read(D, None, &[server()], &BTreeSet::new(), Arc::new(swapped.0)).await;
    let (f, _) = judge(&check(), &served);
    assert!(f.iter().any(|f| f.severity == Severity::Error), "{f:#?}");
    assert!(f.iter().all(|f| f.id != "no-zone"), "{f:#?}");
}

/// Two servers, each with its own zone.
struct Two(HashMap<SocketAddr, Canned>);

#[async_trait]
impl Ask for Two {
    async fn ask(&self, server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
        self.0[&server].ask(server, name, rtype).await
    }
}

#[tokio::test]
async fn servers_that_disagree_are_an_error() {
    let other: SocketAddr = "198.18.0.53:53".parse().unwrap();
    let full = Zone::default().members(SSL, CSSL).0;
    let short = Zone::default()
        .members("", CSSL)
        .srv(SSL, 0, 0, 2380, "n1.d.test")
        .srv(SSL, 0, 0, 2380, "n2.d.test")
        .0;
    let mut c = check();
    c.servers.push(other);
    let two = Two(HashMap::from([(server(), full), (other, short)]));
    let served = read(D, None, &c.servers, &BTreeSet::new(), Arc::new(two)).await;
    let (f, _) = judge(&c, &served);
    let f = one(&f, ("servers-disagree", Severity::Error, SSL));
    assert!(f.message.contains("etcd-io/etcd#3553"));
    let from_other = f
        .evidence
        .iter()
        .filter(|e| e.starts_with("198.18.0.53:53: "));
    assert_eq!(from_other.count(), 2, "{:?}", f.evidence);
}

#[tokio::test]
async fn a_compressed_target_is_an_error() {
    let mut zone = Zone::default().members("", CSSL);
    for i in 1..=3 {
        zone.0.add(
            SSL,
            RrData::Srv {
                priority: 0,
                weight: 0,
                port: 2380,
                target: format!("n{i}.d.test"),
                compressed: i == 2,
            },
        );
    }
    let f = zone.judge(&check()).await;
    let f = one(&f, ("srv-target-compressed", Severity::Error, SSL));
    assert_eq!(
        f.evidence,
        ["_etcd-server-ssl._tcp.d.test. 300 IN SRV 0 0 2380 n2.d.test."]
    );
}

#[tokio::test]
async fn a_service_name_moves_every_owner() {
    let owner = "_etcd-server-ssl-blue._tcp.d.test";
    let mut c = check();
    c.service_name = Some("blue".into());
    let zone = Zone::default().members(owner, "_etcd-client-ssl-blue._tcp.d.test");
    let served = read_named(&c, "blue", zone.0).await;
    assert!(judge(&c, &served).0.is_empty());
    // The records without the name are not the cluster's.
    let zone = Zone::default().members(SSL, CSSL);
    let served = read_named(&c, "blue", zone.0).await;
    let found: BTreeSet<&str> = judge(&c, &served).0.iter().map(|f| f.id).collect();
    assert_eq!(found, BTreeSet::from(["no-records"]));
}

/// Answers only the first server; the other never answers.
struct OneSilent(Canned);

#[async_trait]
impl Ask for OneSilent {
    async fn ask(&self, server: SocketAddr, name: &str, rtype: RecordType) -> Lookup {
        if server == self::server() {
            self.0.ask(server, name, rtype).await
        } else {
            Lookup::Failed("no answer within 1s".into())
        }
    }
}

#[tokio::test]
async fn a_server_that_does_not_answer_beside_others_is_a_warning() {
    let other: SocketAddr = "198.18.0.53:53".parse().unwrap();
    let mut c = check();
    c.servers.push(other);
    let zone = OneSilent(Zone::default().members(SSL, CSSL).0);
    let served = read(D, None, &c.servers, &BTreeSet::new(), Arc::new(zone)).await;
    let (f, _) = judge(&c, &served);
    let f = one(
        &f,
        ("server-no-answer", Severity::Warning, "198.18.0.53:53"),
    );
    assert_eq!(
        f.evidence,
        ["d.test. SOA: no answer from 198.18.0.53:53: no answer within 1s"]
    );
}

#[tokio::test]
async fn a_certificate_that_does_not_name_its_member_is_an_error() {
    use super::super::certs::{Cert, Sans};
    let mut c = check();
    c.certs = Some("/pki".into());
    let mut served = read(
        D,
        None,
        &c.servers,
        &BTreeSet::new(),
        Arc::new(Zone::default().members(SSL, CSSL).0),
    )
    .await;
    let cert = |dns: &[&str], ips: &[&str]| {
        Cert::Read(Sans {
            file: "/pki/n.crt".into(),
            dns: dns.iter().map(|d| d.to_string()).collect(),
            ips: ips.iter().map(|i| i.parse().unwrap()).collect(),
        })
    };
    served.certs.insert(
        "n1.d.test".into(),
        cert(&["n1.d.test", "d.test"], &["198.18.1.1"]),
    );
    // A wildcard names it; its address is there through the name.
    served
        .certs
        .insert("n2.d.test".into(), cert(&["*.d.test", "n2.d.test"], &[]));
    served
        .certs
        .insert("n3.d.test".into(), cert(&["other.d.test"], &["198.18.1.9"]));
    let (f, unchecked) = judge(&c, &served);
    let f = one(&f, ("cert-mismatch", Severity::Error, "n3.d.test"));
    says(
        &f.message,
        "x509: certificate is valid for other.d.test, not n3.d.test",
    );
    says(&f.message, "neither 198.18.1.3 nor a name resolving to it");
    assert_eq!(f.evidence[0], "/pki/n.crt: DNS other.d.test; IP 198.18.1.9");
    assert!(unchecked.is_empty(), "{unchecked:?}");
    // A member without a certificate in the folder is said not to be checked.
    served
        .certs
        .insert("n1.d.test".into(), Cert::Missing("/pki/n1.crt".into()));
    let (_, unchecked) = judge(&c, &served);
    assert_eq!(
        unchecked,
        ["the certificate of n1.d.test: there is no /pki/n1.crt"]
    );
}
