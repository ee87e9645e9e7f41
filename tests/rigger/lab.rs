//! The lab for real: network namespaces, the embedded DNS server, real etcd. These
//! tests need root (CI runs as root); without it they fail, unless
//! RIGGER_SKIP_ROOT_TESTS=1 is set, in which case they say loudly that they skipped.

use crate::harness::LabRig;
use std::process::Command;

#[test]
fn cluster_comes_up_healthy_and_etcd_tools_agree_and_destroy_leaves_nothing() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let hosts = lab.host_names();
    assert_eq!(hosts.len(), 3);

    // dig, inside a lab host, sees every member in the peer SRV records.
    let srv = "_etcd-server-ssl._tcp.example.test";
    let dig = lab.run_in_host(0, &["dig", "+short", "SRV", srv]);
    let mut got: Vec<&str> = dig.lines().collect();
    let want = hosts.iter().map(|h| format!("0 0 2380 {h}.example.test."));
    let mut want: Vec<String> = want.collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{dig}");

    // etcdctl, finding the cluster through DNS, lists every member as started.
    let members = lab.etcdctl(0, &["--discovery-srv", "example.test", "member", "list"]);
    let started = members.lines().filter(|l| l.contains(", started, "));
    assert_eq!(started.count(), 3, "{members}");

    // A key put through one member is read through another.
    let endpoint = |i: usize| format!("--endpoints=https://{}.example.test:2379", hosts[i]);
    lab.etcdctl(0, &[&endpoint(0), "put", "seed", "dns-discovery"]);
    let got = lab.etcdctl(1, &[&endpoint(1), "get", "seed", "--print-value-only"]);
    assert_eq!(got.trim(), "dns-discovery");

    // One member down: degraded, and named unhealthy. Two down: unavailable.
    let pids = lab.etcd_pids();
    assert_eq!(pids.len(), 3, "{pids:?}");
    lab.kill(pids[0]);
    let degraded = lab.health_settles_at(3);
    degraded.stdout_has("cluster is degraded: 2 of 3 members healthy, quorum held");
    // A member it cannot reach: health points at the doctor.
    degraded.stderr_has("`rigger doctor --discovery-srv example.test` checks the records");
    let unhealthy = degraded.stdout.matches(" is unhealthy: ").count();
    assert_eq!(unhealthy, 1, "{}", degraded.stdout);
    lab.kill(pids[1]);
    lab.health_settles_at(4)
        .stdout_has("cluster is unavailable");
    lab.destroy().leaves_nothing();
}

#[test]
fn size_five_gives_five_healthy_members() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["size=5", "domain=five.test"])
        .reports_healthy(5, "five.test");
    lab.destroy().leaves_nothing();
}

#[test]
fn a_second_cluster_on_a_live_domain_is_refused_before_anything_is_created() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["size=1"]).success();
    let before = lab.status();
    lab.run_cluster(&["size=1"]).failure(1).stderr_has(
        "_etcd-server-ssl._tcp.example.test already has records: a cluster for example.test exists",
    );
    let after = lab.status();
    assert_eq!(before["hosts"], after["hosts"]);
    assert_eq!(before["zones"], after["zones"]);
    lab.destroy().leaves_nothing();
}

#[test]
fn a_dry_run_on_a_live_domain_refuses_as_the_real_run_does() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["size=1"]).success();
    let before = lab.status();
    let plan = lab.run_cluster(&["--dry-run", "size=1"]);
    plan.failure(1).stderr_has(
        "_etcd-server-ssl._tcp.example.test already has records: a cluster for example.test exists",
    );
    assert!(!plan.stdout.contains("launch instance"), "{}", plan.stdout);
    assert_eq!(before["hosts"], lab.status()["hosts"]);
    lab.destroy().leaves_nothing();
}

