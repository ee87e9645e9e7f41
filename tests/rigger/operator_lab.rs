//! Finding the cluster after the run (issue 15, point 2), in the lab: `rigger env`
//! evaluated by a real shell and used by the real etcdctl, `rigger state`, and a destroy
//! of one cluster that leaves the other, confirmed at a real terminal.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use expectrl::{Expect, Session};
use serde_json::Value;

use crate::harness::BIN;
use crate::harness::LabRig;

/// `bash -c SCRIPT` with the lab's environment (its state dir) and `$RIGGER`.
fn bash(lab: &LabRig, script: &str) -> (bool, String, String) {
    let mut cmd = lab.rig().command(Path::new("bash"));
    cmd.args(["-c", script]).env("RIGGER", BIN);
    let out = cmd.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// The keys of a pretty-printed JSON object, in the order they are written.
pub fn top_keys(text: &str) -> Vec<String> {
    let keys = text.lines().filter_map(|l| {
        let key = l.strip_prefix("  \"")?;
        Some(key.split_once('"')?.0.to_string())
    });
    keys.collect()
}

fn json(out: &crate::harness::Outcome) -> Value {
    out.success();
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn env_evaluated_by_bash_lets_the_real_etcdctl_reach_the_lab_cluster() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[])
        .success()
        .stderr_has("cluster example.test is up: `eval \"$(rigger env --discovery-srv example.test)\"` sets etcdctl's ETCDCTL_* variables");
    let host = &lab.host_names()[0];
    let script = format!(
        "set -e; eval \"$(\"$RIGGER\" env --discovery-srv example.test)\"; \"$RIGGER\" lab exec {host} -- etcdctl member list"
    );
    let (ok, stdout, stderr) = bash(&lab, &script);
    assert!(ok, "{stderr}");
    let members: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(", started, "))
        .collect();
    assert_eq!(members.len(), 3, "{stdout}");
    for name in lab.host_names() {
        assert!(
            stdout.contains(&format!("https://{name}.example.test:2379")),
            "{stdout}"
        );
    }

    let out = lab.run(&["env", "--discovery-srv", "example.test", "--json"]);
    assert_eq!(
        top_keys(&out.stdout),
        ["domain", "endpoints", "cacert", "cert", "key"]
    );
    let env = json(&out);
    assert_eq!(env["endpoints"].as_array().unwrap().len(), 3);
    let cacert = lab.path("state/pki/example.test/ca.crt");
    assert_eq!(env["cacert"], cacert.to_string_lossy().as_ref());

    let shown = json(&lab.run(&["state", "show", "example.test", "--json"]));
    assert_eq!(shown["endpoints"], env["endpoints"]);
    let resources = shown["runs"][0]["resources"].as_array().unwrap();
    let kinds = |kind: &str| resources.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!(
        (kinds("instance"), kinds("dns_zone"), kinds("process")),
        (3, 1, 3)
    );
    assert_eq!(kinds("dns_record"), 9);
    // The reports of a live cluster have the one JSON style too.
    for args in [
        &["health", "--discovery-srv", "example.test", "--json"][..],
        &["doctor", "--discovery-srv", "example.test", "--json"],
        &["lab", "status", "--json"],
        &["state", "list", "--json"],
    ] {
        let out = lab.run(args);
        out.success();
        assert!(
            out.stdout.starts_with("{\n  \"") || out.stdout.starts_with("[\n  "),
            "{args:?}"
        );
        crate::operator::keys_are_snake_case(&serde_json::from_str(&out.stdout).unwrap());
    }
    // Tab completes the lab's hosts and the clusters the state dir knows.
    let mut hosts = lab.host_names();
    hosts.sort();
    let mut offered = crate::operator::complete(lab.rig(), &["lab", "exec", "etcd-"]);
    offered.sort();
    assert_eq!(offered, hosts);
    let domains = crate::operator::complete(lab.rig(), &["env", "--discovery-srv", ""]);
    assert_eq!(domains, ["example.test"]);
    let shown = crate::operator::complete(lab.rig(), &["state", "show", "ex"]);
    assert_eq!(shown, ["example.test"]);
    lab.run(&["env", "--discovery-srv", "other.test"])
        .failure(1)
        .stderr_has("× no cluster of other.test in ")
        .stderr_has("help: clusters here: example.test");
    lab.destroy().leaves_nothing();
}

