//! The table of backends: every target (where machines come from), DNS provider and
//! transport, with what it is for, where it may be used and how it is opened. The
//! command line's choices, the rules of which go together and the per-target defaults
//! all come from here: a new backend is its own module and one row below.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::base::error::{Error, Result};
use crate::base::state_dir::StateDir;
use crate::providers::opening::{Machines, Opening};
use crate::providers::release::Release;
use crate::providers::{Dns, InstanceSpec, Transport, compute, dns, lab, transport};

/// Where machines come from.
pub struct TargetRow {
    pub name: &'static str,
    pub about: &'static str,
    /// The DNS provider and the transport used when none is chosen.
    pub dns: &'static str,
    pub transport: &'static str,
    /// Whether `wait_tcp` may dial names (looked up by this machine's resolver); the
    /// lab's hosts are reached by address only.
    pub dial_names: bool,
    /// Whether anything of this target is here to act on (a lab in this state dir).
    pub exists: fn(&StateDir) -> bool,
    /// Whether this process may use the target at all, checked before anything is made.
    pub allowed: fn() -> Result<()>,
    /// The folder a machine launched so gets for its files, and whether it is booted
    /// (what a plan shows of it).
    pub node_dir: fn(&StateDir, &InstanceSpec) -> (String, bool),
    /// Why its machines cannot be found without the state dir (`destroy --cluster`);
    /// `None`: they carry the cluster's tag and can.
    pub untagged: Option<&'static str>,
    /// Whether its machines are this machine's own (the lab): what a check of the
    /// machine itself applies to, and what `destroy` keeps up for the next run.
    pub local: bool,
    /// Whether it needs the AWS SDK's settings (region, credentials).
    pub aws: bool,
    /// Whether its machines are listed in `--inventory`, which no other target reads.
    pub inventory: bool,
    /// The etcd releases its machines run without a download (the lab's ladder), oldest
    /// first; none where every release is downloaded.
    pub releases: fn() -> Vec<Release>,
    pub open: fn(&Opening) -> Result<Machines>,
}

/// Who serves DNS.
pub struct DnsRow {
    pub name: &'static str,
    pub about: &'static str,
    /// The targets whose machines can resolve through it.
    pub targets: &'static [&'static str],
    /// Whether `--dns-server` means anything to it; `Some(why)` refuses it.
    pub refuses_servers: Option<&'static str>,
    /// Whether it asks `--resolver` (for a zone's primary, from its SOA).
    pub asks_resolver: bool,
    /// Why its records carry no ownership marker, so that only the state dir finds them
    /// (`destroy --cluster`); `None`: they carry one.
    pub unmarked: Option<&'static str>,
    /// Whether it is the lab's own server, which lab hosts ask; with any other, they ask
    /// `--dns-server`.
    pub lab_server: bool,
    /// Whether it needs the AWS SDK's settings (region, credentials).
    pub aws: bool,
    pub open: fn(&Opening) -> Result<Arc<dyn Dns>>,
}

/// How commands reach the machines.
pub struct TransportRow {
    pub name: &'static str,
    pub about: &'static str,
    pub targets: &'static [&'static str],
    /// Whether lab hosts must run sshd for it.
    pub sshd: bool,
    /// Opened after the target, whose machines it reaches.
    pub open: fn(&Opening, &Machines) -> Result<Arc<dyn Transport>>,
}

/// The lab's hosts and records are known through its state dir alone.
const LAB_LOST: &str = "the lab is known only through its state dir, which `rigger destroy` (without --cluster) empties; --cluster searches the cloud";

/// The flag of the backend that needs the AWS SDK's settings (region, credentials),
/// which a run then checks before its script starts; none when no backend does.
pub fn uses_aws(target: &str, dns: &str) -> Option<String> {
    if self::target(target).is_ok_and(|t| t.aws) {
        Some(format!("--target {target}"))
    } else if self::dns(dns).is_ok_and(|d| d.aws) {
        Some(format!("--dns {dns}"))
    } else {
        None
    }
}

pub const TARGETS: &[TargetRow] = &[
    TargetRow {
        name: "lab",
        about: "This machine as a small cloud: namespaces, embedded DNS, real etcd",
        dns: "lab",
        transport: "exec",
        dial_names: false,
        exists: lab::exists,
        allowed: lab::require_privileges,
        node_dir: lab::planned_dir,
        untagged: Some(LAB_LOST),
        local: true,
        aws: false,
        inventory: false,
        releases: lab::ladder::installed,
        open: lab::open_target,
    },
    TargetRow {
        name: "aws",
        about: "AWS EC2 (credentials, region and endpoint from the AWS default chain)",
        dns: "cloudflare",
        transport: "ssh",
        dial_names: true,
        exists: |_| true,
        allowed: || Ok(()),
        node_dir: |_, _| (compute::ec2::NODE_DIR.to_string(), true),
        untagged: None,
        local: false,
        aws: true,
        inventory: false,
        releases: Vec::new,
        open: compute::ec2::open,
    },
    TargetRow {
        name: "hosts",
        about: "Machines that exist already, listed in an inventory (--inventory FILE), over SSH",
        dns: "rfc2136",
        transport: "ssh",
        dial_names: false,
        exists: |_| true,
        allowed: || Ok(()),
        node_dir: |_, _| (compute::ec2::NODE_DIR.to_string(), true),
        untagged: Some(
            "machines of an inventory carry no tag: only the state dir knows which ones rigger took",
        ),
        local: false,
        aws: false,
        inventory: true,
        releases: Vec::new,
        open: compute::hosts::open,
    },
];

