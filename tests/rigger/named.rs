//! Several clusters in one zone (issue 28): etcd's `--discovery-srv-name NAME` puts a
//! cluster's records under `_etcd-server-ssl-NAME._tcp.DOMAIN`. A cluster started that
//! way by hand (real etcd 3.5 in the lab) is found by `health`, `members` and `certs`
//! given the name, and not without it; the doctor reads it with the name too.

use crate::harness::LabRig;
use crate::harness::doctor::{DOMAIN, LIMIT, Member, ZoneLab, etcd_3_5, members};

#[test]
fn a_cluster_with_a_discovery_srv_name_is_found_by_its_name() {
    let records = members(
        "_etcd-server-ssl-prod._tcp",
        "_etcd-client-ssl-prod._tcp",
        2380,
    );
    let Some(z) = ZoneLab::new(&records) else {
        return;
    };
    let member = Member {
        service_name: Some("prod"),
        ..Member::TLS
    };
    let mut running = z.start(&etcd_3_5(), member);
    running.serving(LIMIT);
    let pki = z.certs(DOMAIN);
    let (ca, cert, key) = (
        format!("{pki}/ca.crt"),
        format!("{pki}/n1.crt"),
        format!("{pki}/n1.key"),
    );
    let files = ["--ca", &ca, "--cert", &cert, "--key", &key];
    let named = ["--discovery-srv", DOMAIN, "--discovery-srv-name", "prod"];
    let ask = |command: &str, more: &[&str]| {
        z.lab
            .run(&[&[command][..], &named[..], &files[..], more].concat())
    };
    ask("health", &[])
        .success()
        .stdout_has("cluster is healthy")
        .stdout_has("got healthy result from https://n1.dr.test:2379");
    let listed = ask("members", &["-w", "json"]);
    listed.success();
    let json: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(json["members"].as_array().unwrap().len(), 3, "{json:#}");
    // What the members serve, found under the named owners: each member on the client
    // port and on the peer port.
    let certs = ask("certs", &[]);
    certs.stdout_has("served by the members:");
    let served = certs
        .stdout
        .split("served by the members:")
        .nth(1)
        .unwrap_or("");
    for n in ["n1", "n2", "n3"] {
        assert_eq!(
            served.matches(&format!("{n}.dr.test")).count(),
            2,
            "{served}"
        );
    }
    // Without the name, the unnamed owners are asked, and hold nothing.
    z.lab
        .run(&[&["health", "--discovery-srv", DOMAIN][..], &files[..]].concat())
        .failure(1)
        .stderr_has("_etcd-client-ssl._tcp.dr.test");
    // The doctor reads the named owners and finds nothing wrong with them.
    let (_, report) = z.doctor(&["--discovery-srv-name", "prod"]);
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().all(|f| f["severity"] != "error"),
        "{report:#}"
    );
    drop(running);
    z.leaves_nothing();
}

/// `rigger run cluster --set name=prod`, then `name=staging`, in one lab zone: each is
/// healthy under its own records; the doctor finds nothing on either; etcdctl 3.5's own
/// `--discovery-srv-name` finds each; destroying one leaves the other healthy, its
/// records intact.
#[test]
fn two_named_clusters_share_a_zone_and_one_is_destroyed_alone() {
    let Some(lab) = LabRig::new() else { return };
    for name in ["prod", "staging"] {
        lab.run_cluster(&[&format!("name={name}")])
            .success()
            .stdout_has("cluster is healthy")
            .stderr_has(&format!(
                "cluster example.test/{name} is up: `eval \"$(rigger env --discovery-srv example.test --discovery-srv-name {name}"
            ));
    }
    let etcdctl = crate::etcd35::etcd35("etcdctl");
    let host = lab.host_names()[0].clone();
    let mut ids = Vec::new();
    for name in ["prod", "staging"] {
        let named = [
            "--discovery-srv",
            "example.test",
            "--discovery-srv-name",
            name,
        ];
        lab.run(&[&["health"][..], &named].concat())
            .success()
            .stdout_has("cluster is healthy");
        lab.run(&[&["doctor"][..], &named].concat())
            .success()
            .stdout_has("example.test: no findings");
        let pki = lab.path(&format!("state/pki/example.test/{name}"));
        let file = |f: &str| pki.join(f).to_string_lossy().into_owned();
        let (ca, cert, key) = (file("ca.crt"), file("client.crt"), file("client.key"));
        let listed = lab.exec(
            &host,
            &[
                &etcdctl,
                "--discovery-srv",
                "example.test",
                "--discovery-srv-name",
                name,
                "--cacert",
                &ca,
                "--cert",
                &cert,
                "--key",
                &key,
                "member",
                "list",
            ],
        );
        listed.success();
        assert_eq!(
            listed.stdout.matches(", started, ").count(),
            3,
            "{}",
            listed.stdout
        );
        ids.push(listed.stdout.clone());
    }
    assert_ne!(ids[0], ids[1], "one cluster seen twice");
    // The day-2 scripts cannot tell the two apart yet: refused, naming both.
    lab.run(&["run", "member-add", "--set", "domain=example.test"])
        .failure(1)
        .stderr_has(
            "example.test holds clusters with a --discovery-srv-name (example.test/prod, \
             example.test/staging)",
        );
    lab.run(&[
        "destroy",
        "--discovery-srv",
        "example.test",
        "--discovery-srv-name",
        "prod",
        "--yes",
    ])
    .success();
    let staging = [
        "--discovery-srv",
        "example.test",
        "--discovery-srv-name",
        "staging",
    ];
    lab.run(&[&["health"][..], &staging].concat())
        .success()
        .stdout_has("cluster is healthy");
    // Its etcdctl settings and its parts, from the state, by its name.
    let env = lab.run(&[&["env"][..], &staging].concat());
    env.success()
        .stdout_has("pki/example.test/staging/client.crt")
        .stdout_has("export ETCDCTL_ENDPOINTS=https://etcd-");
    assert_eq!(
        env.stdout.matches(".example.test:2379").count(),
        3,
        "{}",
        env.stdout
    );
    lab.run(&["state", "show", "example.test/staging"])
        .success()
        .stdout_has("cluster example.test/staging")
        .stdout_lacks("/prod");
    for (name, count) in [("staging", 3), ("prod", 0)] {
        let owner = format!("_etcd-server-ssl-{name}._tcp.example.test");
        let srv = lab.run_in_host(0, &["dig", "+short", "SRV", &owner]);
        assert_eq!(srv.lines().count(), count, "{owner}: {srv}");
    }
    lab.destroy().leaves_nothing();
}
