//! The lab for real: network namespaces, the embedded DNS server, real etcd. These
//! tests need root (CI runs as root); without it they fail, unless
//! RIGGER_SKIP_ROOT_TESTS=1 is set, in which case they say loudly that they skipped.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Outcome, Rig};

/// False (after a loud message) when the test must be skipped.
fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("RIGGER_SKIP_ROOT_TESTS").is_some() {
        eprintln!("SKIPPED {test}: the lab needs root (RIGGER_SKIP_ROOT_TESTS is set)");
        return false;
    }
    panic!(
        "{test} needs root to build network namespaces; run the tests as root, or set RIGGER_SKIP_ROOT_TESTS=1 to skip them"
    );
}

fn status(rig: &Rig) -> serde_json::Value {
    let out = rig.again(&["lab", "status", "--json"]);
    out.success();
    serde_json::from_str(&out.stdout).unwrap()
}

/// Runs `argv` inside a lab host by hand (nsenter + unshare), independently of rigger:
/// the host's network namespace and a private /etc/resolv.conf naming the lab's DNS.
fn in_host(host: &serde_json::Value, rig: &Rig, argv: &[&str]) -> std::process::Output {
    let netns = format!("/run/netns/{}", host["netns"].as_str().unwrap());
    let resolv = rig.path("resolv.conf");
    std::fs::write(&resolv, "nameserver 198.18.0.1\n").unwrap();
    Command::new("nsenter")
        .arg(format!("--net={netns}"))
        .args([
            "--",
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!(
            "mount --bind {} /etc/resolv.conf && exec \"$@\"",
            resolv.display()
        ))
        .arg("sh")
        .args(argv)
        .output()
        .unwrap()
}

fn etcdctl(rig: &Rig, extra: &[&str]) -> Vec<String> {
    let pki = rig.path("state/pki/example.test");
    let mut args: Vec<String> = vec![
        "etcdctl".into(),
        "--cacert".into(),
        pki.join("ca.crt").to_string_lossy().into_owned(),
        "--cert".into(),
        pki.join("client.crt").to_string_lossy().into_owned(),
        "--key".into(),
        pki.join("client.key").to_string_lossy().into_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_in_host(host: &serde_json::Value, rig: &Rig, argv: &[String]) -> String {
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = in_host(host, rig, &refs);
    assert!(
        out.status.success(),
        "{argv:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `rigger health` until it exits with `code`, for etcd to notice a death.
fn health_settles_at(rig: &Rig, code: i32) -> Outcome {
    let start = Instant::now();
    loop {
        let out = rig.again(&["health", "--discovery-srv", "example.test"]);
        if out.code == Some(code) || start.elapsed() > Duration::from_secs(20) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn etcd_pids(rig: &Rig) -> Vec<i32> {
    status(rig)["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["processes"].as_array().unwrap().clone())
        .filter_map(|p| {
            let p = p.as_str().unwrap().to_string();
            p.ends_with(" etcd")
                .then(|| p.split(' ').next().unwrap().parse().unwrap())
        })
        .collect()
}

/// The lab namespace a run created, from its `-v` log.
fn created_netns(out: &Outcome) -> String {
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("lab namespace ") && l.ends_with(" created"))
        .unwrap_or_else(|| {
            panic!(
                "no lab namespace in the log (was -v given?):\n{}",
                out.stderr
            )
        });
    line.split("lab namespace ")
        .nth(1)
        .unwrap()
        .trim_end_matches(" created")
        .to_string()
}

/// Nothing of the lab is left: no namespace, no live process, no mount, no state file.
fn assert_nothing_left(rig: &Rig, netns_prefix: &str) {
    let namespaces = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    assert!(
        !namespaces.iter().any(|n| n.starts_with(netns_prefix)),
        "namespaces left: {namespaces:?}"
    );
    let state = rig.path("state");
    assert!(
        !state.exists(),
        "state left: {:?}",
        std::fs::read_dir(&state).map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(!mounts.contains(netns_prefix), "mounts left: {mounts}");
    // A live process still holding a file of this test's state dir.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !cmdline.contains(&*state.to_string_lossy()),
            "process left: {pid} {cmdline}"
        );
    }
}

#[test]
fn cluster_comes_up_healthy_and_etcd_tools_agree_and_destroy_leaves_nothing() {
    if !root_or_skip("cluster_comes_up_healthy") {
        return;
    }
    let mut rig = Rig::new().own_state().args(&["run", "cluster"]);
    let out = rig.run_keep();
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    for line in &lines[..3] {
        assert!(
            line.starts_with("member ")
                && line.contains(" is healthy: got healthy result from https://etcd-")
                && line.ends_with(".example.test:2379"),
            "{line}"
        );
    }
    assert_eq!(lines[3], "cluster is healthy");

    let st = status(&rig);
    let netns = st["netns"].as_str().unwrap().to_string();
    let hosts = st["hosts"].as_array().unwrap().clone();
    assert_eq!(hosts.len(), 3);

    // dig, inside a lab host, sees every member in the peer SRV records.
    let dig = run_in_host(
        &hosts[0],
        &rig,
        &[
            "dig".into(),
            "+short".into(),
            "SRV".into(),
            "_etcd-server-ssl._tcp.example.test".into(),
        ],
    );
    for h in &hosts {
        let want = format!("0 0 2380 {}.example.test.", h["name"].as_str().unwrap());
        assert!(dig.lines().any(|l| l == want), "dig lacks {want}:\n{dig}");
    }
    assert_eq!(dig.lines().count(), 3, "{dig}");

    // etcdctl, finding the cluster through DNS, lists every member as started.
    let members = run_in_host(
        &hosts[0],
        &rig,
        &etcdctl(&rig, &["--discovery-srv", "example.test", "member", "list"]),
    );
    assert_eq!(
        members
            .lines()
            .filter(|l| l.contains(", started, "))
            .count(),
        3,
        "{members}"
    );

    // A key put through one member is read through another.
    let first = format!(
        "--endpoints=https://{}.example.test:2379",
        hosts[0]["name"].as_str().unwrap()
    );
    let second = format!(
        "--endpoints=https://{}.example.test:2379",
        hosts[1]["name"].as_str().unwrap()
    );
    run_in_host(
        &hosts[0],
        &rig,
        &etcdctl(&rig, &[&first, "put", "seed", "dns-discovery"]),
    );
    let got = run_in_host(
        &hosts[1],
        &rig,
        &etcdctl(&rig, &[&second, "get", "seed", "--print-value-only"]),
    );
    assert_eq!(got.trim(), "dns-discovery");

    // One member down: degraded, and named unhealthy. Two down: unavailable.
    let pids = etcd_pids(&rig);
    assert_eq!(pids.len(), 3, "{pids:?}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[0]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let degraded = health_settles_at(&rig, 3);
    degraded.failure(3);
    assert!(
        degraded
            .stdout
            .contains("cluster is degraded: 2 of 3 members healthy, quorum held"),
        "{}",
        degraded.stdout
    );
    assert_eq!(
        degraded.stdout.matches(" is unhealthy: ").count(),
        1,
        "{}",
        degraded.stdout
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pids[1]),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let unavailable = health_settles_at(&rig, 4);
    unavailable.failure(4);
    assert!(
        unavailable.stdout.contains("cluster is unavailable"),
        "{}",
        unavailable.stdout
    );

    rig.again(&["destroy"]).success();
    assert_nothing_left(&rig, &netns);
}

#[test]
fn size_five_gives_five_healthy_members() {
    if !root_or_skip("size_five_gives_five_healthy_members") {
        return;
    }
    let mut rig = Rig::new().own_state().args(&[
        "run",
        "cluster",
        "--set",
        "size=5",
        "--set",
        "domain=five.test",
    ]);
    let out = rig.run_keep();
    out.success();
    assert_eq!(
        out.stdout
            .matches(" is healthy: got healthy result from https://")
            .count(),
        5,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("cluster is healthy\n"),
        "{}",
        out.stdout
    );
    let netns = status(&rig)["netns"].as_str().unwrap().to_string();
    rig.again(&["destroy"]).success();
    assert_nothing_left(&rig, &netns);
}

#[test]
fn a_second_cluster_on_a_live_domain_is_refused_before_anything_is_created() {
    if !root_or_skip("a_second_cluster_is_refused") {
        return;
    }
    let mut rig = Rig::new()
        .own_state()
        .args(&["run", "cluster", "--set", "size=1"]);
    rig.run_keep().success();
    let before = status(&rig);
    let again = rig.again(&["run", "cluster", "--set", "size=1"]);
    again.failure(1).stderr_has(
        "_etcd-server-ssl._tcp.example.test already has records: a cluster for example.test exists",
    );
    let after = status(&rig);
    assert_eq!(before["hosts"], after["hosts"]);
    assert_eq!(before["zones"], after["zones"]);
    let netns = after["netns"].as_str().unwrap().to_string();
    rig.again(&["destroy"]).success();
    assert_nothing_left(&rig, &netns);
}

#[test]
fn a_failed_run_rolls_back_everything_it_created() {
    if !root_or_skip("a_failed_run_rolls_back") {
        return;
    }
    let mut rig = Rig::new()
        .own_state()
        .file(
            "bad.rhai",
            "dns_zone(\"example.test\");\nlet n = launch_instance(#{ name: \"h1\" });\ndns_record(#{ name: \"h1.example.test\", type: \"A\", content: n.private_ip });\ndns_record(#{ name: \"bad_name.example.test\", type: \"A\", content: n.private_ip });\n",
        )
        .args(&["-v", "run", "bad.rhai"]);
    let out = rig.run_keep();
    out.failure(1)
        .stderr_has("× dns_record: \"bad_name.example.test\" is not a valid A record name: the label \"bad_name\" has '_'")
        .stderr_has("╭─[bad.rhai:4:1]")
        .stderr_has("rolling back the 3 resources it created");
    assert_nothing_left(&rig, &created_netns(&out));
}

#[test]
fn keep_on_error_leaves_the_resources_for_destroy() {
    if !root_or_skip("keep_on_error") {
        return;
    }
    let mut rig = Rig::new()
        .own_state()
        .file(
            "k.rhai",
            "let n = launch_instance(#{ name: \"kept\" });\nthrow \"stop here\";\n",
        )
        .args(&["run", "k.rhai", "--keep-on-error"]);
    rig.run_keep().failure(1).stderr_has("× stop here");
    let st = status(&rig);
    assert_eq!(st["hosts"][0]["name"], "kept");
    let netns = st["netns"].as_str().unwrap().to_string();
    rig.again(&["destroy"]).success();
    assert_nothing_left(&rig, &netns);
}

#[test]
fn bootstrap_parallel_runs_every_node_at_once() {
    if !root_or_skip("bootstrap_parallel_runs_every_node_at_once") {
        return;
    }
    // A barrier: each node marks itself, then waits for all three marks. Run one after
    // another, the first node would wait in vain and fail; only true parallelism passes.
    let barrier = tempfile::tempdir().unwrap();
    let script = format!(
        r#"
let nodes = [];
for i in 0..3 {{ nodes.push(launch_instance(#{{ name: `p${{i}}` }})); }}
let results = bootstrap_parallel(nodes, |node| {{
    run(node, `touch {dir}/${{node.name}}`);
    run(node, "for k in $(seq 100); do [ $(ls {dir} | wc -l) -ge 3 ] && exit 0; sleep 0.05; done; exit 1");
    node.name
}});
print(results);
"#,
        dir = barrier.path().display()
    );
    let mut rig = Rig::new()
        .own_state()
        .file("p.rhai", &script)
        .args(&["run", "p.rhai"]);
    rig.run_keep()
        .success()
        .stdout_is("[\"p0\", \"p1\", \"p2\"]\n");
    rig.again(&["destroy"]).success();
}

#[test]
fn bootstrap_parallel_names_every_failed_node() {
    if !root_or_skip("bootstrap_parallel_names_every_failed_node") {
        return;
    }
    let script = r#"
let nodes = [];
for i in 0..3 { nodes.push(launch_instance(#{ name: `f${i}` })); }
bootstrap_parallel(nodes, |node| {
    if node.name != "f1" { run(node, "echo no disk >&2; exit 3"); }
});
"#;
    let mut rig = Rig::new()
        .own_state()
        .file("f.rhai", script)
        .args(&["-v", "run", "f.rhai"]);
    let out = rig.run_keep();
    out.failure(1)
        .stderr_has("× bootstrap_parallel: 2 of 3 nodes failed:")
        .stderr_has("f0: run: `echo no disk >&2; exit 3` on f0 exited with 3: no disk")
        .stderr_has("f2: run: `echo no disk >&2; exit 3` on f2 exited with 3: no disk");
    assert_nothing_left(&rig, &created_netns(&out));
}

#[test]
fn wait_resolves_fails_with_what_the_server_answered() {
    if !root_or_skip("wait_resolves_fails_with_what_the_server_answered") {
        return;
    }
    let script = r#"
dns_zone("example.test");
dns_record(#{ name: "w.example.test", type: "A", content: "198.18.5.5" });
wait_resolves("w.example.test", "198.18.5.5", #{ timeout: 5 });
print("first ok");
wait_resolves("w.example.test", "198.18.5.6", #{ timeout: 0.5, interval: 0.1 });
"#;
    let mut rig = Rig::new()
        .own_state()
        .file("w.rhai", script)
        .args(&["-v", "run", "w.rhai"]);
    let out = rig.run_keep();
    out.failure(1)
        .stdout_is("first ok\n")
        .stderr_has("× wait_resolves: w.example.test A did not resolve to 198.18.5.6 within 500ms; 198.18.0.1:53 answered 198.18.5.5");
    assert_nothing_left(&rig, &created_netns(&out));
}

#[test]
fn without_privileges_the_lab_says_so_and_creates_nothing() {
    if !root_or_skip("without_privileges") {
        return;
    }
    let rig = Rig::new()
        .own_state()
        .file("l.rhai", "launch_instance(#{ name: \"x\" });\n");
    std::fs::set_permissions(
        rig.path(""),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(
        rig.path("l.rhai"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    // The same binary, as the unprivileged user `nobody`.
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(crate::harness::BIN)
        .args(["run", "l.rhai"])
        .current_dir(rig.path(""))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("RIGGER_STATE_DIR", rig.path("state"))
        .output()
        .unwrap();
    let out = Outcome::from(out);
    out.failure(1)
        .stderr_has("× launch_instance: the lab needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces")
        .stderr_has("nothing was created");
    assert!(!rig.path("state").exists());
}

#[test]
fn every_record_type_is_served_and_deleted_records_disappear() {
    if !root_or_skip("every_record_type_is_served") {
        return;
    }
    let script = r#"
dns_zone("example.test");
let h = launch_instance(#{ name: "h1" });
dns_record(#{ name: "h1.example.test", type: "A", content: h.private_ip });
dns_record(#{ name: "h1.example.test", type: "AAAA", content: "2001:db8::1" });
dns_record(#{ name: "alias.example.test", type: "CNAME", content: "h1.example.test" });
dns_record(#{ name: "_note.example.test", type: "TXT", content: "hello lab" });
dns_record(#{ name: "_svc._tcp.example.test", type: "SRV", priority: 1, weight: 2, port: 2379, target: "h1.example.test" });
let gone = dns_record(#{ name: "gone.example.test", type: "A", content: "198.18.9.9" });
wait_resolves("gone.example.test", "198.18.9.9");
delete_dns_record(gone);
print(dns_records("gone.example.test").len());
print(dns_records("h1.example.test").len());
"#;
    let mut rig = Rig::new()
        .own_state()
        .file("t.rhai", script)
        .args(&["run", "t.rhai"]);
    rig.run_keep().success().stdout_is("0\n2\n");
    let dig = |args: &[&str]| {
        let mut argv = vec!["lab", "exec", "h1", "--", "dig", "+short"];
        argv.extend_from_slice(args);
        let out = rig.again(&argv);
        out.success();
        out.stdout
    };
    assert_eq!(dig(&["A", "h1.example.test"]), "198.18.1.1\n");
    assert_eq!(dig(&["AAAA", "h1.example.test"]), "2001:db8::1\n");
    assert_eq!(
        dig(&["A", "alias.example.test"]),
        "h1.example.test.\n198.18.1.1\n"
    );
    assert_eq!(dig(&["TXT", "_note.example.test"]), "\"hello lab\"\n");
    assert_eq!(
        dig(&["SRV", "_svc._tcp.example.test"]),
        "1 2 2379 h1.example.test.\n"
    );
    assert_eq!(dig(&["A", "gone.example.test"]), "");
    // The answer is authoritative, from the lab's server, with the zone's SOA and NS.
    let full = dig(&["SOA", "example.test"]);
    assert!(
        full.starts_with("ns.example.test. hostmaster.example.test. "),
        "{full}"
    );
    let flags = rig.again(&["lab", "exec", "h1", "--", "dig", "A", "h1.example.test"]);
    assert!(flags.stdout.contains("flags: qr aa"), "{}", flags.stdout);
    assert!(
        flags.stdout.contains("SERVER: 198.18.0.1#53"),
        "{}",
        flags.stdout
    );
    rig.again(&["destroy"]).success();
}

#[test]
fn plain_http_discovery_is_refused_on_etcd_3_4_with_the_reason() {
    if !root_or_skip("plain_http_discovery_is_refused") {
        return;
    }
    let mut rig = Rig::new().own_state().args(&[
        "-v",
        "run",
        "cluster",
        "--set",
        "tls=false",
        "--set",
        "size=1",
    ]);
    let out = rig.run_keep();
    out.failure(1)
        .stderr_has("cannot discover members over plain HTTP")
        .stderr_has(
            "etcd 3.4 looks up _etcd-server-ssl._tcp even without TLS (etcd-io/etcd#11321)",
        );
    assert_nothing_left(&rig, &created_netns(&out));
}

#[test]
fn lab_exec_runs_in_the_host_with_the_lab_resolver_and_reports_the_exit_status() {
    if !root_or_skip("lab_exec") {
        return;
    }
    let mut rig = Rig::new()
        .own_state()
        .file(
            "h.rhai",
            r#"dns_zone("example.test");
let h = launch_instance(#{ name: "h1" });
dns_record(#{ name: "h1.example.test", type: "A", content: h.private_ip });
upload(h, "conf/note.txt", "written by upload", 0o640);
print(run(h, "cat conf/note.txt; stat -c %a conf/note.txt").stdout);
try { upload(h, "/etc/rigger-must-not-exist", "x", 0o644); } catch (e) { print(e.kind); }
"#,
        )
        .args(&["run", "h.rhai"]);
    rig.run_keep()
        .success()
        .stdout_is("written by upload640\n\ninvalid\n");
    assert!(!std::path::Path::new("/etc/rigger-must-not-exist").exists());
    let ip = rig.again(&[
        "lab",
        "exec",
        "h1",
        "--",
        "sh",
        "-c",
        "ip -4 -o addr show eth0; cat /etc/resolv.conf",
    ]);
    ip.success();
    assert!(ip.stdout.contains("inet 198.18.1.1/15"), "{}", ip.stdout);
    assert!(ip.stdout.contains("nameserver 198.18.0.1"), "{}", ip.stdout);
    // The machine's own resolv.conf is untouched.
    assert!(
        !std::fs::read_to_string("/etc/resolv.conf")
            .unwrap()
            .contains("198.18.0.1")
    );
    rig.again(&["lab", "exec", "h1", "--", "sh", "-c", "exit 7"])
        .failure(7);
    rig.again(&["lab", "exec", "nope", "--", "true"])
        .failure(1)
        .stderr_has("× lab exec: no lab host named \"nope\"")
        .stderr_has("help: hosts: h1");
    rig.again(&["destroy"]).success();
}

#[test]
fn the_lab_cluster_bootstrapped_over_ssh_comes_up_healthy() {
    if !root_or_skip("the_lab_cluster_bootstrapped_over_ssh") {
        return;
    }
    let mut rig = Rig::new()
        .own_state()
        .args(&["run", "cluster", "--transport", "ssh"]);
    let out = rig.run_keep();
    out.success();
    assert_eq!(
        out.stdout
            .matches(" is healthy: got healthy result from https://")
            .count(),
        3,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("cluster is healthy\n"),
        "{}",
        out.stdout
    );
    // Each host runs sshd, and etcd was started through it.
    let st = status(&rig);
    for h in st["hosts"].as_array().unwrap() {
        let procs: Vec<String> = h["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert!(procs.iter().any(|p| p.ends_with(" sshd")), "{procs:?}");
        assert!(procs.iter().any(|p| p.ends_with(" etcd")), "{procs:?}");
    }
    let netns = st["netns"].as_str().unwrap().to_string();
    rig.again(&["destroy"]).success();
    assert_nothing_left(&rig, &netns);
}

#[test]
fn ssh_refuses_a_host_whose_key_does_not_match() {
    if !root_or_skip("ssh_refuses_a_host_whose_key_does_not_match") {
        return;
    }
    let mut rig = Rig::new()
        .own_state()
        .file(
            "a.rhai",
            "let n = launch_instance(#{ name: \"k1\" });\nprint(run(n, \"echo first\").stdout);\n",
        )
        .args(&["run", "a.rhai", "--transport", "ssh"]);
    rig.run_keep().success().stdout_is("first\n\n");
    // Another key for the same address: what a man in the middle would present.
    let known = rig.path("state/lab/ssh/known_hosts");
    let other = rig.path("other_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(keygen.success());
    let public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut parts = public.split_whitespace();
    std::fs::write(
        &known,
        format!(
            "198.18.1.1 {} {}\n",
            parts.next().unwrap(),
            parts.next().unwrap()
        ),
    )
    .unwrap();
    let st = status(&rig);
    let host = &st["hosts"][0];
    let script = format!(
        "let n = #{{ id: \"{}\", name: \"k1\", private_ip: \"198.18.1.1\", dir: \"{}\" }};\nrun(n, \"echo second\");\n",
        host["netns"].as_str().unwrap(),
        rig.path("state/lab/hosts/k1").display()
    );
    std::fs::write(rig.path("b.rhai"), script).unwrap();
    rig.again(&["run", "b.rhai", "--transport", "ssh"])
        .failure(1)
        .stderr_has("× run: ssh to k1:")
        .stderr_has("help: the host's key is unknown or changed");
    rig.again(&["destroy"]).success();
}

#[test]
fn wait_tcp_dials_lab_addresses_from_inside_the_lab() {
    if !root_or_skip("wait_tcp_dials_lab_addresses_from_inside_the_lab") {
        return;
    }
    // With SSH every host listens on port 22. A refused port answers at once, which
    // only happens inside the lab: from this machine's own network the address leads
    // nowhere.
    let script = r#"
let n = launch_instance(#{ name: "w1" });
wait_tcp(`${n.private_ip}:22`, #{ timeout: 5 });
print("sshd answers");
wait_tcp(`${n.private_ip}:9`, #{ timeout: 1 });
"#;
    let mut rig = Rig::new().own_state().file("w.rhai", script).args(&[
        "run",
        "w.rhai",
        "--transport",
        "ssh",
    ]);
    rig.run_keep()
        .failure(1)
        .stdout_is("sshd answers\n")
        .stderr_has("× wait_tcp: 198.18.1.1:9 did not accept a connection within 1s; last attempt: Connection refused");
}