#[test]
fn destroy_of_one_discovery_domain_asks_at_a_terminal_and_leaves_the_other_cluster() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["size=1", "domain=a.test"]).success();
    lab.run_cluster(&["size=1", "domain=b.test"]).success();
    let runs = json(&lab.run(&["state", "list", "--json"]));
    let clusters: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["clusters"])
        .collect();
    assert_eq!(
        clusters,
        [
            &serde_json::json!(["a.test"]),
            &serde_json::json!(["b.test"])
        ]
    );

    // Not at a terminal, nobody can say yes: nothing goes.
    lab.run(&["destroy", "--discovery-srv", "a.test"])
        .failure(1)
        .stderr_has("would remove 12 resources; not on a terminal, nobody can confirm it, so nothing was removed")
        .stderr_has("help: give --yes to remove them without asking");
    assert_eq!(
        json(&lab.run(&["state", "list", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let mut cmd = Command::new(BIN);
    cmd.args(["destroy", "--discovery-srv", "a.test"])
        .current_dir(lab.path(""))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("RIGGER_STATE_DIR", lab.path("state"))
        .stdin(Stdio::inherit());
    let mut tty = Session::spawn(cmd).expect("rigger in a pty");
    tty.set_expect_timeout(Some(Duration::from_secs(60)));
    tty.expect("The cluster of a.test: 12 resources will be removed:")
        .unwrap();
    tty.expect("  zone a.test").unwrap();
    tty.expect("Remove them? [y/N] ").unwrap();
    tty.send_line("y").unwrap();
    tty.expect("destroyed the cluster of a.test").unwrap();
    tty.expect(expectrl::Eof).unwrap();

    lab.run(&["state", "show", "a.test"])
        .failure(1)
        .stderr_has("help: clusters here: b.test");
    lab.run(&["health", "--discovery-srv", "b.test"])
        .reports_healthy(1, "b.test");
    lab.run(&["destroy", "--discovery-srv", "b.test", "--yes"])
        .success();
    // The last cluster took the lab with it.
    lab.leaves_nothing();
}

/// Not on a terminal, a run says each step on a line of its own with its UTC time, and
/// no control characters; `-v` adds every record and command, and never a key. On a
/// terminal (a real pty), the steps are a live view: a line per step and per node,
/// redrawn as they go, with the wait's count of names that answer.
#[test]
fn a_run_is_timestamped_lines_in_a_pipe_and_a_live_view_on_a_terminal() {
    let Some(lab) = LabRig::new() else { return };
    let out = lab.run(&["-v", "run", "cluster"]);
    out.success();
    let stamped = |l: &str| {
        let b = l.as_bytes();
        b.len() > 28 && b[4] == b'-' && b[10] == b'T' && l[..30].contains('Z')
    };
    for line in out.stderr.lines() {
        assert!(stamped(line), "no timestamp: {line:?}");
    }
    assert!(
        !out.stderr.contains(['\x1b', '\r']),
        "control characters: {:?}",
        out.stderr
    );
    for step in [
        "  INFO launched etcd-",
        "  INFO published 9 of 9 DNS records",
        "  INFO waiting until DNS answers 5 names",
        "  INFO DNS answers all 5 names (",
        "  INFO started etcd on etcd-",
        " DEBUG publishing SRV record _etcd-server-ssl._tcp.example.test -> 0 0 2380 etcd-",
        " DEBUG on etcd-",
        " DEBUG writing ",
    ] {
        assert!(out.stderr.contains(step), "no {step:?} in:\n{}", out.stderr);
    }
    let key = std::fs::read_to_string(lab.path("state/pki/example.test/client.key")).unwrap();
    let secret = key.lines().nth(1).unwrap();
    assert!(!out.stderr.contains(secret) && !out.stderr.contains("PRIVATE KEY"));
    lab.destroy();

    let (shown, status) = at_a_terminal(&lab, &["run", "cluster", "--set", "domain=live.test"]);
    assert_eq!(status, 0, "{shown}");
    assert!(shown.contains("\x1b[2K"), "nothing redrawn: {shown:?}");
    let mut lines = [
        "launch_instance",
        "bootstrap_parallel",
        "wait_resolves: 5 of 5 names answer",
        "etcd_health",
        // A line per node, with the node's own steps under it.
        "↳",
    ]
    .map(String::from)
    .to_vec();
    lines.extend(lab.host_names());
    // A terminal gets no timestamps.
    live_view(&shown, &lines, &["Z  INFO"]);
    lab.destroy().leaves_nothing();
}

/// A run that made two clusters together cannot be taken apart by a scoped destroy.
#[test]
fn a_scoped_destroy_refuses_a_run_that_made_two_clusters_together() {
    let Some(lab) = LabRig::new() else { return };
    lab.file("two.rhai", "dns_zone(\"a.test\");\ndns_zone(\"b.test\");\n");
    lab.run(&["run", "two.rhai"]).success();
    lab.run(&["destroy", "--discovery-srv", "a.test", "--yes"])
        .failure(1)
        .stderr_has("made resources for a.test and b.test together: removing only a.test's cannot be told apart")
        .stderr_has("help: `rigger destroy` (without --discovery-srv) removes everything");
    let runs = json(&lab.run(&["state", "list", "--json"]));
    assert_eq!(runs[0]["clusters"], serde_json::json!(["a.test", "b.test"]));
    lab.destroy().leaves_nothing();
}

/// rigger in a pty (a terminal, as a person's) against this lab, until it exits: all it
/// drew, and its exit status.
fn at_a_terminal(lab: &LabRig, args: &[&str]) -> (String, i32) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(lab.path(""))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("RIGGER_STATE_DIR", lab.path("state"));
    let mut tty = Session::spawn(cmd).expect("rigger in a pty");
    tty.set_expect_timeout(Some(Duration::from_secs(120)));
    let all = tty.expect(expectrl::Eof).unwrap();
    let shown = String::from_utf8_lossy(all.as_bytes()).into_owned();
    let status = match tty.get_process().wait().unwrap() {
        expectrl::process::unix::WaitStatus::Exited(_, code) => code,
        other => panic!("rigger did not exit: {other:?}"),
    };
    lab.look();
    (shown, status)
}

/// Asserts that a terminal was drawn every one of `lines`, and none of `never`.
fn live_view(shown: &str, lines: &[impl AsRef<str>], never: &[&str]) {
    for line in lines {
        let line = line.as_ref();
        assert!(
            shown.contains(line),
            "no {line:?} in the live view: {shown:?}"
        );
    }
    for text in never {
        assert!(
            !shown.contains(text),
            "{text:?} in the live view: {shown:?}"
        );
    }
}

/// Not on a terminal, every node's phase is a timestamped info line when it begins,
/// once: launching, up (the lab's hosts have no boot to wait for), installing,
/// starting, healthy. On a terminal each node is one line saying its phase, redrawn as
/// it changes, and left on the screen saying healthy.
#[test]
fn each_node_says_its_phase_as_a_line_of_the_live_view_and_as_log_lines_in_a_pipe() {
    let Some(lab) = LabRig::new() else { return };
    let out = lab.run_cluster(&[]);
    out.success();
    let names = lab.host_names();
    assert_eq!(names.len(), 3);
    for name in &names {
        out.says_phases(
            name,
            &["launching", "up", "installing", "starting", "healthy"],
        );
    }
    // Every node is made ready before the first start: the stagger spaces starts only.
    let lines: Vec<&str> = out.stderr.lines().collect();
    let last_ready = lines.iter().rposition(|l| l.ends_with(": installing"));
    let first_start = lines.iter().position(|l| l.ends_with(": starting"));
    assert!(last_ready < first_start, "{}", out.stderr);
    assert!(!out.stderr.contains(['\x1b', '\r']), "{:?}", out.stderr);
    lab.destroy();

    let (shown, status) = at_a_terminal(&lab, &["run", "cluster", "--set", "domain=live.test"]);
    assert_eq!(status, 0, "{shown}");
    let mut lines: Vec<String> = lab
        .host_names()
        .iter()
        .flat_map(|name| ["starting", "healthy"].map(|phase| format!("{name}: {phase}")))
        .collect();
    // The short phases are drawn too, though a frame may miss one of a node's.
    lines.extend(["launching", "up", "installing"].map(|phase| format!(": {phase} ")));
    // Phases are lines, not logs.
    live_view(&shown, &lines, &["INFO etcd-"]);
    lab.destroy().leaves_nothing();
}

/// A DNS wait's line says, for every server asked, how many of the awaited answers it
/// gave on its last poll: here two of the three SRV targets are published, and a second
/// server (a lab address nobody serves) does not answer.
#[test]
fn a_waits_line_says_how_many_awaited_targets_each_server_answered_last() {
    let Some(lab) = LabRig::new() else { return };
    lab.file(
        "two-of-three.rhai",
        r#"dns_zone("w.test");
let srv = "_etcd-server-ssl._tcp.w.test";
for t in ["a.w.test", "b.w.test"] {
    dns_record(#{ name: srv, type: "SRV", priority: 0, weight: 0, port: 2380, target: t });
}
let want = ["a.w.test", "b.w.test", "c.w.test"].map(|t| #{ target: t, port: 2380 });
let servers = ["198.18.0.1:53", "198.18.1.250:53"];
try { wait_resolves(srv, want, #{ timeout: 3, servers: servers }) } catch (e) { print(e.message) }
"#,
    );
    let (shown, status) = at_a_terminal(&lab, &["run", "two-of-three.rhai"]);
    assert_eq!(status, 0, "{shown}");
    live_view(
        &shown,
        &[
            "waiting for _etcd-server-ssl._tcp.w.test SRV: 2 of 3 targets at 198.18.0.1:53, no answer at 198.18.1.250:53",
            "within 3s; 198.18.0.1:53 answered a.w.test:2380, b.w.test:2380",
        ],
        &[],
    );
    lab.destroy().leaves_nothing();
}
