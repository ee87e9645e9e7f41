//! `rigger health` against a real lab cluster when things go wrong: a leader dying, the
//! wrong certificates, a domain with no zone. Lab tests: they need root, like `lab`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::LabRig;

/// The etcd pid of the lab host named `host`.
fn pid_of(lab: &LabRig, host: &str) -> i32 {
    let hosts = lab.hosts();
    let entry = hosts.iter().find(|h| h["name"] == host);
    let entry = entry.unwrap_or_else(|| panic!("no lab host {host} in {hosts:?}"));
    let procs = entry["processes"].as_array().unwrap().iter();
    let mut etcd = procs.filter_map(|p| p.as_str()?.strip_suffix(" etcd")?.parse().ok());
    etcd.next()
        .unwrap_or_else(|| panic!("no etcd on {host}: {entry}"))
}

#[test]
fn killing_the_leader_never_reads_as_no_quorum() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");

    // The leader, as etcd itself says: the member whose ID is its own leader's.
    let endpoints = lab
        .host_names()
        .into_iter()
        .map(|h| format!("https://{h}.example.test:2379"));
    let endpoints = format!("--endpoints={}", endpoints.collect::<Vec<_>>().join(","));
    let status = lab.etcdctl(0, &[&endpoints, "endpoint", "status", "-w", "json"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    let leader = status.as_array().unwrap().iter().find(|e| {
        let s = &e["Status"];
        s["leader"].as_u64().is_some() && s["leader"] == s["header"]["member_id"]
    });
    let leader = leader.unwrap_or_else(|| panic!("no leader in {status}"));
    let leader_id = format!("{:x}", leader["Status"]["leader"].as_u64().unwrap());
    let endpoint = leader["Endpoint"].as_str().unwrap().to_string();
    let host = endpoint
        .trim_start_matches("https://")
        .split('.')
        .next()
        .unwrap()
        .to_string();

    lab.kill(pid_of(&lab, &host));
    // The two left answer throughout, first without a leader, then with a new one:
    // never "no quorum".
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < Duration::from_secs(3) {
        let out = lab.run(&["health", "--discovery-srv", "example.test"]);
        assert!(
            !out.stdout.contains("no quorum") && out.code == Some(3),
            "{:?} after {:?}:\n{}{}",
            out.code,
            start.elapsed(),
            out.stdout,
            out.stderr
        );
        seen.push(out.stdout);
        std::thread::sleep(Duration::from_millis(50));
    }
    // Asked at once, the survivors were still without a leader, and said so.
    let first = &seen[0];
    assert_eq!(first.matches("(electing)").count(), 2, "{first}");
    assert!(
        first.contains(" answers but has no leader yet (electing)"),
        "{first}"
    );
    assert!(
        first.contains(
            "cluster is degraded: 0 of 3 members healthy, 2 electing a leader, quorum held"
        ),
        "{first}"
    );

    let settled = lab.health_settles_at(3);
    settled.stdout_has("cluster is degraded: 2 of 3 members healthy, quorum held");
    settled.stdout_has(&format!(
        "member {leader_id} is unhealthy: cannot reach {endpoint}: "
    ));
    assert_eq!(settled.stdout.matches(" is healthy: ").count(), 2);
    lab.destroy().leaves_nothing();
}

#[test]
fn wrong_or_missing_tls_files_are_a_setup_error_naming_the_file() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    // Another domain's cluster, for a CA and a client certificate that are real but not
    // this cluster's.
    lab.run_cluster(&["domain=other.test", "size=1"])
        .reports_healthy(1, "other.test");
    let file = |rel: &str| lab.path(rel).to_string_lossy().into_owned();
    let own = |name: &str| file(&format!("state/pki/example.test/{name}"));
    let other = |name: &str| file(&format!("state/pki/other.test/{name}"));
    let health = |flags: &[&str]| {
        let args = [&["health", "--discovery-srv", "example.test"][..], flags].concat();
        let out = lab.run(&args);
        out.failure(1);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        out.stderr_lacks("unavailable").stderr_lacks("no quorum");
        out
    };

    health(&["--ca", "/nonexistent/ca.crt"])
        .stderr_has("cannot read the CA certificate /nonexistent/ca.crt: No such file");
    health(&["--cert", "/nonexistent/client.crt"])
        .stderr_has("cannot read the client certificate /nonexistent/client.crt");
    // A folder cannot be read as a file, even by root.
    let folder = file("state/pki");
    health(&["--key", &folder]).stderr_has(&format!("cannot read the client key {folder}"));
    lab.file("junk.pem", "not a certificate\n");
    let junk = file("junk.pem");
    health(&["--ca", &junk]).stderr_has(&format!("{junk} is not a CA certificate"));

    health(&["--ca", &other("ca.crt")]).stderr_has(&format!(
        "the members' certificates are not signed by the CA in {}",
        other("ca.crt")
    ));
    health(&["--key", &other("client.key")]).stderr_has(&format!(
        "the client key {} is not the key of the client certificate {}",
        other("client.key"),
        own("client.crt")
    ));
    let theirs = [
        "--cert",
        &other("client.crt"),
        "--key",
        &other("client.key"),
    ];
    health(&theirs).stderr_has(&format!(
        "the members do not accept the client certificate {}",
        other("client.crt")
    ));

    // The same files, given by hand, still work.
    let mine = ["--ca", &own("ca.crt"), "--cert", &own("client.crt")];
    let mine = [&["health", "--discovery-srv", "example.test"][..], &mine].concat();
    lab.run(&mine).reports_healthy(3, "example.test");
    lab.destroy().leaves_nothing();
}

