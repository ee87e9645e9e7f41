//! Least privilege (issue 27): `user-add` gives an application a certificate naming its
//! own etcd user, whose role reaches one prefix; etcd's auth goes on with it, rigger's
//! own certificate naming `root`, and every rigger command keeps working; `user-remove`
//! makes the application's certificate useless.

use std::path::Path;

use serde_json::Value;

use crate::harness::LabRig;
use crate::upgrade::destroy_keeping_snapshots;

/// etcdctl in lab host 0, by address, with the certificate `cert`/`key`: its output and
/// whether it succeeded.
fn ctl_as(lab: &LabRig, cert: &Path, key: &Path, args: &[&str]) -> (bool, String) {
    let ip = lab.hosts()[0]["ip"].as_str().unwrap().to_string();
    let ca = lab.path("state/pki/example.test/ca.crt");
    let endpoint = format!("--endpoints=https://{ip}:2379");
    let mut argv = vec![
        "etcdctl".to_string(),
        endpoint,
        "--cacert".into(),
        ca.display().to_string(),
        "--cert".into(),
        cert.display().to_string(),
        "--key".into(),
        key.display().to_string(),
        "--command-timeout=3s".into(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = lab.in_host(0, &argv);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The user's certificate and key as `rigger env --user` names them, copied aside (a
/// removal takes the files away, and the test shows the copy refused).
fn user_files(lab: &LabRig, user: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let out = lab.run(&[
        "env",
        "--discovery-srv",
        "example.test",
        "--user",
        user,
        "--json",
    ]);
    out.success();
    let env: Value = serde_json::from_str(&out.stdout).unwrap();
    let aside = lab.path(&format!("kept-{user}"));
    std::fs::create_dir_all(&aside).unwrap();
    let (cert, key) = (aside.join("u.crt"), aside.join("u.key"));
    std::fs::copy(env["cert"].as_str().unwrap(), &cert).unwrap();
    std::fs::copy(env["key"].as_str().unwrap(), &key).unwrap();
    (cert, key)
}

fn subject(cert: &Path) -> String {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_user_reaches_its_prefix_alone_and_rigger_keeps_working_once_auth_is_on() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let out = lab.run(&[
        "run",
        "user-add",
        "--set",
        "user=app",
        "--set",
        "prefix=/app/",
    ]);
    out.success()
        .stderr_has("etcd 3.5.30 has the RBAC watch leak (GHSA-xg4h-6gfc-h4m8)")
        .stdout_has("now names etcd's root user")
        .stdout_has("etcd: user add root --no-password")
        .stdout_has("etcd: auth enable")
        .stdout_has("etcd: role grant-permission app readwrite /app/ --prefix")
        .stdout_has("rigger env --discovery-srv example.test --user app");
    let pki = lab.path("state/pki/example.test");
    assert!(subject(&pki.join("client.crt")).ends_with("CN = root"));
    assert!(subject(&pki.join("user-app.crt")).ends_with("CN = app"));
    let (cert, key) = user_files(&lab, "app");

    // The application writes under its prefix, and nowhere else; admin calls are refused.
    let (ok, said) = ctl_as(&lab, &cert, &key, &["put", "/app/x", "1"]);
    assert!(ok, "{said}");
    for args in [
        &["put", "/other", "1"][..],
        &["get", "/other"],
        &["member", "add", "x", "--peer-urls=https://198.18.9.9:2380"],
        &["user", "list"],
        &["endpoint", "status"],
    ] {
        let (ok, said) = ctl_as(&lab, &cert, &key, args);
        assert!(
            !ok && said.contains("permission denied"),
            "{args:?}: {said}"
        );
    }

    // rigger goes on: health, members, the doctor, a backup, a day-2 change, a rotation.
    let health = || {
        lab.run(&["health", "--discovery-srv", "example.test"])
            .success()
            .stdout_has("cluster is healthy");
    };
    health();
    let members = lab.run(&["members", "--discovery-srv", "example.test"]);
    members.success();
    assert_eq!(members.stdout.lines().count(), 3, "{}", members.stdout);
    lab.run(&["doctor", "--discovery-srv", "example.test"])
        .success();
    lab.run(&["run", "backup"]).success();
    lab.run(&["run", "member-add"])
        .success()
        .stdout_has("cluster is healthy");
    lab.run(&["run", "rotate-certs"]).success();
    assert!(
        subject(&pki.join("client.crt")).ends_with("CN = root"),
        "a rotation keeps rigger's user"
    );
    health();

    // A second user, read-only; the first again changes nothing.
    lab.run(&[
        "run",
        "user-add",
        "--set",
        "user=reader",
        "--set",
        "prefix=/app/",
        "--set",
        "access=read",
    ])
    .success()
    .stdout_lacks("auth enable");
    let (rcert, rkey) = user_files(&lab, "reader");
    let (ok, said) = ctl_as(
        &lab,
        &rcert,
        &rkey,
        &["get", "/app/x", "--print-value-only"],
    );
    assert!(ok && said.trim() == "1", "{said}");
    let (ok, said) = ctl_as(&lab, &rcert, &rkey, &["put", "/app/y", "2"]);
    assert!(!ok && said.contains("permission denied"), "{said}");
    lab.run(&[
        "run",
        "user-add",
        "--set",
        "user=app",
        "--set",
        "prefix=/app/",
    ])
    // Asked again, what exists is not made again (etcd takes a grant it holds already).
    .success()
    .stdout_lacks("auth enable")
    .stdout_lacks("etcd: role add app")
    .stdout_lacks("etcd: user add app");

    // Removed, the application's certificate is useless.
    lab.run(&["run", "user-remove", "--set", "user=app"])
        .success()
        .stdout_has("etcd: user delete app");
    assert!(!pki.join("user-app.crt").exists() && !pki.join("user-app.key").exists());
    let (ok, said) = ctl_as(&lab, &cert, &key, &["get", "/app/x"]);
    assert!(!ok, "the removed user still reads: {said}");
    lab.run(&["env", "--discovery-srv", "example.test", "--user", "app"])
        .failure(1)
        .stderr_has("rigger gave no etcd user \"app\"");
    health();
    // The names rigger keeps for itself are refused.
    lab.run(&["run", "user-add", "--set", "user=root", "--set", "prefix=/"])
        .failure(1)
        .stderr_has("user root is rigger's own");
    // The backup outlives the cluster, as backups do.
    destroy_keeping_snapshots(&lab);
}

#[test]
fn auth_is_warned_about_on_every_release_with_the_rbac_watch_leak() {
    let script = r#"
import "releases" as releases;
for v in ["3.4.23", "3.5.30", "3.5.32", "3.5.33", "3.6.13", "3.6.14", "3.7.0", "3.7.1"] {
    print(`${v} ${releases::auth_warning(v) != ()}`);
}
"#;
    let out = crate::harness::Rig::new().script("w.rhai", script).run();
    out.success();
    assert_eq!(
        out.stdout,
        "3.4.23 true\n3.5.30 true\n3.5.32 true\n3.5.33 false\n3.6.13 true\n3.6.14 false\n3.7.0 true\n3.7.1 false\n"
    );
}
