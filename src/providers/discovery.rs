//! The discovery check (`rigger doctor`, `discovery_check`): what it is asked about a
//! zone, and the findings it answers with. A question asked of the network like health,
//! so a dry run can stand in for it.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The scheme members advertise their peer URLs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Https,
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Https => "https",
            Self::Http => "http",
        }
    }
}

/// etcd's major.minor: what decides which SRV records it reads. Read from a string
/// (`"3.5"`), as [`EtcdVersion::parse`] takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct EtcdVersion {
    pub major: u32,
    pub minor: u32,
}

impl TryFrom<String> for EtcdVersion {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl EtcdVersion {
    /// The release whose reading of the records changed (etcd-io/etcd#11321 fixed).
    pub const V3_5: Self = Self { major: 3, minor: 5 };
    pub const V3_4: Self = Self { major: 3, minor: 4 };

    /// `3.4`, `3.5.1`, `v3.5.17`: only the major and minor count.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bare = text.trim().trim_start_matches('v');
        let mut parts = bare.split('.');
        let number = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok());
        let (Some(major), Some(minor)) = (number(parts.next()), number(parts.next())) else {
            return Err(format!(
                "{text:?} is not an etcd version such as 3.4 or 3.5.1"
            ));
        };
        if parts.any(|p| p.parse::<u32>().is_err()) {
            return Err(format!(
                "{text:?} is not an etcd version such as 3.4 or 3.5.1"
            ));
        }
        if major != 3 || minor < 4 {
            return Err(format!(
                "etcd {major}.{minor} is not a version the doctor knows: it reads the records as etcd 3.4 and later 3.x releases do"
            ));
        }
        Ok(Self { major, minor })
    }

    /// Whether it reads `_etcd-server._tcp` beside `_etcd-server-ssl._tcp`: 3.5 and later.
    /// Before, a bug made it read the `-ssl` set alone (etcd-io/etcd#11321).
    pub fn reads_plain(self) -> bool {
        self >= Self::V3_5
    }
}

impl fmt::Display for EtcdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// What to check: the zone's records under `domain`, asked of `servers`, as members that
/// advertise `scheme://TARGET:peer_port` and run `version` will read them.
#[derive(Debug, Clone)]
pub struct DiscoveryCheck {
    pub domain: String,
    pub servers: Vec<SocketAddr>,
    /// `--discovery-srv-name`: the suffix of the service labels (`_etcd-server-ssl-NAME`).
    pub service_name: Option<String>,
    /// `None`: what the records imply.
    pub scheme: Option<Scheme>,
    /// `None`: judged for 3.4 and for 3.5 and later.
    pub version: Option<EtcdVersion>,
    /// The port members advertise in `--initial-advertise-peer-urls`.
    pub peer_port: u16,
    /// The SRV targets the members will be, when the caller knows them (a script that
    /// launched them): compared with the records instead of the client set.
    pub peers: Option<BTreeSet<String>>,
    /// A folder of the members' certificates (`<name>.crt`, as rigger writes them), to
    /// check against the records.
    pub certs: Option<PathBuf>,
}

/// etcd's default peer port, and what rigger's members advertise.
pub const PEER_PORT: u16 = 2380;

impl DiscoveryCheck {
    pub fn new(domain: &str) -> Self {
        Self {
            domain: domain.to_string(),
            servers: Vec::new(),
            service_name: None,
            scheme: None,
            version: None,
            peer_port: PEER_PORT,
            peers: None,
            certs: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// etcd would fail, or come up short.
    Error,
    /// etcd starts, with a weakness it does not tell.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One thing wrong with the zone, as etcd would meet it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// Stable, for scripts and tests: `srv-port-mismatch`, `no-client-srv`, ...
    pub id: &'static str,
    pub severity: Severity,
    /// The name the finding is about (an SRV owner, a target, an address).
    pub subject: String,
    /// What is wrong, and what etcd does about it.
    pub message: String,
    /// The records as served (zone-file lines), or the server's answer.
    pub evidence: Vec<String>,
    pub fix: String,
}

impl Finding {
    /// The finding as one line, for a script's message or a log.
    pub fn line(&self) -> String {
        format!(
            "{} {}: {}: {}",
            self.severity.as_str(),
            self.id,
            self.subject,
            self.message
        )
    }
}

/// The worst finding's severity, or clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Clean,
    Warning,
    Error,
}

/// The doctor's answer: every finding, worst first.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub domain: String,
    /// The servers asked.
    pub servers: Vec<SocketAddr>,
    pub status: Verdict,
    pub findings: Vec<Finding>,
    /// What could not be checked, and why (a target in a zone the servers do not hold).
    pub unchecked: Vec<String>,
    /// Said instead of a verdict when nothing was asked (a plan assumes a clean zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assumed: Option<String>,
}

