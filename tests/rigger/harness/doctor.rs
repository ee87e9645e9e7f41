//! What the doctor's lab tests share: a lab with three hosts (n1, n2, n3) and a zone
//! built as each test breaks it, served by rigger's DNS or by BIND from a zone file; the
//! doctor run against it; and real etcd members (`members.rs`) started by hand in the
//! hosts against that zone, so a verdict is checked against etcd itself.

use serde_json::Value;

pub use super::members::{ETCD_3_4, LIMIT, Member, Members, both, etcd_3_5};
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
        let netns: Vec<&str> = hosts.iter().map(|h| h["netns"].as_str().unwrap()).collect();
        let dir = self.lab.path(&format!("etcd-{}", member.tag(etcd)));
        let pki = self.lab.path(&format!("state/pki/{}", member.pki));
        Members::start(etcd, member, &netns, &self.ips, &self.dns, &dir, &pki)
    }
}

/// The lab's hosts, n1 first.
fn hosts_by_name(lab: &LabRig) -> Vec<Value> {
    let mut hosts = lab.hosts();
    hosts.sort_by_key(|h| h["name"].as_str().unwrap().to_string());
    hosts
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
