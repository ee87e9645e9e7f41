//! `--dry-run`: every action written down, none taken; no credentials, no privileges.

use crate::harness::{Rig, counts, text_has};

/// A cloud cluster planned without any AWS or Cloudflare settings.
const CLOUD_PLAN: &[&str] = &[
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
];

#[test]
fn a_cloud_dry_run_needs_no_credentials_and_creates_nothing() {
    // No AWS or Cloudflare settings at all in the environment.
    let mut rig = Rig::new().own_state().args(CLOUD_PLAN);
    let out = rig.run_keep();
    out.success();
    let plan = &out.stdout;
    text_has(plan, "dry run: ");
    text_has(plan, " actions, none taken");
    counts(plan, "launch instance etcd-", 3);
    counts(plan, "(ami=ami-0123456789abcdef0)", 3);
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
    // Every record (three A, six SRV) is marked as the cluster's, as the run would mark it.
    counts(plan, "(marked as example.com's)", 9);
    text_has(
        plan,
        "wait until _etcd-server-ssl._tcp.example.com SRV resolves to ",
    );
    text_has(plan, "create the certificate authority for example.com");
    // The cloud's defaults: the pinned release from GitHub, checked, into /usr/local/bin.
    for part in [
        "https://github.com/etcd-io/etcd/releases/download/v3.6.14",
        "grep -qx '\\''etcd Version: 3.6.14'\\''",
        "dir='\\''/usr/local/bin'\\''",
        "checksum mismatch",
    ] {
        assert_eq!(plan.matches(part).count(), 6, "{part}\n{plan}");
    }
    counts(plan, "systemctl enable --now etcd.service", 6);
    // As etcd's own packages run it: a system user, its data dir 0700 and its own.
    counts(
        plan,
        "useradd --system --gid etcd --home-dir /var/lib/etcd",
        6,
    );
    counts(plan, "install -d -m 0700 -o etcd -g etcd /var/lib/etcd", 6);
    counts(
        plan,
        "install -m 0600 -o etcd -g etcd /var/lib/rigger/etcd.key /etc/etcd/etcd.key",
        6,
    );
    text_has(plan, "check the health of the cluster under example.com");
    // The doctor's check before etcd starts is written down, its zone assumed clean.
    text_has(
        plan,
        "check the discovery records under example.com as etcd will read them",
    );
    assert!(
        !rig.path("state").exists(),
        "a dry run creates nothing, not even state"
    );
}

