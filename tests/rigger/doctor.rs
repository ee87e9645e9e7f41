//! `rigger doctor` against every zone of issue 13's table, served for real: each test
//! builds the zone in the lab, runs the doctor and checks the finding's id, severity
//! and evidence; for the zones the doctor calls errors, real etcd members (3.4 and
//! 3.5.1) are then started against the zone and must really fail, so every verdict is
//! checked against etcd and not against our belief. Lab tests: they need root.

use serde_json::Value;

use crate::harness::doctor::*;

#[test]
fn a_clean_ssl_zone_has_no_findings_and_etcd_comes_up() {
    let Some(z) = ZoneLab::new(&members(SSL, CSSL, 2380)) else {
        return;
    };
    let (out, report) = z.doctor(&[]);
    out.success();
    assert_eq!(report["status"], "clean", "{report:#}");
    assert_eq!(report["findings"], Value::Array(Vec::new()));
    z.start(ETCD_3_4, Member::TLS).come_up(LIMIT);
    z.leaves_nothing();
}

#[test]
fn a_plain_zone_fails_on_3_4_and_comes_up_on_3_5() {
    let Some(z) = ZoneLab::new(&members(PLAIN, CPLAIN, 2380)) else {
        return;
    };
    let f = z.finds(&["--etcd-version", "3.4"], 4, "plain-srv-on-3.4", "error");
    assert_eq!(f["subject"], "_etcd-server._tcp.dr.test");
    evidence_has(
        &f,
        "_etcd-server._tcp.dr.test. 300 IN SRV 0 0 2380 n1.dr.test.",
    );
    z.start(ETCD_3_4, Member::PLAIN)
        .fail_with("couldn't resolve during SRV discovery", LIMIT);
    // 3.5 reads the plain records: clean, and it comes up.
    let (out, _) = z.doctor(&["--etcd-version", "3.5"]);
    out.success();
    z.start(&etcd_3_5(), Member::PLAIN).come_up(LIMIT);
    // Not knowing the version, the end-of-life 3.4's failure is a warning.
    z.finds(&[], 3, "plain-srv-on-3.4", "warning");
    z.leaves_nothing();
}

