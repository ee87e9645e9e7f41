//! Machines that exist already (`--target hosts --inventory FILE`): a launch takes the
//! next free machine of the inventory (or the one named), a terminate gives it back
//! with nothing of rigger's left on it. Nothing is ever created or destroyed.
//!
//! Which machines are taken is kept in the state dir (`hosts/claims.json`, under its
//! lock), each claim holding the whole machine as it was handed out: a destroy finds
//! and releases it even when the inventory file is gone.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::inventory::{Host, Inventory};
use super::{Compute, Instance, InstanceSpec, SshTo, ec2::NODE_DIR};
use crate::base::error::{Error, ErrorKind, Result};
use crate::base::state_dir::{StateDir, read_json, write_json};
use crate::providers::Transport;
use crate::providers::lab::{self, netns};
use crate::providers::opening::{Machines, Opening};
use crate::providers::transport::reach::{SshConfig, SshReach};
use crate::providers::transport::ssh::Ssh;

const LOCK: &str = "hosts";

/// What a machine must not have to be taken, asked as root (a data dir is the etcd
/// user's alone, and another user's processes may be hidden): anything of an etcd rigger
/// did not put there, since giving the machine back removes exactly these paths and the
/// `etcd` user. A running etcd, a data dir, certificates, a unit, the user or group, or
/// rigger's own folder left by a release that did not finish. Prints the first it finds
/// and exits 3.
const CHECK: &str = r#"for c in /proc/[0-9]*/comm; do
  if [ "$(cat "$c" 2>/dev/null)" = etcd ]; then p=${c#/proc/}; echo "it already runs etcd (pid ${p%/comm})"; exit 3; fi
done
for p in /var/lib/etcd /etc/etcd /etc/systemd/system/etcd.service NODE_DIR; do
  if [ -e $p ]; then echo "it already has $p"; exit 3; fi
done
if getent passwd etcd >/dev/null || getent group etcd >/dev/null; then echo "it already has an etcd user or group"; exit 3; fi
exit 0"#;

/// `script` run as root: through `sudo -n` when the SSH user is not root.
fn as_root(script: &str) -> String {
    format!(
        "if [ \"$(id -u)\" -ne 0 ]; then exec sudo -n sh -c '{s}'; else exec sh -c '{s}'; fi",
        s = script.replace('\'', r"'\''")
    )
}

/// Everything a member leaves on a machine, taken away: rigger's systemd unit, a
/// process started from the node's dir, the data dir, the certificates, the node's dir
/// (binaries included, which go there by default) and the `etcd` user rigger made.
const RELEASE: &str = r#"set -u
unit=/etc/systemd/system/etcd.service
if [ -f $unit ] && grep -q '(rigger)' $unit; then
  systemctl disable --now etcd.service >/dev/null 2>&1 || true
  rm -f $unit
  systemctl daemon-reload 2>/dev/null || true
fi
for p in /proc/[0-9]*; do
  case "$(readlink "$p/exe" 2>/dev/null)" in NODE_DIR/*) kill -9 "${p#/proc/}" 2>/dev/null ;; esac
done
rm -rf /var/lib/etcd /etc/etcd NODE_DIR
# userdel refuses while a process of the user is still going away. The group went with
# the user, or (made by rigger: the machine had none when it was taken) goes now.
if getent passwd etcd | grep -q '(rigger)'; then
  for i in $(seq 100); do userdel etcd 2>/dev/null && break; sleep 0.1; done
  if getent passwd etcd >/dev/null; then echo "the etcd user rigger made is still in use" >&2; exit 1; fi
  getent group etcd >/dev/null && groupdel etcd
fi
exit 0"#;

/// A machine handed out, under the key of its SSH address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// The name the launch asked for (what a journal's intent names).
    pub asked: String,
    pub instance: Instance,
    /// Why its release could not reach it (a dead machine its cluster let go): it stays
    /// taken, never handed out or checked, until a later release reaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stranded: Option<String>,
}

pub type Claims = BTreeMap<String, Claim>;

fn key(i: &Instance) -> String {
    let port = i.ssh.as_ref().and_then(|s| s.port).unwrap_or(22);
    format!("{}:{port}", i.public_ip.as_deref().unwrap_or(&i.private_ip))
}

pub struct Hosts {
    /// `None` for a destroy whose inventory file is gone: claims are released all the same.
    inventory: Option<Inventory>,
    state: StateDir,
    /// How the defaults reach a machine (per host: its own user and port over them).
    defaults: SshTo,
    /// Checks and releases machines; one try each, as they are up already.
    ssh: Ssh,
    checked: tokio::sync::OnceCell<std::result::Result<(), Error>>,
}

/// The hosts target of a run (its row in the backend table).
pub fn open(opening: &Opening) -> Result<Machines> {
    let Some(file) = &opening.inventory else {
        return Err(Error::missing("--target hosts needs --inventory FILE: the machines to use")
            .with_help("an inventory lists each machine's name and address (README, \"Your own machines\")"));
    };
    let inventory = match Inventory::read(file) {
        Ok(inventory) => Some(inventory),
        // Taking down what was made needs only the claims, which hold every machine.
        Err(e) if !opening.create => {
            tracing::debug!("{}; the claims alone are used", e.message);
            None
        }
        Err(e) => return Err(e),
    };
    // Where the machines are: the inventory's, else (a destroy without it) the claimed.
    let machines: Vec<(String, IpAddr)> = match &inventory {
        Some(i) => i
            .hosts
            .iter()
            .map(|h| (format!("{}: {}", i.at(h), h.name), h.address))
            .collect(),
        None => read_claims(&opening.state)?
            .values()
            .filter_map(|c| {
                let at = c.instance.public_ip.as_deref()?.parse().ok()?;
                Some((c.instance.name.clone(), at))
            })
            .collect(),
    };
    let (netns, runtime) = network(opening, file, &machines)?;
    if opening.lab_dns && netns.is_none() && inventory.is_some() {
        return Err(Error::invalid(format!(
            "--dns {} is the lab's own server, which only lab machines ask; {} lists none",
            opening.dns,
            file.display()
        ))
        .with_help("machines of your own take --dns rfc2136 (your BIND, the primary found from the SOA), cloudflare or route53"));
    }
    let defaults = inventory
        .as_ref()
        .map(|i| i.ssh.clone())
        .unwrap_or_default();
    let config = SshConfig {
        user: defaults
            .user
            .clone()
            .or_else(|| opening.ssh.user.clone())
            .unwrap_or_else(|| "root".into()),
        port: defaults.port.unwrap_or(22),
        key: defaults.key.clone().or_else(|| opening.ssh.key.clone()),
        accept_new: opening.ssh.accept_new,
        known_hosts: defaults.known_hosts.clone(),
        control_dir: opening.state.root().join("hosts").join("ssh"),
        netns,
        // A machine that reboots (an upgrade's restart) is waited for.
        wait: Duration::from_secs(60),
    };
    let hosts = Hosts {
        inventory,
        state: opening.state.clone(),
        defaults: SshTo {
            user: Some(config.user.clone()),
            port: Some(config.port),
        },
        ssh: Ssh::new(SshConfig {
            wait: Duration::ZERO,
            ..config.clone()
        }),
        checked: tokio::sync::OnceCell::new(),
    };
    Ok(Machines {
        compute: Arc::new(hosts),
        runtime,
        epilogue: None,
        ssh: SshReach::Connect(config),
    })
}

/// Where the machines are dialled from: a lab's machines (their addresses in the lab's
/// range) only from inside the lab's namespace, on a runtime that lives there; any
/// other machine from this one's own network. An inventory mixing both is refused.
fn network(
    opening: &Opening,
    file: &Path,
    machines: &[(String, IpAddr)],
) -> Result<(Option<String>, Option<tokio::runtime::Runtime>)> {
    let in_lab = |ip: &IpAddr| matches!(ip, IpAddr::V4(v4) if netns::in_lab_range(*v4));
    let Some((first, first_ip)) = machines.iter().find(|(_, ip)| in_lab(ip)) else {
        return Ok((None, None));
    };
    if let Some((other, other_ip)) = machines.iter().find(|(_, ip)| !in_lab(ip)) {
        return Err(Error::invalid(format!(
            "{}: {first} is a lab machine ({first_ip}) and {other} is not ({other_ip}): rigger reaches the lab's from inside it, and nothing else from there",
            file.display(),
        )));
    }
    let lab = lab::Lab::new(&opening.state);
    if !lab.exists() {
        return Err(Error::not_found(format!(
            "{first} ({first_ip}) is a lab address, and there is no lab in {}",
            opening.state.root().display()
        ))
        .with_help(
            "`rigger lab hosts add --count 3` makes lab machines and prints their inventory",
        ));
    }
    lab::require_privileges()?;
    let ns = lab.netns()?;
    Ok((Some(ns.clone()), Some(lab::runtime(ns)?)))
}

fn claims_file(state: &StateDir) -> PathBuf {
    state.root().join("hosts").join("claims.json")
}

/// The machines this state dir holds (`hosts/claims.json`), read as they are.
pub fn read_claims(state: &StateDir) -> Result<Claims> {
    Ok(read_json(&claims_file(state))?)
}

/// `f` on the claims of `state`, under the lock, written back when it returns Ok.
fn with_claims<T>(state: &StateDir, f: impl FnOnce(&mut Claims) -> Result<T>) -> Result<T> {
    state.ensure()?;
    let _lock = state.lock(LOCK)?;
    let file = claims_file(state);
    let mut claims: Claims = read_json(&file)?;
    let before = claims.len();
    let out = f(&mut claims)?;
    if claims.is_empty() {
        if before > 0 {
            std::fs::remove_file(&file).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })?;
        }
    } else {
        crate::base::state_dir::private_dir(file.parent().unwrap_or(Path::new(".")))?;
        write_json(&file, &claims)?;
    }
    Ok(out)
}

/// Drops the claims of machines that are gone (lab machines taken down): those
/// `gone` says are. Returns their names.
pub fn forget_claims(state: &StateDir, gone: impl Fn(&Claim) -> bool) -> Result<Vec<String>> {
    if !claims_file(state).exists() {
        return Ok(Vec::new());
    }
    with_claims(state, |claims| {
        let names = claims
            .values()
            .filter(|c| gone(c))
            .map(|c| c.instance.name.clone())
            .collect();
        claims.retain(|_, c| !gone(c));
        Ok(names)
    })
}

impl Hosts {
    /// `f` on the claims, under the lock, written back when it returns Ok.
    fn claims<T>(&self, f: impl FnOnce(&mut Claims) -> Result<T>) -> Result<T> {
        with_claims(&self.state, f)
    }

    fn instance(&self, host: &Host) -> Instance {
        Instance {
            id: host.name.clone(),
            name: host.name.clone(),
            private_ip: host.private_address.to_string(),
            public_ip: Some(host.address.to_string()),
            dir: NODE_DIR.to_string(),
            booted: true,
            ssh: Some(SshTo {
                user: host.user.clone().or_else(|| self.defaults.user.clone()),
                port: host.port.or(self.defaults.port),
            }),
        }
    }

    fn inventory(&self) -> Result<&Inventory> {
        self.inventory
            .as_ref()
            .ok_or_else(|| Error::not_found("the inventory file is gone: no machine can be taken"))
    }

    /// The machines no claim holds, in the inventory's order.
    fn free(&self, claims: &Claims) -> Result<Vec<&Host>> {
        let inventory = self.inventory()?;
        Ok(inventory
            .hosts
            .iter()
            .filter(|h| !claims.contains_key(&key(&self.instance(h))))
            .collect())
    }

    /// Every free machine answers over SSH, with the host key expected, and runs no
    /// etcd: checked once, all at once, before the first machine is taken, so that a
    /// bad inventory fails before anything is done. The first failure in the file's
    /// order is said, with its line.
    async fn check(&self) -> Result<()> {
        let outcome = self
            .checked
            .get_or_init(|| async {
                let inventory = self.inventory()?;
                self.release_stranded().await?;
                let free: Vec<Host> = self
                    .claims(|c| Ok(self.free(c)?.into_iter().cloned().collect()))?;
                let asks = free.iter().map(|h| async move {
                    let node = self.instance(h);
                    let check = as_root(&CHECK.replace("NODE_DIR", NODE_DIR));
                    let said = match self.ssh.run(&node, &check, Duration::from_secs(30)).await {
                        Ok(out) if out.status == 0 => return Ok(()),
                        Ok(out) if out.status == 3 => out.stdout.trim().to_string(),
                        Ok(out) => format!("the check failed: {}", out.stderr.trim()),
                        Err(e) => {
                            let what = e.message.replace(&format!("ssh to {}: ", h.name), "");
                            return Err(Error::new(
                                e.kind,
                                format!("{}: {} ({}) cannot be reached: {what}", inventory.at(h), h.name, h.address),
                            )
                            .with_help(e.help.unwrap_or_else(|| {
                                "check the address, the port and that sshd runs there".into()
                            })));
                        }
                    };
                    Err(Error::conflict(format!(
                        "{}: {} ({}): {said}",
                        inventory.at(h),
                        h.name,
                        h.address
                    ))
                    .with_help("rigger takes only machines without an etcd of their own; take it out of the inventory, or stop that etcd"))
                });
                join_all(asks).await.into_iter().collect::<Result<Vec<()>>>()?;
                Ok(())
            })
            .await;
        outcome.clone()
    }

    /// Takes what rigger put on `instance` off it, as root.
    async fn release(&self, instance: &Instance) -> Result<()> {
        let release = as_root(&RELEASE.replace("NODE_DIR", NODE_DIR));
        let out = self
            .ssh
            .run(instance, &release, Duration::from_secs(120))
            .await?;
        if out.status != 0 {
            return Err(Error::failed(format!(
                "{}: rigger's files could not be taken off it: {}",
                instance.name,
                out.stderr.trim()
            )));
        }
        Ok(())
    }

    /// Tries again to clean the machines whose release could not reach them: one that
    /// answers now is cleaned and free again (and then checked as every free one is);
    /// one that still does not stays taken.
    async fn release_stranded(&self) -> Result<()> {
        let stranded: Vec<Instance> = self.claims(|c| {
            Ok(c.values()
                .filter(|c| c.stranded.is_some())
                .map(|c| c.instance.clone())
                .collect())
        })?;
        let tries = stranded
            .iter()
            .map(|i| async move { (i, self.release(i).await) });
        for (instance, released) in join_all(tries).await {
            match released {
                Ok(()) => {
                    tracing::info!("{}: answers again, cleaned and free", instance.name);
                    self.claims(|c| {
                        if c.get(&key(instance))
                            .is_some_and(|c| c.instance.id == instance.id)
                        {
                            c.remove(&key(instance));
                        }
                        Ok(())
                    })?;
                }
                Err(e) => tracing::debug!("{}: still stranded: {}", instance.name, e.message),
            }
        }
        Ok(())
    }
}

/// Whether `host` has every label `wanted` asks for.
fn has_labels(host: &Host, wanted: &BTreeMap<String, String>) -> bool {
    wanted.iter().all(|(k, v)| host.labels.get(k) == Some(v))
}

#[async_trait]
impl Compute for Hosts {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance> {
        self.check().await?;
        let inventory = self.inventory()?;
        let instance = self.claims(|claims| {
            let named = inventory.hosts.iter().find(|h| h.name == spec.name);
            let host = match named {
                Some(host) => {
                    if let Some(c) = claims.get(&key(&self.instance(host))) {
                        return Err(Error::conflict(format!(
                            "{}: {} is taken (by {})",
                            inventory.at(host),
                            host.name,
                            c.asked
                        )));
                    }
                    host
                }
                None => {
                    let free = self.free(claims)?;
                    let count = free.len();
                    free.into_iter()
                        .find(|h| has_labels(h, &spec.labels))
                        .ok_or_else(|| {
                            let listed = inventory.hosts.len();
                            let labels = if spec.labels.is_empty() {
                                String::new()
                            } else {
                                format!(" with the labels {:?}", spec.labels)
                            };
                            Error::conflict(format!(
                                "no free machine{labels} in {}: it lists {listed}, {count} free",
                                inventory.file.display()
                            ))
                            .with_help("add machines to the inventory, or free some (`rigger destroy --discovery-srv ...`)")
                        })?
                }
            };
            // Each taking its own id: a release acts only on the claim it was given.
            let instance = Instance {
                id: format!("{}/{}", host.name, uuid::Uuid::new_v4().simple()),
                ..self.instance(host)
            };
            claims.insert(
                key(&instance),
                Claim {
                    asked: spec.name.clone(),
                    instance: instance.clone(),
                    stranded: None,
                },
            );
            Ok(instance)
        })?;
        // rigger's folder, the SSH user's: uploads by a user other than root land there.
        let prepare = format!(
            "if [ \"$(id -u)\" -ne 0 ]; then sudo -n install -d -m 0755 -o \"$(id -un)\" {NODE_DIR}; else install -d -m 0755 {NODE_DIR}; fi"
        );
        let out = self
            .ssh
            .run(&instance, &prepare, Duration::from_secs(60))
            .await;
        match out {
            Ok(out) if out.status == 0 => Ok(instance),
            failed => {
                let why = match failed {
                    Ok(out) => out.stderr.trim().to_string(),
                    Err(e) => e.message,
                };
                // Given back at once: nothing was put on it.
                self.claims(|c| {
                    c.remove(&key(&instance));
                    Ok(())
                })?;
                Err(
                    Error::failed(format!("{}: cannot make {NODE_DIR}: {why}", instance.name))
                        .with_help("the SSH user is root, or may run sudo without a password"),
                )
            }
        }
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        // Only a machine this very claim still holds: a release recorded nowhere (the
        // journal could not say it) must not wipe the machine once another cluster has it.
        let held = self.claims(|c| {
            Ok(c.get(&key(instance))
                .is_some_and(|c| c.instance.id == instance.id))
        })?;
        if !held {
            tracing::debug!(
                "{}: no longer held by this claim; left alone",
                instance.name
            );
            return Ok(());
        }
        match self.release(instance).await {
            Err(e) if e.kind == ErrorKind::Unreachable => {
                // A dead machine must not hold up the cluster that lets it go (a
                // replacement, a destroy): the claim keeps it out of use instead.
                tracing::warn!(
                    "{}: cannot be reached to take rigger's files off it ({}); it stays taken, with its etcd data dir, until a later run that takes machines reaches it and cleans it",
                    instance.name,
                    e.message
                );
                self.claims(|c| {
                    if let Some(claim) = c.get_mut(&key(instance)) {
                        claim.stranded = Some(e.message);
                    }
                    Ok(())
                })
            }
            Err(e) => Err(e),
            Ok(()) => self.claims(|c| {
                c.remove(&key(instance));
                Ok(())
            }),
        }
    }

    async fn find(&self, name: &str) -> Result<Option<Instance>> {
        self.claims(|claims| {
            // The name a launch asked for first (a journal's intent names it), then the
            // machine's own (a script's node).
            let asked = claims.values().find(|c| c.asked == name);
            let own = || claims.values().find(|c| c.instance.name == name);
            Ok(asked.or_else(own).map(|c| c.instance.clone()))
        })
    }

    async fn free_count(&self, labels: &BTreeMap<String, String>) -> Result<Option<usize>> {
        self.check().await?;
        let free = self.claims(|c| {
            Ok(self
                .free(c)?
                .into_iter()
                .filter(|h| has_labels(h, labels))
                .count())
        })?;
        Ok(Some(free))
    }
}
