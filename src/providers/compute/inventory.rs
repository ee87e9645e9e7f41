//! An inventory: machines that exist already (`--target hosts --inventory FILE`), read
//! from TOML or from YAML as Ansible writes it. Every mistake is said with the file and
//! the line it is on, before anything is done.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::base::error::{Error, Result};
use crate::base::names::check_label;

/// One machine of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Its name: the member's name and its DNS label.
    pub name: String,
    /// Where rigger reaches it over SSH.
    pub address: IpAddr,
    /// Where the members reach each other (its A record); `address` unless given.
    pub private_address: IpAddr,
    /// SSH user and port of its own, over the inventory's defaults.
    pub user: Option<String>,
    pub port: Option<u16>,
    /// What `launch_instance(#{ labels: ... })` picks it by.
    pub labels: BTreeMap<String, String>,
    /// The line it is listed on.
    pub line: usize,
}

/// How SSH reaches every machine unless a host says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshDefaults {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub key: Option<PathBuf>,
    /// A known_hosts file for these machines; else the user's.
    pub known_hosts: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub file: PathBuf,
    pub ssh: SshDefaults,
    pub hosts: Vec<Host>,
}

impl Inventory {
    /// Reads `file`: YAML when it ends in .yaml or .yml, else TOML.
    pub fn read(file: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::not_found(format!("inventory {}: {e}", file.display()))
                .with_help("--inventory names a TOML or YAML file listing the machines")
        })?;
        let yaml = file.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let at = Place { file, text: &text };
        let (ssh, hosts) = if yaml {
            yaml::read(&at)?
        } else {
            toml_form::read(&at)?
        };
        let base = file.parent().unwrap_or(Path::new("."));
        let ssh = SshDefaults {
            key: ssh.key.map(|k| beside(base, &k)),
            known_hosts: ssh.known_hosts.map(|k| beside(base, &k)),
            ..ssh
        };
        check_hosts(&at, &hosts, ssh.port.unwrap_or(22))?;
        if hosts.is_empty() {
            return Err(Error::invalid(format!(
                "inventory {}: no machines are listed",
                file.display()
            ))
            .with_help(HELP));
        }
        Ok(Self {
            file: file.to_path_buf(),
            ssh,
            hosts,
        })
    }

    /// `file:line`, for what is said of the host `name`.
    pub fn at(&self, host: &Host) -> String {
        format!("{}:{}", self.file.display(), host.line)
    }
}

/// A path the inventory gives: `~/` is the home folder, a relative one is beside the
/// file, as Ansible reads them.
fn beside(base: &Path, path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => Path::new(&home).join(rest),
        _ => base.join(path),
    }
}

const HELP: &str = "each machine has a name and an address, e.g. [[hosts]] name = \"db1\" address = \"192.0.2.11\" (TOML), or all: hosts: db1: ansible_host: 192.0.2.11 (YAML)";

/// The file being read, for errors naming a line of it.
struct Place<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Place<'_> {
    fn error(&self, line: usize, what: impl std::fmt::Display) -> Error {
        Error::invalid(format!("{}:{line}: {what}", self.file.display())).with_help(HELP)
    }

    /// The line (from 1) of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// The lines (from 1) that open a mapping key `key` (YAML's `key:`).
    fn key_lines(&self, key: &str) -> Vec<usize> {
        let forms = [
            format!("{key}:"),
            format!("\"{key}\":"),
            format!("'{key}':"),
        ];
        self.text
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                let l = l.trim_start().trim_start_matches("- ");
                forms.iter().any(|f| l.starts_with(f.as_str()))
            })
            .map(|(i, _)| i + 1)
            .collect()
    }
}

/// Names are DNS labels and listed once; two machines never share an SSH address and
/// port (`port`: the file's default).
fn check_hosts(at: &Place, hosts: &[Host], port: u16) -> Result<()> {
    let reached = |h: &Host| (h.address, h.port.unwrap_or(port));
    for (i, host) in hosts.iter().enumerate() {
        if let Some(first) = hosts[..i].iter().find(|h| h.name == host.name) {
            return Err(at.error(
                host.line,
                format!(
                    "{} is listed twice (first on line {})",
                    host.name, first.line
                ),
            ));
        }
        if let Some(first) = hosts[..i].iter().find(|h| reached(h) == reached(host)) {
            return Err(at.error(
                host.line,
                format!(
                    "{} has the address {} of {} (line {})",
                    host.name, host.address, first.name, first.line
                ),
            ));
        }
    }
    Ok(())
}

