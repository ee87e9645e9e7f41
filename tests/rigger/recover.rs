//! Quorum-loss recovery in the lab (issue 26): two of three members killed, `rigger run
//! recover` carries on from the survivor with every write it applied (those after the
//! last backup too) and grows the cluster back to three, DNS equal to the membership;
//! refused while a quorum answers, and pointing at restore when no member does.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::Value;

use crate::day2::{ctl, dns_equals_membership, every_member_holds, member_list, write_keys};
use crate::harness::{LabRig, figure};
use crate::upgrade::destroy_keeping_snapshots;

/// Waits until every member holds the same raft index: what a quiet cluster settles at,
/// so that the member that survives has every write acknowledged.
fn settled(lab: &LabRig) {
    let start = Instant::now();
    loop {
        let out = lab.run(&["health", "--discovery-srv", "example.test", "--json"]);
        let report: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
        let indexes: BTreeSet<u64> = report["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["raft_index"].as_u64())
            .collect();
        if indexes.len() == 1 && out.code == Some(0) {
            return;
        }
        assert!(
            start.elapsed().as_secs() < 20,
            "never settled: {}",
            out.stdout
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn two_members_lost_are_recovered_from_the_survivor_with_every_write() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let keys = write_keys(&lab, 0);
    lab.run(&["run", "backup"]).success();
    // Written after the last backup: only the survivor's log still has them.
    let mut after = BTreeSet::new();
    for i in 0..50 {
        ctl(
            &lab,
            0,
            &format!("--discovery-srv example.test put after{i:02} v"),
        );
        after.insert(format!("after{i:02}"));
    }

    // With a quorum, recovery would drop voting members: refused, nothing changed.
    let members = member_list(&lab, 0);
    let out = lab.run(&["run", "recover"]);
    out.failure(1)
        .stderr_has("has its quorum (healthy, 3 of 3 members healthy)")
        .stderr_has("nothing was changed")
        .stderr_has("member-replace");
    assert_eq!(member_list(&lab, 0), members);

    settled(&lab);
    let pids = lab.etcd_pids();
    let survivor = lab.host_names()[0].clone();
    lab.kill(pids[1]);
    lab.kill(pids[2]);
    lab.health_settles_at(4);

    let started = Instant::now();
    let out = lab.run(&["run", "recover"]);
    let took = started.elapsed();
    out.success()
        .stdout_has(&format!("{survivor} holds the most of the log"))
        .stdout_has("recovered example.test: 3 voting members");
    figure(
        "recover",
        "two of three members lost, to a healthy 3-member cluster",
        format!("{took:.2?}"),
    );
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success();
    let names = dns_equals_membership(&lab, 0, 3);
    assert!(names.contains(&survivor), "{names:?}");
    assert_eq!(
        lab.host_names().len(),
        3,
        "the dead members' machines are gone"
    );
    every_member_holds(&lab, 0, &names, "k", &keys);
    every_member_holds(&lab, 0, &names, "after", &after);

    // No member answers: nothing to carry on from, and restore is the way.
    for pid in lab.etcd_pids() {
        lab.kill(pid);
    }
    lab.health_settles_at(4);
    let hosts = lab.host_names();
    lab.run(&["run", "recover"])
        .failure(1)
        .stderr_has("no member of the cluster example.test answers")
        .stderr_has("rigger run restore --set domain=example.test --set from=latest");
    assert_eq!(lab.host_names(), hosts);
    destroy_keeping_snapshots(&lab);
}
