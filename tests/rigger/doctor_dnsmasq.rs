//! The doctor reads any server etcd would read from (issue 28): a dnsmasq with local
//! records answers etcd's SRV and address questions, is not authoritative and serves no
//! SOA. The doctor judges what it serves as etcd does, and notes the missing SOA.

use crate::harness::dnsmasq::{Dnsmasq, Srv};
use crate::harness::named::add_lab_address;
use crate::harness::{LabRig, Rig};

const AT: &str = "198.18.0.55";

/// A cluster's SRV records as `dig +short` gives them: (priority, weight, port, target).
fn srv_set(lab: &LabRig, owner: &str) -> Vec<(u16, u16, u16, String)> {
    let out = lab.run_in_host(0, &["dig", "+short", "SRV", owner]);
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| f[i].parse::<u16>().unwrap();
            (n(0), n(1), n(2), f[3].trim_end_matches('.').to_string())
        })
        .collect()
}

#[test]
fn a_clean_cluster_served_by_dnsmasq_is_clean_and_swapped_fields_are_an_error() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let owners = [
        "_etcd-server-ssl._tcp.example.test",
        "_etcd-client-ssl._tcp.example.test",
    ];
    let sets: Vec<_> = owners.iter().map(|o| srv_set(&lab, o)).collect();
    assert_eq!(sets[0].len(), 3, "{sets:?}");
    let mut hosts = Vec::new();
    for (.., target) in &sets[0] {
        let ip = lab.run_in_host(0, &["dig", "+short", "A", target]);
        hosts.push((target.clone(), ip.trim().to_string()));
    }
    let up = lab.run(&["lab", "up"]);
    let netns = up.success().stdout.trim().to_string();
    add_lab_address(&netns, AT);
    let launcher = ["ip", "netns", "exec", netns.as_str()];
    let hosts: Vec<(&str, &str)> = hosts
        .iter()
        .map(|(n, i)| (n.as_str(), i.as_str()))
        .collect();
    let serve = |swap: bool| {
        let srv: Vec<Srv> = owners
            .iter()
            .zip(&sets)
            .flat_map(|(owner, set)| {
                set.iter().map(move |(priority, weight, port, target)| {
                    let (priority, port) = if swap && owner.contains("server") {
                        (*port, *priority)
                    } else {
                        (*priority, *port)
                    };
                    Srv {
                        owner,
                        target,
                        port,
                        priority,
                        weight: *weight,
                    }
                })
            })
            .collect();
        Dnsmasq::serve(&launcher, AT, 53, &srv, &hosts)
    };
    let server = format!("{AT}:53");
    let doctor = [
        "doctor",
        "--discovery-srv",
        "example.test",
        "--dns-server",
        &server,
    ];

    let dnsmasq = serve(false);
    let out = lab.run(&doctor);
    out.success()
        .stdout_has("example.test: no findings")
        .stdout_has(&format!(
            "not checked: {server} answers the SRV questions but serves no SOA"
        ));
    drop(dnsmasq);

    let dnsmasq = serve(true);
    let out = lab.run(&[&doctor[..], &["--json"]].concat());
    out.failure(4);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"no-zone"), "{report:#}");
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error"),
        "{report:#}"
    );
    drop(dnsmasq);
    lab.destroy().leaves_nothing();
}

/// No lab, no `--target`, no credentials: the doctor asks the server from this machine.
/// The records point at loopback addresses, so nothing leaves the machine even when the
/// doctor asks the members for their membership.
#[test]
fn the_doctor_with_a_dns_server_needs_no_lab() {
    let port = crate::harness::free_port();
    let srv: Vec<Srv> = (1..=3)
        .map(|i| Srv {
            owner: "_etcd-server-ssl._tcp.d.test",
            target: ["n1.d.test", "n2.d.test", "n3.d.test"][i - 1],
            port: 2380,
            priority: 0,
            weight: 0,
        })
        .collect();
    let hosts = [
        ("n1.d.test", "127.0.0.71"),
        ("n2.d.test", "127.0.0.72"),
        ("n3.d.test", "127.0.0.73"),
    ];
    let _dnsmasq = Dnsmasq::serve(&["env"], "127.0.0.1", port, &srv, &hosts);
    let doctor = |server: &str| {
        let args = [
            "doctor",
            "--discovery-srv",
            "d.test",
            "--dns-server",
            server,
        ];
        Rig::new().args(&args).run()
    };
    let server = format!("127.0.0.1:{port}");
    let out = doctor(&server);
    out.stdout_lacks("no-zone").stderr_lacks("there is no lab");
    // Warnings only, no error: no client records (etcd starts, its clients cannot find
    // it) and targets at loopback; the SOA dnsmasq refuses is a note.
    out.failure(3)
        .stdout_has("warning[no-client-srv]")
        .stdout_has("warning[loopback-target]")
        .stdout_has(&format!(
            "not checked: {server} answers the SRV questions but serves no SOA for d.test (REFUSED)"
        ))
        .stdout_has("0 errors, 4 warnings");
    // A lab address without a lab is refused, naming it.
    let out = doctor("198.18.0.55:53");
    out.failure(1)
        .stderr_has("--dns-server 198.18.0.55:53 is a lab address, and there is no lab");
}
