//! The fault suite: `rigger run cluster` stopped at each phase (by the RIGGER_TEST_STOP_AT
//! hook, which makes rigger SIGSTOP itself there, so no phase is guessed by sleeping),
//! then killed or signalled. SIGKILL then `destroy` leaves nothing; SIGINT, SIGTERM and
//! SIGHUP roll back by themselves, with the shell's exit status; closed pipes, a dead
//! DNS daemon and a second writer end nothing badly.

use std::io::Read;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::LabRig;
use crate::harness::Outcome;

/// Phases of `run cluster`, as hook points: the lab written down before its namespace,
/// a host likewise, then each kind of creation journaled before the backend is asked,
/// a DNS wait, and the health check after etcd started.
const PHASES: &[&str] = &[
    "lab",
    "host:1",
    "host:3",
    "intent:zone",
    "intent:instance:2",
    "intent:record:1",
    "intent:record:9",
    "wait",
    "intent:files:1",
    "intent:files:4",
    "intent:process:1",
    "intent:process:3",
    "health",
];

/// A rigger under test. Killed if the test fails half way, before the rig's own
/// cleanup runs its `destroy` (which a stopped rigger's writer lock would refuse).
pub struct Run(pub Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Run {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Run {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Waits until `child` has stopped itself at the hook (state T in /proc).
pub fn wait_stopped(child: &mut Child, phase: &str) {
    let start = Instant::now();
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        let state = stat.rsplit_once(')').unwrap().1.split_whitespace().next();
        if state == Some("T") {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{phase}: rigger ended ({status}) before reaching the phase");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{phase}: never reached"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn finish(mut child: Run, phase: &str) -> Outcome {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{phase}: rigger did not end within 60s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Outcome {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// `rigger run cluster` as the suite runs it by default: namespaces, exec.
const CLUSTER: &[&str] = &["-v", "run", "cluster"];

/// Runs rigger with `args` up to `phase` and stops it there; the rig has seen its lab.
fn stopped_at(args: &[&str], phase: &str) -> Option<(LabRig, Run)> {
    let rig = LabRig::new()?;
    let mut child = Run(rig.spawn(&[("RIGGER_TEST_STOP_AT", phase)], args));
    wait_stopped(&mut child, phase);
    rig.look();
    Some((rig, child))
}

fn pid(child: &Run) -> Pid {
    Pid::from_raw(child.id() as i32)
}

/// Rigger run with `args`, SIGKILLed at `phase`: `destroy` then leaves nothing.
pub fn killed_then_destroyed(args: &[&str], phase: &str) {
    let Some((rig, child)) = stopped_at(args, phase) else {
        return;
    };
    kill(pid(&child), Signal::SIGKILL).unwrap();
    let out = finish(child, phase);
    assert_eq!(out.code, None, "{phase}: not killed");
    rig.look();
    rig.run(&["-v", "destroy"]).success();
    rig.leaves_nothing();
}

/// Rigger run with `args`, sent `signal` at `phase`: it rolls back by itself, leaving
/// nothing, and exits with the shell's `status` for that signal.
pub fn signalled(args: &[&str], phase: &str, signal: Signal, status: i32) {
    let Some((rig, child)) = stopped_at(args, phase) else {
        return;
    };
    kill(pid(&child), signal).unwrap();
    kill(pid(&child), Signal::SIGCONT).unwrap();
    let out = finish(child, phase);
    assert_eq!(
        out.code,
        Some(status),
        "{phase}: {signal} gave {:?}\n{}",
        out.code,
        out.stderr
    );
    out.stderr_lacks("internal error").stderr_lacks("panicked");
    rig.leaves_nothing();
}

#[test]
fn sigkill_at_every_phase_then_destroy_leaves_nothing() {
    for phase in PHASES {
        killed_then_destroyed(CLUSTER, phase);
    }
}

#[test]
fn sigint_at_every_phase_rolls_back_by_itself() {
    for phase in PHASES {
        signalled(CLUSTER, phase, Signal::SIGINT, 130);
    }
}

#[test]
fn sigterm_rolls_back_with_status_143() {
    for phase in [
        "lab",
        "intent:instance:2",
        "wait",
        "intent:process:2",
        "health",
    ] {
        signalled(CLUSTER, phase, Signal::SIGTERM, 143);
    }
}

#[test]
fn sighup_rolls_back_with_status_129() {
    for phase in ["host:2", "intent:record:4", "intent:files:2", "health"] {
        signalled(CLUSTER, phase, Signal::SIGHUP, 129);
    }
}

/// `rigger run cluster 2>&1 | head -1`: once the reader is gone, every log line fails
/// to write; the run goes on and its cluster stands.
#[test]
fn closed_stderr_and_stdout_end_nothing() {
    let Some(rig) = LabRig::new() else {
        return;
    };
    let mut child = Run(rig.spawn(&[], &["-v", "run", "cluster"]));
    // Both pipes closed before rigger writes a thing.
    drop(child.stdout.take());
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the run did not survive closed pipes"
    );
    rig.run(&["health", "--discovery-srv", "example.test"])
        .reports_healthy(3, "example.test");
    rig.destroy();
    rig.leaves_nothing();
}

/// Kills the lab's DNS daemon, as lab.json names it.
fn kill_dns_daemon(rig: &LabRig) {
    let text = std::fs::read_to_string(rig.path("state/lab/lab.json")).unwrap();
    let lab: serde_json::Value = serde_json::from_str(&text).unwrap();
    let daemon = lab["daemon_pid"].as_i64().unwrap() as i32;
    kill(Pid::from_raw(daemon), Signal::SIGKILL).unwrap();
}

/// The lab's DNS daemon killed while the cluster is being made: the next change starts
/// it again, and the run succeeds.
#[test]
fn a_dead_dns_daemon_is_started_again_mid_run() {
    let Some((rig, child)) = stopped_at(CLUSTER, "intent:record:1") else {
        return;
    };
    kill_dns_daemon(&rig);
    kill(pid(&child), Signal::SIGCONT).unwrap();
    let out = finish(child, "intent:record:1");
    out.success().stderr_has("started it again");
    // Killed again: health and destroy start it too, and destroy removes everything.
    rig.look();
    kill_dns_daemon(&rig);
    rig.run(&["health", "--discovery-srv", "example.test"])
        .reports_healthy(3, "example.test");
    rig.look();
    kill_dns_daemon(&rig);
    rig.run(&["destroy"])
        .success()
        .stderr_lacks("could not remove");
    rig.leaves_nothing();
}

/// Two writers at once: the second is refused, naming the first, before it changes
/// anything; the first finishes as if alone.
#[test]
fn a_second_writer_is_refused_naming_the_first() {
    let Some((rig, child)) = stopped_at(CLUSTER, "intent:record:1") else {
        return;
    };
    let holder = format!("pid {}", child.id());
    rig.run_cluster(&["domain=same.test"])
        .failure(1)
        .stderr_has("another rigger is changing")
        .stderr_has(&holder)
        .stderr_has("rigger -v run cluster");
    rig.run(&["destroy"])
        .failure(1)
        .stderr_has("another rigger is changing")
        .stderr_has(&holder);
    // Readers never wait for the writer.
    let start = Instant::now();
    rig.run(&["lab", "status"]).success();
    assert!(start.elapsed() < Duration::from_secs(5));
    kill(pid(&child), Signal::SIGCONT).unwrap();
    finish(child, "intent:record:1").success();
    rig.destroy();
    rig.leaves_nothing();
}

/// Starts `script` with the hook points `stops`, not waiting for any of them.
fn spawn_script(rig: &LabRig, stops: &str, script: &str) -> Run {
    rig.file("s.rhai", script);
    Run(rig.spawn(&[("RIGGER_TEST_STOP_AT", stops)], &["-v", "run", "s.rhai"]))
}

/// Waits until the lab has `n` hosts (lab.json lists a host before making it).
fn wait_hosts(rig: &LabRig, n: usize) {
    let start = Instant::now();
    loop {
        let hosts = std::fs::read_to_string(rig.path("state/lab/lab.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["hosts"].as_array().map(Vec::len));
        if hosts == Some(n) {
            rig.look();
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never {n} hosts");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A second Ctrl-C while the script still winds down (a launch half done) quits at
/// once: status 130, no rollback, nothing that looks like a crash; destroy finds what
/// is left.
#[test]
fn a_second_ctrl_c_quits_at_once_without_looking_like_a_crash() {
    let Some(rig) = LabRig::new() else { return };
    let mut child = spawn_script(
        &rig,
        "host:1,stopping",
        "launch_instance(#{name: \"n1\"});\n",
    );
    wait_stopped(&mut child, "host:1");
    rig.look();
    // Stopped inside the launch: the first Ctrl-C is taken, and rigger stops again
    // right after telling the script to stop, with the launch still half done.
    kill(pid(&child), Signal::SIGINT).unwrap();
    kill(pid(&child), Signal::SIGCONT).unwrap();
    wait_stopped(&mut child, "stopping");
    kill(pid(&child), Signal::SIGINT).unwrap();
    kill(pid(&child), Signal::SIGCONT).unwrap();
    let out = finish(child, "second Ctrl-C");
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    out.stderr_has("rigger quit at once")
        .stderr_has("`rigger destroy` removes what the run made")
        .stderr_lacks("internal error")
        .stderr_lacks("panicked")
        .stderr_lacks("rolling back the");
    rig.run(&["destroy"]).success();
    rig.leaves_nothing();
}

/// A signal during the rollback stops the rollback; the journal keeps the rest for
/// destroy.
#[test]
fn a_signal_during_the_rollback_stops_it_and_destroy_finishes() {
    let Some(rig) = LabRig::new() else { return };
    let script = "launch_instance(#{name: \"n1\"});\nlaunch_instance(#{name: \"n2\"});\nprint(\"up\");\nsleep(60);\n";
    let mut child = spawn_script(&rig, "rollback", script);
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line, "up\n");
    rig.look();
    kill(pid(&child), Signal::SIGTERM).unwrap();
    wait_stopped(&mut child, "rollback");
    kill(pid(&child), Signal::SIGTERM).unwrap();
    kill(pid(&child), Signal::SIGCONT).unwrap();
    child.stdout = Some(stdout.into_inner());
    let out = finish(child, "rollback");
    assert_eq!(out.code, Some(143), "{}", out.stderr);
    out.stderr_has("the rollback stopped: `rigger destroy` removes the rest")
        .stderr_lacks("internal error");
    rig.run(&["destroy"])
        .success()
        .stderr_has("removed instance n");
    rig.leaves_nothing();
}

/// Ctrl-C stops `run()` of a long command on a lab host at once under `rigger run`
/// (no creation grace for what creates nothing), and the rollback follows.
#[test]
fn ctrl_c_stops_a_command_on_a_lab_host_promptly() {
    let Some(rig) = LabRig::new() else { return };
    let script = "let n = launch_instance(#{name: \"n1\"});\nrun(n, \"sleep 137\");\n";
    let child = spawn_script(&rig, "", script);
    wait_hosts(&rig, 1);
    // Wait until the command runs on the host.
    let start = Instant::now();
    while !std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(b"sleep\x00137"))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "sleep 137 never ran"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    rig.look();
    let sent = Instant::now();
    kill(pid(&child), Signal::SIGINT).unwrap();
    let out = finish(child, "run");
    let took = sent.elapsed();
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} to stop and roll back"
    );
    rig.leaves_nothing();
}

/// A terminal's Ctrl-C goes to the whole foreground process group: one that comes while
/// the lab's first `ip` command runs reaches rigger, not `ip` (a group of its own), and
/// rigger rolls the lab back.
#[test]
fn ctrl_c_to_the_process_group_while_the_lab_comes_up_leaves_nothing() {
    use std::os::unix::process::CommandExt;
    let Some(rig) = LabRig::new() else { return };
    rig.file("s.rhai", "launch_instance(#{name: \"n1\"});\n");
    let mut cmd = rig.rig().command(std::path::Path::new(crate::harness::BIN));
    cmd.args(["-v", "run", "s.rhai"])
        .env("RIGGER_TEST_STOP_AT", "ip:1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    let mut child = Run(cmd.spawn().unwrap());
    wait_stopped(&mut child, "ip:1");
    rig.look();
    kill(Pid::from_raw(-(child.id() as i32)), Signal::SIGINT).unwrap();
    kill(pid(&child), Signal::SIGCONT).unwrap();
    let out = finish(child, "lab");
    assert_eq!(out.code, Some(130), "{}", out.stderr);
    out.stderr_lacks("internal error");
    rig.leaves_nothing();
}
