//! Rolling upgrades in the lab (issue 25), on the releases its ladder holds: a TLS
//! cluster climbs 3.4.23 → 3.5.16 → 3.5.30 while a writer keeps writing and loses
//! nothing; each step etcd does not take is refused with the cluster untouched; a new
//! binary that will not start on the second member is rolled back to the old one, the
//! cluster serving on mixed releases; and the same script runs over SSH.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::Value;

use crate::day2::{
    dns_equals_membership, every_member_holds, member_list, stop_writer, write_keys, writer,
};
use crate::download::on_the_ladder;
use crate::harness::{LabRig, Outcome, figure};

/// `rigger run upgrade --set etcd_version=VERSION` (and `extra` arguments before it).
fn upgrade(lab: &LabRig, extra: &[&str], version: &str) -> Outcome {
    let set = format!("etcd_version={version}");
    lab.run(&[&["run"], extra, &["upgrade", "--set", &set]].concat())
}

/// Each member's release by name (as `rigger health --json` reads their `/version`),
/// and the cluster version.
pub(crate) fn versions(lab: &LabRig) -> (Vec<(String, String)>, String) {
    // Read whether the cluster is healthy or degraded (a member down).
    let out = lab.run(&["health", "--discovery-srv", "example.test", "--json"]);
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    let mut members: Vec<(String, String)> = report["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let host = m["endpoint"]
                .as_str()
                .unwrap()
                .trim_start_matches("https://");
            let name = host.split('.').next().unwrap().to_string();
            (name, m["version"].as_str().unwrap_or("").to_string())
        })
        .collect();
    members.sort();
    let cluster = report["cluster_version"].as_str().unwrap_or("").to_string();
    (members, cluster)
}

/// The doctor's findings for example.test, by id.
pub(crate) fn doctor(lab: &LabRig) -> Vec<String> {
    let out = lab.run(&["doctor", "--discovery-srv", "example.test", "--json"]);
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.stdout, out.stderr));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// The snapshots kept for example.test, each checked to be private.
pub(crate) fn snapshots(lab: &LabRig) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = lab.path("state/snapshots/example.test");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for e in entries.flatten() {
        if e.path().extension().is_none_or(|x| x != "db") {
            continue;
        }
        let mode = e.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", e.path().display());
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    names
}

/// `rigger destroy`, which keeps the snapshots (backups outlive the cluster); then they
/// are removed by hand, and nothing else may be left.
pub(crate) fn destroy_keeping_snapshots(lab: &LabRig) {
    let kept = snapshots(lab);
    lab.destroy();
    assert_eq!(snapshots(lab), kept, "destroy keeps the snapshots");
    let _ = std::fs::remove_dir_all(lab.path("state/snapshots"));
    // With nothing but its own marker left, the state dir rigger made goes too.
    lab.destroy();
    lab.leaves_nothing();
}

/// The gaps between acknowledged writes in the writer's log longer than a quarter
/// second: each is a write stall (a restart of the member it writes to, or an election).
fn stalls(lab: &LabRig) -> Vec<f64> {
    let log = std::fs::read_to_string(lab.path("writer.log")).unwrap();
    let oks: Vec<f64> = log
        .lines()
        .filter(|l| l.split(' ').nth(1) == Some("ok"))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    oks.windows(2)
        .map(|w| w[1] - w[0])
        .filter(|gap| *gap > 0.25)
        .collect()
}

