//! What this machine shows of a lab after the fact: processes in /proc, network
//! namespaces in /run/netns, mounts, and the files a run left in its folder. Both the
//! lab fixture and the bad-input table judge "nothing left" with these.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn pids() -> impl Iterator<Item = i32> {
    let entries = std::fs::read_dir("/proc").unwrap().flatten();
    entries.filter_map(|e| e.file_name().to_str()?.parse().ok())
}

/// A process's command line, its arguments joined by spaces.
pub fn cmdline(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

/// `pid cmdline`, for a report.
pub fn describe(pid: i32) -> String {
    format!("{pid} {}", cmdline(pid).unwrap_or_default())
}

/// (pid, start time) of a live process; `None` once it is gone or a zombie (exited,
/// waiting for a parent that may never read it).
pub fn started_at(pid: i32) -> Option<(i32, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields after the command name start at the 3rd (state); the start time is the 22nd.
    (fields.first() != Some(&"Z")).then_some((pid, fields.get(19)?.parse().ok()?))
}

/// Live processes (not this test binary) whose command line contains `text`.
pub fn processes_naming(text: &str) -> Vec<String> {
    let me = std::process::id() as i32;
    let live = pids().filter(|&pid| pid != me && started_at(pid).is_some());
    live.filter_map(|pid| {
        let cmdline = cmdline(pid)?;
        cmdline.contains(text).then(|| format!("{pid} {cmdline}"))
    })
    .collect()
}

/// Every file (not folder) under `dir`, symlinks included, not followed.
pub fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            files.extend(files_under(&entry.path()));
        } else {
            files.insert(entry.path());
        }
    }
    files
}

/// The lab namespaces a `-v` log says were created.
pub fn labs_created(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter_map(|l| l.split_once("lab namespace ")?.1.strip_suffix(" created"))
        .map(String::from)
        .collect()
}

/// Whether namespace `name` is one of `labs` or one of their hosts (`<lab>-<n>`).
pub fn of_labs(name: &str, labs: &BTreeSet<String>) -> bool {
    labs.iter()
        .any(|lab| name == lab || name.starts_with(&format!("{lab}-")))
}

/// rigger's namespaces in /run/netns.
pub fn netns_entries() -> BTreeSet<String> {
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("rigger-"))
                .collect()
        })
        .unwrap_or_default()
}

/// The lab ids that some live lab owns: the `lab.json` of every running DNS daemon's
/// state dir (other tests and other people may have labs up).
fn live_lab_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for pid in pids() {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(at) = argv.iter().position(|a| a == "--state-dir") else {
            continue;
        };
        if !argv.iter().any(|a| a == "serve") {
            continue;
        }
        let Some(state) = argv.get(at + 1) else {
            continue;
        };
        let lab = Path::new(state).join("lab/lab.json");
        let Ok(text) = std::fs::read_to_string(lab) else {
            continue;
        };
        let Ok(lab) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if let Some(id) = lab["id"].as_str() {
            ids.insert(format!("rigger-{id}"));
        }
    }
    ids
}

/// Namespaces that appeared since `before` and that no live lab owns, once those being
/// made or removed right now have had a few seconds to settle.
pub fn stray_namespaces(before: &BTreeSet<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let live = live_lab_ids();
        let stray: Vec<String> = netns_entries()
            .into_iter()
            .filter(|n| !before.contains(n) && !of_labs(n, &live))
            .collect();
        if stray.is_empty() || Instant::now() > deadline {
            return stray;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The lines of /proc/mounts that name `text`.
pub fn mounts_naming(text: &str) -> Vec<String> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let lines = mounts.lines().filter(|l| l.contains(text));
    lines.map(String::from).collect()
}

/// The cgroups booted lab machines of the lab `lab` were given (`rigger/<lab>-<n>`, in
/// every hierarchy) that are still there: a machine's goes only once all of its
/// processes have.
pub fn machine_cgroups_of(lab: &str) -> Vec<String> {
    let prefix = format!("{lab}-");
    [
        "/sys/fs/cgroup/rigger",
        "/sys/fs/cgroup/unified/rigger",
        "/sys/fs/cgroup/systemd/rigger",
    ]
    .iter()
    .flat_map(|parent| std::fs::read_dir(parent).into_iter().flatten().flatten())
    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
    .map(|e| e.path().display().to_string())
    .collect()
}
