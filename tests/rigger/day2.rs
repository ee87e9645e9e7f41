//! Day 2 in the lab: members replaced, added and removed on a real cluster with DNS kept
//! equal to the membership, judged by etcdctl and dig inside the members' namespaces,
//! never by rigger's own report alone. Lab tests: they need root, like `lab`.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::Outcome;
use crate::harness::{LabRig, figure};

const KEYS: usize = 1000;
/// etcd's own election timeout is 1 s; a write may wait for one election and a
/// leader's first heartbeats on two busy cores, never for longer.
const STALL_LIMIT: Duration = Duration::from_secs(5);

/// etcdctl with the client certificate `cluster.rhai` made, as a shell word list.
pub(crate) fn etcdctl(lab: &LabRig) -> String {
    let pki = lab.path("state/pki/example.test");
    let f = |n: &str| pki.join(n).display().to_string();
    format!(
        "etcdctl --cacert {} --cert {} --key {}",
        f("ca.crt"),
        f("client.crt"),
        f("client.key")
    )
}

/// `etcdctl ARGS` in lab host `host` (by hand, with the lab's resolver): its stdout.
pub(crate) fn ctl(lab: &LabRig, host: usize, args: &str) -> String {
    lab.run_in_host(host, &["sh", "-c", &format!("{} {args}", etcdctl(lab))])
}

