use std::collections::{BTreeSet, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::binary::rigger_bin;
use super::{Case, Exit};
use crate::harness::procs::{
    files_under, labs_created, mounts_naming, netns_entries, of_labs, processes_naming,
    stray_namespaces,
};
use crate::harness::{Rig, say, test_name};

/// Threads per group: the machine has two cores, and groups run side by side.
const WORKERS: usize = 3;

enum Verdict {
    Pass,
    Skip(String),
    Fail(String),
}

pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    timed_out: bool,
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Runs every case of a group, `WORKERS` at a time, and fails naming each case that
/// failed; a lab case without root is skipped loudly, under the test's name and its own.
pub fn run_group(cases: Vec<Case>) {
    let test = test_name();
    let lab_cases = cases.iter().filter(|c| c.lab).count();
    if lab_cases > 0 && !is_root() && std::env::var_os("RIGGER_SKIP_ROOT_TESTS").is_none() {
        panic!(
            "{test} needs root to build network namespaces for {lab_cases} cases; run the tests as root, or set RIGGER_SKIP_ROOT_TESTS=1 to skip them"
        );
    }
    let before = netns_entries();
    let total = cases.len();
    let queue = Mutex::new(cases.into_iter().collect::<VecDeque<_>>());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let verdict = if case.lab && !is_root() {
                        Verdict::Skip("the lab needs root (RIGGER_SKIP_ROOT_TESTS is set)".into())
                    } else {
                        check(&case)
                    };
                    results.lock().unwrap().push((case.name, verdict));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(name, _)| *name);
    let mut failed = Vec::new();
    for (name, verdict) in &results {
        match verdict {
            Verdict::Pass => {}
            Verdict::Skip(why) => say(&format!("SKIPPED {test}/{name}: {why}\n")),
            Verdict::Fail(why) => failed.push(format!("--- {name}\n{why}")),
        }
    }
    let stray = stray_namespaces(&before);
    if !stray.is_empty() {
        failed.push(format!(
            "--- (whole group)\nnamespaces in /run/netns that no live lab owns: {stray:?}"
        ));
    }
    say(&format!(
        "{test}: {} of {total} cases failed\n",
        failed.len()
    ));
    assert!(
        failed.is_empty(),
        "{test}: {} of {total} cases failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

pub(super) fn templated(text: &str, dir: &Path) -> String {
    text.replace("{dir}", &dir.to_string_lossy())
}

fn check(case: &Case) -> Verdict {
    let rig = Rig::new().own_state();
    let dir = rig.path("x").parent().unwrap().to_path_buf();
    for d in &case.dirs {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    for (path, text) in &case.files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, templated(text, &dir)).unwrap();
    }
    for (path, bytes) in &case.raw_files {
        std::fs::write(dir.join(path), bytes).unwrap();
    }
    if let Some(ro) = &case.ro_mount {
        let target = dir.join(ro);
        std::fs::create_dir_all(&target).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&target)
            .output();
        if !mounted.is_ok_and(|o| o.status.success()) {
            return Verdict::Skip(format!(
                "cannot mount a read-only tmpfs at {}",
                target.display()
            ));
        }
    }
    let (report, labs) = check_mounted(case, &rig, &dir);
    if let Some(ro) = &case.ro_mount {
        let _ = Command::new("umount").arg(dir.join(ro)).output();
    }
    // Processes, namespaces and mounts once the case's own mount is gone.
    match (report, nothing_left(&dir, &labs)) {
        (None, Ok(())) => Verdict::Pass,
        (Some(report), Ok(())) => Verdict::Fail(report),
        (None, Err(left)) => Verdict::Fail(left),
        (Some(report), Err(left)) => Verdict::Fail(format!("{left}; {report}")),
    }
}

