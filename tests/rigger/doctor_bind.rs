//! The doctor against a DNS server rigger did not write: BIND 9, loaded from a zone
//! file, inside the lab. The misspelt owners of issue 13's table are here, since rigger
//! itself refuses to publish them; and BIND beside rigger's own server, disagreeing.
//! Lab tests: they need root.

use crate::harness::doctor::*;

/// Every host under `server` (port 2380) and `client` (2379), as zone-file lines.
fn records(server: &str, client: &str) -> String {
    let mut out = String::new();
    for i in 1..=3 {
        out.push_str(&format!("{server} SRV 0 0 2380 n{i}.{DOMAIN}.\n"));
        out.push_str(&format!("{client} SRV 0 0 2379 n{i}.{DOMAIN}.\n"));
    }
    out
}

/// What etcd says when it finds no peer records under the owner it asks.
const UNREAD: &str = "error querying DNS SRV records for _etcd-server-ssl";

fn at_bind() -> [&'static str; 2] {
    ["--dns-server", "198.18.0.53:53"]
}

#[test]
fn an_underscore_in_the_peer_owner_is_an_error_and_etcd_fails() {
    let Some(z) = ZoneLab::bare(BIND) else { return };
    let bind = Named::for_zone(&z, &records("_etcd_server-ssl._tcp", CSSL));
    let f = z.finds(&at_bind(), 4, "server-srv-misspelt", "error");
    assert_eq!(f["subject"], "_etcd_server-ssl._tcp.dr.test");
    evidence_has(
        &f,
        "_etcd_server-ssl._tcp.dr.test. 300 IN SRV 0 0 2380 n1.dr.test.",
    );
    z.fails_on_both(Member::TLS, UNREAD);
    drop(bind);
    z.leaves_nothing();
}

#[test]
fn a_peer_owner_without_tcp_is_an_error_and_etcd_fails() {
    let Some(z) = ZoneLab::bare(BIND) else { return };
    let bind = Named::for_zone(&z, &records("_etcd-server-ssl", CSSL));
    let f = z.finds(&at_bind(), 4, "server-srv-misspelt", "error");
    assert_eq!(f["subject"], "_etcd-server-ssl.dr.test");
    message_has(&f, "has no _tcp label");
    z.fails_on_both(Member::TLS, UNREAD);
    drop(bind);
    z.leaves_nothing();
}

#[test]
fn a_misspelt_client_owner_is_a_warning_and_etcd_comes_up() {
    let Some(z) = ZoneLab::bare(BIND) else { return };
    let bind = Named::for_zone(&z, &records(SSL, "_etcd_client-ssl._tcp"));
    let f = z.finds(&at_bind(), 3, "client-srv-misspelt", "warning");
    assert_eq!(f["subject"], "_etcd_client-ssl._tcp.dr.test");
    message_has(&f, "_etcd-client-ssl._tcp.dr.test");
    // The members start: the weakness is the clients'.
    z.start(ETCD_3_4, Member::TLS).come_up(LIMIT);
    drop(bind);
    z.leaves_nothing();
}

#[test]
fn two_servers_that_disagree_are_an_error() {
    let Some(z) = ZoneLab::new(&members(SSL, CSSL, 2380)) else {
        return;
    };
    // BIND has the zone too, with n3's peer record not there yet.
    let lines: String = records(SSL, CSSL)
        .lines()
        .filter(|l| !(l.starts_with(SSL) && l.contains("n3.")))
        .map(|l| format!("{l}\n"))
        .collect();
    let bind = Named::for_zone(&z, &lines);
    let servers = [
        "--dns-server",
        "198.18.0.1:53",
        "--dns-server",
        "198.18.0.53:53",
    ];
    let f = z.finds(&servers, 4, "servers-disagree", "error");
    assert_eq!(f["subject"], "_etcd-server-ssl._tcp.dr.test");
    let evidence = f["evidence"].as_array().unwrap();
    let from = |server: &str| {
        evidence
            .iter()
            .filter(|e| e.as_str().unwrap().starts_with(server))
            .count()
    };
    assert_eq!(
        (from("198.18.0.1:53: "), from("198.18.0.53:53: ")),
        (3, 2),
        "{f:#}"
    );
    drop(bind);
    z.leaves_nothing();
}