/// The members as `etcdctl member list -w json` says, `(id hex, name, started)`; asked
/// through DNS discovery of host `host`.
pub(crate) fn member_list(lab: &LabRig, host: usize) -> Vec<(String, String, bool)> {
    let out = ctl(
        lab,
        host,
        "--discovery-srv example.test member list -w json",
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let members = v["members"].as_array().unwrap().iter();
    let row = |m: &Value| {
        let name = m["name"].as_str().unwrap_or("").to_string();
        let started = !name.is_empty() && m["clientURLs"].as_array().is_some_and(|u| !u.is_empty());
        (format!("{:x}", m["ID"].as_u64().unwrap()), name, started)
    };
    members.map(row).collect()
}

/// What `dig` in host `host` answers for `name`/`rtype`, one answer a line, sorted.
pub(crate) fn dig(lab: &LabRig, host: usize, rtype: &str, name: &str) -> BTreeSet<String> {
    let out = lab.run_in_host(host, &["dig", "+short", "+tries=2", "+time=1", rtype, name]);
    out.lines()
        .map(|l| l.trim().trim_end_matches('.').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The lab host index whose name is `name`.
fn index_of(lab: &LabRig, name: &str) -> usize {
    let names = lab.host_names();
    names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("no host {name} in {names:?}"))
}

/// Membership = SRV set = A records, asked of etcd and of dig inside host `host`, and
/// every member started: the voting members' names, sorted.
pub(crate) fn dns_equals_membership(lab: &LabRig, host: usize, size: usize) -> Vec<String> {
    let members = member_list(lab, host);
    assert_eq!(members.len(), size, "{members:?}");
    assert!(
        members.iter().all(|(_, _, started)| *started),
        "{members:?}"
    );
    let mut names: Vec<String> = members.iter().map(|(_, n, _)| n.clone()).collect();
    names.sort();
    let fqdns: BTreeSet<String> = names.iter().map(|n| format!("{n}.example.test")).collect();
    for (srv, port) in [
        ("_etcd-server-ssl._tcp.example.test", 2380),
        ("_etcd-client-ssl._tcp.example.test", 2379),
    ] {
        let answers = dig(lab, host, "SRV", srv);
        let want: BTreeSet<String> = fqdns.iter().map(|f| format!("0 0 {port} {f}")).collect();
        assert_eq!(answers, want, "{srv}");
    }
    // Each member's A record is the address of the lab host of that name.
    let hosts = lab.hosts();
    for name in &names {
        let entry = hosts.iter().find(|h| h["name"] == name.as_str()).unwrap();
        let ip = entry["ip"].as_str().unwrap();
        let a = dig(lab, host, "A", &format!("{name}.example.test"));
        assert_eq!(a, BTreeSet::from([ip.to_string()]), "{name}");
    }
    names
}

/// Keys with `prefix` that member `name` holds, read from it alone (serializable: its
/// own copy, not the leader's).
pub(crate) fn keys_on(lab: &LabRig, host: usize, name: &str, prefix: &str) -> BTreeSet<String> {
    let args = format!(
        "--endpoints=https://{name}.example.test:2379 --consistency=s get --prefix {prefix} --keys-only"
    );
    ctl(lab, host, &args)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

pub(crate) fn every_member_holds(
    lab: &LabRig,
    host: usize,
    names: &[String],
    prefix: &str,
    want: &BTreeSet<String>,
) {
    for name in names {
        let have = keys_on(lab, host, name, prefix);
        let missing: Vec<_> = want.difference(&have).take(5).collect();
        assert!(
            missing.is_empty(),
            "{name} lacks {} keys, e.g. {missing:?}",
            want.difference(&have).count()
        );
    }
}

/// 1,000 keys (`k0000` ...) through the real etcdctl in lab host `host`, in
/// transactions of 125 puts, asked through DNS discovery: the keys written.
pub(crate) fn write_keys(lab: &LabRig, host: usize) -> BTreeSet<String> {
    for batch in 0..KEYS / 125 {
        let puts: String = (0..125)
            .map(|i| format!("put k{:04} v\n", batch * 125 + i))
            .collect();
        lab.file("txn.txt", &format!("\n{puts}\n\n"));
        let txn = format!(
            "--discovery-srv example.test txn < {}",
            lab.path("txn.txt").display()
        );
        assert!(ctl(lab, host, &txn).starts_with("SUCCESS"));
    }
    (0..KEYS).map(|i| format!("k{i:04}")).collect()
}

/// `rigger run SCRIPT --set k=v ...`, which must succeed; how long it took.
fn day2(lab: &LabRig, script: &str, sets: &[&str]) -> Duration {
    let mut args = vec!["run", script];
    for s in sets {
        args.extend(["--set", s]);
    }
    let start = Instant::now();
    let out = lab.run(&args);
    let took = start.elapsed();
    out.success();
    out.stdout_has("cluster is healthy");
    took
}

/// A writer in host `host`: puts `w<n>` keys one after another through that host's own
/// member (which stays throughout; by address, so that what is timed is etcd, not DNS),
/// logging the time of each outcome, until the file `stop` appears.
pub(crate) fn writer(lab: &LabRig, host: usize) -> Child {
    let ip = lab.hosts()[host]["ip"].as_str().unwrap().to_string();
    let log = lab.path("writer.log");
    let stop = lab.path("writer.stop");
    let script = format!(
        "i=0; while [ ! -e {stop} ]; do i=$((i+1)); \
         if {ctl} --endpoints=https://{ip}:2379 --command-timeout=3s put w$i $i >/dev/null 2>&1; \
         then echo \"$(date +%s.%N) ok $i\"; else echo \"$(date +%s.%N) fail $i\"; fi; done > {log}",
        stop = stop.display(),
        log = log.display(),
        ctl = etcdctl(lab),
    );
    let mut cmd = lab.host_command(host, &["sh", "-c", &script]);
    cmd.stdin(Stdio::null()).spawn().unwrap()
}

/// Stops the writer; the keys it wrote, the longest time between two acknowledged
/// writes while `window` ran (from the log's timestamps), and how many it tried.
pub(crate) fn stop_writer(lab: &LabRig, mut child: Child) -> (BTreeSet<String>, Duration, usize) {
    std::fs::write(lab.path("writer.stop"), "").unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(lab.path("writer.stop"));
    let log = std::fs::read_to_string(lab.path("writer.log")).unwrap();
    let mut acked = BTreeSet::new();
    let mut last: Option<f64> = None;
    let mut longest = 0f64;
    let mut tried = 0;
    for line in log.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        tried += 1;
        if f[1] == "ok" {
            let t: f64 = f[0].parse().unwrap();
            if let Some(prev) = last {
                longest = longest.max(t - prev);
            }
            last = Some(t);
            acked.insert(format!("w{}", f[2]));
        }
    }
    (acked, Duration::from_secs_f64(longest), tried)
}

/// The leader's name, as `etcdctl endpoint status --cluster` says.
fn leader(lab: &LabRig, host: usize) -> String {
    let out = ctl(
        lab,
        host,
        "--discovery-srv example.test endpoint status --cluster -w json",
    );
    let status: Value = serde_json::from_str(&out).unwrap();
    let led = status.as_array().unwrap().iter().find(|e| {
        let s = &e["Status"];
        s["leader"].as_u64().is_some() && s["leader"] == s["header"]["member_id"]
    });
    let endpoint = led.unwrap_or_else(|| panic!("no leader in {status}"))["Endpoint"]
        .as_str()
        .unwrap();
    endpoint
        .trim_start_matches("https://")
        .split('.')
        .next()
        .unwrap()
        .to_string()
}

fn etcd_pid(lab: &LabRig, name: &str) -> i32 {
    let hosts = lab.hosts();
    let entry = hosts.iter().find(|h| h["name"] == name).unwrap();
    let procs = entry["processes"].as_array().unwrap().iter();
    let mut etcd = procs.filter_map(|p| p.as_str()?.strip_suffix(" etcd")?.parse().ok());
    etcd.next().unwrap()
}

#[test]
fn chaos_replace_grow_and_shrink_keep_dns_equal_to_the_membership_and_lose_no_key() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");

    let keys = write_keys(&lab, 0);
    figure("day2", "keys written", keys.len());

    // A member dies: health says degraded, and the replacement makes it whole again.
    let names = lab.host_names();
    let victim = names[1].clone();
    lab.kill(etcd_pid(&lab, &victim));
    lab.health_settles_at(3)
        .stdout_has("cluster is degraded: 2 of 3 members healthy, quorum held");
    let took = day2(&lab, "member-replace", &[&format!("member={victim}")]);
    figure("day2", "member-replace took", format!("{took:.2?}"));
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success()
        .stdout_has("cluster is healthy");
    let names = dns_equals_membership(&lab, 0, 3);
    assert!(!names.contains(&victim), "{names:?}");
    every_member_holds(&lab, 0, &names, "k", &keys);
    figure("day2", "keys read back from each of 3 members", keys.len());

    // Grow 3 -> 5 while a writer keeps writing.
    let w = writer(&lab, 0);
    std::thread::sleep(Duration::from_millis(500));
    let took = day2(&lab, "member-add", &["count=2"]);
    std::thread::sleep(Duration::from_millis(500));
    let (acked, grow_stall, tried) = stop_writer(&lab, w);
    figure("day2", "member-add count=2 took", format!("{took:.2?}"));
    figure(
        "day2",
        "longest write stall while growing",
        format!(
            "{grow_stall:.2?} ({} of {tried} writes acknowledged)",
            acked.len()
        ),
    );
    assert!(
        grow_stall < STALL_LIMIT,
        "writes stalled {grow_stall:?} while growing"
    );
    let names = dns_equals_membership(&lab, 0, 5);
    every_member_holds(&lab, 0, &names, "w", &acked);

    // Shrink 5 -> 3, the leader first. Leaving four is an even count: refused unless forced.
    let led = leader(&lab, 0);
    let other = names.iter().find(|n| **n != led).unwrap().clone();
    let stay = names
        .iter()
        .find(|n| **n != led && **n != other)
        .unwrap()
        .clone();
    let refused = lab.run(&["run", "member-remove", "--set", &format!("member={led}")]);
    refused.failure(1).stderr_has("an even count");
    let w = writer(&lab, index_of(&lab, &stay));
    std::thread::sleep(Duration::from_millis(500));
    let took = day2(
        &lab,
        "member-remove",
        &[&format!("member={led}"), "force=true"],
    );
    figure(
        "day2",
        "member-remove of the leader took",
        format!("{took:.2?}"),
    );
    let start = Instant::now();
    let member = format!("member={other}");
    let out = lab.run(&[
        "run",
        "member-remove",
        "--set",
        &member,
        "--set",
        "snapshot=false",
    ]);
    let took = start.elapsed();
    out.success()
        .stdout_has("cluster is healthy")
        .stderr_has(&format!(
            "warning: no backup before removing {other} (snapshot=false)"
        ));
    figure("day2", "member-remove took", format!("{took:.2?}"));
    std::thread::sleep(Duration::from_millis(500));
    let (more, shrink_stall, tried) = stop_writer(&lab, w);
    figure(
        "day2",
        "longest write stall while shrinking",
        format!(
            "{shrink_stall:.2?} ({} of {tried} writes acknowledged)",
            more.len()
        ),
    );
    assert!(
        shrink_stall < STALL_LIMIT,
        "writes stalled {shrink_stall:?} while shrinking"
    );

    let at = index_of(&lab, &stay);
    let names = dns_equals_membership(&lab, at, 3);
    assert!(
        !names.contains(&led) && !names.contains(&other),
        "{names:?}"
    );
    every_member_holds(&lab, at, &names, "k", &keys);
    let written: BTreeSet<String> = acked.union(&more).cloned().collect();
    every_member_holds(&lab, at, &names, "w", &written);
    figure(
        "day2",
        "keys read back from each of 3 members after shrinking",
        keys.len() + written.len(),
    );
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success()
        .stdout_has("cluster is healthy");
    // A backup before the replacement and before the forced removal; none before the
    // removal told `snapshot=false`.
    assert_eq!(crate::upgrade::snapshots(&lab).len(), 2);
    crate::upgrade::destroy_keeping_snapshots(&lab);
}

#[test]
fn removing_a_member_while_another_is_dead_is_refused_for_quorum() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let names = lab.host_names();
    lab.kill(etcd_pid(&lab, &names[0]));
    lab.health_settles_at(3);
    let out: Outcome = lab.run(&[
        "run",
        "member-remove",
        "--set",
        &format!("member={}", names[1]),
    ]);
    out.failure(1).stderr_has(&format!(
        "removing {} is refused: the 2 voting members left would have 1 healthy, no majority: the cluster would lose quorum",
        names[1]
    ));
    // Nothing was touched: both live members still listed, and in DNS.
    let live = index_of(&lab, &names[1]);
    assert_eq!(member_list(&lab, live).len(), 3);
    assert_eq!(
        dig(&lab, live, "SRV", "_etcd-server-ssl._tcp.example.test").len(),
        3
    );
    lab.destroy().leaves_nothing();
}

