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
/// `--discovery-srv-name` finds each; every script that finds a cluster takes the name
/// and touches that cluster alone; destroying one leaves the other healthy, its records
/// intact.
#[test]
fn two_named_clusters_share_a_zone_and_one_is_destroyed_alone() {
    let Some(lab) = LabRig::new() else { return };
    let built = [
        ("prod", "etcd_version=3.5.30"),
        ("staging", "etcd_version=3.5.16"),
    ];
    for (name, version) in built {
        lab.run_cluster(&[&format!("name={name}"), version])
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
        lab.run(&[&["health"][..], &named(name)].concat())
            .success()
            .stdout_has("cluster is healthy");
        let doctor = lab.run(&[&["doctor"][..], &named(name)].concat());
        if name == "prod" {
            doctor.success().stdout_has("example.test: no findings");
        } else {
            // 3.5.16 is below the patch that mends zombie members: the fix names it.
            doctor.failure(3).stdout_has(
                "`rigger run upgrade --set domain=example.test --set name=staging --set etcd_version=...`",
            );
        }
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

    // A day-2 script without the name finds no unnamed cluster, and says which there are.
    lab.run(&["run", "member-add"])
        .failure(1)
        .stderr_has("its domain holds example.test/prod and example.test/staging")
        .stderr_has("--set name=NAME");
    // Each script given a name changes that cluster alone.
    let script = |script: &str, name: &str, more: &[&str]| {
        let set = format!("name={name}");
        lab.run(&[&["run", script, "--set", &set][..], more].concat())
    };
    script("member-add", "staging", &[])
        .success()
        .stdout_has("as a voting member");
    assert_eq!(voters(&lab, "staging").len(), 4);
    assert_eq!(voters(&lab, "prod").len(), 3);
    let added = voters(&lab, "staging")
        .into_iter()
        .find(|m| !ids[1].contains(m.as_str()))
        .expect("the member added");
    script(
        "member-remove",
        "staging",
        &["--set", &format!("member={added}")],
    )
    .success();
    assert_eq!(voters(&lab, "staging").len(), 3);
    script("upgrade", "staging", &["--set", "etcd_version=3.5.30"])
        .success()
        .stdout_has("cluster example.test/staging: 3 voting members");
    let report = lab.run(&[&["health"][..], &named("staging"), &["--json"]].concat());
    assert_eq!(
        report.stdout.matches("\"version\": \"3.5.30\"").count(),
        3,
        "{}",
        report.stdout
    );
    script("backup", "prod", &[])
        .success()
        .stdout_has("backed up example.test/prod to ");
    let kept = std::fs::read_dir(lab.path("state/snapshots/example.test/prod"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "db")
        })
        .count();
    assert_eq!(kept, 1, "the backup is in prod's own folder");
    script("rotate-certs", "prod", &[]).success();
    script(
        "user-add",
        "prod",
        &["--set", "user=app", "--set", "prefix=/app/"],
    )
    .success()
    .stdout_has("rigger env --discovery-srv example.test --discovery-srv-name prod --user app");
    lab.run(&[&["env"][..], &named("prod"), &["--user", "app"]].concat())
        .success()
        .stdout_has("pki/example.test/prod/user-app.crt");
    script("recover", "prod", &[])
        .failure(1)
        .stderr_has("the cluster example.test/prod has its quorum");
    script("restore", "prod", &["--set", "replace=true"])
        .success()
        .stdout_has("restored example.test/prod from ");
    for name in ["prod", "staging"] {
        lab.run(&[&["health"][..], &named(name)].concat())
            .success()
            .stdout_has("cluster is healthy");
        lab.run(&[&["doctor"][..], &named(name)].concat())
            .success()
            .stdout_has("example.test: no findings");
    }

    // The doctor reads a named cluster's own served certificates, and its fix names it.
    lab.run_cluster(&["name=qa", "size=1", "cert_days=2"])
        .success();
    let doctor = lab.run(&[&["doctor"][..], &named("qa")].concat());
    doctor
        .failure(3)
        .stdout_has("rigger run rotate-certs --set domain=example.test --set name=qa");
    assert_eq!(
        doctor.stdout.matches("warning[cert-expiring]").count(),
        2,
        "the client and the one member's served certificate: {}",
        doctor.stdout
    );
    lab.run(&[&["destroy", "--yes"][..], &named("qa")].concat())
        .success();

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
    crate::upgrade::destroy_keeping_snapshots(&lab);
}

/// `--discovery-srv example.test --discovery-srv-name NAME`.
fn named(name: &str) -> [&str; 4] {
    [
        "--discovery-srv",
        "example.test",
        "--discovery-srv-name",
        name,
    ]
}

/// The names of the voting members of the cluster `name`, as `rigger members` lists them.
fn voters(lab: &LabRig, name: &str) -> Vec<String> {
    let out = lab.run(&[&["members"][..], &named(name), &["-w", "json"]].concat());
    out.success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    json["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["is_learner"] != true)
        .map(|m| m["name"].as_str().unwrap_or_default().to_string())
        .collect()
}
