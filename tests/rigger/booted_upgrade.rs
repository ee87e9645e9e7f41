//! The cloud's upgrade path for real (issue 25): a cluster on booted lab machines, its
//! etcd downloaded and run by systemd as on EC2, is upgraded by `rigger run upgrade`
//! over SSH with `install=download`: each member's new release is fetched from a lab
//! host and checked, installed beside the old one, and its unit rewritten and restarted.
//! Then every machine loses power: the members come back on the new release with no
//! rigger command, so the unit on disk is the new one.

use std::time::Duration;

use crate::booted_cluster::{booted_cluster, healthy_within, machine_names, on_members, server};
use crate::day2::{dns_equals_membership, every_member_holds, write_keys};
use crate::download::{Release, Tarball};
use crate::harness::{LabRig, figure};
use crate::upgrade::{destroy_keeping_snapshots, snapshots, versions};

/// Every member runs `version`, and the cluster version is its minor line.
fn all_on(lab: &LabRig, version: &str, minor: &str) {
    let (members, cluster) = versions(lab);
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|(_, v)| v == version), "{members:?}");
    assert_eq!(cluster, minor);
}

#[test]
fn a_booted_cluster_is_upgraded_by_download_and_its_systemd_units_keep_the_release() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[Tarball::of("3.5.16"), Tarball::of("3.5.30")]);
    booted_cluster(&lab, &release, "3.5.16");
    all_on(&lab, "3.5.16", "3.5.0");
    let names = machine_names(&lab);
    let from = server(&lab);
    let keys = write_keys(&lab, from);

    let url = release.url_param();
    let out = lab.run(&[
        "run",
        "--transport",
        "ssh",
        "upgrade",
        "--set",
        "etcd_version=3.5.30",
        "--set",
        "install=download",
        "--set",
        &url,
    ]);
    out.success()
        .stdout_has("every member runs 3.5.30; the cluster version is 3.5");
    figure(
        "booted upgrade",
        "3.5.16 -> 3.5.30 by download and systemd",
        out.stdout.lines().last().unwrap_or_default(),
    );
    all_on(&lab, "3.5.30", "3.5.0");
    assert_eq!(snapshots(&lab).len(), 1);

    // Each machine runs the new release under systemd, as the etcd user, from the folder
    // it was downloaded to beside the old one, which stays to go back to.
    let said = on_members(
        &lab,
        "exec=$(grep '^ExecStart=' /etc/systemd/system/etcd.service | cut -d' ' -f1); \
         bin=${exec#ExecStart=}; \
         echo $(systemctl is-active etcd) $(ps -o user= -C etcd) $($bin --version | head -n 1) \
         $(basename $(dirname $bin)) $(/usr/local/bin/etcd --version | head -n 1)",
    );
    assert_eq!(said.len(), 3, "{said:?}");
    for (name, line) in &said {
        let want = "active etcd etcd Version: 3.5.30 etcd-3.5.30 etcd Version: 3.5.16";
        assert_eq!(line, want, "{name}");
    }
    every_member_holds(&lab, from, &names, "k", &keys);
    assert_eq!(dns_equals_membership(&lab, from, 3), names);

    // A power cut of every machine: systemd starts what its unit says, the new release.
    lab.run(&["lab", "reboot", "--all"]).success();
    healthy_within(&lab, Duration::from_secs(60));
    all_on(&lab, "3.5.30", "3.5.0");
    every_member_holds(&lab, from, &names, "k", &keys);
    destroy_keeping_snapshots(&lab);
}
