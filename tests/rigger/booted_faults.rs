//! The fault suite on booted machines (issue 24): `rigger run cluster --set
//! machines=booted` stopped at each phase by the RIGGER_TEST_STOP_AT hook, then killed
//! (SIGKILL, then `destroy`) or signalled (SIGINT, SIGTERM: the run rolls back by
//! itself). Either way no guest, cgroup, overlay, disk or namespace is left: the
//! harness's orphan count covers machines.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::etcd35::etcd35;
use crate::faults::{Run, finish, wait_stopped};
use crate::harness::LabRig;

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

/// Runs a booted cluster (etcd 3.5.1 uploaded, a systemd unit) up to `phase` and stops
/// it there; the rig has seen its lab.
fn stopped_at(phase: &str) -> Option<(LabRig, Run)> {
    let rig = LabRig::new()?;
    let etcd = format!("etcd={}", etcd35("etcd"));
    let args = [
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
        &etcd,
    ];
    let mut child = Run(rig.spawn(&[("RIGGER_TEST_STOP_AT", phase)], &args));
    wait_stopped(&mut child, phase);
    rig.look();
    Some((rig, child))
}

fn pid(child: &Run) -> Pid {
    Pid::from_raw(child.id() as i32)
}

#[test]
fn booted_machines_killed_at_every_phase_are_gone_after_destroy() {
    for phase in PHASES {
        let Some((rig, child)) = stopped_at(phase) else {
            return;
        };
        kill(pid(&child), Signal::SIGKILL).unwrap();
        let out = finish(child, phase);
        assert_eq!(out.code, None, "{phase}: not killed");
        rig.look();
        rig.run(&["-v", "destroy"]).success();
        rig.leaves_nothing();
    }
}

#[test]
fn booted_machines_roll_back_on_sigint_and_sigterm_at_every_phase() {
    for (signal, status) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        for phase in PHASES {
            let Some((rig, child)) = stopped_at(phase) else {
                return;
            };
            kill(pid(&child), signal).unwrap();
            kill(pid(&child), Signal::SIGCONT).unwrap();
            let out = finish(child, phase);
            assert_eq!(
                out.code,
                Some(status),
                "{phase}: {signal} gave {:?}\n{}",
                out.code,
                out.stderr
            );
            out.stderr_lacks("internal error").stderr_lacks("panicked");
            rig.leaves_nothing();
        }
    }
}