/// The doctor holds the records against the live membership when the cluster answers:
/// a member removed by hand (etcdctl, as etcd's own docs do it) leaves DNS naming it,
/// which the zone alone cannot show (its peer and client sets still agree), and etcd
/// never repairs (etcd-io/etcd#10238).
#[test]
fn the_doctor_holds_the_records_against_the_membership_when_the_cluster_answers() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let clean = lab.run(&["doctor", "--discovery-srv", "example.test"]);
    clean.success().stdout_has("no findings");
    assert!(!clean.stdout.contains("not checked"), "{}", clean.stdout);
    let names = lab.host_names();
    let gone = member_list(&lab, 0)
        .into_iter()
        .find(|(_, name, _)| *name == names[2])
        .expect("the third host is a member");
    // etcd refuses a removal as "unhealthy cluster" until its members have been up for
    // about five seconds.
    let remove = format!(
        "{} --discovery-srv example.test member remove {}",
        etcdctl(&lab),
        gone.0
    );
    let start = std::time::Instant::now();
    loop {
        let out = lab.in_host(0, &["sh", "-c", &remove]);
        if out.status.success() {
            break;
        }
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            why.contains("unhealthy cluster") && start.elapsed().as_secs() < 20,
            "{why}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // Until a leader is elected again (the removed member may have been it), the
    // membership cannot be read: health settles on degraded, for the same drift.
    lab.health_settles_at(3);
    let out = lab.run(&["doctor", "--discovery-srv", "example.test", "--json"]);
    out.failure(3);
    let diagnosis: Value = serde_json::from_str(&out.stdout).unwrap();
    let findings = diagnosis["findings"].as_array().unwrap();
    let subject = format!("{}.example.test", names[2]);
    let about: Vec<&Value> = findings
        .iter()
        .filter(|f| f["subject"] == subject.as_str())
        .collect();
    assert!(!about.is_empty(), "{diagnosis:#}");
    for f in &about {
        assert_eq!(f["id"], "membership-not-a-member", "{diagnosis:#}");
        assert_eq!(f["severity"], "warning");
        assert!(
            f["fix"]
                .as_str()
                .unwrap()
                .contains("rigger run reconcile --set domain=example.test"),
            "{f:#}"
        );
    }
    // Only the membership showed it: every finding is the membership's.
    assert!(
        findings
            .iter()
            .all(|f| f["id"] == "membership-not-a-member"),
        "{diagnosis:#}"
    );
    lab.destroy().leaves_nothing();
}