/// A name as the inventory gives it, made a DNS label or refused.
fn name(at: &Place, line: usize, name: &str) -> Result<String> {
    check_label(name).map_err(|why| {
        at.error(
            line,
            format!("{name:?} is not a machine name: {why} (it becomes the member's DNS label)"),
        )
    })
}

fn address(at: &Place, line: usize, host: &str, what: &str, text: &str) -> Result<IpAddr> {
    text.parse().map_err(|_| {
        at.error(
            line,
            format!("{host}: {what} {text:?} is not an IP address"),
        )
    })
}

mod toml_form {
    //! `[ssh]` defaults and `[[hosts]]` tables.

    use super::*;
    use toml::Spanned;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        ssh: Option<Ssh>,
        #[serde(default)]
        hosts: Vec<Spanned<Entry>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ssh {
        user: Option<String>,
        port: Option<u16>,
        key: Option<PathBuf>,
        known_hosts: Option<PathBuf>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        name: Option<Spanned<String>>,
        address: Option<String>,
        private_address: Option<String>,
        user: Option<String>,
        port: Option<u16>,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }

    pub(super) fn read(at: &Place) -> Result<(SshDefaults, Vec<Host>)> {
        let file: File = toml::from_str(at.text).map_err(|e| {
            let line = e.span().map_or(1, |s| at.line_of(s.start));
            at.error(line, e.message())
        })?;
        let ssh = file.ssh.map_or_else(SshDefaults::default, |s| SshDefaults {
            user: s.user,
            port: s.port,
            key: s.key,
            known_hosts: s.known_hosts,
        });
        let mut hosts = Vec::new();
        for (i, entry) in file.hosts.into_iter().enumerate() {
            let table_line = at.line_of(entry.span().start);
            let entry = entry.into_inner();
            let Some(given) = entry.name else {
                return Err(at.error(table_line, format!("machine #{} has no name", i + 1)));
            };
            let line = at.line_of(given.span().start);
            let name = name(at, line, given.get_ref())?;
            let Some(text) = entry.address else {
                return Err(at.error(
                    line,
                    format!("{name} has no address: where rigger reaches it over SSH"),
                ));
            };
            let address = address(at, line, &name, "address", &text)?;
            let private_address = match entry.private_address {
                Some(p) => super::address(at, line, &name, "private_address", &p)?,
                None => address,
            };
            hosts.push(Host {
                name,
                address,
                private_address,
                user: entry.user,
                port: entry.port,
                labels: entry.labels,
                line,
            });
        }
        Ok((ssh, hosts))
    }
}

mod yaml {
    //! Ansible's YAML inventory: `all:` with `vars:`, `hosts:` and `children:` (groups
    //! of their own hosts, nested), each host's `ansible_host`, `ansible_user` and
    //! `ansible_port`, and rigger's `private_address` and `labels`. A group's name is a
    //! label of its hosts (`NAME = "true"`).

    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Group {
        vars: BTreeMap<String, serde_yaml_ng::Value>,
        hosts: Option<BTreeMap<String, Option<Vars>>>,
        children: Option<BTreeMap<String, Option<Group>>>,
    }

    #[derive(Deserialize, Default, Clone)]
    #[serde(default)]
    struct Vars {
        ansible_host: Option<String>,
        ansible_user: Option<String>,
        ansible_port: Option<u16>,
        private_address: Option<String>,
        labels: BTreeMap<String, String>,
    }

    pub(super) fn read(at: &Place) -> Result<(SshDefaults, Vec<Host>)> {
        let top: BTreeMap<String, Option<Group>> =
            serde_yaml_ng::from_str(at.text).map_err(|e| {
                let line = e.location().map_or(1, |l| l.line());
                at.error(line, e)
            })?;
        let Some(all) = top.get("all") else {
            return Err(at.error(1, "an Ansible inventory starts with `all:`"));
        };
        let empty = Group::default();
        let all = all.as_ref().unwrap_or(&empty);
        let ssh = defaults(at, &all.vars)?;
        let mut listed = Vec::new();
        walk(all, &[], &Vars::default(), &mut listed);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut hosts = Vec::new();
        for (given, vars, groups) in listed {
            // The nth time a name is listed is on the nth line that opens it.
            let nth = seen.entry(given.clone()).or_default();
            let line = at.key_lines(&given).get(*nth).copied().unwrap_or(1);
            *nth += 1;
            let name = name(at, line, &given)?;
            let Some(text) = vars.ansible_host.clone() else {
                return Err(at.error(
                    line,
                    format!("{name} has no ansible_host: where rigger reaches it over SSH"),
                ));
            };
            let address = address(at, line, &name, "ansible_host", &text)?;
            let private_address = match &vars.private_address {
                Some(p) => super::address(at, line, &name, "private_address", p)?,
                None => address,
            };
            let mut labels = vars.labels.clone();
            for g in groups {
                labels.entry(g).or_insert_with(|| "true".into());
            }
            hosts.push(Host {
                name,
                address,
                private_address,
                user: vars.ansible_user.clone(),
                port: vars.ansible_port,
                labels,
                line,
            });
        }
        Ok((ssh, hosts))
    }

