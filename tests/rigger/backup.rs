//! Backups and restores in the lab (issue 26): the full disaster (every member killed and
//! its data gone, the cluster made again from the latest backup on new machines, every
//! key back, revisions bumped past the old ones), what a backup keeps (a manifest that
//! agrees with etcdutl, the newest `keep`), and the restores refused with nothing made.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::day2::{ctl, dns_equals_membership, every_member_holds, member_list, write_keys};
use crate::download::on_the_ladder;
use crate::harness::{LabRig, Outcome, figure};
use crate::upgrade::{destroy_keeping_snapshots, doctor};

/// `rigger run SCRIPT` with `sets` as `--set`s.
fn run(lab: &LabRig, script: &str, sets: &[&str]) -> Outcome {
    let mut args = vec!["run", script];
    for s in sets {
        args.extend(["--set", s]);
    }
    lab.run(&args)
}

/// The manifests in the folder `dir`, oldest first.
fn manifests(dir: &Path) -> Vec<Value> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "json"));
    names.sort();
    let read = |p: &std::path::PathBuf| serde_json::from_str(&std::fs::read_to_string(p).unwrap());
    names.iter().map(|p| read(p).unwrap()).collect()
}

/// `etcdutl snapshot status -w json` of the file `path` (3.5.30's, from the ladder).
fn etcdutl_status(path: &str) -> Value {
    let out = Command::new(on_the_ladder("3.5.30", "etcdutl"))
        .args(["snapshot", "status", path, "-w", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The cluster's revision, as a read through member discovery says it.
fn revision(lab: &LabRig, host: usize) -> u64 {
    let out = ctl(lab, host, "--discovery-srv example.test get k0000 -w json");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["header"]["revision"].as_u64().unwrap()
}

#[test]
fn the_full_disaster_is_restored_from_the_latest_backup_with_every_key() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let keys = write_keys(&lab, 0);
    let old_ids: BTreeSet<String> = member_list(&lab, 0).into_iter().map(|m| m.0).collect();
    let old_revision = revision(&lab, 0);

    // A backup to a folder of the user's, and one to the default store: each agrees with
    // what etcdutl reads in its file.
    let folder = lab.path("backups");
    let to = format!("to={}", folder.display());
    run(&lab, "backup", &[&to])
        .success()
        .stdout_has("1000 keys");
    let started = std::time::Instant::now();
    run(&lab, "backup", &[]).success();
    figure(
        "backup",
        "a backup of 1,000 keys",
        format!("{:.2?}", started.elapsed()),
    );
    for dir in [folder.clone(), lab.path("state/snapshots/example.test")] {
        let kept = manifests(&dir);
        assert_eq!(kept.len(), 1, "{}", dir.display());
        let b = &kept[0];
        let status = etcdutl_status(b["url"].as_str().unwrap());
        assert_eq!(b["revision"], status["revision"]);
        assert_eq!(b["revision"].as_u64(), Some(old_revision));
        assert_eq!(
            b["hash"].as_str().unwrap(),
            format!("{:x}", status["hash"].as_u64().unwrap())
        );
        assert_eq!(b["total_key"], status["totalKey"]);
        assert_eq!(b["total_size"], status["totalSize"]);
        assert_eq!(b["keys"], 1000);
        assert_eq!(b["members"].as_array().unwrap().len(), 3);
        assert!(
            b["cluster_id"].as_str().is_some_and(|c| !c.is_empty()),
            "{b}"
        );
    }

    // Every member killed, its data gone.
    for pid in lab.etcd_pids() {
        lab.kill(pid);
    }
    for name in lab.host_names() {
        std::fs::remove_dir_all(lab.path(&format!("state/lab/hosts/{name}/data"))).unwrap();
    }
    lab.health_settles_at(4);

    let started = std::time::Instant::now();
    let out = run(&lab, "restore", &["from=latest"]);
    let took = started.elapsed();
    out.success().stdout_has("cluster is healthy");
    figure(
        "restore",
        "3 members from the latest backup",
        format!("{took:.2?}"),
    );

    lab.run(&["health", "--discovery-srv", "example.test"])
        .success();
    let names = dns_equals_membership(&lab, 0, 3);
    assert_eq!(lab.host_names().len(), 3, "the old machines are gone");
    let new_ids: BTreeSet<String> = member_list(&lab, 0).into_iter().map(|m| m.0).collect();
    assert!(new_ids.is_disjoint(&old_ids), "{new_ids:?} {old_ids:?}");
    every_member_holds(&lab, 0, &names, "k", &keys);
    assert!(doctor(&lab).is_empty(), "{:?}", doctor(&lab));
    // The old revisions are compacted away, and the new ones start past the bump.
    let old = lab.in_host(
        0,
        &[
            "sh",
            "-c",
            &format!(
                "{} --discovery-srv example.test get k0000 --rev={old_revision}",
                crate::day2::etcdctl(&lab)
            ),
        ],
    );
    assert!(!old.status.success());
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("required revision has been compacted"),
        "{}",
        String::from_utf8_lossy(&old.stderr)
    );
    assert_eq!(revision(&lab, 0), old_revision + 1_000_000_000);
    let put = ctl(&lab, 0, "--discovery-srv example.test put after v -w json");
    let put: Value = serde_json::from_str(&put).unwrap();
    assert!(put["header"]["revision"].as_u64().unwrap() > old_revision + 1_000_000_000);

    std::fs::remove_dir_all(&folder).unwrap();
    destroy_keeping_snapshots(&lab);
}

#[test]
fn backups_keep_the_newest_and_a_restore_refuses_copies_or_replaces() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    write_keys(&lab, 0);
    let folder = lab.path("backups");
    let to = format!("to={}", folder.display());
    for _ in 0..3 {
        run(&lab, "backup", &[&to, "keep=2"]).success();
        // Names are the time to the second: the next one another second.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let kept = manifests(&folder);
    assert_eq!(kept.len(), 2);
    let files = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(files, 4, "a .db and a .json for each backup kept");

    let hosts = lab.host_names();
    let members = member_list(&lab, 0);
    let untouched = |lab: &LabRig| {
        assert_eq!(lab.host_names(), hosts, "a machine was made or removed");
        assert_eq!(member_list(lab, 0), members);
    };
    // Over the live cluster: refused, unless replace=true.
    let store = format!("store={}", folder.display());
    let out = run(&lab, "restore", &[&store]);
    out.failure(1)
        .stderr_has("the cluster example.test answers (3 of 3 members healthy)")
        .stderr_has("nothing was changed")
        .stderr_has("--set replace=true");
    untouched(&lab);

    // One byte flipped in a snapshot: refused by its sha256 before any machine.
    let name = kept[1]["name"].as_str().unwrap();
    let damaged = lab.path("damaged.db");
    let mut bytes = std::fs::read(folder.join(format!("{name}.db"))).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(&damaged, bytes).unwrap();
    let from = format!("from={}", damaged.display());
    let out = run(&lab, "restore", &[&from, "into=copy.test"]);
    out.failure(1)
        .stderr_has(&format!("the snapshot {}", damaged.display()))
        .stderr_has("its sha256 does not match the one etcd sent with it");
    untouched(&lab);

    // A backup whose file no longer matches its manifest is refused too.
    std::fs::copy(&damaged, folder.join(format!("{name}.db"))).unwrap();
    let from = format!("from={name}");
    run(&lab, "restore", &[&store, &from, "into=copy.test"])
        .failure(1)
        .stderr_has("its sha256 does not match");
    untouched(&lab);

    // A release whose etcdutl cannot bump revisions: refused on the new machines, which
    // the rollback removes.
    let good = format!("from={}", kept[0]["name"].as_str().unwrap());
    run(
        &lab,
        "restore",
        &[&store, &good, "into=old.test", "etcd_version=3.5.1"],
    )
    .failure(1)
    .stderr_has("(etcd 3.5.1) cannot restore with the revision bumped")
    .stderr_has("rolling back");
    untouched(&lab);

    // The good one into another domain: a copy beside the cluster, which stays.
    run(&lab, "restore", &[&store, &good, "into=copy.test"])
        .success()
        .stdout_has("restored copy.test");
    lab.run(&["health", "--discovery-srv", "copy.test"])
        .success()
        .stdout_has("cluster is healthy");
    assert_eq!(lab.host_names().len(), 6);
    assert_eq!(member_list(&lab, 0), members, "the original is untouched");
    // And over the live cluster when told: its machines give way to the restored ones.
    run(&lab, "restore", &[&store, &good, "replace=true"])
        .success()
        .stdout_has("removed the old member's instance");
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success();
    let after = lab.host_names();
    assert!(hosts.iter().all(|h| !after.contains(h)), "{after:?}");
    assert_eq!(after.len(), 6);
    std::fs::remove_dir_all(&folder).unwrap();
    destroy_keeping_snapshots(&lab);
}

#[test]
fn backup_restore_and_recover_run_over_ssh_as_against_cloud_machines() {
    let Some(lab) = LabRig::new() else { return };
    let ssh = ["--transport", "ssh", "--ssh-accept-new"];
    let over_ssh = |script: &str, sets: &[&str]| {
        let mut args = vec!["run"];
        args.extend(ssh);
        args.push(script);
        for s in sets {
            args.extend(["--set", s]);
        }
        lab.run(&args)
    };
    over_ssh("cluster", &[]).reports_healthy(3, "example.test");
    let keys = write_keys(&lab, 0);
    over_ssh("backup", &[]).success();
    for pid in lab.etcd_pids() {
        lab.kill(pid);
    }
    for name in lab.host_names() {
        std::fs::remove_dir_all(lab.path(&format!("state/lab/hosts/{name}/data"))).unwrap();
    }
    lab.health_settles_at(4);
    over_ssh("restore", &["from=latest"])
        .success()
        .stdout_has("cluster is healthy");
    let names = dns_equals_membership(&lab, 0, 3);
    every_member_holds(&lab, 0, &names, "k", &keys);

    // Two members lost: the survivor carries on, restarted over SSH.
    let pids = lab.etcd_pids();
    lab.kill(pids[1]);
    lab.kill(pids[2]);
    lab.health_settles_at(4);
    over_ssh("recover", &[])
        .success()
        .stdout_has("recovered example.test: 3 voting members");
    let names = dns_equals_membership(&lab, 0, 3);
    every_member_holds(&lab, 0, &names, "k", &keys);
    destroy_keeping_snapshots(&lab);
}
