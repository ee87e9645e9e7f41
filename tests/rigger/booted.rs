//! Booted lab machines (`launch_instance(#{boot: true})`): systemd as PID 1 under
//! systemd-nspawn on an overlay over the machine image, reached over SSH as a cloud
//! machine is. They need the image `setup.sh` makes (`rigger lab image`).

use crate::harness::{LabRig, Outcome};

/// Runs `script` in the lab over SSH, the only way into a booted machine.
fn over_ssh(lab: &LabRig, script: &str) -> Outcome {
    lab.file("booted.rhai", script)
        .run(&["run", "booted.rhai", "--transport", "ssh"])
}

/// Two machines from one image: each runs systemd as PID 1 with its own name and
/// machine-id, and a destroy leaves no guest, cgroup, overlay or namespace.
#[test]
fn a_booted_machine_runs_systemd_with_an_identity_of_its_own_and_leaves_nothing() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
for name in ["m1", "m2"] {
    let n = launch_instance(#{ name: name, boot: true });
    print(run(n, "systemctl is-system-running --wait; cat /proc/1/comm; hostname; cat /etc/machine-id; cat /etc/resolv.conf").stdout);
}
"#;
    let out = over_ssh(&lab, script);
    out.success();
    let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 10, "{}", out.stdout);
    assert_eq!(lines[..3], ["running", "systemd", "m1"], "{}", out.stdout);
    assert_eq!(lines[5..8], ["running", "systemd", "m2"], "{}", out.stdout);
    // The lab's DNS server, as rigger wrote it: nspawn does not put this machine's own.
    assert_eq!(
        [lines[4], lines[9]],
        ["nameserver 198.18.0.1"; 2],
        "{}",
        out.stdout
    );
    let ids = [lines[3], lines[8]];
    assert!(
        ids.iter()
            .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())),
        "{ids:?}"
    );
    assert_ne!(ids[0], ids[1], "two machines share a machine-id");
    lab.destroy().leaves_nothing();
}

/// A guest's own `systemctl reboot` boots it again: what is on its disk stays, what
/// was in its /run (a tmpfs of each boot) is gone, and it answers over SSH again.
#[test]
fn a_reboot_in_the_guest_boots_it_again_with_its_disk_kept() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
let n = launch_instance(#{ name: "r1", boot: true });
run(n, "systemctl is-system-running --wait; touch /run/before /root/kept; systemd-run --on-active=1 systemctl reboot");
let rebooted = false;
for i in 0..120 {
    try {
        if run(n, "test -e /run/before", #{ check: false, timeout: 5 }).status != 0 { rebooted = true; break; }
    } catch { }
    sleep(0.5);
}
print(rebooted);
print(run(n, "systemctl is-system-running --wait; ls /root/kept").stdout);
"#;
    let out = over_ssh(&lab, script);
    lab.destroy().leaves_nothing();
    out.success().stdout_is("true\nrunning\n/root/kept\n\n");
}

/// Without SSH there is no way in: a booted machine with the exec transport is refused
/// before anything is made.
#[test]
fn a_booted_machine_needs_the_ssh_transport() {
    let Some(lab) = LabRig::new() else { return };
    let script = "launch_instance(#{ name: \"e1\", boot: true });\n";
    // -v: the lab a rolled-back run made and took down is seen in its log.
    let exec = lab
        .file("exec.rhai", script)
        .run(&["-v", "run", "exec.rhai"]);
    exec.failure(1)
        .stderr_has("e1: a booted lab machine is reached over SSH only")
        .stderr_has("help: run with --transport ssh");
    lab.leaves_nothing();
}

/// Killed (SIGKILL) while its machine boots, a run leaves a guest running that
/// `destroy` halts and removes.
#[test]
fn a_run_killed_while_its_machine_boots_leaves_nothing_after_destroy() {
    use crate::faults::{Run, finish, wait_stopped};
    use nix::sys::signal::{Signal, kill};
    let Some(lab) = LabRig::new() else { return };
    lab.file(
        "boot.rhai",
        "launch_instance(#{ name: \"k1\", boot: true });\n",
    );
    let args = ["-v", "run", "boot.rhai", "--transport", "ssh"];
    let mut child = Run(lab.spawn(&[("RIGGER_TEST_STOP_AT", "boot")], &args));
    wait_stopped(&mut child, "boot");
    lab.look();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGKILL).unwrap();
    let out = finish(child, "boot");
    assert_eq!(out.code, None, "not killed: {}", out.stderr);
    lab.run(&["-v", "destroy"]).success();
    lab.leaves_nothing();
}

