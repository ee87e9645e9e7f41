//! The lab fixture: one rig with a state dir of its own, the helpers lab tests share,
//! and the one check that a test's lab left nothing behind.
//!
//! Lab tests need root. Without it `LabRig::new()` panics, unless RIGGER_SKIP_ROOT_TESTS
//! is set; then it says loudly on stderr that the test skipped, under the test's own
//! name (libtest names each test's thread after the test), and returns `None`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::procs::{
    files_under, labs_created, mounts_naming, netns_entries, of_labs, pids, processes_naming,
    started_at,
};
use super::{BIN, Outcome, Rig, say};

pub struct LabRig {
    rig: Rig,
    test: String,
    seen: RefCell<Seen>,
}

/// What the test's lab was seen to have, so that `leaves_nothing` can look for it after.
#[derive(Default)]
struct Seen {
    /// Lab namespaces (`rigger-<id>`); host namespaces are `rigger-<id>-<n>`.
    labs: BTreeSet<String>,
    /// (pid, start time): a pid alone may be reused by another test's process.
    processes: BTreeSet<(i32, u64)>,
}

/// A command (its program and arguments to follow) run in the network namespace
/// `netns` with a private /etc/resolv.conf and /etc/nsswitch.conf: `resolv` and
/// `nsswitch` bind-mounted over them, so that nothing asks this machine's resolver.
/// nsenter, unshare and sh each exec the next, so the child is the program itself.
pub fn in_netns(netns: &str, resolv: &Path, nsswitch: &Path) -> Command {
    let setup = format!(
        "mount --bind {} /etc/resolv.conf && mount --bind {} /etc/nsswitch.conf && exec \"$@\"",
        resolv.display(),
        nsswitch.display()
    );
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net=/run/netns/{netns}"))
        .args(["--", "unshare", "--mount", "--propagation", "private", "--"])
        .args(["sh", "-c", &setup, "sh"]);
    cmd
}

/// The name libtest gives the running test (`lab::some_test`).
pub fn test_name() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => panic!("not on a libtest test thread: the test cannot be named"),
    }
}

impl LabRig {
    /// A fresh rig for a lab test, or `None` (after a loud message) when the test must
    /// be skipped.
    pub fn new() -> Option<Self> {
        let test = test_name();
        if !nix::unistd::geteuid().is_root() {
            if std::env::var_os("RIGGER_SKIP_ROOT_TESTS").is_some() {
                say(&format!(
                    "SKIPPED {test}: the lab needs root (RIGGER_SKIP_ROOT_TESTS is set)\n"
                ));
                return None;
            }
            panic!(
                "{test} needs root to build network namespaces; run the tests as root, or set RIGGER_SKIP_ROOT_TESTS=1 to skip them"
            );
        }
        Some(Self {
            rig: Rig::new().own_state(),
            test,
            seen: RefCell::default(),
        })
    }

