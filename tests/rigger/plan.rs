//! `--dry-run`: every action written down, none taken; no credentials, no privileges.

use crate::harness::Rig;

#[test]
fn a_cloud_dry_run_needs_no_credentials_and_creates_nothing() {
    // No AWS or Cloudflare settings at all in the environment.
    let mut rig = Rig::new().own_state().args(&[
        "run",
        "cluster",
        "--dry-run",
        "--target",
        "aws",
        "--dns",
        "cloudflare",
        "--set",
        "domain=example.com",
        "--set",
        "ami=ami-0123456789abcdef0",
    ]);
    let out = rig.run_keep();
    out.success();
    let plan = &out.stdout;
    assert!(plan.contains("dry run: "), "{plan}");
    assert!(plan.contains(" actions, none taken"), "{plan}");
    assert_eq!(plan.matches("launch instance etcd-").count(), 3, "{plan}");
    assert_eq!(
        plan.matches("(ami=ami-0123456789abcdef0)").count(),
        3,
        "{plan}"
    );
    assert_eq!(
        plan.matches("publish SRV _etcd-server-ssl._tcp.example.com -> 0 0 2380 etcd-")
            .count(),
        3,
        "{plan}"
    );
    assert_eq!(
        plan.matches("publish SRV _etcd-client-ssl._tcp.example.com -> 0 0 2379 etcd-")
            .count(),
        3,
        "{plan}"
    );
    assert!(
        plan.contains("wait until _etcd-server-ssl._tcp.example.com SRV resolves to "),
        "{plan}"
    );
    assert!(
        plan.contains("create the certificate authority for example.com"),
        "{plan}"
    );
    assert!(
        plan.contains("grep \" $name.tar.gz\\$\" SHA256SUMS | sha256sum -c -"),
        "{plan}"
    );
    assert_eq!(
        plan.matches("systemctl enable --now etcd.service").count(),
        6,
        "{plan}"
    );
    assert!(
        plan.contains("check the health of the cluster under example.com"),
        "{plan}"
    );
    assert!(
        !rig.path("state").exists(),
        "a dry run creates nothing, not even state"
    );
}

#[test]
fn a_lab_dry_run_needs_no_privileges_and_starts_etcd_as_a_process() {
    let mut rig = Rig::new()
        .own_state()
        .args(&["run", "cluster", "--dry-run", "--set", "size=2"]);
    let out = rig.run_keep();
    out.success();
    assert_eq!(
        out.stdout.matches(": etcd --name etcd-").count(),
        2,
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches("--discovery-srv example.test").count(),
        2,
        "{}",
        out.stdout
    );
    assert!(!rig.path("state").exists());
}
