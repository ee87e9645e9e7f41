//! SSH as rigger reaches cloud machines, against the lab hosts' own sshd.

use crate::harness::LabRig;

/// `--ssh-accept-new`: a host whose key is not known is refused, and let in (its key
/// recorded) only when the run asks for it.
#[test]
fn accept_new_lets_in_a_host_whose_key_is_not_known_and_only_then() {
    let Some(lab) = LabRig::new() else { return };
    lab.file("a.rhai", "launch_instance(#{ name: \"k1\" });\n")
        .run(&["run", "a.rhai", "--transport", "ssh"])
        .success();
    // The lab forgets the host's key, as a user's known_hosts has never seen a new
    // machine's.
    let known = lab.path("state/lab/ssh/known_hosts");
    std::fs::write(&known, "").unwrap();
    let again = lab.on_first_host("k1", r#"print(run(n, "echo again").stdout);"#);
    lab.file("b.rhai", &again)
        .run(&["run", "b.rhai", "--transport", "ssh"])
        .failure(1)
        .stderr_has("help: the host's key is unknown or changed");
    assert_eq!(std::fs::read_to_string(&known).unwrap(), "");
    lab.run(&["run", "b.rhai", "--transport", "ssh", "--ssh-accept-new"])
        .success()
        .stdout_is("again\n\n");
    // ssh writes the name hashed: ssh-keygen finds it.
    let found = std::process::Command::new("ssh-keygen")
        .args(["-F", "198.18.1.1", "-f"])
        .arg(&known)
        .output()
        .unwrap();
    assert!(found.status.success(), "the host's key was not recorded");
    lab.destroy().leaves_nothing();
}

/// An upload over SSH writes the file with its own mode, and makes the folders above it
/// with the login's umask (0755 here): a folder made 0700 shuts out the users a service
/// runs as (a systemd unit's etcd user could not exec a binary below it).
#[test]
fn an_upload_makes_its_folders_readable_and_its_file_with_its_own_mode() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
let n = launch_instance(#{ name: "u1" });
upload(n, `${n.dir}/new/deeper/key.pem`, "secret", 0o600);
print(run(n, `stat -c %a ${n.dir}/new ${n.dir}/new/deeper ${n.dir}/new/deeper/key.pem`).stdout);
"#;
    lab.file("u.rhai", script)
        .run(&["run", "u.rhai", "--transport", "ssh"])
        .success()
        .stdout_is("755\n755\n600\n\n");
    lab.destroy().leaves_nothing();
}

/// A command's own exit status comes back over SSH with its output, 127 (a program not
/// found) and 255 too, which openssh would otherwise take for a missing shell and a
/// lost connection.
#[test]
fn every_exit_status_comes_back_over_ssh_with_the_output() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
let n = launch_instance(#{ name: "s1" });
let missing = run(n, "echo before; no-such-program-here", #{ check: false });
print(`${missing.status} ${missing.stdout == "before\n"} ${missing.stderr.contains("no-such-program-here")}`);
let lost = run(n, "echo said >&2; exit 255", #{ check: false });
print(`${lost.status} ${lost.stderr == "said\n"}`);
print(run(n, "exit 3", #{ check: false }).status);
"#;
    lab.file("s.rhai", script)
        .run(&["run", "s.rhai", "--transport", "ssh"])
        .success()
        .stdout_is("127 true true\n255 true\n3\n");
    lab.destroy().leaves_nothing();
}