#[test]
fn health_shows_drift_and_reconcile_repairs_dns_from_the_membership() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let names = lab.host_names();
    let ips: Vec<String> = lab
        .hosts()
        .iter()
        .map(|h| h["ip"].as_str().unwrap().to_string())
        .collect();
    // DNS made to lie, as a hand edit would: one member's peer SRV record gone, a
    // record naming a machine that is no member, and one member's A record at another
    // member's address (where that member's certificate refuses the name: unhealthy).
    lab.file(
        "lie.rhai",
        &format!(
            r#"for r in dns_records("_etcd-server-ssl._tcp.example.test") {{
    if r.target == "{0}.example.test" {{ delete_dns_record(r); }}
}}
dns_record(#{{ name: "_etcd-client-ssl._tcp.example.test", type: "SRV", priority: 0, weight: 0, port: 2379, target: "etcd-ghost.example.test" }});
let a = dns_records("{1}.example.test")[0];
delete_dns_record(a);
dns_record(#{{ name: a.name, type: "A", content: "{2}" }});
"#,
            names[0], names[2], ips[1]
        ),
    );
    let lie = lab.path("lie.rhai").display().to_string();
    lab.run(&["run", &lie]).success();

    let out = lab.run(&["health", "--discovery-srv", "example.test"]);
    out.failure(3)
        .stdout_has(&format!(
            "drift: member {} (", names[0]
        ))
        .stdout_has(") is missing from _etcd-server-ssl._tcp.example.test")
        .stdout_has("drift: _etcd-client-ssl._tcp.example.test names etcd-ghost.example.test, which is not a member");
    let json = lab.run(&["health", "--discovery-srv", "example.test", "--json"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let kinds: Vec<&str> = report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["missing_srv", "not_a_member"], "{report}");
    // etcd agrees that the member is there and the ghost is not.
    let members = member_list(&lab, 1);
    assert!(members.iter().any(|(_, n, _)| *n == names[0]));
    assert!(!members.iter().any(|(_, n, _)| n == "etcd-ghost"));
    // A change reads the zone as etcd does first (the doctor's check): these records are
    // wrong as a zone too (a client target with no peer record, two names at one
    // address), so member-add stops before it launches anything, and says why.
    let refused = lab.run(&["run", "member-add"]);
    refused
        .failure(1)
        .stderr_has("the records of example.test are wrong, so nothing was changed: ")
        .stderr_has("rigger run reconcile --set domain=example.test");
    assert_eq!(lab.host_names(), names, "a machine was launched");
    assert_eq!(member_list(&lab, 1).len(), 3);

    let out = lab.run(&["run", "reconcile"]);
    out.success()
        .stdout_has("deleted _etcd-client-ssl._tcp.example.test. 300 IN SRV 0 0 2379 etcd-ghost.example.test.")
        .stdout_has(&format!(
            "published _etcd-server-ssl._tcp.example.test. 300 IN SRV 0 0 2380 {}.example.test.",
            names[0]
        ))
        .stdout_has(&format!("deleted {}.example.test. 300 IN A {}", names[2], ips[1]))
        .stdout_has(&format!("published {}.example.test. 300 IN A {}", names[2], ips[2]));
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success()
        .stdout_lacks("drift");
    dns_equals_membership(&lab, 1, 3);
    lab.run(&["run", "reconcile"])
        .success()
        .stdout_has("DNS already equals the membership");
    lab.destroy().leaves_nothing();
}