#[test]
fn both_sets_with_http_members_fail_on_both_versions() {
    let records = format!(
        "{}\nfor n in h {{ srv(\"{PLAIN}\", 0, 0, 2380, n.name); }}",
        members(SSL, CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let http = ["--scheme", "http", "--etcd-version"];
    let f = z.finds(&[&http[..], &["3.5"]].concat(), 4, "both-srv-sets", "error");
    evidence_has(
        &f,
        "_etcd-server._tcp.dr.test. 300 IN SRV 0 0 2380 n2.dr.test.",
    );
    evidence_has(
        &f,
        "_etcd-server-ssl._tcp.dr.test. 300 IN SRV 0 0 2380 n2.dr.test.",
    );
    z.start(&etcd_3_5(), Member::PLAIN)
        .fail_with("cluster ID mismatch", LIMIT);
    z.finds(
        &[&http[..], &["3.4"]].concat(),
        4,
        "scheme-mismatch",
        "error",
    );
    z.start(ETCD_3_4, Member::PLAIN)
        .fail_with("cannot find local etcd member", LIMIT);
    z.leaves_nothing();
}

#[test]
fn an_ssl_zone_with_http_members_fails() {
    let Some(z) = ZoneLab::new(&members(SSL, CSSL, 2380)) else {
        return;
    };
    for etcd in both() {
        let version = if etcd == ETCD_3_4 { "3.4" } else { "3.5" };
        let http = ["--scheme", "http", "--etcd-version", version];
        let f = z.finds(&http, 4, "scheme-mismatch", "error");
        assert_eq!(f["subject"], "_etcd-server-ssl._tcp.dr.test");
        z.start(&etcd, Member::PLAIN)
            .fail_with("cannot find local etcd member", LIMIT);
    }
    z.leaves_nothing();
}

#[test]
fn swapped_priority_and_port_fail() {
    let records = format!(
        "{}\nfor n in h {{ srv(\"{SSL}\", 2380, 0, 0, n.name); }}",
        members("", CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let f = z.finds(&[], 4, "srv-fields-swapped", "error");
    evidence_has(
        &f,
        "_etcd-server-ssl._tcp.dr.test. 300 IN SRV 2380 0 0 n3.dr.test.",
    );
    z.fails_on_both(Member::TLS, "cannot find local etcd member");
    z.leaves_nothing();
}

#[test]
fn an_srv_port_other_than_the_advertised_one_fails() {
    let Some(z) = ZoneLab::new(&members(SSL, CSSL, 2381)) else {
        return;
    };
    let f = z.finds(&[], 4, "srv-port-mismatch", "error");
    evidence_has(
        &f,
        "_etcd-server-ssl._tcp.dr.test. 300 IN SRV 0 0 2381 n1.dr.test.",
    );
    z.fails_on_both(Member::TLS, "cannot find local etcd member");
    z.leaves_nothing();
}

#[test]
fn members_advertising_another_port_than_the_zone_fail() {
    let Some(z) = ZoneLab::new(&members(SSL, CSSL, 2380)) else {
        return;
    };
    let f = z.finds(&["--peer-port", "2390"], 4, "srv-port-mismatch", "error");
    message_has(&f, "advertise port 2390");
    let member = Member {
        peer_port: 2390,
        ..Member::TLS
    };
    z.fails_on_both(member, "cannot find local etcd member");
    z.leaves_nothing();
}

#[test]
fn a_member_missing_from_the_peer_set_is_left_out() {
    let records = format!(
        "{}\nsrv(\"{SSL}\", 0, 0, 2380, \"n1\");\nsrv(\"{SSL}\", 0, 0, 2380, \"n2\");",
        members("", CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let f = z.finds(&[], 4, "member-missing", "error");
    assert_eq!(f["subject"], "n3.dr.test");
    evidence_has(
        &f,
        "_etcd-client-ssl._tcp.dr.test. 300 IN SRV 0 0 2379 n3.dr.test.",
    );
    z.member_fails_on_both(Member::TLS, 2, "cannot find local etcd member");
    z.leaves_nothing();
}

#[test]
fn an_extra_peer_target_is_a_warning() {
    let records = format!(
        "{}\na(\"n4\", \"198.18.1.99\");\nsrv(\"{SSL}\", 0, 0, 2380, \"n4\");",
        members(SSL, CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let f = z.finds(&[], 3, "phantom-target", "warning");
    assert_eq!(f["subject"], "n4.dr.test");
    assert_eq!(
        f["evidence"][0],
        "_etcd-server-ssl._tcp.dr.test. 300 IN SRV 0 0 2380 n4.dr.test."
    );
    message_has(&f, "has 4 members and needs 3 for a quorum");
    z.leaves_nothing();
}

/// SRV records of every host under both owners, and A records of the hosts `a` names
/// (an index into `h` each): a zone whose members' addresses are as a test breaks them.
fn addressed(a: &[(&str, usize)]) -> String {
    let mut records = format!(
        "for n in h {{ srv(\"{SSL}\", 0, 0, 2380, n.name); srv(\"{CSSL}\", 0, 0, 2379, n.name); }}"
    );
    for (name, host) in a {
        records.push_str(&format!("\na(\"{name}\", h[{host}].private_ip);"));
    }
    records
}

#[test]
fn a_target_without_an_address_is_left_out() {
    let Some(z) = ZoneLab::new(&addressed(&[("n1", 0), ("n2", 1)])) else {
        return;
    };
    let f = z.finds(&[], 4, "target-no-address", "error");
    assert_eq!(f["subject"], "n3.dr.test");
    evidence_has(
        &f,
        "n3.dr.test. A/AAAA: NXDOMAIN (no such name) at 198.18.0.1:53",
    );
    z.member_fails_on_both(Member::TLS, 2, "no such host");
    z.leaves_nothing();
}

#[test]
fn two_targets_at_one_address_fail() {
    let Some(z) = ZoneLab::new(&addressed(&[("n1", 0), ("n2", 1), ("n3", 1)])) else {
        return;
    };
    let f = z.finds(&[], 4, "duplicate-address", "error");
    let ip = &z.ips[1];
    assert_eq!(f["subject"], ip.as_str());
    evidence_has(&f, &format!("n3.dr.test. 300 IN A {ip}"));
    z.fails_on_both(Member::TLS, "missing from --initial-advertise-peer-urls");
    z.leaves_nothing();
}

#[test]
fn a_target_at_loopback_is_a_warning() {
    let records = format!(
        "{}\na(\"n4\", \"127.0.0.1\");\n\
         srv(\"{SSL}\", 0, 0, 2380, \"n4\");\nsrv(\"{CSSL}\", 0, 0, 2379, \"n4\");",
        members(SSL, CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let f = z.finds(&[], 3, "loopback-target", "warning");
    assert_eq!(f["subject"], "n4.dr.test");
    assert_eq!(f["evidence"][0], "n4.dr.test. 300 IN A 127.0.0.1");
    z.leaves_nothing();
}

#[test]
fn no_client_records_is_a_warning() {
    let Some(z) = ZoneLab::new(&members(SSL, "", 2380)) else {
        return;
    };
    let f = z.finds(&[], 3, "no-client-srv", "warning");
    assert_eq!(f["subject"], "_etcd-client-ssl._tcp.dr.test");
    evidence_has(
        &f,
        "_etcd-client-ssl._tcp.dr.test. SRV: NXDOMAIN (no such name) at 198.18.0.1:53",
    );
    z.leaves_nothing();
}

#[test]
fn a_cname_target_is_a_warning() {
    // n3's records name an alias of it.
    let records = format!(
        "members([h[0], h[1]], \"{SSL}\", \"{CSSL}\", 2380);\na(\"n3\", h[2].private_ip);\n\
         dns_record(#{{ name: \"alias3.dr.test\", type: \"CNAME\", content: \"n3.dr.test\" }});\n\
         srv(\"{SSL}\", 0, 0, 2380, \"alias3\");\nsrv(\"{CSSL}\", 0, 0, 2379, \"alias3\");"
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let f = z.finds(&[], 3, "cname-target", "warning");
    assert_eq!(f["subject"], "alias3.dr.test");
    let ip = &z.ips[2];
    assert_eq!(
        f["evidence"],
        serde_json::json!([
            "alias3.dr.test. 300 IN CNAME n3.dr.test.",
            format!("n3.dr.test. 300 IN A {ip}")
        ])
    );
    z.leaves_nothing();
}

#[test]
fn targets_outside_the_domain_are_clean() {
    let records = format!(
        "dns_zone(\"hosts.test\");\n\
         for n in h {{\n\
             dns_record(#{{ name: `${{n.name}}.hosts.test`, type: \"A\", content: n.private_ip }});\n\
             dns_record(#{{ name: \"{SSL}.dr.test\", type: \"SRV\", priority: 0, weight: 0, port: 2380, target: `${{n.name}}.hosts.test` }});\n\
             dns_record(#{{ name: \"{CSSL}.dr.test\", type: \"SRV\", priority: 0, weight: 0, port: 2379, target: `${{n.name}}.hosts.test` }});\n\
         }}\n\
         let own = pki_ca(\"hosts.test\");\n\
         for n in h {{ pki_cert(own, #{{ name: n.name, dns: [`${{n.name}}.hosts.test`], ips: [n.private_ip] }}); }}"
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    // With certificates of their own CA that name the targets, as the members would have.
    let (out, report) = z.doctor(&["--certs", &z.certs("hosts.test")]);
    out.success();
    assert_eq!(report["findings"], Value::Array(Vec::new()), "{report:#}");
    // The dr.test certificates name dr.test members, and are found not to fit.
    let (out, report) = z.doctor(&[]);
    out.failure(4);
    assert_eq!(report["findings"][0]["id"], "cert-mismatch", "{report:#}");
    z.leaves_nothing();
}

#[test]
fn no_srv_records_at_all_is_one_error_and_etcd_fails() {
    // The members' names resolve; nothing says who the peers are.
    let Some(z) = ZoneLab::new(&members("", "", 2380)) else {
        return;
    };
    let f = z.finds(&[], 4, "no-records", "error");
    assert_eq!(f["subject"], DOMAIN);
    assert_eq!(f["evidence"].as_array().unwrap().len(), 4, "{f:#}");
    z.fails_on_both(Member::TLS, "error querying DNS SRV records");
    z.leaves_nothing();
}

#[test]
fn a_domain_with_no_zone_is_a_finding_and_an_unreachable_server_cannot_be_checked() {
    let Some(z) = ZoneLab::new("") else { return };
    let (out, report) = z.doctor_for("nozone.test", &[]);
    out.failure(4);
    assert_eq!(report["findings"][0]["id"], "no-zone", "{report:#}");
    assert_eq!(
        report["findings"][0]["evidence"][0],
        "nozone.test. SOA: REFUSED at 198.18.0.1:53"
    );
    // Nothing listens there: nothing can be checked, said at once.
    let out = z.lab.run(&[
        "doctor",
        "--discovery-srv",
        DOMAIN,
        "--dns-server",
        "198.18.0.9:53",
    ]);
    out.failure(1)
        .stderr_has("cannot check dr.test: no server answered (198.18.0.9:53: ");
    z.leaves_nothing();
}

#[test]
fn a_cluster_from_rigger_run_cluster_has_no_findings() {
    let Some(lab) = crate::harness::LabRig::new() else {
        return;
    };
    let run = lab.run_cluster(&[]);
    run.reports_healthy(3, "example.test");
    // The check before etcd started found nothing to say.
    run.stderr_lacks("warning:");
    let out = lab.run(&["doctor", "--discovery-srv", "example.test"]);
    out.success();
    assert_eq!(
        out.stdout,
        "example.test: no findings; etcd will find its members as published (asked 198.18.0.1:53)\n"
    );
    // One member's own resolver asks where no server answers (a machine whose
    // resolv.conf was not pointed at the zone's servers): that member reads no peers.
    let name = &lab.host_names()[1];
    let resolv = lab.path(&format!("state/lab/hosts/{name}/resolv.conf"));
    let kept = std::fs::read_to_string(&resolv).unwrap();
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    let out = lab.run(&["doctor", "--discovery-srv", "example.test", "--json"]);
    out.failure(4);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["id"], "node-resolver-differs");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["subject"], name.as_str());
    let evidence = findings[0]["evidence"][0].as_str().unwrap();
    assert!(
        evidence.starts_with(&format!(
            "{name}: dig SRV _etcd-server-ssl._tcp.example.test: no answer ("
        )),
        "{evidence}"
    );
    std::fs::write(&resolv, kept).unwrap();
    lab.run(&["doctor", "--discovery-srv", "example.test"])
        .success();
    lab.destroy().leaves_nothing();
}

#[test]
fn the_cluster_script_stops_on_an_error_finding_before_any_etcd_starts_and_rolls_back() {
    let Some(lab) = crate::harness::LabRig::new() else {
        return;
    };
    // A stale plain-HTTP peer record left in the zone from some earlier cluster.
    lab.file(
        "stale.rhai",
        "dns_zone(\"example.test\");\ndns_record(#{ name: \"_etcd-server._tcp.example.test\", type: \"SRV\", priority: 0, weight: 0, port: 2380, target: \"old.example.test\" });\n",
    );
    lab.run(&["run", "stale.rhai"]).success();
    let out = lab.run_cluster(&["-v"]);
    out.failure(1)
        .stderr_has("× error both-srv-sets: _etcd-server-ssl._tcp.example.test: the peers are published under both")
        .stderr_has("help: keep only the set of the members' scheme")
        .stderr_has("rolling back");
    // The run's hosts are gone, and no etcd ever ran; the stale record is the other run's.
    assert!(lab.hosts().is_empty(), "{:?}", lab.hosts());
    out.stderr_has("removed instance etcd-")
        .stderr_lacks("removed etcd (pid");
    let zones = lab.status()["zones"].clone();
    assert_eq!(
        zones[0]["records"],
        serde_json::json!(["_etcd-server._tcp.example.test SRV 0 0 2380 old.example.test"]),
        "{zones}"
    );
    lab.destroy().leaves_nothing();
}

/// The cluster script's check (`etcd::check_discovery`, which `cluster.rhai` calls
/// before any etcd starts): a warning is said on stderr and the script goes on.
#[test]
fn the_cluster_scripts_check_says_a_warning_and_goes_on() {
    let Some(lab) = crate::harness::LabRig::new() else {
        return;
    };
    lab.file(
        "w.rhai",
        r#"import "etcd" as etcd;
dns_zone("example.test");
let n = launch_instance(#{ name: "n1" });
n.fqdn = "n1.example.test";
dns_record([
    #{ name: "n1.example.test", type: "A", content: n.private_ip },
    #{ name: "_etcd-server-ssl._tcp.example.test", type: "SRV", priority: 0, weight: 0, port: 2380, target: "n1.example.test" },
]);
wait_resolves(#{ "n1.example.test": n.private_ip });
let found = etcd::check_discovery("example.test", [n], true);
print(`went on after ${found.len()} finding: ${found[0].id}`);
"#,
    );
    let out = lab.run(&["-v", "run", "w.rhai"]);
    out.success()
        .stdout_is("went on after 1 finding: no-client-srv\n")
        .stderr_has("warning no-client-srv");
    lab.destroy().leaves_nothing();
}

/// The doctor page's example (docs/doctor.md): the zone it shows, and the doctor's report
/// of it word for word (the report names no address, so the hosts' do not matter).
#[test]
fn the_doctor_page_example_is_what_the_doctor_prints() {
    let Some(lab) = crate::harness::LabRig::new() else {
        return;
    };
    lab.file(
        "zone.rhai",
        r#"dns_zone("example.test");
for name in ["n1", "n2", "n3"] {
    let n = launch_instance(#{ name: name });
    dns_record(#{ name: `${name}.example.test`, type: "A", content: n.private_ip });
    dns_record(#{ name: "_etcd-client-ssl._tcp.example.test", type: "SRV", priority: 0, weight: 0, port: 2379, target: `${name}.example.test` });
}
fn peer(p, port, target) {
    dns_record(#{ name: "_etcd-server-ssl._tcp.example.test", type: "SRV", priority: p, weight: 0, port: port, target: target });
}
peer(2380, 0, "n1.example.test");
peer(0, 2380, "n2.example.test");
peer(0, 2380, "n4.example.test");
"#,
    );
    lab.run(&["run", "zone.rhai"]).success();
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/doctor.md")).unwrap();
    let command = "$ rigger doctor --discovery-srv example.test\n";
    let start = page.find(command).expect("docs/doctor.md shows the doctor") + command.len();
    let shown = &page[start..start + page[start..].find("```").unwrap()];
    let out = lab.run(&["doctor", "--discovery-srv", "example.test"]);
    out.failure(4);
    assert_eq!(out.stdout, shown);
    lab.destroy().leaves_nothing();
}

#[test]
fn certificates_without_the_domain_in_their_sans_are_clean_and_etcd_comes_up() {
    // Each member's certificate (of a CA of its own) names it and its address, not dr.test.
    let records = format!(
        "{}\nlet bare = pki_ca(\"bare.test\");\n\
         for n in h {{ pki_cert(bare, #{{ name: n.name, dns: [`${{n.name}}.dr.test`], ips: [n.private_ip] }}); }}",
        members(SSL, CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let (out, report) = z.doctor(&["--certs", &z.certs("bare.test")]);
    out.success();
    // Only the membership is unchecked: no member runs yet.
    let unchecked = report["unchecked"].as_array().unwrap();
    assert!(
        unchecked
            .iter()
            .all(|u| u.as_str().unwrap().starts_with("the membership: ")),
        "{report:#}"
    );
    let member = Member {
        pki: "bare.test",
        ..Member::TLS
    };
    for etcd in both() {
        z.start(&etcd, member).come_up(LIMIT);
    }
    z.leaves_nothing();
}

#[test]
fn certificates_that_do_not_name_their_member_are_an_error_and_etcd_fails() {
    let records = format!(
        "{}\nlet wrong = pki_ca(\"wrong.test\");\n\
         for n in h {{ pki_cert(wrong, #{{ name: n.name, dns: [\"someone.dr.test\"], ips: [] }}); }}",
        members(SSL, CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    // The certificates rigger made for dr.test are checked by default, and are right.
    z.doctor(&[]).0.success();
    let certs = z.certs("wrong.test");
    let (out, report) = z.doctor(&["--certs", &certs]);
    out.failure(4);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3, "{report:#}");
    let f = &findings[0];
    assert_eq!(
        (f["id"].as_str(), f["subject"].as_str()),
        (Some("cert-mismatch"), Some("n1.dr.test")),
        "{f:#}"
    );
    message_has(
        f,
        "x509: certificate is valid for someone.dr.test, not n1.dr.test",
    );
    assert_eq!(
        f["evidence"][0],
        format!("{certs}/n1.crt: DNS someone.dr.test; IP none")
    );
    let member = Member {
        pki: "wrong.test",
        ..Member::TLS
    };
    // A member refusing a peer's certificate says so at once, to the peer that sent
    // it; why (certificate is valid for someone.dr.test, not ...) only with its first
    // health probe, seconds later.
    z.fails_on_both(member, "remote error: tls: bad certificate");
    z.leaves_nothing();
}

#[test]
fn discovery_check_returns_the_findings_to_the_script() {
    let records = format!(
        "{}\na(\"n4\", \"127.0.0.1\");\n\
         srv(\"{SSL}\", 0, 0, 2380, \"n4\");\nsrv(\"{CSSL}\", 0, 0, 2379, \"n4\");\n\
         let peers = [\"n1.dr.test:2380\", \"n2.dr.test:2380\", \"n3.dr.test:2380\"];\n\
         let check = discovery_check(\"dr.test\", #{{ tls: true, etcd_version: \"3.5\", peers: peers }});\n\
         print(check.status);\n\
         for f in check.findings {{ print(`${{f.severity}} ${{f.id}} ${{f.subject}} ${{f.evidence[0]}}`); }}\n\
         print(check.findings[0].text);",
        members(SSL, CSSL, 2380)
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    // The script ran to its end: the check returns what it found, it throws nothing.
    let out = &z.made;
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "warning", "{}", out.stdout);
    // Against the members the script names, n4 is one too many.
    assert!(
        lines.contains(&"warning loopback-target n4.dr.test n4.dr.test. 300 IN A 127.0.0.1"),
        "{}",
        out.stdout
    );
    assert!(
        lines.contains(&"warning phantom-target n4.dr.test _etcd-server-ssl._tcp.dr.test. 300 IN SRV 0 0 2380 n4.dr.test."),
        "{}",
        out.stdout
    );
    assert!(
        lines.last().unwrap().starts_with("warning "),
        "{}",
        out.stdout
    );
    z.leaves_nothing();
}
