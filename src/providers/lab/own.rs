//! Lab machines made outside any run (`rigger lab hosts add`): booted machines that
//! stand for machines of the user's own, for `--target hosts`, with the inventory that
//! lists them. No run takes them down; `rigger lab hosts remove` and `lab down` do.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use super::state::LabHost;
use super::{Lab, each_at_once, netns, remove_host, sshd};
use crate::providers::{Error, Result};

/// How long a new machine's sshd may take to answer.
const SSHD_WITHIN: Duration = Duration::from_secs(60);

impl Lab {
    /// Makes `count` booted machines named `PREFIX-N` (the first numbers free), all at
    /// once, each resolving through `nameserver` (the lab's own server unless given),
    /// and returns them once each one's sshd answers.
    pub fn add_own(
        &self,
        prefix: &str,
        count: usize,
        nameserver: Option<Ipv4Addr>,
    ) -> Result<Vec<LabHost>> {
        super::image::find()?;
        let mut lab = self.clone();
        if let Some(ip) = nameserver {
            lab.nameserver = ip;
        }
        let file = lab.ensure_up()?;
        let mut names = Vec::new();
        let mut n = 1;
        while names.len() < count {
            let name = format!("{prefix}-{n}");
            if file.host(&name).is_none() {
                names.push(name);
            }
            n += 1;
        }
        std::thread::scope(|scope| {
            let made: Vec<_> = names
                .iter()
                .map(|name| {
                    let lab = &lab;
                    scope.spawn(move || lab.add_host(name, true, true))
                })
                .collect();
            made.into_iter().try_for_each(|m| {
                m.join()
                    .unwrap_or_else(|_| Err(Error::failed("a machine's thread panicked")))
                    .map(|_| ())
            })
        })?;
        let hosts: Vec<LabHost> = self
            .load()?
            .hosts
            .into_iter()
            .filter(|h| names.contains(&h.name))
            .collect();
        let ns = file.netns();
        std::thread::scope(|scope| {
            let waits: Vec<_> = hosts
                .iter()
                .map(|h| {
                    let ns = ns.clone();
                    scope.spawn(move || sshd_answers(&ns, h))
                })
                .collect();
            waits.into_iter().try_for_each(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(Error::failed("a machine's thread panicked")))
            })
        })?;
        Ok(hosts)
    }

    /// The machines made outside any run.
    /// In the order of their names (host-2 before host-10), which is the order their
    /// inventory lists them: made all at once, they were numbered as they came.
    pub fn own_hosts(&self) -> Result<Vec<LabHost>> {
        let mut own: Vec<LabHost> = self.load()?.hosts.into_iter().filter(|h| h.own).collect();
        own.sort_by(|a, b| (a.name.len(), &a.name).cmp(&(b.name.len(), &b.name)));
        Ok(own)
    }

    /// Takes down the machines `names` made outside any run (every one when empty), all
    /// at once; returns their names. A name that is not one of them is refused before
    /// anything is taken down.
    pub fn remove_own(&self, names: &[String]) -> Result<Vec<String>> {
        let own = self.own_hosts()?;
        if let Some(name) = names.iter().find(|n| !own.iter().any(|h| &&h.name == n)) {
            return Err(Error::not_found(format!(
                "{name} is not a lab machine made by `rigger lab hosts add`"
            ))
            .with_help(format!(
                "those are: {}",
                if own.is_empty() {
                    "none".to_string()
                } else {
                    own.iter()
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        let going: Vec<LabHost> = own
            .into_iter()
            .filter(|h| names.is_empty() || names.contains(&h.name))
            .collect();
        each_at_once(&going, remove_host)?;
        self.modify(|file| {
            file.hosts
                .retain(|h| !going.iter().any(|g| g.name == h.name));
            Ok(())
        })?;
        Ok(going.into_iter().map(|h| h.name).collect())
    }
}

/// Waits until the machine's sshd accepts a connection, from inside the lab.
fn sshd_answers(lab_ns: &str, host: &LabHost) -> Result<()> {
    netns::enter(lab_ns)?;
    let ip: Ipv4Addr = host
        .ip
        .parse()
        .map_err(|_| Error::failed(format!("{}: bad address {}", host.name, host.ip)))?;
    let to = SocketAddr::from((ip, 22));
    let start = Instant::now();
    while TcpStream::connect_timeout(&to, Duration::from_secs(1)).is_err() {
        if start.elapsed() > SSHD_WITHIN {
            return Err(Error::timeout(format!(
                "{}: sshd did not answer on {to} within {SSHD_WITHIN:?}",
                host.name
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// The inventory of `hosts` (TOML) for `--target hosts --inventory FILE`: the lab's
/// own SSH key and known_hosts, which hold each machine's key.
pub fn inventory(lab_dir: &Path, hosts: &[LabHost]) -> String {
    let files = sshd::client_files(lab_dir);
    let mut text = String::from(
        "# Lab machines made by `rigger lab hosts add`, for --target hosts --inventory FILE.\n",
    );
    text.push_str(&format!(
        "[ssh]\nuser = \"root\"\nkey = {:?}\nknown_hosts = {:?}\n",
        files.key.display().to_string(),
        files.known_hosts.display().to_string()
    ));
    for h in hosts {
        text.push_str(&format!(
            "\n[[hosts]]\nname = {:?}\naddress = {:?}\n",
            h.name, h.ip
        ));
    }
    text
}