#[test]
fn a_lab_dry_run_needs_no_privileges_and_starts_etcd_as_a_process() {
    let rig = Rig::new().own_state();
    // As the unprivileged user `nobody` when the tests run as root: a dry run must not
    // need what the lab needs.
    let mut cmd = if nix::unistd::geteuid().is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(crate::harness::BIN);
        c
    } else {
        std::process::Command::new(crate::harness::BIN)
    };
    let out = cmd
        .args(["run", "cluster", "--dry-run", "--set", "size=2"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("RIGGER_STATE_DIR", rig.path("state"))
        .current_dir("/")
        .output()
        .unwrap();
    let out = crate::harness::Outcome::from(out);
    out.success();
    // The lab's newest release, from its ladder.
    counts(&out.stdout, "/etcd --name etcd-", 2);
    counts(&out.stdout, "--discovery-srv example.test", 2);
    // The health wait is written down, not run: nothing is there to answer it.
    text_has(
        &out.stdout,
        "wait up to 15s for every member under example.test to be healthy",
    );
    assert!(!rig.path("state").exists());
}

#[test]
fn a_dry_run_writes_tcp_waits_down_instead_of_dialling() {
    let mut rig = Rig::new()
        .own_state()
        .script("w.rhai", "let n = launch_instance(#{ name: \"n1\" });\nwait_tcp(`${n.private_ip}:2379`, #{ timeout: 600 });\nprint(\"done\");\n")
        .args(&["--dry-run"]);
    let out = rig.run_keep();
    out.success();
    assert!(out.stdout.starts_with("done\n"), "{}", out.stdout);
    text_has(
        &out.stdout,
        "2. wait until 192.0.2.1:2379 accepts TCP connections",
    );
}

#[test]
fn certificates_stay_beside_their_ca_and_never_replace_it() {
    let script = r#"
let ca = pki_ca("example.test");
try { pki_cert(ca, #{ name: "ca" }); } catch (e) { print(e.message); }
try { pki_cert(ca, #{ name: "../../escape" }); } catch (e) { print(e.kind); }
try { pki_cert(#{ cert: "/tmp/x", key: "/tmp/y", dir: "/etc" }, #{ name: "n1" }); } catch (e) { print(e.message); }
"#;
    let mut rig = Rig::new()
        .own_state()
        .script("p.rhai", script)
        .args(&["--dry-run"]);
    let out = rig.run_keep();
    out.success();
    let lines: Vec<&str> = out.stdout.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            "pki_cert: spec.name \"ca\" must be one label (letters, digits, hyphens), not \"ca\"",
            "invalid",
            "pki_cert: ca.dir /etc is not a CA folder rigger made",
        ]
    );
}

/// A lab plan names the paths the real run would use under RIGGER_STATE_DIR (host dirs,
/// certificates), none under the default /var/lib/rigger, and never logs an action as
/// done ("launched").
#[test]
fn a_lab_plan_names_the_real_state_dir_and_logs_nothing_as_done() {
    let mut rig = Rig::new()
        .own_state()
        .args(&["run", "cluster", "--dry-run"]);
    let out = rig.run_keep();
    out.success();
    let state = rig.path("state").to_string_lossy().into_owned();
    let plan = &out.stdout;
    text_has(plan, &format!("--data-dir {state}/lab/hosts/etcd-"));
    text_has(plan, &format!("in {state}/pki/example.test\n"));
    assert!(!plan.contains("/var/lib/rigger"), "{plan}");
    out.stderr_lacks("launched");
    assert!(!rig.path("state").exists(), "a plan made state");
}

/// A cluster domain is written as DNS names are: a final dot dropped, lowercase.
#[test]
fn a_cluster_domain_is_normalised_before_it_is_used() {
    let out = Rig::new()
        .own_state()
        .args(&["run", "cluster", "--dry-run", "--set", "domain=X.Dot.Test."])
        .run();
    out.success();
    text_has(
        &out.stdout,
        "publish SRV _etcd-server-ssl._tcp.x.dot.test -> 0 0 2380 etcd-",
    );
    assert!(!out.stdout.contains("Test."), "{}", out.stdout);
}

/// A cloud machine always boots: asking for lab namespaces there is refused by name.
#[test]
fn a_cloud_run_refuses_lab_namespaces_as_machines() {
    Rig::new()
        .own_state()
        .args(&["run", "cluster", "--dry-run", "--target", "aws", "--set", "machines=namespaces"])
        .run()
        .failure(1)
        .stderr_has("--set machines=\"namespaces\": machines=namespaces is the lab's: a cloud machine always boots");
}

/// A new cloud cluster on a release below etcd's upgrade floor is planned all the same,
/// with a warning that says why; the default (3.6.14) gets none.
#[test]
fn a_release_below_the_upgrade_floor_is_warned_about() {
    let plan = |version: Option<&str>| {
        let mut args = CLOUD_PLAN.to_vec();
        let set = version.map(|v| format!("etcd_version={v}"));
        if let Some(set) = &set {
            args.extend(["--set", set]);
        }
        let out = Rig::new().own_state().args(&args).run();
        out.success();
        out.stderr
    };
    let below = plan(Some("3.5.17"));
    text_has(
        &below,
        "warning: etcd 3.5.17 is below 3.5.32, which etcd's upgrade guide asks every member to run before any move to 3.6",
    );
    let eol = plan(Some("3.4.45"));
    text_has(
        &eol,
        "warning: etcd 3.4.45 is on the 3.4 line, which is past its end of life",
    );
    let current = plan(None);
    assert!(!current.contains("warning:"), "{current}");
}
