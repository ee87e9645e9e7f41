//! The seed's own bootstrap for real (issue 24): `rigger run cluster` on booted lab
//! machines downloads the release from a lab host, checks it, installs it in
//! /usr/local/bin and runs it as a systemd unit under an `etcd` user; the cluster then
//! survives one machine's reboot and a power cut of all of them with no rigger command,
//! and a member whose machine was powered off is replaced. Judged inside the machines
//! (over SSH, as rigger reaches them) and with etcdctl and dig in their namespaces.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::day2::{dns_equals_membership, every_member_holds, write_keys};
use crate::download::{GENUINE, Release};
use crate::harness::{LabRig, Outcome, figure};

/// How long a cluster whose machines all lost power may take to be healthy again: a
/// boot (under a second), etcd's start from its data dir and an election, on two busy
/// cores. The closing note of issue 24 gives what was measured.
const BACK_WITHIN: Duration = Duration::from_secs(60);

/// `rigger run cluster` on three booted machines, the cloud's way: etcd `version`
/// downloaded from the lab host `release` serves, a systemd unit.
pub(crate) fn booted_cluster(lab: &LabRig, release: &Release, version: &str) -> Outcome {
    let url = release.url_param();
    let version = format!("etcd_version={version}");
    let sets = [
        "machines=booted",
        "init=systemd",
        "install=download",
        url.as_str(),
        version.as_str(),
    ];
    let out = lab.run_cluster(&[&["--transport", "ssh"], &sets[..]].concat());
    out.reports_healthy(3, "example.test");
    out
}

/// Runs the shell `command` on every machine of the cluster under example.test over
/// SSH: the last line each printed, by machine name.
pub(crate) fn on_members(lab: &LabRig, command: &str) -> BTreeMap<String, String> {
    let script = r#"
for m in cluster_find("example.test").machines {
    let out = run(m, param("command"));
    let lines = out.stdout.split("\n").filter(|l| l != "");
    print(`${m.name} ${if lines.is_empty() { "" } else { lines[lines.len() - 1] }}`);
}
"#;
    let set = format!("command={command:?}");
    let out = lab.file("on_members.rhai", script).run(&[
        "run",
        "on_members.rhai",
        "--transport",
        "ssh",
        "--set",
        &set,
    ]);
    out.success();
    let lines = out.stdout.lines().filter_map(|l| l.split_once(' '));
    lines.map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The cluster's machine names, sorted.
pub(crate) fn machine_names(lab: &LabRig) -> Vec<String> {
    let mut names: Vec<String> = lab
        .host_names()
        .into_iter()
        .filter(|n| n.starts_with("etcd-"))
        .collect();
    names.sort();
    names
}

/// The lab host index of the release server, from which etcdctl and dig ask.
pub(crate) fn server(lab: &LabRig) -> usize {
    let names = lab.host_names();
    names.iter().position(|n| n == "releases").unwrap()
}

/// Polls `rigger health` until it exits 0, for at most `limit`: how long it took.
pub(crate) fn healthy_within(lab: &LabRig, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let out = lab.run(&["health", "--discovery-srv", "example.test"]);
        if out.code == Some(0) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "not healthy after {limit:?}: {}{}",
            out.stdout,
            out.stderr
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_seeds_bootstrap_runs_on_booted_machines_and_the_cluster_survives_their_reboots() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[GENUINE]);
    booted_cluster(&lab, &release, "3.5.1");
    let names = machine_names(&lab);
    assert_eq!(names.len(), 3, "{names:?}");

    // Installed where the cloud installs it, run by systemd as the etcd user, its data
    // dir 0700 and owned by that user.
    let said = on_members(
        &lab,
        "echo $(systemctl is-active etcd) $(systemctl show etcd -p User) \
         $(stat -c '%a %U:%G' /var/lib/etcd) $(command -v etcd) \
         $(ps -o user= -C etcd) $(etcd --version | head -n 1)",
    );
    assert_eq!(said.len(), 3, "{said:?}");
    for (name, line) in &said {
        let want = "active User=etcd 700 etcd:etcd /usr/local/bin/etcd etcd etcd Version: 3.5.1";
        assert_eq!(line, want, "{name}");
    }

    let from = server(&lab);
    let keys = write_keys(&lab, from);

    // One machine reboots (a real `systemctl reboot` in it): the cluster stays
    // available, says it is degraded while the member is down, and is whole again with
    // no rigger command but health.
    let rebooted = &names[1];
    lab.run(&["lab", "reboot", rebooted]).success();
    lab.health_settles_at(3)
        .stdout_has("cluster is degraded: 2 of 3 members healthy, quorum held");
    let one = healthy_within(&lab, BACK_WITHIN);
    figure(
        "booted",
        "healthy again after one machine's reboot",
        format!("{one:.2?}"),
    );
    every_member_holds(&lab, from, &names, "k", &keys);

    // Every machine loses power at once: etcd comes back from its data dir on every
    // machine (it does not read SRV again), and the cluster with it.
    on_members(&lab, "touch /run/before-the-cut");
    let cut = Instant::now();
    lab.run(&["lab", "reboot", "--all"]).success();
    let all = healthy_within(&lab, BACK_WITHIN);
    figure(
        "booted",
        "healthy again after a power cut of all three",
        format!("{:.2?} (since the cut {:.2?})", all, cut.elapsed()),
    );
    every_member_holds(&lab, from, &names, "k", &keys);
    assert_eq!(dns_equals_membership(&lab, from, 3), names);
    // A new boot of each (its /run is new), and etcd running again under systemd.
    let again = on_members(
        &lab,
        "echo $(systemctl is-active etcd) $(test -e /run/before-the-cut && echo old-boot || echo new-boot)",
    );
    assert_eq!(again.len(), 3, "{again:?}");
    assert!(again.values().all(|s| s == "active new-boot"), "{again:?}");

    lab.destroy().leaves_nothing();
}