pub const DNS: &[DnsRow] = &[
    DnsRow {
        name: "lab",
        about: "The lab's embedded DNS server (lab machines only: the lab's, or an inventory of them)",
        targets: &["lab", "hosts"],
        refuses_servers: Some(
            "the lab's DNS is its own server; --dns-server names another server, for --dns rfc2136",
        ),
        asks_resolver: false,
        unmarked: Some(LAB_LOST),
        lab_server: true,
        aws: false,
        open: lab::open_dns,
    },
    DnsRow {
        name: "cloudflare",
        about: "Cloudflare's v4 API (CLOUDFLARE_API_TOKEN)",
        targets: &["aws", "hosts"],
        refuses_servers: None,
        asks_resolver: false,
        unmarked: None,
        lab_server: false,
        aws: false,
        open: dns::cloudflare::open,
    },
    DnsRow {
        name: "route53",
        about: "Amazon Route 53 (the AWS default chain's credentials)",
        targets: &["aws", "hosts"],
        refuses_servers: None,
        asks_resolver: false,
        unmarked: None,
        lab_server: false,
        aws: true,
        open: dns::route53::open,
    },
    DnsRow {
        name: "rfc2136",
        about: "A server of your own (BIND, Knot, PowerDNS) updated with RFC 2136 and TSIG",
        targets: &["lab", "aws", "hosts"],
        refuses_servers: None,
        asks_resolver: true,
        unmarked: Some(
            "records on a server of your own carry no ownership marker: finding markers again would take a zone transfer (AXFR), which rigger does not do",
        ),
        lab_server: false,
        aws: false,
        open: dns::rfc2136::open,
    },
];

pub const TRANSPORTS: &[TransportRow] = &[
    TransportRow {
        name: "exec",
        about: "Straight into the lab host's namespaces (lab only)",
        targets: &["lab"],
        sshd: false,
        open: lab::open_exec,
    },
    TransportRow {
        name: "ssh",
        about: "SSH: the cloud's way, an inventory's, and the lab's when asked (each host then runs sshd)",
        targets: &["lab", "aws", "hosts"],
        sshd: true,
        open: transport::ssh::open,
    },
];

pub fn target(name: &str) -> Result<&'static TargetRow> {
    TARGETS
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| unknown("target", name, TARGETS.iter().map(|r| r.name)))
}

pub fn dns(name: &str) -> Result<&'static DnsRow> {
    DNS.iter()
        .find(|r| r.name == name)
        .ok_or_else(|| unknown("DNS provider", name, DNS.iter().map(|r| r.name)))
}

pub fn transport(name: &str) -> Result<&'static TransportRow> {
    TRANSPORTS
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| unknown("transport", name, TRANSPORTS.iter().map(|r| r.name)))
}

fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>) -> Error {
    Error::invalid(format!("no {what} named {name:?}"))
        .with_help(format!("known: {}", known.collect::<Vec<_>>().join(", ")))
}

/// Whether the chosen backends go together; the reason when they do not.
pub fn check(
    target: &str,
    dns: &str,
    transport: &str,
    servers: &[SocketAddr],
    resolver: Option<SocketAddr>,
    inventory: Option<&Path>,
) -> Result<()> {
    let t = self::target(target)?;
    match (t.inventory, inventory) {
        (true, None) => {
            return Err(Error::missing(format!(
                "--target {target} needs --inventory FILE: the machines to use"
            ))
            .with_help("an inventory lists each machine's name and address (README, \"Your own machines\")"));
        }
        (false, Some(file)) => {
            return Err(Error::invalid(format!(
                "--inventory {} does nothing with --target {target}",
                file.display()
            ))
            .with_help("--inventory lists machines that exist already, for --target hosts"));
        }
        _ => {}
    }
    let d = self::dns(dns)?;
    let x = self::transport(transport)?;
    if !d.targets.contains(&t.name) {
        return Err(Error::invalid(format!(
            "--dns {dns} does not work with --target {target}: {} machines cannot resolve through it",
            t.name
        ))
        .with_help(format!(
            "--dns {dns} goes with --target {}; with --target {target} use --dns {}",
            d.targets.join(" or "),
            DNS.iter()
                .filter(|r| r.targets.contains(&t.name))
                .map(|r| r.name)
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    if !x.targets.contains(&t.name) {
        return Err(Error::invalid(format!(
            "--transport {transport} does not work with --target {target}"
        ))
        .with_help(format!(
            "--transport {transport} goes with --target {}",
            x.targets.join(" or ")
        )));
    }
    if let (Some(why), false) = (d.refuses_servers, servers.is_empty()) {
        return Err(
            Error::invalid(format!("--dns-server does nothing with --dns {dns}")).with_help(why),
        );
    }
    if let (false, Some(resolver)) = (d.asks_resolver, resolver) {
        return Err(Error::invalid(format!(
            "--resolver {resolver} does nothing with --dns {dns}"
        ))
        .with_help("--resolver is where --dns rfc2136 asks a zone's SOA for its primary"));
    }
    Ok(())
}
