//! The fault suite on booted machines (issue 24): `rigger run cluster --set
//! machines=booted` stopped at each phase by the RIGGER_TEST_STOP_AT hook, then killed
//! (SIGKILL, then `destroy`) or signalled (SIGINT, SIGTERM: the run rolls back by
//! itself), as `faults.rs` does on namespaces. Either way no guest, cgroup, overlay,
//! disk or namespace is left: the harness's orphan count covers machines.

use nix::sys::signal::Signal;

use crate::etcd35::etcd35;
use crate::faults::{killed_then_destroyed, signalled};

/// Phases of a booted cluster's run: a host written down, a machine booting (its
/// guest started, its SSH not yet answered), every record journaled, the DNS wait,
/// the certificates, and the health check once the units run.
const PHASES: &[&str] = &[
    "host:2",
    "boot",
    "intent:record:9",
    "wait",
    "intent:files:4",
    "health",
];

/// A booted cluster's run: etcd 3.5.1 uploaded, a systemd unit.
fn booted_cluster(etcd: &str) -> [&str; 11] {
    [
        "-v",
        "run",
        "cluster",
        "--transport",
        "ssh",
        "--set",
        "machines=booted",
        "--set",
        "install=upload",
        "--set",
        etcd,
    ]
}

#[test]
fn booted_machines_killed_at_every_phase_are_gone_after_destroy() {
    let etcd = format!("etcd={}", etcd35("etcd"));
    for phase in PHASES {
        killed_then_destroyed(&booted_cluster(&etcd), phase);
    }
}

#[test]
fn booted_machines_roll_back_on_sigint_and_sigterm_at_every_phase() {
    let etcd = format!("etcd={}", etcd35("etcd"));
    for (signal, status) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        for phase in PHASES {
            signalled(&booted_cluster(&etcd), phase, signal, status);
        }
    }
}