    /// Every host of `group` and its children, with the groups it is in (not `all`).
    fn walk(
        group: &Group,
        path: &[String],
        inherited: &Vars,
        out: &mut Vec<(String, Vars, Vec<String>)>,
    ) {
        // A group's ansible_user and ansible_port reach its hosts and its children's,
        // under what a host says itself (all's are the file's defaults, read apart).
        let mut here = inherited.clone();
        if !path.is_empty() {
            if let Some(user) = group.vars.get("ansible_user").and_then(|v| v.as_str()) {
                here.ansible_user = Some(user.to_string());
            }
            let port = group.vars.get("ansible_port").and_then(|v| v.as_u64());
            if let Some(port) = port.and_then(|p| u16::try_from(p).ok()) {
                here.ansible_port = Some(port);
            }
        }
        for (name, vars) in group.hosts.iter().flatten() {
            let mut vars = vars.clone().unwrap_or_default();
            vars.ansible_user = vars.ansible_user.or_else(|| here.ansible_user.clone());
            vars.ansible_port = vars.ansible_port.or(here.ansible_port);
            out.push((name.clone(), vars, path.to_vec()));
        }
        for (name, child) in group.children.iter().flatten() {
            let mut inner = path.to_vec();
            inner.push(name.clone());
            if let Some(child) = child {
                walk(child, &inner, &here, out);
            }
        }
    }

