//! `rigger lab serve | status | exec | down`.

use std::os::unix::process::ExitStatusExt;

use serde::Serialize;

use crate::base::state_dir::StateDir;
use crate::base::writer::Writer;
use crate::cli::exit;
use crate::providers::lab::{Lab, control, daemon, machine, procs};

/// `rigger lab reboot HOST|--all`: says each machine rebooted; they come back alone.
pub fn reboot(state: &StateDir, host: Option<&str>) -> u8 {
    let _writer = match Writer::take(state) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
    match Lab::new(state).reboot(host) {
        Ok(names) => {
            for name in names {
                tracing::info!("{name}: rebooting");
            }
            exit::OK
        }
        Err(e) => super::fail(format!("lab reboot: {}", e.message), e.help),
    }
}

/// `rigger lab image`: the machine image, made unless it is there.
pub fn image() -> u8 {
    if let Err(e) = crate::providers::lab::require_privileges() {
        return super::fail(e.message, e.help);
    }
    match crate::providers::lab::image::ensure() {
        Ok(root) => {
            crate::base::output::data(&format!("{}\n", root.display()));
            exit::OK
        }
        Err(e) => super::fail(format!("lab image: {}", e.message), e.help),
    }
}

/// The lab's version ladder: one line per release (version, then its folder), or JSON.
pub fn versions(json: bool) -> u8 {
    let releases = crate::providers::lab::ladder::installed();
    if json {
        crate::base::output::data(&super::json_text(&releases));
        return exit::OK;
    }
    if releases.is_empty() {
        return super::fail(
            format!(
                "no etcd release is installed for the lab in {}",
                crate::providers::lab::ladder::dir().display()
            ),
            Some("./setup.sh installs the ladder (3.4.23, 3.5.1, 3.5.16, 3.5.30)".into()),
        );
    }
    let mut out = String::new();
    for r in &releases {
        out.push_str(&format!("{}\t{}\n", r.version, r.dir));
    }
    crate::base::output::data(&out);
    exit::OK
}

pub fn up(state: &StateDir) -> u8 {
    let _writer = match Writer::take(state) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
    match Lab::new(state).ensure_up() {
        Ok(file) => {
            crate::base::output::data(&format!("{}\n", file.netns()));
            exit::OK
        }
        Err(e) => super::fail(format!("lab up: {}", e.message), e.help),
    }
}

pub fn serve(state: &StateDir) -> u8 {
    match daemon::serve(&Lab::new(state)) {
        Ok(()) => exit::OK,
        Err(e) => {
            crate::base::output::to_stderr(&format!("rigger lab serve: {e}\n"));
            exit::FAILED
        }
    }
}

#[derive(Serialize)]
struct HostStatus {
    name: String,
    ip: String,
    netns: String,
    /// A booted machine's power: "running" or "off" (after its own poweroff); absent
    /// for a bare namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    machine: Option<&'static str>,
    processes: Vec<String>,
}

#[derive(Serialize)]
struct Status {
    up: bool,
    netns: Option<String>,
    dns: Option<String>,
    hosts: Vec<HostStatus>,
    zones: Vec<ZoneStatus>,
}

#[derive(Serialize)]
struct ZoneStatus {
    name: String,
    records: Vec<String>,
}

/// `pid name`, with the kernel's name for the process (`sshd`, `etcd`): command lines
/// are long and some daemons rewrite theirs.
fn command_line(pid: i32) -> String {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_else(|_| "?".into());
    format!("{pid} {}", name.trim())
}

pub fn status(state: &StateDir, json: bool) -> u8 {
    let lab = Lab::new(state);
    let file = match lab.load() {
        Ok(f) => f,
        Err(e) => return super::fail(format!("cannot read the lab state: {e}"), None),
    };
    let up = lab.exists();
    let dns_up = control::ping(&lab.control_socket()).is_ok();
    let status = Status {
        up,
        netns: up.then(|| file.netns()),
        dns: dns_up.then(|| format!("{}:53", crate::providers::lab::netns::bridge_ip())),
        hosts: file
            .hosts
            .iter()
            .map(|h| HostStatus {
                name: h.name.clone(),
                ip: h.ip.clone(),
                netns: h.netns.clone(),
                machine: h.booted.then(|| {
                    if machine::running(h) {
                        "running"
                    } else {
                        "off"
                    }
                }),
                processes: procs::in_netns(&h.netns)
                    .into_iter()
                    .map(command_line)
                    .collect(),
            })
            .collect(),
        zones: file
            .zones
            .iter()
            .map(|(name, records)| ZoneStatus {
                name: name.clone(),
                records: records
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} {}",
                            r.spec.name,
                            r.spec.data.type_name(),
                            r.spec.data.content()
                        )
                    })
                    .collect(),
            })
            .collect(),
    };
    if json {
        crate::base::output::data(&super::json_text(&status));
        return exit::OK;
    }
    if !status.up {
        crate::base::output::data(&format!("no lab in {}\n", state.root().display()));
        return exit::OK;
    }
    crate::base::output::data(&format!(
        "lab {} (dns {})\n",
        status.netns.as_deref().unwrap_or("?"),
        status.dns.as_deref().unwrap_or("down")
    ));
    let width = status.hosts.iter().map(|h| h.name.len()).max().unwrap_or(4);
    for h in &status.hosts {
        crate::base::output::data(&format!(
            "  {:width$}  {:15}  {}\n",
            h.name,
            h.ip,
            match h.machine {
                // A guest's processes are a whole system's: counted, not listed.
                Some(power) => format!("machine {power}, {} processes", h.processes.len()),
                None if h.processes.is_empty() => "-".to_string(),
                None => h.processes.join(", "),
            }
        ));
    }
    for z in &status.zones {
        crate::base::output::data(&format!("zone {} ({} records)\n", z.name, z.records.len()));
        for r in &z.records {
            crate::base::output::data(&format!("  {r}\n"));
        }
    }
    exit::OK
}

pub fn exec(state: &StateDir, host: &str, argv: &[String]) -> u8 {
    let lab = Lab::new(state);
    let mut cmd = match lab.command_in(host, argv) {
        Ok(c) => c,
        Err(e) => return super::fail(format!("lab exec: {}", e.message), e.help),
    };
    // What runs there (dig, etcdctl) asks the lab's DNS.
    if let Err(e) = lab.ensure_dns() {
        tracing::warn!("the lab's DNS server is down and could not be started: {e}");
    }
    match cmd.status() {
        Ok(s) => s
            .code()
            .map(|c| c as u8)
            .unwrap_or_else(|| 128 + s.signal().unwrap_or(0) as u8),
        Err(e) => super::fail(format!("lab exec: cannot run {}: {e}", argv[0]), None),
    }
}