    /// Every later rigger command gets `key=value` in its environment.
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.rig = self.rig.env(key, value);
        self
    }

    /// The rig underneath, for tests that drive rigger some other way (the REPL).
    pub fn rig(&self) -> &Rig {
        &self.rig
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.rig.path(rel)
    }

    fn state(&self) -> PathBuf {
        self.path("state")
    }

    /// Writes a file (creating folders) relative to the test folder.
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let full = self.path(rel);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
        self
    }

    /// Runs rigger against this lab, noting what the lab then holds.
    pub fn run(&self, args: &[&str]) -> Outcome {
        let out = self.rig.again(args);
        self.observe(&out.stderr);
        out
    }

    /// Runs rigger with `env` added to this lab's environment for this command only.
    pub fn run_with_env(&self, env: &[(&str, &str)], args: &[&str]) -> Outcome {
        let mut cmd = self.rig.command(Path::new(BIN));
        cmd.args(args).envs(env.iter().copied());
        let out = Outcome::from(cmd.output().expect("rigger runs"));
        self.observe(&out.stderr);
        out
    }

    /// `rigger run cluster`, with each `key=value` as a `--set` and other arguments as
    /// they are.
    pub fn run_cluster(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["run", "cluster"];
        for arg in args {
            if arg.contains('=') && !arg.starts_with('-') {
                all.push("--set");
            }
            all.push(arg);
        }
        self.run(&all)
    }

    /// `rigger destroy`, which must succeed.
    pub fn destroy(&self) -> &Self {
        self.run(&["destroy"]).success();
        self
    }

    /// `rigger lab exec HOST -- ARGV`.
    pub fn exec(&self, host: &str, argv: &[&str]) -> Outcome {
        self.run(&[&["lab", "exec", host, "--"], argv].concat())
    }

    pub fn status(&self) -> Value {
        let out = self.run(&["lab", "status", "--json"]);
        out.success();
        serde_json::from_str(&out.stdout).unwrap()
    }

    pub fn hosts(&self) -> Vec<Value> {
        self.status()["hosts"].as_array().unwrap().clone()
    }

    /// A script that takes the first lab host, named `name`, as a node map (as a
    /// script that did not launch it would) and runs `body` with it as `n`.
    pub fn on_first_host(&self, name: &str, body: &str) -> String {
        let (netns, dir) = (
            self.host_netns(0),
            self.path(&format!("state/lab/hosts/{name}")),
        );
        format!(
            "let n = #{{ id: \"{netns}\", name: \"{name}\", private_ip: \"198.18.1.1\", dir: \"{}\" }};\n{body}\n",
            dir.display()
        )
    }

    /// The network namespace of lab host number `host`.
    pub fn host_netns(&self, host: usize) -> String {
        self.hosts()[host]["netns"].as_str().unwrap().to_string()
    }

    pub fn host_names(&self) -> Vec<String> {
        let names = self
            .hosts()
            .into_iter()
            .map(|h| h["name"].as_str().unwrap().to_string());
        names.collect()
    }

    /// Each host's processes, as `lab status` names them (`pid comm`).
    pub fn host_processes(&self) -> Vec<Vec<String>> {
        let hosts = self.hosts();
        let procs = |h: &Value| {
            let list = h["processes"].as_array().unwrap().iter();
            list.map(|p| p.as_str().unwrap().to_string()).collect()
        };
        hosts.iter().map(procs).collect()
    }

    pub fn etcd_pids(&self) -> Vec<i32> {
        let procs = self.host_processes().into_iter().flatten();
        let etcd = procs.filter_map(|p| p.strip_suffix(" etcd").map(|pid| pid.parse().unwrap()));
        etcd.collect()
    }

    /// Runs `argv` in lab host number `host` by hand (nsenter + unshare), independently
    /// of rigger: the host's network namespace, and a private /etc/resolv.conf naming the
    /// lab's DNS (and nsswitch.conf sending lookups to files and DNS only, so nothing
    /// asks this machine's resolver).
    pub fn in_host(&self, host: usize, argv: &[&str]) -> Output {
        self.host_command(host, argv)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The command `in_host` runs, for a test that starts it in the background.
    pub fn host_command(&self, host: usize, argv: &[&str]) -> Command {
        let (resolv, nsswitch) = (self.path("resolv.conf"), self.path("nsswitch.conf"));
        std::fs::write(&resolv, "nameserver 198.18.0.1\n").unwrap();
        std::fs::write(&nsswitch, "hosts: files dns\n").unwrap();
        let mut cmd = in_netns(&self.host_netns(host), &resolv, &nsswitch);
        cmd.args(argv);
        cmd
    }

    /// `in_host`, which must succeed; its stdout.
    pub fn run_in_host(&self, host: usize, argv: &[&str]) -> String {
        let out = self.in_host(host, argv);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{argv:?} failed: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// etcdctl in lab host number `host`, with the client certificate `cluster.rhai`
    /// made for example.test; it must succeed.
    pub fn etcdctl(&self, host: usize, args: &[&str]) -> String {
        let pki = self.path("state/pki/example.test");
        let file = |name: &str| pki.join(name).to_string_lossy().into_owned();
        let (ca, cert, key) = (file("ca.crt"), file("client.crt"), file("client.key"));
        let tls = ["etcdctl", "--cacert", &ca, "--cert", &cert, "--key", &key];
        self.run_in_host(host, &[&tls[..], args].concat())
    }

    /// Polls `rigger health` until it exits with `code` (etcd takes a moment to notice a
    /// death); fails if it never does within 20s.
    pub fn health_settles_at(&self, code: i32) -> Outcome {
        let start = Instant::now();
        loop {
            let out = self.run(&["health", "--discovery-srv", "example.test"]);
            // Members still electing a leader are on their way to the state it settles at.
            let settling = out.stdout.contains("electing a leader");
            if (out.code == Some(code) && !settling) || start.elapsed() > Duration::from_secs(20) {
                out.failure(code);
                return out;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn kill(&self, pid: i32) {
        let pid = nix::unistd::Pid::from_raw(pid);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    }

    /// Puts another key for `address` in the lab's known_hosts: what a man in the middle
    /// would present.
    pub fn replace_host_key(&self, address: &str) {
        let known = self.path("state/lab/ssh/known_hosts");
        assert!(known.exists(), "no known_hosts at {}", known.display());
        let other = self.path("other_key");
        let keygen = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&other)
            .stdin(Stdio::null())
            .status()
            .unwrap();
        assert!(keygen.success());
        let public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
        let key: Vec<&str> = public.split_whitespace().take(2).collect();
        std::fs::write(&known, format!("{address} {}\n", key.join(" "))).unwrap();
    }

    /// rigger as the unprivileged user `nobody`, who can read the test folder.
    pub fn run_unprivileged(&self, args: &[&str]) -> Outcome {
        let out = self.unprivileged(Path::new(BIN), args, &[]);
        self.observe(&out.stderr);
        out
    }

    /// rigger as `nobody` with the ambient capabilities `caps` (`+net_admin,...`).
    pub fn run_with_caps(&self, caps: &str, args: &[&str]) -> Outcome {
        let out = self.unprivileged_with(Path::new(BIN), args, &[], caps);
        self.observe(&out.stderr);
        out
    }

    /// One test of this very test binary, run alone as `nobody`.
    pub fn run_test_unprivileged(&self, test: &str, env: &[(&str, &str)]) -> Outcome {
        let me = std::env::current_exe().unwrap();
        let args = ["--exact", test, "--nocapture", "--test-threads=1"];
        self.unprivileged(&me, &args, env)
    }

    fn unprivileged(&self, bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
        self.unprivileged_with(bin, args, env, "-all")
    }

    fn unprivileged_with(
        &self,
        bin: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        caps: &str,
    ) -> Outcome {
        use std::os::unix::fs::PermissionsExt;
        let folder = self.path("");
        std::fs::set_permissions(&folder, PermissionsExt::from_mode(0o755)).unwrap();
        let files = std::fs::read_dir(&folder).unwrap().flatten();
        for file in files.filter(|e| e.file_type().is_ok_and(|t| t.is_file())) {
            std::fs::set_permissions(file.path(), PermissionsExt::from_mode(0o644)).unwrap();
        }
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(format!("--inh-caps={caps}"));
        if caps != "-all" {
            // Ambient, so that `ip` and the DNS daemon rigger starts keep them.
            cmd.arg(format!("--ambient-caps={caps}"));
        }
        cmd.arg(bin)
            .args(args)
            .current_dir(&folder)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("HOME", &folder)
            .env("RIGGER_STATE_DIR", self.state())
            .envs(env.iter().copied())
            .stdin(Stdio::null());
        Outcome::from(cmd.output().unwrap())
    }

    /// Starts rigger with `env` added, stdout and stderr piped, not waiting for it.
    pub fn spawn(&self, env: &[(&str, &str)], args: &[&str]) -> std::process::Child {
        let mut cmd = self.rig.command(Path::new(BIN));
        cmd.args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().expect("rigger starts")
    }

    /// Notes what the lab holds right now (for a run still going), for `leaves_nothing`.
    pub fn look(&self) {
        self.observe("");
    }

    /// Notes the lab's namespaces (from a `-v` log, and from `lab/lab.json` while the
    /// lab is up) and every process living in them, for `leaves_nothing`.
    fn observe(&self, log: &str) {
        let mut seen = self.seen.borrow_mut();
        seen.labs.extend(labs_created(log));
        let Ok(text) = std::fs::read_to_string(self.path("state/lab/lab.json")) else {
            return;
        };
        let lab: Value = serde_json::from_str(&text).unwrap();
        let Some(id) = lab["id"].as_str().filter(|id| !id.is_empty()) else {
            return;
        };
        seen.labs.insert(format!("rigger-{id}"));
        let hosts = lab["hosts"].as_array().cloned().unwrap_or_default();
        let host_ns = hosts
            .iter()
            .filter_map(|h| h["netns"].as_str().map(String::from));
        let namespaces: Vec<String> = std::iter::once(format!("rigger-{id}"))
            .chain(host_ns)
            .collect();
        let daemon = lab["daemon_pid"].as_i64().map(|p| p as i32);
        seen.processes.extend(daemon.and_then(started_at));
        for ns in namespaces {
            // Held open while the processes are matched, so its inode cannot go to
            // another test's new namespace meanwhile.
            let Ok(file) = std::fs::File::open(format!("/run/netns/{ns}")) else {
                continue;
            };
            let meta = file.metadata().unwrap();
            let inside = pids().filter(|pid| {
                std::fs::metadata(format!("/proc/{pid}/ns/net"))
                    .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
            });
            seen.processes.extend(inside.filter_map(started_at));
        }
    }

    /// Nothing of this test's lab is left: no namespace of it (in /run/netns or `ip netns
    /// list`), no mount of one, no process it was seen to run (the DNS daemon, etcd,
    /// sshd), no process naming its state dir, and no state dir at all.
    pub fn leaves_nothing(&self) {
        let labs = self.seen.borrow().labs.clone();
        assert!(
            !labs.is_empty(),
            "{}: no namespace of this test's lab was ever seen (a run that rolls back needs -v to log it)",
            self.test
        );
        let left: Vec<String> = netns_entries()
            .into_iter()
            .filter(|n| of_labs(n, &labs))
            .collect();
        assert!(left.is_empty(), "namespaces left in /run/netns: {left:?}");
        let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
        assert!(listed.status.success(), "ip netns list failed");
        let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
        let left: Vec<&str> = listed
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| of_labs(n, &labs))
            .collect();
        assert!(
            left.is_empty(),
            "namespaces left in `ip netns list`: {left:?}"
        );
        for lab in &labs {
            let mounted = mounts_naming(lab);
            assert!(mounted.is_empty(), "mounts left: {mounted:?}");
            let cgroups = super::procs::machine_cgroups_of(lab);
            assert!(
                cgroups.is_empty(),
                "booted machines' cgroups left: {cgroups:?}"
            );
        }
        let processes = self.seen.borrow().processes.clone();
        let alive: Vec<String> = processes
            .iter()
            .filter(|&&(pid, start)| started_at(pid) == Some((pid, start)))
            .map(|&(pid, _)| super::procs::describe(pid))
            .collect();
        assert!(alive.is_empty(), "lab processes left: {alive:?}");
        self.no_state_left();
    }

    /// For a run that must not have made a lab at all: no namespace seen, and neither
    /// state nor a process naming it.
    pub fn created_nothing(&self) {
        let labs = self.seen.borrow().labs.clone();
        assert!(labs.is_empty(), "a lab was made: {labs:?}");
        self.no_state_left();
    }

    fn no_state_left(&self) {
        let state = self.state();
        assert!(!state.exists(), "state left: {:?}", files_under(&state));
        let state_text = state.to_string_lossy().into_owned();
        let mounted = mounts_naming(&state_text);
        assert!(mounted.is_empty(), "mounts left: {mounted:?}");
        // A live process still naming a file of this test's state dir.
        let naming = processes_naming(&state_text);
        assert!(naming.is_empty(), "process left: {naming:?}");
    }
}

#[test]
fn a_test_is_named_as_libtest_names_it() {
    assert_eq!(
        test_name(),
        "harness::lab::a_test_is_named_as_libtest_names_it"
    );
}