#[test]
fn what_a_killed_run_was_still_creating_is_found_and_removed_by_destroy() {
    let Some(lab) = LabRig::new() else { return };
    let script = "dns_zone(\"p.test\");\nlet n = launch_instance(#{ name: \"n1\" });\n\
        dns_record(#{ name: \"n1.p.test\", type: \"A\", content: n.private_ip });\npki_ca(\"p.test\");\n";
    lab.file("p.rhai", script);
    lab.run(&["run", "./p.rhai"]).success();
    // As if rigger died after asking for each resource and before the backend answered:
    // only the intents are left in the journal.
    let runs = lab.path("state/runs");
    for entry in std::fs::read_dir(&runs).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let intents: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("\"op\":\"created\""))
            .collect();
        assert_eq!(
            intents
                .iter()
                .filter(|l| l.contains("\"op\":\"intent\""))
                .count(),
            4,
            "{text}"
        );
        std::fs::write(&path, intents.join("\n") + "\n").unwrap();
    }
    // Each is found by what its intent knew (name, data, paths) before the lab goes.
    let out = lab.run(&["destroy"]);
    out.success();
    for what in [
        "removed files",
        "removed A record n1.p.test -> 198.18.1.1 (being published)",
        "removed instance n1 (being launched)",
        "removed zone p.test (being created)",
    ] {
        out.stderr_has(what);
    }
    lab.leaves_nothing();
}