/// What every machine of the lab says once it answers again: /run/before must be gone
/// (a new boot), /root/kept there (the same disk).
const AFTER_REBOOT: &str = r#"
for ip in ["198.18.1.1", "198.18.1.2"] {
    let n = #{ name: ip, id: ip, private_ip: ip, dir: "/root" };
    let said = "no answer";
    for i in 0..120 {
        try {
            let r = run(n, "systemctl is-system-running --wait >/dev/null; test ! -e /run/before && test -e /root/kept", #{ check: false, timeout: 30 });
            said = if r.status == 0 { "rebooted, disk kept" } else { "not rebooted" };
            if r.status == 0 { break; }
        } catch { }
        sleep(0.5);
    }
    print(said);
}
"#;

/// `rigger lab reboot --all` cuts the power of every machine at once and boots them
/// again; `rigger lab reboot HOST` is a real `systemctl reboot` in one. Each comes back
/// by itself with its disk, and a fresh /run.
#[test]
fn lab_reboot_cuts_the_power_of_every_machine_or_reboots_one() {
    let Some(lab) = LabRig::new() else { return };
    let mark = "touch /run/before /root/kept";
    let launch = format!(
        "for name in [\"m1\", \"m2\"] {{ run(launch_instance(#{{ name: name, boot: true }}), \"systemctl is-system-running --wait; {mark}\"); }}"
    );
    over_ssh(&lab, &launch).success();
    lab.run(&["lab", "reboot", "--all"])
        .success()
        .stderr_has("m1: rebooting")
        .stderr_has("m2: rebooting");
    over_ssh(&lab, AFTER_REBOOT)
        .success()
        .stdout_is("rebooted, disk kept\nrebooted, disk kept\n");
    // m1 is marked again, then rebooted alone.
    let remark = format!(
        "run(#{{ name: \"m1\", id: \"m1\", private_ip: \"198.18.1.1\", dir: \"/root\" }}, \"{mark}\");"
    );
    over_ssh(&lab, &remark).success();
    lab.run(&["lab", "reboot", "m1"]).success();
    let m1_only = AFTER_REBOOT.replace(", \"198.18.1.2\"", "");
    over_ssh(&lab, &m1_only)
        .success()
        .stdout_is("rebooted, disk kept\n");
    lab.run(&["lab", "reboot", "nope"])
        .failure(1)
        .stderr_has("there is no lab host named \"nope\"");
    lab.destroy().leaves_nothing();
}

/// A bare namespace host has no init to reboot: `lab reboot` refuses it by name, and
/// `--all` with no booted machine at all.
#[test]
fn lab_reboot_refuses_hosts_that_are_not_booted_machines() {
    let Some(lab) = LabRig::new() else { return };
    lab.file("bare.rhai", "launch_instance(#{ name: \"n1\" });\n")
        .run(&["run", "bare.rhai"])
        .success();
    lab.run(&["lab", "reboot", "n1"])
        .failure(1)
        .stderr_has("n1 is a network namespace, not a booted machine");
    lab.run(&["lab", "reboot", "--all"])
        .failure(1)
        .stderr_has("the lab has no booted machines");
    lab.destroy().leaves_nothing();
}

/// A machine without dig (a stock cloud image) cannot be asked what its resolver says:
/// `node_resolve` says so, naming the package, rather than leaving a bare exit 127.
#[test]
fn a_machine_without_dig_is_named_as_such_when_its_resolver_is_asked() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
let n = launch_instance(#{ name: "d1", boot: true });
run(n, "rm /usr/bin/dig");
node_resolve(n, "example.test", "A");
"#;
    // -v: the lab the rolled-back run made and took down is seen in its log.
    lab.file("nodig.rhai", script)
        .run(&["-v", "run", "nodig.rhai", "--transport", "ssh"])
        .failure(1)
        .stderr_has("d1 cannot be asked what its resolver says: dig is not installed")
        .stderr_has(
            "the node needs dig (Debian and Ubuntu: bind9-dnsutils; Amazon Linux: bind-utils)",
        );
    lab.leaves_nothing();
}
