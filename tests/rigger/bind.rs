//! `--dns rfc2136` against a real BIND 9 inside the lab: BIND serves the cluster's
//! records, etcd reads its SRV records from BIND, and destroy takes back exactly what
//! rigger added. BIND runs in the lab's namespace on a lab address, so nothing leaves it.

use crate::harness::LabRig;
use crate::harness::bind::{Bind, ZONE};

fn lab_with_bind() -> Option<(LabRig, Bind, String)> {
    let lab = LabRig::new()?;
    let up = lab.run(&["lab", "up"]);
    up.success();
    let netns = up.stdout.trim().to_string();
    let bind = Bind::start(&netns);
    Some((lab, bind, netns))
}

#[test]
fn a_cluster_on_bind_through_rfc2136_is_healthy_and_destroy_takes_back_only_its_records() {
    let Some((lab, bind, netns)) = lab_with_bind() else {
        return;
    };
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    let dns = ["--dns", "rfc2136", "--dns-server", "198.18.0.53:53"];
    lab.run_cluster(&[&dns[..], &["domain=bind.test"]].concat())
        .success();
    // All nine records went in one UPDATE message: BIND logs each RR it adds with the
    // client (address#port) that sent it, and there is one.
    let log = bind.log();
    let adding: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("updating zone 'bind.test/IN': adding an RR"))
        .collect();
    assert_eq!(adding.len(), 9, "{log}");
    let mut clients: Vec<&str> = adding
        .iter()
        .filter_map(|l| l.split_whitespace().find(|w| w.contains('#')))
        .collect();
    clients.dedup();
    assert_eq!(clients.len(), 1, "{log}");
    // BIND, asked directly from a member's network, serves the three members' SRV set.
    let srv = lab.run_in_host(
        0,
        &[
            "dig",
            "+short",
            "@198.18.0.53",
            "SRV",
            "_etcd-server-ssl._tcp.bind.test",
        ],
    );
    assert_eq!(srv.lines().count(), 3, "{srv}");
    // etcdctl in a member, through the member's own resolver (BIND), finds the cluster.
    let host = lab.host_names()[0].clone();
    let pki = lab.path("state/pki/bind.test");
    let file = |n: &str| pki.join(n).to_string_lossy().into_owned();
    let members = lab.exec(
        &host,
        &[
            "etcdctl",
            "--discovery-srv",
            ZONE,
            "--cacert",
            &file("ca.crt"),
            "--cert",
            &file("client.crt"),
            "--key",
            &file("client.key"),
            "member",
            "list",
        ],
    );
    members.success();
    assert_eq!(
        members.stdout.matches(", started, ").count(),
        3,
        "{}",
        members.stdout
    );
    // BIND's own view of the zone has what rigger added (so the check after destroy,
    // read the same way, sees removals and not the zone file as it started).
    let live = bind.zone_now();
    assert_eq!(
        live.matches("_etcd-server-ssl._tcp.bind.test.").count(),
        3,
        "{live}"
    );
    // Without its key, destroy cannot reach BIND: it says so, and keeps the lab that
    // BIND lives in, so that a destroy with the key still can.
    let no_key = [("RIGGER_TSIG_KEY_FILE", "/nonexistent/key")];
    let keyless = lab.run_with_env(&no_key, &["destroy"]);
    keyless
        .failure(1)
        .stderr_has("RIGGER_TSIG_KEY_FILE: cannot read /nonexistent/key")
        .stderr_has("the lab stays up");
    assert_eq!(bind.zone_now().matches("_etcd-server-ssl").count(), 3);
    lab.destroy().leaves_nothing();
    let zone = bind.zone_now();
    assert!(
        !zone.contains("_etcd") && !zone.contains("etcd-"),
        "left in BIND:\n{zone}"
    );
    assert!(
        zone.contains("keep.bind.test.") && zone.contains("198.18.0.99"),
        "{zone}"
    );
    drop(netns);
}

#[test]
fn a_wrong_tsig_key_is_refused_with_bind_s_answer_and_leaves_nothing() {
    let Some((lab, bind, _netns)) = lab_with_bind() else {
        return;
    };
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.wrong_key.to_string_lossy());
    let out = lab.run_cluster(&[
        "--dns",
        "rfc2136",
        "--dns-server",
        "198.18.0.53:53",
        "domain=bind.test",
    ]);
    out.failure(1);
    out.stderr_has("NOTAUTH (TSIG error BADSIG)");
    // The lab was up before the run (`lab up`, for BIND): the failed run rolls back
    // what it made and leaves the lab, and the server in it, standing.
    assert!(!bind.zone_now().contains("etcd"), "{}", bind.zone_now());
    lab.run(&["lab", "down"]).success();
    lab.leaves_nothing();
}

/// A batch is one UPDATE that says none of its RRsets exists yet; when one does (here
/// `keep`, in the zone before rigger), BIND changes nothing and answers YXRRSET, and
/// rigger reads the names, adopts what is there and adds the rest in one more UPDATE.
/// An adopted record is not rigger's: destroy leaves it.
#[test]
fn a_batch_over_a_set_already_there_adopts_it_and_adds_the_rest() {
    let Some((lab, bind, netns)) = lab_with_bind() else {
        return;
    };
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    lab.file(
        "batch.rhai",
        r#"let made = dns_record([
            #{ name: "keep.bind.test", type: "A", content: "198.18.0.99" },
            #{ name: "new.bind.test", type: "A", content: "198.18.0.98" },
        ]);
        print(made.map(|r| r.name));"#,
    );
    let out = lab.run(&[
        "run",
        &lab.path("batch.rhai").to_string_lossy(),
        "--dns",
        "rfc2136",
        "--dns-server",
        "198.18.0.53:53",
    ]);
    out.success()
        .stdout_has("keep.bind.test")
        .stdout_has("new.bind.test");
    let log = bind.log();
    assert!(
        log.contains("YXRRSET"),
        "the first UPDATE is refused: {log}"
    );
    let adding = log
        .lines()
        .filter(|l| l.contains("updating zone 'bind.test/IN': adding an RR"))
        .count();
    assert_eq!(adding, 1, "only the new one is added: {log}");
    lab.destroy().leaves_nothing();
    let zone = bind.zone_now();
    assert!(
        zone.contains("keep.bind.test.") && zone.contains("198.18.0.99"),
        "{zone}"
    );
    assert!(!zone.contains("new.bind.test."), "{zone}");
    drop(netns);
}