#[test]
fn a_failed_run_rolls_back_everything_it_created() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"dns_zone("example.test");
let n = launch_instance(#{ name: "h1" });
dns_record(#{ name: "h1.example.test", type: "A", content: n.private_ip });
dns_record(#{ name: "bad_name.example.test", type: "A", content: n.private_ip });
"#;
    lab.file("bad.rhai", script)
        .run(&["-v", "run", "bad.rhai"])
        .failure(1)
        .stderr_has("× dns_record: \"bad_name.example.test\" is not a valid A record name: the label \"bad_name\" has '_'")
        .stderr_has("╭─[bad.rhai:4:1]")
        .stderr_has("rolling back the 3 resources it created");
    lab.leaves_nothing();
}

#[test]
fn keep_on_error_leaves_the_resources_for_destroy() {
    let Some(lab) = LabRig::new() else { return };
    let script = "let n = launch_instance(#{ name: \"kept\" });\nthrow \"stop here\";\n";
    lab.file("k.rhai", script)
        .run(&["run", "k.rhai", "--keep-on-error"])
        .failure(1)
        .stderr_has("× stop here");
    assert_eq!(lab.status()["hosts"][0]["name"], "kept");
    lab.destroy().leaves_nothing();
}

#[test]
fn bootstrap_parallel_runs_every_node_at_once() {
    let Some(lab) = LabRig::new() else { return };
    // A barrier: each node marks itself, then waits for all three marks. Run one after
    // another, the first node would wait in vain and fail; only true parallelism passes.
    let barrier = tempfile::tempdir().unwrap();
    let script = r#"
let nodes = [];
for i in 0..3 { nodes.push(launch_instance(#{ name: `p${i}` })); }
let results = bootstrap_parallel(nodes, |node| {
    run(node, `touch DIR/${node.name}`);
    run(node, "for k in $(seq 100); do [ $(ls DIR | wc -l) -ge 3 ] && exit 0; sleep 0.05; done; exit 1");
    node.name
});
print(results);
"#;
    let script = script.replace("DIR", &barrier.path().display().to_string());
    lab.file("p.rhai", &script)
        .run(&["run", "p.rhai"])
        .success()
        .stdout_is("[\"p0\", \"p1\", \"p2\"]\n");
    lab.destroy().leaves_nothing();
}

#[test]
fn bootstrap_parallel_names_every_failed_node() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
let nodes = [];
for i in 0..3 { nodes.push(launch_instance(#{ name: `f${i}` })); }
bootstrap_parallel(nodes, |node| {
    if node.name != "f1" { run(node, "echo no disk >&2; exit 3"); }
});
"#;
    lab.file("f.rhai", script)
        .run(&["-v", "run", "f.rhai"])
        .failure(1)
        .stderr_has("× bootstrap_parallel: 2 of 3 nodes failed:")
        .stderr_has("f0: run: `echo no disk >&2; exit 3` on f0 exited with 3: no disk")
        .stderr_has("f2: run: `echo no disk >&2; exit 3` on f2 exited with 3: no disk");
    lab.leaves_nothing();
}

#[test]
fn wait_resolves_fails_with_what_the_server_answered() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
dns_zone("example.test");
dns_record(#{ name: "w.example.test", type: "A", content: "198.18.5.5" });
wait_resolves("w.example.test", "198.18.5.5", #{ timeout: 5 });
print("first ok");
wait_resolves("w.example.test", "198.18.5.6", #{ timeout: 0.5, interval: 0.1 });
"#;
    lab.file("w.rhai", script)
        .run(&["-v", "run", "w.rhai"])
        .failure(1)
        .stdout_is("first ok\n")
        .stderr_has("× wait_resolves: w.example.test A did not resolve to 198.18.5.6 within 500ms; 198.18.0.1:53 answered 198.18.5.5");
    lab.leaves_nothing();
}

/// `node_resolve` asks the host's own resolver, from inside the host: what it answers,
/// nothing for a name that has no records, and an error naming the node once its
/// resolv.conf points at a server that is not there (the host's own loopback).
#[test]
fn node_resolve_asks_the_hosts_own_resolver() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
let n = launch_instance(#{ name: "r1" });
dns_zone("example.test");
dns_record(#{ name: "a.example.test", type: "A", content: n.private_ip });
dns_record(#{ name: "_x._tcp.example.test", type: "SRV", priority: 0, weight: 0, port: 2380, target: "a.example.test" });
print(node_resolve(n, "a.example.test", "A") == [n.private_ip]);
print(node_resolve(n, "_x._tcp.example.test", "SRV"));
print(node_resolve(n, "none.example.test", "A"));
upload(n, `${n.dir}/resolv.conf`, "nameserver 127.0.0.1\n", 0o644);
node_resolve(n, "a.example.test", "A");
"#;
    lab.file("r.rhai", script)
        .run(&["-v", "run", "r.rhai"])
        .failure(1)
        .stdout_is("true\n[\"a.example.test:2380\"]\n[]\n")
        .stderr_has(
            "× node_resolve: on r1, a.example.test A did not resolve: 127.0.0.1:53 did not answer",
        );
    lab.leaves_nothing();
}

/// The map form waits for many names together; a failure names every name that did
/// not answer (and not the one that did), in the script's order.
#[test]
fn wait_resolves_waits_for_many_names_at_once() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
dns_zone("example.test");
dns_record(#{ name: "a.example.test", type: "A", content: "198.18.5.1" });
dns_record(#{ name: "_x._tcp.example.test", type: "SRV", priority: 0, weight: 0, port: 2380, target: "a.example.test" });
wait_resolves(#{ "a.example.test": "198.18.5.1", "_x._tcp.example.test": ["a.example.test:2380"] });
print("both");
wait_resolves(#{ "a.example.test": "198.18.5.1", "b.example.test": "198.18.5.2",
                 "c.example.test": ["198.18.5.3"] }, #{ timeout: 0.5, interval: 0.1 });
"#;
    let out = lab.file("w.rhai", script).run(&["-v", "run", "w.rhai"]);
    out.failure(1)
        .stdout_is("both\n")
        .stderr_has("b.example.test A did not resolve to 198.18.5.2 within 500ms")
        .stderr_has("c.example.test A did not resolve to 198.18.5.3 within 500ms");
    assert!(
        !out.stderr.contains("a.example.test A did not"),
        "{}",
        out.stderr
    );
    lab.file("e.rhai", "wait_resolves(#{});\n")
        .run(&["run", "e.rhai"])
        .failure(1)
        .stderr_has("wait_resolves: expected names nothing");
    lab.leaves_nothing();
}

/// `dns_record([...])` publishes many records in one change and returns them in
/// order; every record is checked before any is sent, and one given twice is refused.
#[test]
fn dns_record_takes_an_array_and_checks_all_before_sending_any() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
dns_zone("example.test");
let made = dns_record([
    #{ name: "a.example.test", type: "A", content: "198.18.5.1" },
    #{ name: "_x._tcp.example.test", type: "SRV", priority: 0, weight: 0, port: 2380, target: "a.example.test" },
    #{ name: "b.example.test", type: "A", content: "198.18.5.2" },
]);
print(made.map(|r| r.name));
wait_resolves(#{ "a.example.test": "198.18.5.1", "b.example.test": "198.18.5.2",
                 "_x._tcp.example.test": ["a.example.test:2380"] });
let again = dns_record([#{ name: "a.example.test", type: "A", content: "198.18.5.1" }]);
print(again[0].id == made[0].id);
try {
    dns_record([#{ name: "c.example.test", type: "A", content: "198.18.5.3" },
                #{ name: "bad..example.test", type: "A", content: "198.18.5.4" }]);
} catch (e) { print(e.message); }
print(dns_records("c.example.test").len());
dns_record([#{ name: "d.example.test", type: "A", content: "198.18.5.5" },
            #{ name: "d.example.test", type: "A", content: "198.18.5.5" }]);
"#;
    let out = lab.file("r.rhai", script).run(&["-v", "run", "r.rhai"]);
    out.failure(1).stdout_is(
        "[\"a.example.test\", \"_x._tcp.example.test\", \"b.example.test\"]\n\
         true\n\
         dns_record: record 2: \"bad..example.test\" is not a valid A record name: it has an empty label (two dots in a row, or a leading dot)\n\
         0\n",
    );
    out.stderr_has(
        "dns_record: record 2: A d.example.test -> 198.18.5.5 is given twice (also as record 1)",
    );
    lab.leaves_nothing();
}

#[test]
fn without_privileges_the_lab_says_so_and_creates_nothing() {
    let Some(lab) = LabRig::new() else { return };
    lab.file("l.rhai", "launch_instance(#{ name: \"x\" });\n")
        .run_unprivileged(&["run", "l.rhai"])
        .failure(1)
        .stderr_has(
            "× launch_instance: the lab needs root, or these ambient capabilities: CAP_NET_ADMIN",
        )
        .stderr_has("nothing was created");
    lab.created_nothing();
}

/// The README's claim: not root, but with the four capabilities it names, the lab works
/// (a whole cluster, and its destroy); with only two of them it is refused up front,
/// naming the missing ones, and nothing is left.
#[test]
fn the_lab_works_with_the_capabilities_the_readme_names() {
    let Some(lab) = LabRig::new() else { return };
    let two = "+net_admin,+sys_admin";
    lab.run_with_caps(two, &["run", "cluster"])
        .failure(1)
        .stderr_has("CAP_DAC_OVERRIDE (the namespace files in /run/netns, owned by root)")
        .stderr_has("CAP_NET_BIND_SERVICE (the lab DNS server on port 53)")
        .stderr_lacks("CAP_NET_ADMIN (");
    lab.created_nothing();
    let four = "+net_admin,+sys_admin,+dac_override,+net_bind_service";
    lab.run_with_caps(four, &["run", "cluster"])
        .reports_healthy(3, "example.test");
    lab.run_with_caps(four, &["destroy"]).success();
    lab.leaves_nothing();
}

#[test]
fn a_lab_test_without_root_fails_or_skips_under_its_own_name() {
    let Some(lab) = LabRig::new() else { return };
    let test = "lab::size_five_gives_five_healthy_members";
    lab.run_test_unprivileged(test, &[])
        .failure(101)
        .stderr_has(&format!("{test} needs root to build network namespaces; run the tests as root, or set RIGGER_SKIP_ROOT_TESTS=1 to skip them"));
    lab.run_test_unprivileged(test, &[("RIGGER_SKIP_ROOT_TESTS", "1")])
        .success()
        .stderr_is(&format!(
            "SKIPPED {test}: the lab needs root (RIGGER_SKIP_ROOT_TESTS is set)"
        ));
    lab.created_nothing();
}

/// A port joining the lab's bridge with a lower MAC than the others, then leaving (a
/// host that is launched and rolled back), must not move the bridge's own address: the
/// hosts' ARP entries for the DNS server would name a MAC no one answers to, and every
/// lookup would time out until they expire (seen as etcdctl's "i/o timeout").
#[test]
fn the_dns_server_answers_at_once_after_a_host_comes_and_goes() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"
dns_zone("example.test");
let h = launch_instance(#{ name: "h1" });
dns_record(#{ name: "h1.example.test", type: "A", content: h.private_ip });
"#;
    lab.file("t.rhai", script).run(&["run", "t.rhai"]).success();
    let ns = lab.status()["netns"].as_str().unwrap().to_string();
    let bridge_mac = || {
        let out = Command::new("ip")
            .args(["-n", &ns, "-br", "link", "show", "br0"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .to_string()
    };
    let dig = || {
        lab.in_host(
            0,
            &[
                "dig",
                "+time=1",
                "+tries=1",
                "+short",
                "A",
                "h1.example.test",
            ],
        )
    };
    assert_eq!(String::from_utf8_lossy(&dig().stdout), "198.18.1.1\n");
    let before = bridge_mac();
    let ip = |args: &[&str]| {
        let ok = Command::new("ip")
            .arg("-n")
            .arg(&ns)
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success(), "ip -n {ns} {args:?}");
    };
    // The lowest MAC there is, on a port of the bridge; then the port goes.
    ip(&[
        "link",
        "add",
        "vlow",
        "address",
        "00:00:00:00:00:01",
        "type",
        "veth",
        "peer",
        "name",
        "vlow-peer",
    ]);
    ip(&["link", "set", "vlow", "master", "br0", "up"]);
    ip(&["link", "set", "vlow-peer", "up"]);
    assert_eq!(
        bridge_mac(),
        before,
        "the bridge took a joining port's address"
    );
    ip(&["link", "delete", "vlow"]);
    assert_eq!(bridge_mac(), before);
    let out = dig();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "198.18.1.1\n");
    lab.destroy().leaves_nothing();
}

#[test]
fn every_record_type_is_served_and_deleted_records_disappear() {
    let Some(lab) = LabRig::new() else { return };
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
    let run = lab.file("t.rhai", script).run(&["run", "t.rhai"]);
    run.success().stdout_is("0\n2\n");
    let dig = |query: &str| {
        let args: Vec<&str> = query.split_whitespace().collect();
        let out = lab.exec("h1", &[&["dig", "+short"], &args[..]].concat());
        out.success();
        out.stdout
    };
    for (query, answer) in [
        ("A h1.example.test", "198.18.1.1\n"),
        ("AAAA h1.example.test", "2001:db8::1\n"),
        ("A alias.example.test", "h1.example.test.\n198.18.1.1\n"),
        ("TXT _note.example.test", "\"hello lab\"\n"),
        ("SRV _svc._tcp.example.test", "1 2 2379 h1.example.test.\n"),
        ("A gone.example.test", ""),
    ] {
        assert_eq!(dig(query), answer, "dig {query}");
    }
    // The answer is authoritative, from the lab's server, with the zone's SOA and NS.
    let soa = dig("SOA example.test");
    let zone = "ns.example.test. hostmaster.example.test. ";
    assert!(soa.starts_with(zone), "{soa}");
    let flags = lab.exec("h1", &["dig", "A", "h1.example.test"]);
    flags
        .stdout_has("flags: qr aa")
        .stdout_has("SERVER: 198.18.0.1#53");
    lab.destroy().leaves_nothing();
}

#[test]
fn plain_http_discovery_is_refused_on_etcd_3_4_with_the_reason() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["-v", "tls=false", "size=1", "etcd_version=3.4.23"])
        .failure(1)
        .stderr_has("cannot discover members over plain HTTP")
        .stderr_has(
            "etcd 3.4 looks up _etcd-server-ssl._tcp even without TLS (etcd-io/etcd#11321)",
        );
    lab.leaves_nothing();
}

#[test]
fn lab_exec_runs_in_the_host_with_the_lab_resolver_and_reports_the_exit_status() {
    let Some(lab) = LabRig::new() else { return };
    let script = r#"dns_zone("example.test");
let h = launch_instance(#{ name: "h1" });
dns_record(#{ name: "h1.example.test", type: "A", content: h.private_ip });
upload(h, "conf/note.txt", "written by upload", 0o640);
print(run(h, "cat conf/note.txt; stat -c %a conf/note.txt").stdout);
try { upload(h, "/etc/rigger-must-not-exist", "x", 0o644); } catch (e) { print(e.kind); }
"#;
    let run = lab.file("h.rhai", script).run(&["run", "h.rhai"]);
    run.success().stdout_is("written by upload640\n\ninvalid\n");
    assert!(!std::path::Path::new("/etc/rigger-must-not-exist").exists());
    let inside = "ip -4 -o addr show eth0; cat /etc/resolv.conf";
    let ip = lab.exec("h1", &["sh", "-c", inside]);
    ip.success()
        .stdout_has("inet 198.18.1.1/15")
        .stdout_has("nameserver 198.18.0.1");
    // The machine's own resolv.conf is untouched.
    let machine = std::fs::read_to_string("/etc/resolv.conf").unwrap();
    assert!(!machine.contains("198.18.0.1"), "{machine}");
    lab.exec("h1", &["sh", "-c", "exit 7"]).failure(7);
    lab.exec("nope", &["true"])
        .failure(1)
        .stderr_has("× lab exec: no lab host named \"nope\"")
        .stderr_has("help: hosts: h1");
    lab.destroy().leaves_nothing();
}

#[test]
fn the_lab_cluster_bootstrapped_over_ssh_comes_up_healthy() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["--transport", "ssh"])
        .reports_healthy(3, "example.test");
    // Each host runs sshd, and etcd was started through it.
    for procs in lab.host_processes() {
        assert!(procs.iter().any(|p| p.ends_with(" sshd")), "{procs:?}");
        assert!(procs.iter().any(|p| p.ends_with(" etcd")), "{procs:?}");
    }
    lab.destroy().leaves_nothing();
}

#[test]
fn ssh_refuses_a_host_whose_key_does_not_match() {
    let Some(lab) = LabRig::new() else { return };
    let first = r#"let n = launch_instance(#{ name: "k1" });
print(run(n, "echo first").stdout);
"#;
    let run = lab
        .file("a.rhai", first)
        .run(&["run", "a.rhai", "--transport", "ssh"]);
    run.success().stdout_is("first\n\n");
    lab.replace_host_key("198.18.1.1");
    // The same host again, from a script that does not launch it.
    let again = lab.on_first_host("k1", r#"run(n, "echo second");"#);
    lab.file("b.rhai", &again)
        .run(&["run", "b.rhai", "--transport", "ssh"])
        .failure(1)
        .stderr_has("× run: ssh to k1:")
        .stderr_has("help: the host's key is unknown or changed");
    lab.destroy().leaves_nothing();
}

/// A host whose sshd is not up yet (a booting cloud machine's) is tried again, with a
/// growing pause, until it answers: here its sshd is stopped and started again 2 s
/// after rigger first knocks.
#[test]
fn ssh_waits_for_a_host_whose_sshd_comes_up_late() {
    let Some(lab) = LabRig::new() else { return };
    lab.file("a.rhai", "launch_instance(#{ name: \"s1\" });\n")
        .run(&["run", "a.rhai", "--transport", "ssh"])
        .success();
    let sshd: Vec<i32> = lab.host_processes()[0]
        .iter()
        .filter_map(|p| p.strip_suffix(" sshd").map(|pid| pid.parse().unwrap()))
        .collect();
    assert!(!sshd.is_empty(), "no sshd in the host");
    for pid in &sshd {
        lab.kill(*pid);
    }
    let netns = lab.host_netns(0);
    let dir = lab.path("state/lab/hosts/s1").display().to_string();
    let again = lab.on_first_host("s1", r#"print(run(n, "echo back").stdout);"#);
    lab.file("b.rhai", &again);
    let start = std::time::Instant::now();
    let child = lab.spawn(&[], &["-v", "run", "b.rhai", "--transport", "ssh"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let started = std::process::Command::new("ip")
        .args(["netns", "exec", &netns, "/usr/sbin/sshd", "-f"])
        .arg(format!("{dir}/sshd_config"))
        .status()
        .unwrap();
    assert!(started.success(), "sshd did not start again");
    let out = crate::harness::Outcome::from(child.wait_with_output().unwrap());
    out.success()
        .stdout_is("back\n\n")
        .stderr_has("sshd not answering yet, trying again");
    assert!(start.elapsed() >= std::time::Duration::from_secs(2));
    lab.destroy().leaves_nothing();
}

#[test]
fn wait_tcp_dials_lab_addresses_from_inside_the_lab() {
    let Some(lab) = LabRig::new() else { return };
    // With SSH every host listens on port 22. A refused port answers at once, which
    // only happens inside the lab: from this machine's own network the address leads
    // nowhere.
    let script = r#"
let n = launch_instance(#{ name: "w1" });
wait_tcp(`${n.private_ip}:22`, #{ timeout: 5 });
print("sshd answers");
wait_tcp(`${n.private_ip}:9`, #{ timeout: 1 });
"#;
    lab.file("w.rhai", script)
        .run(&["-v", "run", "w.rhai", "--transport", "ssh"])
        .failure(1)
        .stdout_is("sshd answers\n")
        .stderr_has("× wait_tcp: 198.18.1.1:9 did not accept a connection within 1s; last attempt: Connection refused");
    lab.leaves_nothing();
}

/// A state dir that exists already is the user's: its mode stays (with a warning when
/// others can read it), and destroy empties it but leaves it. One rigger makes is 0700
/// and goes with the last thing in it.
#[test]
fn an_existing_state_dir_keeps_its_mode_and_stays_after_destroy() {
    use std::os::unix::fs::PermissionsExt;
    let Some(lab) = LabRig::new() else { return };
    let state = lab.path("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, PermissionsExt::from_mode(0o755)).unwrap();
    lab.run_cluster(&["size=1"])
        .success()
        .stderr_has("is open to other users (mode 755)");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        mode, 0o755,
        "rigger changed the mode of a dir it did not make"
    );
    lab.run(&["destroy"]).success();
    let left: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in the state dir: {left:?}");
    std::fs::remove_dir(&state).unwrap();
    lab.leaves_nothing();

    lab.run_cluster(&["size=1"]).success();
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700);
    lab.destroy().leaves_nothing();
}