/// Powers the machine `name` off from inside (its own `systemctl poweroff`, as an
/// administrator or a failing disk would leave it), and waits until `lab status` says
/// it is off.
fn power_off(lab: &LabRig, name: &str) {
    let script = format!(
        "let m = cluster_find(\"example.test\").machines.filter(|m| m.name == \"{name}\")[0];\n\
         run(m, \"systemd-run --on-active=1 systemctl poweroff\");\n"
    );
    lab.file("poweroff.rhai", &script)
        .run(&["run", "poweroff.rhai", "--transport", "ssh"])
        .success();
    let start = Instant::now();
    loop {
        let hosts = lab.hosts();
        let host = hosts.iter().find(|h| h["name"] == name).unwrap();
        if host["machine"] == "off" {
            assert!(host["processes"].as_array().unwrap().is_empty(), "{host}");
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{host}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_member_whose_machine_was_powered_off_is_replaced_by_a_booted_machine() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[GENUINE]);
    booted_cluster(&lab, &release, "3.5.1");
    let names = machine_names(&lab);
    let from = server(&lab);
    let keys = write_keys(&lab, from);

    let victim = names[0].clone();
    power_off(&lab, &victim);
    lab.health_settles_at(3)
        .stdout_has("cluster is degraded: 2 of 3 members healthy, quorum held");
    let member = format!("member={victim}");
    let out = lab.run(&[
        "run",
        "member-replace",
        "--transport",
        "ssh",
        "--set",
        &member,
        "--set",
        &release.url_param(),
        "--set",
        "etcd_version=3.5.1",
    ]);
    out.success().stdout_has("cluster is healthy");

    // The machine that was off is gone; its replacement is a booted machine whose etcd
    // is the same kind of unit; DNS says the new membership and every key is there.
    let now = dns_equals_membership(&lab, from, 3);
    assert!(!now.contains(&victim), "{now:?}");
    assert_eq!(machine_names(&lab), now);
    let hosts = lab.hosts();
    let added = hosts
        .iter()
        .find(|h| {
            !names.contains(&h["name"].as_str().unwrap().to_string()) && h["name"] != "releases"
        })
        .unwrap();
    assert_eq!(added["machine"], "running", "{added}");
    let said = on_members(
        &lab,
        "echo $(systemctl is-active etcd) $(systemctl show etcd -p User)",
    );
    assert_eq!(said.len(), 3, "{said:?}");
    assert!(said.values().all(|s| s == "active User=etcd"), "{said:?}");
    every_member_holds(&lab, from, &now, "k", &keys);

    crate::upgrade::destroy_keeping_snapshots(&lab);
}
