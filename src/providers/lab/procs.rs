//! Processes inside lab hosts: found by their network namespace, so nothing started in
//! a host survives its teardown even when the journal that named it is lost.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// PIDs of every process whose network namespace is the one at `/run/netns/<ns>`.
pub fn in_netns(ns: &str) -> Vec<i32> {
    let Ok(target) = std::fs::metadata(super::netns::path(ns)) else {
        return Vec::new();
    };
    let (dev, ino) = (target.dev(), target.ino());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|m| m.dev() == dev && m.ino() == ino)
        })
        .collect()
}

pub fn alive(pid: i32) -> bool {
    // A zombie has exited: it only waits for its parent to read its status.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// SIGTERM, then SIGKILL for whatever is still alive after `grace`.
pub fn terminate(pids: &[i32], grace: Duration) {
    for &pid in pids {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < grace && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &pid in pids.iter().filter(|&&p| alive(p)) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) && pids.iter().any(|&p| alive(p)) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills the process group `pid` leads when dropped, unless disarmed first: a command
/// abandoned half way (an interrupt, a timeout) takes what it started with it.
pub struct GroupGuard {
    pid: Option<i32>,
}

impl GroupGuard {
    pub fn new(pid: i32) -> Self {
        Self { pid: Some(pid) }
    }

    pub fn disarm(mut self) {
        self.pid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.filter(|p| *p > 0) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