#[test]
fn an_add_that_fails_after_the_learner_joined_removes_it_and_the_cluster_keeps_serving() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    // A plan reads the live membership, and plans up to the change of it, which it
    // cannot make up: it says so, having changed nothing.
    let plan = lab.run(&["run", "member-add", "--dry-run"]);
    plan.failure(1)
        .stdout_has("ask the cluster under example.test: member list (read live)")
        .stdout_has("launch instance etcd-")
        .stderr_has("a dry run does not ask the cluster under example.test to change its membership (member add --learner --peer-urls=https://etcd-");
    assert_eq!(member_list(&lab, 0).len(), 3);
    assert_eq!(lab.host_names().len(), 3);
    // The learner is added, then its etcd cannot be started: the run fails and rolls back.
    let out = lab.run(&["run", "member-add", "--set", "etcd=/nonexistent/etcd"]);
    out.failure(1)
        .stderr_has("rolling back")
        .stderr_has("removed etcd member ");
    let members = member_list(&lab, 0);
    assert_eq!(members.len(), 3, "the learner is still listed: {members:?}");
    assert!(
        members.iter().all(|(_, _, started)| *started),
        "{members:?}"
    );
    assert_eq!(lab.host_names().len(), 3);
    dns_equals_membership(&lab, 0, 3);
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success()
        .stdout_has("cluster is healthy");
    lab.destroy().leaves_nothing();
}