#[test]
fn a_tls_cluster_climbs_from_3_4_to_3_5_30_under_a_writer_and_loses_nothing() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["etcd_version=3.4.23"]).success();
    let (before, _) = versions(&lab);
    assert!(before.iter().all(|(_, v)| v == "3.4.23"), "{before:?}");
    assert_eq!(
        doctor(&lab),
        ["member-end-of-life"; 3],
        "3.4 is past its end of life"
    );
    let keys = write_keys(&lab, 0);
    let whole = Instant::now();
    for (step, version) in ["3.5.16", "3.5.30"].into_iter().enumerate() {
        let w = writer(&lab, 0);
        std::thread::sleep(std::time::Duration::from_millis(500));
        let began = Instant::now();
        let out = upgrade(&lab, &[], version);
        let took = began.elapsed();
        let (acked, longest, tried) = stop_writer(&lab, w);
        out.success();
        out.stdout_has(&format!(
            "every member runs {version}; the cluster version is 3.5"
        ));
        // The leader goes last, its leadership handed first to a member already upgraded.
        let upgraded: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("upgraded ")?.split(' ').next())
            .collect();
        let moved = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("moved leadership from ")?.split_once(" to "));
        let (from, to) = moved.unwrap_or_else(|| panic!("no leadership moved: {}", out.stdout));
        assert_eq!(upgraded.len(), 3, "{}", out.stdout);
        assert_eq!(upgraded[2], from, "{}", out.stdout);
        assert!(upgraded[..2].contains(&to), "{}", out.stdout);
        let (members, cluster) = versions(&lab);
        assert!(members.iter().all(|(_, v)| v == version), "{members:?}");
        assert!(cluster.starts_with("3.5."), "{cluster}");
        let names = dns_equals_membership(&lab, 0, 3);
        every_member_holds(&lab, 0, &names, "k", &keys);
        every_member_holds(&lab, 0, &names, "w", &acked);
        assert!(
            acked.len() > 5,
            "the writer wrote {} of {tried}",
            acked.len()
        );
        // 3.5.16 is below 3.5.26 (zombie members after a 3.4 restore): the doctor says so,
        // and nothing else; on 3.5.30 it finds nothing.
        let expected: Vec<&str> = if version == "3.5.16" {
            vec!["member-known-bad-patch"; 3]
        } else {
            Vec::new()
        };
        assert_eq!(doctor(&lab), expected, "after {version}");
        assert_eq!(
            snapshots(&lab).len(),
            step + 1,
            "a snapshot before each step"
        );
        let gaps = stalls(&lab);
        figure(
            "upgrade",
            &format!("to {version}: the whole upgrade"),
            format!("{:.2} s", took.as_secs_f64()),
        );
        figure(
            "upgrade",
            &format!("to {version}: longest write stall"),
            format!("{:.2} s", longest.as_secs_f64()),
        );
        figure(
            "upgrade",
            &format!("to {version}: write stalls over 0.25 s"),
            format!(
                "{gaps:.2?} ({} writes acknowledged of {tried})",
                acked.len()
            ),
        );
        assert!(longest.as_secs_f64() < 5.0, "a write stalled {longest:?}");
    }
    figure(
        "upgrade",
        "3.4.23 to 3.5.30, both steps",
        format!("{:.2} s", whole.elapsed().as_secs_f64()),
    );
    // The etcd processes are the cluster's, as the ones they replaced were: destroy takes
    // them down.
    destroy_keeping_snapshots(&lab);
}

/// Each member's release, and the membership as etcdctl lists it.
type Standing = (Vec<(String, String)>, Vec<(String, String, bool)>);

/// The cluster as it stands: each member's release, and the membership.
fn standing(lab: &LabRig) -> Standing {
    let mut members = member_list(lab, 0);
    members.sort();
    (versions(lab).0, members)
}

/// The cluster as a refusal must leave it: the same releases and the same members.
fn untouched(lab: &LabRig, before: &Standing) {
    assert_eq!(standing(lab), *before);
}

fn refused(out: &Outcome, rule: &str, way_out: &str) {
    out.failure(1);
    out.stderr_has(&format!("is refused ({rule})"));
    out.stderr_has("nothing was changed");
    out.stderr_has(way_out);
}

#[test]
fn each_step_etcd_does_not_take_is_refused_with_the_cluster_untouched() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["etcd_version=3.4.23"]).success();
    let before = standing(&lab);
    refused(
        &upgrade(&lab, &[], "3.6.14"),
        "skipped_minor",
        "upgrade to 3.5 first: 3.5.32 or later",
    );
    untouched(&lab, &before);
    // A dry run reads the live releases: it refuses as the real run does, and plans the
    // step it would take, in order, having changed nothing.
    let plan = upgrade(&lab, &["--dry-run"], "3.6.14");
    refused(&plan, "skipped_minor", "upgrade to 3.5 first");
    plan.stdout_has("member list (read live)");
    let plan = upgrade(&lab, &["--dry-run"], "3.5.16");
    plan.success()
        .stdout_has("read live, 3 of 3 members healthy")
        .stdout_has("(dry run) the members would restart in this order, the leader last: ")
        .stdout_has("/3.5.16/etcd (the flags in /proc/");
    assert_eq!(
        plan.stdout.matches(" runs 3.4.23\n").count(),
        3,
        "{}",
        plan.stdout
    );
    untouched(&lab, &before);
    assert!(
        snapshots(&lab).is_empty(),
        "no snapshot for a refused upgrade"
    );

    // One member down: restarting another could cost the quorum.
    let pids = lab.etcd_pids();
    lab.kill(pids[0]);
    lab.health_settles_at(3);
    let down = standing(&lab);
    assert_eq!(
        down.0.iter().filter(|(_, v)| v == "3.4.23").count(),
        2,
        "{down:?}"
    );
    let out = upgrade(&lab, &[], "3.5.16");
    refused(&out, "unhealthy", "member-replace");
    refused(
        &upgrade(&lab, &["--dry-run"], "3.5.16"),
        "unhealthy",
        "member-replace",
    );
    untouched(&lab, &down);
    assert!(snapshots(&lab).is_empty());
    lab.destroy();

    // On 3.5.16: below the floor 3.6 asks for, and a downgrade across a minor line.
    lab.run_cluster(&["etcd_version=3.5.16"]).success();
    let before = standing(&lab);
    refused(
        &upgrade(&lab, &[], "3.6.14"),
        "below_floor",
        "upgrade to 3.5.32",
    );
    untouched(&lab, &before);
    refused(
        &upgrade(&lab, &[], "3.4.23"),
        "downgrade",
        "restore the snapshot",
    );
    untouched(&lab, &before);
    refused(
        &upgrade(&lab, &[], "3.7.1"),
        "skipped_minor",
        "upgrade to 3.6 first",
    );
    untouched(&lab, &before);
    // A release the lab does not have is named with those it has.
    let out = upgrade(&lab, &[], "3.5.33");
    out.failure(1);
    out.stderr_has(
        "etcd 3.5.33 is not installed for the lab; installed: 3.4.23, 3.5.1, 3.5.16 and 3.5.30",
    );
    untouched(&lab, &before);
    assert!(snapshots(&lab).is_empty());
    destroy_keeping_snapshots(&lab);
}