    /// `all: vars:`: the SSH user, port and key every host gets unless it has its own,
    /// and rigger's `known_hosts`.
    fn defaults(at: &Place, vars: &BTreeMap<String, serde_yaml_ng::Value>) -> Result<SshDefaults> {
        let text = |key: &str| -> Result<Option<String>> {
            match vars.get(key) {
                None => Ok(None),
                Some(serde_yaml_ng::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => {
                    let line = at.key_lines(key).first().copied().unwrap_or(1);
                    Err(at.error(line, format!("{key} is a string")))
                }
            }
        };
        let port =
            match vars.get("ansible_port") {
                None => None,
                Some(v) => Some(v.as_u64().and_then(|p| u16::try_from(p).ok()).ok_or_else(
                    || {
                        let line = at.key_lines("ansible_port").first().copied().unwrap_or(1);
                        at.error(line, "ansible_port is a port number")
                    },
                )?),
            };
        Ok(SshDefaults {
            user: text("ansible_user")?,
            port,
            key: text("ansible_ssh_private_key_file")?.map(PathBuf::from),
            known_hosts: text("known_hosts")?.map(PathBuf::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str) -> Result<Inventory> {
        let dir = std::env::temp_dir().join(format!("rigger-inventory-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let read = Inventory::read(&file);
        std::fs::remove_dir_all(&dir).unwrap();
        read
    }

    #[test]
    fn toml_hosts_take_the_defaults_and_their_own_settings() {
        let inv = read(
            "i.toml",
            "[ssh]\nuser = \"admin\"\nknown_hosts = \"kh\"\n\n[[hosts]]\nname = \"db1\"\naddress = \"192.0.2.11\"\n\n[[hosts]]\nname = \"DB2\"\naddress = \"192.0.2.12\"\nprivate_address = \"10.0.0.12\"\nuser = \"root\"\nport = 2222\nlabels = { rack = \"b\" }\n",
        )
        .unwrap();
        assert_eq!(inv.ssh.user.as_deref(), Some("admin"));
        assert!(inv.ssh.known_hosts.unwrap().ends_with("kh"));
        assert_eq!(inv.hosts.len(), 2);
        let (a, b) = (&inv.hosts[0], &inv.hosts[1]);
        assert_eq!((a.name.as_str(), a.line), ("db1", 6));
        assert_eq!(a.private_address, a.address);
        assert_eq!((b.name.as_str(), b.line), ("db2", 10));
        assert_eq!(b.private_address.to_string(), "10.0.0.12");
        assert_eq!((b.user.as_deref(), b.port), (Some("root"), Some(2222)));
        assert_eq!(b.labels["rack"], "b");
    }

    #[test]
    fn a_toml_mistake_names_its_line() {
        let no_address = read(
            "i.toml",
            "[[hosts]]\nname = \"db1\"\naddress = \"192.0.2.11\"\n\n[[hosts]]\nname = \"db2\"\n",
        );
        let e = no_address.unwrap_err().message;
        assert!(
            e.ends_with("i.toml:6: db2 has no address: where rigger reaches it over SSH"),
            "{e}"
        );
        let twice = read(
            "i.toml",
            "[[hosts]]\nname = \"db1\"\naddress = \"192.0.2.11\"\n[[hosts]]\nname = \"db1\"\naddress = \"192.0.2.12\"\n",
        );
        let e = twice.unwrap_err().message;
        assert!(
            e.ends_with("i.toml:5: db1 is listed twice (first on line 2)"),
            "{e}"
        );
        let bad = read(
            "i.toml",
            "[[hosts]]\nname = \"db1\"\naddress = \"192.0.2.300\"\n",
        );
        assert!(
            bad.unwrap_err()
                .message
                .contains("i.toml:2: db1: address \"192.0.2.300\" is not an IP address")
        );
        let unknown = read(
            "i.toml",
            "[[hosts]]\nname = \"db1\"\nadress = \"192.0.2.1\"\n",
        );
        let e = unknown.unwrap_err().message;
        assert!(e.contains("i.toml:3:") && e.contains("adress"), "{e}");
        let label = read(
            "i.toml",
            "[[hosts]]\nname = \"db_1\"\naddress = \"192.0.2.1\"\n",
        );
        assert!(
            label
                .unwrap_err()
                .message
                .contains("i.toml:2: \"db_1\" is not a machine name")
        );
        let empty = read("i.toml", "# nothing yet\n");
        assert!(
            empty
                .unwrap_err()
                .message
                .ends_with("no machines are listed")
        );
    }

    #[test]
    fn an_ansible_inventory_reads_hosts_groups_and_vars() {
        let inv = read(
            "hosts.yml",
            "all:\n  vars:\n    ansible_user: admin\n    ansible_port: 2200\n  hosts:\n    db1:\n      ansible_host: 192.0.2.11\n  children:\n    rack_b:\n      hosts:\n        db2:\n          ansible_host: 192.0.2.12\n          ansible_user: root\n          private_address: 10.0.0.12\n",
        )
        .unwrap();
        assert_eq!(
            (inv.ssh.user.as_deref(), inv.ssh.port),
            (Some("admin"), Some(2200))
        );
        let names: Vec<_> = inv
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.line))
            .collect();
        assert_eq!(names, [("db1", 6), ("db2", 11)]);
        assert_eq!(inv.hosts[1].labels["rack_b"], "true");
        assert_eq!(inv.hosts[1].user.as_deref(), Some("root"));
        // A group's vars reach its hosts, under their own.
        let inv = read(
            "g.yaml",
            "all:\n  children:\n    far:\n      vars:\n        ansible_user: ops\n        ansible_port: 2222\n      hosts:\n        db3:\n          ansible_host: 192.0.2.13\n        db4:\n          ansible_host: 192.0.2.14\n          ansible_port: 22\n",
        )
        .unwrap();
        let reach: Vec<_> = inv
            .hosts
            .iter()
            .map(|h| (h.user.as_deref(), h.port))
            .collect();
        assert_eq!(reach, [(Some("ops"), Some(2222)), (Some("ops"), Some(22))]);
    }

    #[test]
    fn a_yaml_mistake_names_its_line() {
        let no_host = read(
            "h.yaml",
            "all:\n  hosts:\n    db1:\n      ansible_host: 192.0.2.11\n    db2:\n      ansible_user: root\n",
        );
        let e = no_host.unwrap_err().message;
        assert!(
            e.ends_with("h.yaml:5: db2 has no ansible_host: where rigger reaches it over SSH"),
            "{e}"
        );
        let twice = read(
            "h.yaml",
            "all:\n  hosts:\n    db1:\n      ansible_host: 192.0.2.11\n  children:\n    g:\n      hosts:\n        db1:\n          ansible_host: 192.0.2.12\n",
        );
        let e = twice.unwrap_err().message;
        assert!(
            e.ends_with("h.yaml:8: db1 is listed twice (first on line 3)"),
            "{e}"
        );
        let broken = read("h.yaml", "all:\n  hosts:\n    db1: [\n");
        assert!(broken.unwrap_err().message.contains("h.yaml:"));
    }
}