#[test]
fn the_repl_adds_a_learner_and_promotes_it_step_by_step() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let mut p = crate::repl::Prompt::start(lab.rig());
    // The README's "Day 2 at the prompt", line for line.
    p.quiet(r#"let c = members::find("example.test", true);"#);
    p.eval("c.members.len()", "3");
    p.quiet(r#"let node = launch_instance(#{ name: `etcd-${uuid()}` }); node.fqdn = `${node.name}.example.test`;"#);
    p.quiet(r#"dns_record(etcd::member_records("example.test", node, true)[0]);"#);
    p.quiet(
        r#"let added = etcd_member_add("example.test", c.client, `https://${node.fqdn}:2380`);"#,
    );
    p.eval("added.member.is_learner", "true");
    p.quiet(r#"etcd::start(node, #{ domain: "example.test", tls: true, etcd: etcd::installed(etcd::release()).etcd, install: "none", init: "process", ca: c.ca, peers: [], state: "existing", initial_cluster: `${added.initial_cluster},${node.name}=https://${node.fqdn}:2380` });"#);
    // The promotion is retried for up to 60 s while the learner catches up, and may
    // take that long beside other clusters on two cores.
    p.eval_within(
        Duration::from_secs(120),
        r#"etcd_member_promote("example.test", c.client, added.member.id).filter(|m| m.is_learner).len()"#,
        "0",
    );
    p.quiet(r#"dns_record(etcd::member_records("example.test", node, true).extract(1));"#);
    p.line(r#"etcd_health("example.test", c.client)"#);
    p.expect("cluster is healthy");
    p.expect("rigger> ");
    p.leave();
    // etcd and DNS agree: four started voting members, four SRV targets.
    dns_equals_membership(&lab, 0, 4);
    lab.destroy().leaves_nothing();
}

/// In the cloud, a state that names no machine of the cluster (it was lost) finds them
/// by the cluster's tag; another cluster's machines stay out. moto's addresses are
/// fiction: nothing dials them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_find_falls_back_to_the_cluster_tag_when_the_state_is_lost() {
    use crate::harness::cloud::{aws_rig, config, moto, spec};
    use rigger::providers::Compute;
    use rigger::providers::compute::ec2::{CLUSTER_TAG, Ec2};
    let moto = moto(&[]);
    let aws = Ec2::new(&config(&moto), "run-day2");
    let mine = aws.launch(&spec("etcd-tagged")).await.unwrap();
    let mut other = spec("etcd-other");
    other.tags.insert(CLUSTER_TAG.into(), "other.test".into());
    aws.launch(&other).await.unwrap();
    let url = moto.url.clone();
    let find = aws_rig(&url)
        .file(
            "find.rhai",
            "for m in cluster_find(\"example.test\").machines { print(`${m.name} ${m.private_ip} ${m.fqdn}`); }",
        )
        .args(&["run", "find.rhai", "--target", "aws", "--dns", "route53"]);
    let out = crate::harness::off_runtime(move || find.run()).await;
    out.success().stdout_is(&format!(
        "etcd-tagged {} etcd-tagged.example.test\n",
        mine.private_ip
    ));
}
