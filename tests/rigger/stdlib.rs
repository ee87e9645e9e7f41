//! The stdlib's cloud bootstrap pieces, checked as text and by the shell that will run them.

use std::process::Command;

use crate::harness::Rig;

#[test]
fn the_systemd_unit_runs_the_member_with_its_flags() {
    Rig::new()
        .script(
            "u.rhai",
            "import \"etcd\" as etcd;\nprint(etcd::unit(#{ name: \"n1\" }, [\"/usr/local/bin/etcd\", \"--name\", \"n1\", \"--discovery-srv\", \"example.com\"]));\n",
        )
        .run()
        .success()
        .stdout_is(
            "[Unit]
Description=etcd member n1 (rigger)
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
User=etcd
Group=etcd
ExecStart=/usr/local/bin/etcd --name n1 --discovery-srv example.com
# A member is ready once its cluster has a leader, which may wait for peers still
# booting: waiting is not failing.
TimeoutStartSec=0
Restart=on-failure
RestartSec=5
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target

",
        );
}

#[test]
fn the_download_script_checks_the_release_against_its_sha256sums_and_parses() {
    let rig = Rig::new().script(
        "d.rhai",
        "import \"etcd\" as etcd;\nlet v = etcd::cloud_release();\nprint(etcd::as_root(etcd::download_script(v, etcd::release_url(v), \"/usr/local/bin\")));\n",
    );
    let out = rig.run();
    out.success();
    let script = out.stdout;
    for part in [
        "https://github.com/etcd-io/etcd/releases/download/v3.6.14",
        "\"$url/SHA256SUMS\"",
        "sha256sum \"$name.tar.gz\"",
        "checksum mismatch",
    ] {
        assert!(script.contains(part), "{part}\n{script}");
    }
    assert!(
        script.contains("grep -qx '\\''etcd Version: 3.6.14'\\''"),
        "already installed: nothing to do\n{script}"
    );
    // The shell that will run it on the host accepts it, quoting and all.
    crate::harness::stdout_of(Command::new("sh").args(["-n", "-c", &script]));
}

#[test]
fn as_root_keeps_single_quotes_intact() {
    let out = Rig::new()
        .script(
            "q.rhai",
            "import \"etcd\" as etcd;\nprint(etcd::as_root(\"echo 'it works'\"));\n",
        )
        .run();
    out.success();
    if !nix::unistd::geteuid().is_root() {
        // As a normal user the command goes through sudo, which tests must not invoke.
        assert!(out.stdout.contains("sudo -n sh -c"), "{}", out.stdout);
        return;
    }
    let ran = Command::new("sh")
        .args(["-c", out.stdout.trim()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "it works\n");
}