impl Diagnosis {
    pub fn new(
        domain: &str,
        servers: Vec<SocketAddr>,
        mut findings: Vec<Finding>,
        unchecked: Vec<String>,
    ) -> Self {
        // Worst first; otherwise in the order they were found (a sort that keeps it).
        findings.sort_by_key(|f| f.severity);
        let status = match findings.first().map(|f| f.severity) {
            Some(Severity::Error) => Verdict::Error,
            Some(Severity::Warning) => Verdict::Warning,
            None => Verdict::Clean,
        };
        Self {
            domain: domain.to_string(),
            servers,
            status,
            findings,
            unchecked,
            assumed: None,
        }
    }

    /// The diagnosis with `more` findings and `unchecked` notes: the verdict is the
    /// worst of them all.
    pub fn with(self, more: Vec<Finding>, unchecked: Vec<String>) -> Self {
        let mut findings = self.findings;
        findings.extend(more);
        let mut notes = self.unchecked;
        notes.extend(unchecked);
        Self {
            assumed: self.assumed,
            ..Self::new(&self.domain, self.servers, findings, notes)
        }
    }

    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The report as people read it: each finding with its evidence and fix, then a
    /// summary line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            out.push_str(&format!(
                "{}[{}] {}\n  {}\n",
                f.severity.as_str(),
                f.id,
                f.subject,
                f.message
            ));
            for line in &f.evidence {
                out.push_str(&format!("  served: {line}\n"));
            }
            out.push_str(&format!("  fix: {}\n\n", f.fix));
        }
        for note in &self.unchecked {
            out.push_str(&format!("not checked: {note}\n"));
        }
        if let Some(why) = &self.assumed {
            out.push_str(&format!("{why}\n"));
            return out;
        }
        let asked = self
            .servers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        out.push_str(&match self.status {
            Verdict::Clean => format!(
                "{}: no findings; etcd will find its members as published (asked {asked})\n",
                self.domain
            ),
            _ => format!(
                "{}: {}, {} (asked {asked})\n",
                self.domain,
                plural(self.errors(), "error"),
                plural(self.warnings(), "warning")
            ),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_as_major_minor() {
        assert_eq!(EtcdVersion::parse("3.4").unwrap(), EtcdVersion::V3_4);
        assert_eq!(EtcdVersion::parse("v3.5.17").unwrap(), EtcdVersion::V3_5);
        assert!(!EtcdVersion::parse("3.4.23").unwrap().reads_plain());
        assert!(EtcdVersion::parse("3.6").unwrap().reads_plain());
        for bad in ["", "3", "three.four", "2.3", "3.3", "3.4.x", "4.0"] {
            assert!(EtcdVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn findings_are_worst_first_and_decide_the_verdict() {
        let finding = |id, severity| Finding {
            id,
            severity,
            subject: "s".into(),
            message: "m".into(),
            evidence: Vec::new(),
            fix: "f".into(),
        };
        let d = Diagnosis::new(
            "d.test",
            Vec::new(),
            vec![
                finding("a", Severity::Warning),
                finding("b", Severity::Error),
                finding("c", Severity::Warning),
            ],
            Vec::new(),
        );
        let ids: Vec<&str> = d.findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        assert_eq!(d.status, Verdict::Error);
        assert_eq!((d.errors(), d.warnings()), (1, 2));
        let clean = Diagnosis::new("d.test", Vec::new(), Vec::new(), Vec::new());
        assert_eq!(clean.status, Verdict::Clean);
        assert!(clean.text().contains("no findings"));
    }
}
