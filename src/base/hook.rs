//! A test hook for fault injection: `RIGGER_TEST_STOP_AT=point[:n][,point[:n]...]` makes
//! rigger stop itself (SIGSTOP) the nth time (default the first) it reaches `point`, so
//! a test can kill or signal it at an exact phase instead of after a guessed sleep.
//! Points are `lab` (the lab written down, its namespace not yet made), `host` (likewise
//! for a host), `boot` (a booted machine's guest started, its launch not yet returned), `ip` (an `ip` command of the lab's started, not yet waited for), `intent:<kind>` (a creation journaled, the backend not yet asked; kinds
//! are instance, zone, record, process, files), `wait` and `health` (a primitive about
//! to wait for DNS or ask etcd), `stopping` (a signal taken, the script told to stop)
//! and `rollback` (about to undo what a run made). Unset, each point costs a lookup.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn targets() -> &'static [(String, u32)] {
    static TARGETS: OnceLock<Vec<(String, u32)>> = OnceLock::new();
    TARGETS.get_or_init(|| {
        let spec = std::env::var("RIGGER_TEST_STOP_AT").unwrap_or_default();
        spec.split(',')
            .filter(|p| !p.is_empty())
            .map(|p| match p.rsplit_once(':') {
                Some((point, n)) if n.parse::<u32>().is_ok() => {
                    (point.to_string(), n.parse().unwrap_or(1))
                }
                _ => (p.to_string(), 1),
            })
            .collect()
    })
}

/// Stops the process here if the hook names this point (and this is the nth time).
pub fn point(name: &str) {
    let Some((_, nth)) = targets().iter().find(|(wanted, _)| wanted == name) else {
        return;
    };
    static SEEN: OnceLock<Mutex<HashMap<String, u32>>> = OnceLock::new();
    let count = {
        let mut seen = SEEN.get_or_init(Mutex::default).lock().expect("hook lock");
        let n = seen.entry(name.to_string()).or_default();
        *n += 1;
        *n
    };
    if count == *nth {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP);
    }
}
