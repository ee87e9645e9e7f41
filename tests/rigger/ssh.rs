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