#[test]
fn a_domain_with_no_zone_is_said_so_with_what_exists() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["size=1"])
        .reports_healthy(1, "example.test");
    let out = lab.run(&["health", "--discovery-srv", "nozone.test"]);
    out.failure(1)
        .stderr_has("there is no zone nozone.test at 198.18.0.1:53")
        .stderr_has("`rigger lab status`")
        .stderr_lacks("did not answer")
        .stderr_lacks("Query Refused");
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    lab.destroy().leaves_nothing();
}

/// etcdctl 3.5.1's `member list` in lab host 0, with the client certificate rigger made,
/// the members found through DNS as rigger finds them.
fn etcdctl_member_list(lab: &LabRig, format: &str) -> String {
    let pki = lab.path("state/pki/example.test");
    let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
    let etcdctl = crate::etcd35::etcd35("etcdctl");
    let (ca, cert, key) = (file("ca.crt"), file("client.crt"), file("client.key"));
    lab.run_in_host(
        0,
        &[
            &etcdctl,
            "--cacert",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "--discovery-srv",
            "example.test",
            "member",
            "list",
            "-w",
            format,
        ],
    )
}

/// `rigger members` prints what etcdctl 3.5's `member list` prints, in each of its
/// shapes, byte for byte (the JSON's header aside: another member may answer, in
/// another term), for started members and for a learner added but not started.
#[test]
fn members_prints_what_etcdctl_3_5s_member_list_prints() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let ours = |format: &str| {
        let out = lab.run(&["members", "--discovery-srv", "example.test", "-w", format]);
        out.success();
        out.stdout.clone()
    };
    let compare = |what: &str| {
        assert_eq!(
            ours("simple"),
            etcdctl_member_list(&lab, "simple"),
            "{what}, -w simple"
        );
        // The table is etcdctl's with one more column: the release each member runs.
        let table = ours("table");
        let (mine, versions) = without_last_column(&table);
        assert_eq!(mine, etcdctl_member_list(&lab, "table"), "{what}, -w table");
        assert_eq!(versions[0], "VERSION", "{table}");
        for v in &versions[1..] {
            assert!(v.is_empty() || v.starts_with("3."), "{table}");
        }
        let theirs: Value = serde_json::from_str(&etcdctl_member_list(&lab, "json")).unwrap();
        let mine: Value = serde_json::from_str(&ours("json")).unwrap();
        assert_eq!(mine["members"], theirs["members"], "{what}, -w json");
        assert_eq!(mine["header"]["cluster_id"], theirs["header"]["cluster_id"]);
        let ids: Vec<&Value> = theirs["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["ID"])
            .collect();
        assert!(ids.contains(&&mine["header"]["member_id"]), "{mine}");
        assert!(mine["header"]["raft_term"].as_u64().unwrap() > 0, "{mine}");
        theirs
    };
    let three = compare("three started members");
    assert_eq!(three["members"].as_array().unwrap().len(), 3);
    // A learner etcd has added but that has not started: no name, no client URLs.
    let start = Instant::now();
    loop {
        let out = lab.in_host(
            0,
            &[
                "sh",
                "-c",
                &format!(
                    "etcdctl --cacert {0}/ca.crt --cert {0}/client.crt --key {0}/client.key \
                     --discovery-srv example.test member add etcd-later --learner \
                     --peer-urls=https://etcd-later.example.test:2380",
                    lab.path("state/pki/example.test").display()
                ),
            ],
        );
        if out.status.success() {
            break;
        }
        // etcd refuses a change for about five seconds after its members came up.
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            why.contains("unhealthy cluster") && start.elapsed() < Duration::from_secs(20),
            "{why}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let four = compare("a learner not started");
    assert!(
        ours("simple").contains(", unstarted, , https://etcd-later.example.test:2380, , true\n")
    );
    assert_eq!(
        four["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["isLearner"] == true)
            .count(),
        1
    );
    lab.destroy().leaves_nothing();
}

/// A bordered table without its last column, and that column's cells (header first).
fn without_last_column(table: &str) -> (String, Vec<String>) {
    let mut rest = String::new();
    let mut cells = Vec::new();
    for line in table.lines() {
        let sep = line.chars().last().unwrap();
        let cut = line[..line.len() - 1].rfind(sep).unwrap();
        rest.push_str(&line[..=cut]);
        rest.push('\n');
        if sep == '|' {
            cells.push(line[cut + 1..line.len() - 1].trim().to_string());
        }
    }
    (rest, cells)
}