/// A ladder of the test's own: 3.5.16 as it is, and a "3.5.30" whose etcd starts the
/// real one except the second time it is started as a member, when it exits.
fn stand_in_ladder(lab: &LabRig) -> String {
    let cache = lab.path("cache");
    let ladder = cache.join("etcd");
    for v in ["3.5.16", "3.5.30"] {
        std::fs::create_dir_all(ladder.join(v)).unwrap();
        let tools: &[&str] = if v == "3.5.16" {
            &["etcd", "etcdctl"]
        } else {
            &["etcdctl"]
        };
        for tool in tools {
            std::os::unix::fs::symlink(on_the_ladder(v, tool), ladder.join(v).join(tool)).unwrap();
        }
    }
    let count = lab.path("starts");
    let stand_in = format!(
        "#!/bin/sh\n\
         # A member start (not --version) is counted; the second one fails.\n\
         case \" $* \" in *\" --name \"*)\n\
           n=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {count}\n\
           if [ $n -eq 2 ]; then echo 'stand-in: this etcd will not start' >&2; exit 3; fi ;;\n\
         esac\n\
         exec {real} \"$@\"\n",
        count = count.display(),
        real = on_the_ladder("3.5.30", "etcd").display(),
    );
    let path = ladder.join("3.5.30/etcd");
    std::fs::write(&path, stand_in).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    cache.display().to_string()
}

#[test]
fn a_member_whose_new_binary_will_not_start_runs_its_old_one_and_the_upgrade_stops() {
    let Some(lab) = LabRig::new() else { return };
    let lab = {
        let cache = stand_in_ladder(&lab);
        lab.with_env("RIGGER_CACHE_DIR", &cache)
    };
    let out = lab.run(&["lab", "versions"]);
    out.success();
    assert_eq!(
        out.stdout
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["3.5.16", "3.5.30"]
    );
    lab.run_cluster(&["etcd_version=3.5.16"]).success();
    let keys = write_keys(&lab, 0);
    let out = upgrade(&lab, &[], "3.5.30");
    out.failure(1);
    out.stderr_has("the upgrade stopped at etcd-");
    out.stderr_has("its etcd exited");
    out.stderr_has("it runs 3.5.16 again");
    out.stderr_has("stand-in: this etcd will not start");
    let stopped_at = out
        .stderr
        .split("the upgrade stopped at ")
        .nth(1)
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string();
    // One member upgraded, the one that failed back on its old release, the leader not
    // touched: a mixed cluster, healthy, at the lower release's cluster version.
    let (members, cluster) = versions(&lab);
    let on = |v: &str| members.iter().filter(|(_, m)| m == v).count();
    assert_eq!((on("3.5.30"), on("3.5.16")), (1, 2), "{members:?}");
    assert!(
        members.contains(&(stopped_at.clone(), "3.5.16".into())),
        "{members:?}"
    );
    assert!(cluster.starts_with("3.5."), "{cluster}");
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success()
        .stdout_has("cluster is healthy");
    let names = dns_equals_membership(&lab, 0, 3);
    every_member_holds(&lab, 0, &names, "k", &keys);
    let started: BTreeSet<String> = std::fs::read_to_string(lab.path("starts"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        started,
        BTreeSet::from(["2".to_string()]),
        "two member starts of the new binary"
    );
    destroy_keeping_snapshots(&lab);
}

#[test]
fn the_upgrade_runs_over_ssh_as_it_would_against_cloud_machines() {
    let Some(lab) = LabRig::new() else { return };
    let ssh = ["--transport", "ssh", "--ssh-accept-new"];
    lab.run(
        &[
            &["run"],
            &ssh[..],
            &["cluster", "--set", "etcd_version=3.5.16"],
        ]
        .concat(),
    )
    .success();
    let keys = write_keys(&lab, 0);
    let out = upgrade(&lab, &ssh, "3.5.30");
    out.success();
    out.stdout_has("every member runs 3.5.30; the cluster version is 3.5");
    let (members, _) = versions(&lab);
    assert!(members.iter().all(|(_, v)| v == "3.5.30"), "{members:?}");
    let names = dns_equals_membership(&lab, 0, 3);
    every_member_holds(&lab, 0, &names, "k", &keys);
    destroy_keeping_snapshots(&lab);
}