/// Runs the case (its setup commands, the command, its cleanup) and checks what it
/// printed; the lab namespaces seen, for `nothing_left`.
/// The report is `None` when all is well.
fn check_mounted(case: &Case, rig: &Rig, dir: &Path) -> (Option<String>, BTreeSet<String>) {
    let mut labs = BTreeSet::new();
    // A setup or cleanup command: `None` when it succeeded, else what it was and said.
    let aside = |args: &[String], labs: &mut BTreeSet<String>| {
        let args: Vec<String> = args.iter().map(|a| templated(a, dir)).collect();
        let out = run_rigger(rig, &args, &case.env, dir, Duration::from_secs(60));
        labs.extend(labs_created(&out.stderr));
        (out.code != Some(0))
            .then(|| format!("`rigger {}` failed:\n{}", args.join(" "), out.stderr))
    };
    for args in &case.before {
        if let Some(failed) = aside(args, &mut labs) {
            return (Some(format!("setup {failed}")), labs);
        }
    }
    let files_before = files_under(dir);
    let args: Vec<String> = case.args.iter().map(|a| templated(a, dir)).collect();
    let started = Instant::now();
    let out = run_rigger(rig, &args, &case.env, dir, case.timeout);
    let took = started.elapsed();
    labs.extend(labs_created(&out.stderr));
    let mut problems = Vec::new();
    for args in &case.after {
        problems.extend(aside(args, &mut labs).map(|failed| format!("cleanup {failed}")));
    }
    if out.timed_out {
        problems.push(format!(
            "did not finish within {}s (interrupted)",
            case.timeout.as_secs()
        ));
    }
    let code_ok = match case.exit {
        Exit::Failure => out.code == Some(1),
        Exit::Usage => out.code == Some(2),
        Exit::Either => matches!(out.code, Some(1) | Some(2)),
    };
    if !code_ok {
        problems.push(format!("exit {:?}, expected {:?}", out.code, case.exit));
    }
    let both = format!("{}\n{}", out.stdout, out.stderr);
    for bad in ["panicked", "internal error", "RUST_BACKTRACE"] {
        if both.contains(bad) {
            problems.push(format!("panic text {bad:?}"));
        }
    }
    // Debug and trace log lines may show values as they are; what a user reads may not.
    let shown: String = both
        .lines()
        .filter(|l| !l.starts_with("DEBUG") && !l.starts_with("TRACE"))
        .collect::<Vec<_>>()
        .join("\n");
    for dump in [
        "Error {",
        "Custom {",
        "kind: ",
        "Some(",
        "Os { code",
        "\\\"",
    ] {
        if shown.contains(dump) {
            problems.push(format!("Debug dump {dump:?}"));
        }
    }
    if std::env::var_os("RIGGER_BAD_INPUTS_SHOW").is_some() {
        say(&format!(
            "=== {} exit {:?}\n{}\n",
            case.name,
            out.code,
            short(&out.stderr)
        ));
    }
    for leak in ["ImmutableString", "alloc::", "core::", "std::"] {
        if shown.contains(leak) {
            problems.push(format!("Rust type name {leak:?}"));
        }
    }
    // The culprit must be named by the error itself: not by the script's own line that
    // the report quotes, nor by a log line.
    let stderr_lower = message(&out.stderr).to_lowercase();
    for part in &case.has {
        let part = templated(part, dir);
        let found = part
            .split('|')
            .any(|alt| stderr_lower.contains(&alt.to_lowercase()));
        if !found {
            problems.push(format!("stderr lacks {part:?}"));
        }
    }
    let new_files: Vec<PathBuf> = files_under(dir)
        .into_iter()
        .filter(|f| !files_before.contains(f))
        .collect();
    if !new_files.is_empty() {
        let shown: Vec<String> = new_files
            .iter()
            .map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string())
            .collect();
        problems.push(format!("files left: {shown:?}"));
    }
    if problems.is_empty() {
        return (None, labs);
    }
    let report = format!(
        "{}\n(args: {:?}, {:.1}s)\nstdout: {}\nstderr:\n{}",
        problems.join("; "),
        case.args,
        took.as_secs_f64(),
        short(&out.stdout),
        short(&out.stderr)
    );
    (Some(report), labs)
}

/// stderr without log lines (INFO, WARN, DEBUG, TRACE; ERROR stays) and without the
/// quoted source lines of a report (its `╭─[file:line:col]` header stays).
fn message(stderr: &str) -> String {
    let log = |l: &str| {
        let t = l.trim_start();
        ["INFO ", "WARN ", "DEBUG ", "TRACE "]
            .iter()
            .any(|p| t.starts_with(p))
    };
    let quoted = |l: &str| {
        let t = l.trim_start();
        let numbered = t
            .split_once(" │")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        numbered || t.starts_with('·') || t.starts_with('╰')
    };
    let lines = stderr.lines().filter(|l| !log(l) && !quoted(l));
    lines.collect::<Vec<_>>().join("\n")
}

pub(super) fn short(text: &str) -> String {
    let text = message(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = lines[..lines.len().min(14)].join("\n");
    if lines.len() > 14 {
        kept.push_str("\n[...]");
    }
    kept
}

/// No process names the case's folder, no lab namespace it made is left, no mount
/// under it.
pub(super) fn nothing_left(dir: &Path, labs: &BTreeSet<String>) -> Result<(), String> {
    let dir_text = dir.to_string_lossy().into_owned();
    let mut problems = Vec::new();
    // A process that was told to stop may take a moment to go.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut alive;
    loop {
        alive = processes_naming(&dir_text);
        if alive.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !alive.is_empty() {
        problems.push(format!("processes left: {alive:?}"));
    }
    let left: Vec<String> = netns_entries()
        .into_iter()
        .filter(|n| of_labs(n, labs))
        .collect();
    if !left.is_empty() {
        problems.push(format!("namespaces left: {left:?}"));
    }
    let mounted = mounts_naming(&dir_text);
    if !mounted.is_empty() {
        problems.push(format!("mounts left: {mounted:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Runs `rigger -v ARGS` in the case's folder; past `timeout` it gets SIGINT (which
/// rolls back) and, a minute later, SIGKILL.
pub(super) fn run_rigger(
    rig: &Rig,
    args: &[String],
    env: &[(String, String)],
    dir: &Path,
    timeout: Duration,
) -> Ran {
    let mut cmd = rig.command(rigger_bin());
    cmd.arg("-v").args(args);
    for (k, v) in env {
        cmd.env(k, templated(v, dir));
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rigger starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let start = Instant::now();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if !timed_out && start.elapsed() > timeout {
            timed_out = true;
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        }
        if start.elapsed() > timeout + Duration::from_secs(60) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code(),
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
        timed_out,
    }
}
