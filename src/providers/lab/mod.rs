//! The lab world: this machine as a small cloud. Hosts are network namespaces on a
//! private bridge, DNS is served by `rigger lab serve` (an embedded hickory server in
//! the lab namespace), and commands run inside a host's namespaces.

pub mod control;
pub mod daemon;
pub mod dns_server;
pub mod image;
pub mod ladder;
pub mod machine;
pub mod netns;
pub mod own;
pub mod procs;
pub mod sshd;
pub mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use self::state::{LabFile, LabHost};
use crate::base::error::{Error, ErrorKind, Result};
use crate::base::names::check_name;
use crate::base::state_dir::{StateDir, private_dir, read_json, write_json};
use crate::providers::opening::{Machines, Opening};
use crate::providers::records::cname_conflict;
use crate::providers::transport::reach::{SshConfig, SshReach};
use crate::providers::{
    Compute, Dns, ExecOutput, Instance, InstanceSpec, NodeResolver, Process, Record, RecordSpec,
    Transport, Zone,
};

/// The lab in one state directory.
#[derive(Clone)]
pub struct Lab {
    state: StateDir,
    dir: PathBuf,
    /// Start an sshd in every new host (when the world's transport is SSH).
    sshd: bool,
    /// The DNS server lab hosts ask (their resolv.conf): the lab's own, or the one a
    /// run chose (`--dns rfc2136 --dns-server ...` on a lab address).
    nameserver: Ipv4Addr,
}

/// The lab target of a run (its row in the backend table): the lab brought up (or,
/// when only looking, found), and a runtime whose threads live in its namespace.
pub fn open_target(opening: &Opening) -> Result<Machines> {
    let mut lab = Lab::new(&opening.state);
    if !opening.lab_dns {
        lab.nameserver = hosts_nameserver(opening)?;
    }
    if opening.sshd {
        lab = lab.with_sshd();
    }
    let (file, brought_up) = if opening.create {
        let was_up = lab.exists();
        (lab.ensure_up()?, !was_up)
    } else {
        require_privileges()?;
        if let Err(e) = lab.ensure_dns() {
            tracing::warn!("the lab's DNS server is down and could not be started: {e}");
        }
        (lab.load()?, false)
    };
    let after = lab.clone();
    let state = opening.state.clone();
    // A failed run that brought the lab up and rolled back leaves no empty lab
    // (namespace, daemon) behind. A lab that was up before (`rigger lab up` for a
    // server of the user's own) stays.
    let epilogue = move |all_gone: bool| {
        if brought_up && all_gone && after.is_empty() {
            match after.down() {
                Ok(()) => state.prune(),
                Err(e) => tracing::error!("could not take the empty lab down: {e}"),
            }
        }
    };
    let runtime = match runtime(file.netns()) {
        Ok(runtime) => runtime,
        Err(e) => {
            epilogue(true);
            return Err(e);
        }
    };
    // Each host's sshd, with the lab's own key and known_hosts, from inside the lab.
    let files = sshd::client_files(lab.dir());
    let ssh = SshReach::Connect(SshConfig {
        user: opening.ssh.user.clone().unwrap_or_else(|| "root".into()),
        port: 22,
        key: Some(files.key),
        // The lab records each host's key as it makes the host; a host it has forgotten
        // is let in only when asked, as in the cloud.
        accept_new: opening.ssh.accept_new,
        known_hosts: Some(files.known_hosts),
        control_dir: files.control_dir,
        netns: Some(file.netns()),
        // sshd listens before launch_instance returns; one restarted (or slow to start)
        // is waited for as a booting cloud machine's is.
        wait: Duration::from_secs(30),
    });
    Ok(Machines {
        compute: Arc::new(lab),
        runtime: Some(runtime),
        epilogue: Some(Box::new(epilogue)),
        ssh,
    })
}

/// The folder a lab host launched as `spec` gives its node (`Instance::dir`), and
/// whether it boots: a booted machine's is on its own disk, as a cloud machine's is.
pub fn planned_dir(state: &StateDir, spec: &InstanceSpec) -> (String, bool) {
    if spec.boot {
        (crate::providers::compute::ec2::NODE_DIR.to_string(), true)
    } else {
        (host_dir(state, &spec.name), false)
    }
}

/// The folder of the lab host `name`: its resolv.conf, certificates, data and logs.
pub fn host_dir(state: &StateDir, name: &str) -> String {
    state
        .root()
        .join("lab")
        .join("hosts")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Whether this state dir has a lab that is up.
pub fn exists(state: &StateDir) -> bool {
    Lab::new(state).exists()
}

/// Where lab hosts send DNS questions when the lab's own server is not the one: the
/// resolver a run named, else its DNS server, which must listen on port 53 (etcd's
/// resolver asks no other) at an address of the lab (lab hosts reach nothing else).
fn hosts_nameserver(opening: &Opening) -> Result<Ipv4Addr> {
    let (server, flag) = match (opening.resolver, opening.dns_servers.first()) {
        (Some(resolver), _) => (resolver, "--resolver"),
        (None, Some(&server)) => (server, "--dns-server"),
        (None, None) => {
            return Err(Error::missing(format!(
                "--dns {} in the lab needs --dns-server or --resolver: the address lab hosts resolve through",
                opening.dns
            ))
            .with_help(
                "run the DNS server on a lab address, e.g. --dns-server 198.18.0.53:53",
            ));
        }
    };
    match server {
        SocketAddr::V4(v4) if v4.port() == 53 && netns::in_lab_range(*v4.ip()) => Ok(*v4.ip()),
        _ => Err(Error::invalid(format!(
            "{flag} {server}: lab hosts can only ask a DNS server on port 53 of a lab address (198.18.0.0/15)"
        ))
        .with_help("etcd's resolver asks port 53 only, and the lab has no route to anything else")),
    }
}

/// The lab's DNS (its row in the backend table). A dry run reads through it without
/// bringing the lab up.
pub fn open_dns(opening: &Opening) -> Result<Arc<dyn Dns>> {
    Ok(Arc::new(Lab::new(&opening.state)))
}

/// Commands straight into a host's namespaces (its row in the backend table).
pub fn open_exec(opening: &Opening, _machines: &Machines) -> Result<Arc<dyn Transport>> {
    Ok(Arc::new(Lab::new(&opening.state)))
}

/// A runtime every thread of which lives in the lab namespace, so every socket that lab
/// work opens is inside the lab, which has no route out.
pub fn runtime(ns: String) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("rigger-lab")
        .on_thread_start(move || {
            if let Err(e) = netns::enter(&ns) {
                // A thread outside the lab must never do lab work.
                eprintln!("rigger: cannot enter the lab namespace: {e}");
                std::process::abort();
            }
        })
        .build()?)
}

const LOCK: &str = "lab";

/// What processes in lab hosts use to look names up: files and the lab's DNS only.
const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n";

impl Lab {
    pub fn new(state: &StateDir) -> Self {
        Self {
            state: state.clone(),
            dir: state.root().join("lab"),
            sshd: false,
            nameserver: netns::bridge_ip(),
        }
    }

    /// The lab namespace's name.
    pub fn netns(&self) -> Result<String> {
        Ok(self.load()?.netns())
    }

    /// A lab whose new hosts run sshd, for the SSH transport.
    pub fn with_sshd(mut self) -> Self {
        self.sshd = true;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self) -> PathBuf {
        self.dir.join("lab.json")
    }

    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("dns.sock")
    }

    pub fn load(&self) -> std::io::Result<LabFile> {
        read_json(&self.file())
    }

    /// Reads, changes and writes `lab.json` under the lab lock.
    pub fn modify<T>(&self, f: impl FnOnce(&mut LabFile) -> Result<T>) -> Result<T> {
        let _lock = self.state.lock(LOCK)?;
        let mut lab = self.load()?;
        let out = f(&mut lab)?;
        write_json(&self.file(), &lab)?;
        Ok(out)
    }

    /// Whether a lab exists in this state dir (its namespace is up).
    pub fn exists(&self) -> bool {
        self.load()
            .is_ok_and(|l| !l.id.is_empty() && netns::exists(&l.netns()))
    }

    /// Whether the lab holds no hosts and no zones.
    pub fn is_empty(&self) -> bool {
        self.load()
            .is_ok_and(|l| l.hosts.is_empty() && l.zones.is_empty())
    }

    /// Brings the lab up if it is not: namespace, bridge, DNS daemon. Idempotent.
    pub fn ensure_up(&self) -> Result<LabFile> {
        require_privileges()?;
        let _lock = self.state.lock(LOCK)?;
        private_dir(&self.dir)?;
        let mut lab: LabFile = self.load()?;
        if lab.id.is_empty() {
            lab.id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
            lab.next_index = 1;
        }
        let created = !netns::exists(&lab.netns());
        if created {
            // Written down before the namespace exists, so a kill at any moment leaves a
            // lab that `destroy` and `lab down` find.
            write_json(&self.file(), &lab)?;
            crate::base::hook::point("lab");
            netns::create_lab(&lab.netns())?;
            tracing::debug!("lab namespace {} created", lab.netns());
        }
        if control::ping(&self.control_socket()).is_err() {
            match self.start_daemon() {
                Ok(pid) => lab.daemon_pid = Some(pid),
                Err(e) => {
                    // A lab this call made and could not finish is taken away again.
                    if created {
                        let _ = netns::delete(&lab.netns());
                        let _ = std::fs::remove_dir_all(&self.dir);
                    }
                    return Err(e);
                }
            }
            write_json(&self.file(), &lab)?;
        }
        Ok(lab)
    }

    fn start_daemon(&self) -> Result<i32> {
        let exe = std::env::current_exe()?;
        let log = std::fs::File::create(self.dir.join("daemon.log"))?;
        let mut cmd = Command::new(exe);
        cmd.args(["lab", "serve", "--state-dir"])
            .arg(self.state.root())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Its own session: it outlives this command and ignores its Ctrl-C.
        // SAFETY: setsid is a plain system call, safe between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = cmd.spawn()?;
        let pid = child.id() as i32;
        let socket = self.control_socket();
        // Asked every 2 ms: it listens within milliseconds, and every run that makes a
        // lab waits for it before the first host.
        for _ in 0..2500 {
            if control::ping(&socket).is_ok() {
                // Reap it when it ends, so it never lingers as a zombie of ours.
                std::thread::spawn(move || child.wait());
                return Ok(pid);
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
                return Err(Error::failed(format!(
                    "the lab DNS daemon exited ({status}): {}",
                    log.trim()
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        Err(Error::failed("the lab DNS daemon did not answer within 5s"))
    }

    /// Removes the whole lab: processes, host namespaces, the daemon, the lab namespace
    /// and its files. Safe to run when parts are already gone.
    pub fn down(&self) -> Result<()> {
        let _lock = self.state.lock(LOCK)?;
        let lab: LabFile = self.load()?;
        if lab.id.is_empty() {
            return Ok(());
        }
        // All at once: a booted machine's clean halt takes a moment.
        each_at_once(&lab.hosts, remove_host)?;
        // A host namespace whose making was cut short before lab.json listed it.
        for stray in netns::named_under(&lab.netns()) {
            let pids = procs::in_netns(&stray);
            procs::terminate(&pids, Duration::from_secs(3));
            netns::delete(&stray)?;
        }
        let _ = control::request(&self.control_socket(), "stop");
        let pids = procs::in_netns(&lab.netns());
        procs::terminate(&pids, Duration::from_secs(3));
        netns::delete(&lab.netns())?;
        std::fs::remove_dir_all(&self.dir).or_else(ignore_missing)?;
        Ok(())
    }

    /// Makes the host `name`. It is written to `lab.json` before its namespace exists,
    /// so that a kill at any moment leaves a host that terminate and `lab down` find.
    fn add_host(&self, name: &str, boot: bool, own: bool) -> Result<Instance> {
        // The host is named and numbered under the lab's lock, and written down before it
        // is built (a run killed while building leaves it for destroy to find); it is
        // built outside the lock, so that hosts launched together are built together.
        let (host, lab_ns) = self.modify(|file| {
            if file.host(name).is_some() {
                return Err(Error::conflict(format!(
                    "a lab host named {name:?} already exists"
                )));
            }
            let index = file.next_index.max(1);
            let host = LabHost {
                name: name.to_string(),
                index,
                netns: format!("{}-{index}", file.netns()),
                ip: netns::host_ip(index).to_string(),
                dir: host_dir(&self.state, name),
                booted: boot,
                leaving: false,
                own,
            };
            file.next_index = index + 1;
            file.hosts.push(host.clone());
            Ok((host, file.netns()))
        })?;
        crate::base::hook::point("host");
        if let Err(e) = self.build_host(&host, &lab_ns) {
            // What could not be taken down stays in the lab's file, for destroy to find.
            if remove_host(&host).is_ok() {
                self.modify(|file| {
                    file.hosts.retain(|h| h.name != host.name);
                    Ok(())
                })?;
            }
            return Err(e);
        }
        Ok(host.instance())
    }

    fn build_host(&self, host: &LabHost, lab_ns: &str) -> Result<()> {
        private_dir(Path::new(&host.dir))?;
        std::fs::write(
            Path::new(&host.dir).join("resolv.conf"),
            format!("nameserver {}\n", self.nameserver),
        )?;
        std::fs::write(Path::new(&host.dir).join("nsswitch.conf"), NSSWITCH)?;
        netns::create_host(lab_ns, &host.netns, host.index, netns::host_ip(host.index))?;
        if host.booted {
            // A machine of its own: its sshd is the guest's, reached as the cloud's are.
            crate::base::phase::set(&host.name, crate::base::phase::Phase::Booting);
            let image = image::find()?;
            let _lock = self.state.lock(LOCK)?;
            // A host terminated while it was made (a rollback does not wait for a launch
            // still under way) is not booted: nothing would halt it.
            if self.load()?.host(&host.name).is_none_or(|h| h.leaving) {
                return Err(Error::failed(format!(
                    "{} was taken down while it was being made",
                    host.name
                )));
            }
            let client = sshd::client(&self.dir)?;
            let key = sshd::host_key(host)?;
            let authorized = std::fs::read_to_string(client.key.with_extension("pub"))?;
            let identity = machine::Identity {
                nameserver: self.nameserver,
                authorized_key: &authorized,
                host_key: (
                    &std::fs::read(&key)?,
                    &std::fs::read(key.with_extension("pub"))?,
                ),
            };
            machine::boot(host, &image, &identity)?;
            crate::base::hook::point("boot");
            sshd::remember(&client, host, &key)?;
        } else if self.sshd {
            // The host is there; until its sshd listens it cannot be reached. One sshd
            // at a time: the first makes the lab's shared client key, and each appends
            // its host key to the lab's known_hosts.
            crate::base::phase::set(&host.name, crate::base::phase::Phase::Booting);
            let _lock = self.state.lock(LOCK)?;
            self.exec_for(host)
                .and_then(|exec| sshd::start(&self.dir, host, exec))?;
        }
        Ok(())
    }

    /// Reboots booted machines: `name` by a real `systemctl reboot` in the guest, or
    /// (None) every one at once, as a power cut and the power back would. Returns the
    /// names rebooted.
    pub fn reboot(&self, name: Option<&str>) -> Result<Vec<String>> {
        let file = self.load()?;
        let hosts: Vec<LabHost> = match name {
            Some(name) => {
                let host = file.host(name).ok_or_else(|| {
                    Error::not_found(format!("there is no lab host named {name:?}"))
                })?;
                if !host.booted {
                    return Err(Error::invalid(format!(
                        "{name} is a network namespace, not a booted machine: it has no init to reboot"
                    )));
                }
                machine::reboot(host)?;
                return Ok(vec![name.to_string()]);
            }
            None => file.hosts.iter().filter(|h| h.booted).cloned().collect(),
        };
        if hosts.is_empty() {
            return Err(Error::not_found("the lab has no booted machines"));
        }
        // All at once, as one power cut is.
        each_at_once(&hosts, machine::power_cycle)?;
        Ok(hosts.into_iter().map(|h| h.name).collect())
    }

    fn host_of(&self, instance: &Instance) -> Result<LabHost> {
        self.load()?
            .host(&instance.name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no lab host named {:?}", instance.name)))
    }

    fn exec_for(&self, host: &LabHost) -> Result<netns::HostExec> {
        Ok(netns::HostExec::new(
            &host.netns,
            &Path::new(&host.dir).join("resolv.conf"),
        )?)
    }

    /// A command set up to run inside `host` (for `rigger lab exec`).
    pub fn command_in(&self, host_name: &str, argv: &[String]) -> Result<Command> {
        let lab = self.load()?;
        let host = lab.host(host_name).cloned().ok_or_else(|| {
            let names: Vec<&str> = lab.hosts.iter().map(|h| h.name.as_str()).collect();
            Error::not_found(format!("no lab host named {host_name:?}")).with_help(format!(
                "hosts: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })?;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| Error::invalid("no command given"))?;
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&host.dir);
        self.exec_for(&host)?.prepare(&mut cmd, false);
        Ok(cmd)
    }

    fn reload_dns(&self) -> Result<()> {
        let socket = self.control_socket();
        let reloaded = match control::request(&socket, "reload") {
            // Not there at all: it died. A new one reads lab.json as it starts.
            Err(e) if control::unreachable(&e) => self.ensure_dns(),
            other => other.map_err(Error::from),
        };
        reloaded.map_err(|e| {
            Error::failed(format!(
                "the lab DNS daemon did not take the change: {}",
                e.message
            ))
            .with_help("`rigger lab status` shows whether the lab is up")
        })
    }

    /// Starts the lab's DNS daemon again if it is not answering (killed, crashed), so
    /// that every command that needs it, `destroy` included, just works.
    pub fn ensure_dns(&self) -> Result<()> {
        let socket = self.control_socket();
        if control::ping(&socket).is_ok() {
            return Ok(());
        }
        let _lock = self.state.lock(LOCK)?;
        if control::ping(&socket).is_ok() {
            return Ok(());
        }
        let mut lab = self.load()?;
        if lab.id.is_empty() || !netns::exists(&lab.netns()) {
            return Err(Error::not_found(format!(
                "there is no lab in {}",
                self.state.root().display()
            )));
        }
        let pid = self.start_daemon()?;
        tracing::warn!("the lab's DNS server was not running; started it again (pid {pid})");
        lab.daemon_pid = Some(pid);
        write_json(&self.file(), &lab)?;
        Ok(())
    }
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// `f` on every host, each on a thread of its own, all at once; the first failure.
fn each_at_once(hosts: &[LabHost], f: fn(&LabHost) -> Result<()>) -> Result<()> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = hosts.iter().map(|h| scope.spawn(move || f(h))).collect();
        // Every thread is joined by the scope, whichever fails first.
        runs.into_iter().try_for_each(|r| {
            r.join()
                .unwrap_or_else(|_| Err(Error::failed("a host's thread panicked")))
        })
    })
}

fn remove_host(host: &LabHost) -> Result<()> {
    // A machine halts first: its processes are in the host's namespace too, and only
    // nspawn may stop them cleanly.
    if host.booted {
        machine::halt(host, Duration::from_secs(20))?;
    }
    let pids = procs::in_netns(&host.netns);
    procs::terminate(&pids, Duration::from_secs(5));
    netns::delete(&host.netns)?;
    std::fs::remove_dir_all(&host.dir).or_else(ignore_missing)?;
    Ok(())
}

/// What the lab needs when not root, each capability with what it is for.
const CAPABILITIES: &[(u32, &str, &str)] = &[
    (12, "CAP_NET_ADMIN", "namespaces, links, addresses"),
    (
        21,
        "CAP_SYS_ADMIN",
        "setns and the private mounts of resolv.conf",
    ),
    (
        1,
        "CAP_DAC_OVERRIDE",
        "the namespace files in /run/netns, owned by root",
    ),
    (10, "CAP_NET_BIND_SERVICE", "the lab DNS server on port 53"),
];

/// The lab needs root, or the four capabilities above (ambient, so that `ip` and the
/// DNS daemon it starts have them too). Checked before anything is made.
pub fn require_privileges() -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let caps = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapAmb:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0);
    let missing: Vec<String> = CAPABILITIES
        .iter()
        .filter(|(bit, ..)| caps & (1 << bit) == 0)
        .map(|(_, name, why)| format!("{name} ({why})"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Permission,
        format!(
            "the lab needs root, or these ambient capabilities: {}",
            missing.join(", ")
        ),
    )
    .with_help("run it with sudo, e.g. `sudo rigger run cluster`; nothing was created"))
}

#[async_trait]
impl Compute for Lab {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance> {
        let name = check_name(&spec.name, false).map_err(|why| {
            Error::invalid(format!("{:?} is not a valid host name: {why}", spec.name))
        })?;
        if spec.boot && !self.sshd {
            return Err(Error::invalid(format!(
                "{name}: a booted lab machine is reached over SSH only, as a cloud machine is"
            ))
            .with_help("run with --transport ssh"));
        }
        let (lab, boot) = (self.clone(), spec.boot);
        tokio::task::spawn_blocking(move || lab.add_host(&name, boot, false))
            .await
            .map_err(|e| Error::failed(e.to_string()))?
    }

    async fn find(&self, name: &str) -> Result<Option<Instance>> {
        Ok(self.load()?.host(name).map(LabHost::instance))
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        let lab = self.clone();
        let name = instance.name.clone();
        tokio::task::spawn_blocking(move || {
            // Taken down outside the lab's lock, so that machines terminated together
            // halt together (a guest's shutdown takes a moment); it stays in the file
            // until it is gone, for a later destroy to find if this one is cut short.
            let host = lab.modify(|file| {
                let host = file.hosts.iter_mut().find(|h| h.name == name);
                Ok(host.map(|h| {
                    h.leaving = true;
                    h.clone()
                }))
            })?;
            let Some(host) = host else {
                return Ok(());
            };
            remove_host(&host)?;
            lab.modify(|file| {
                file.hosts.retain(|h| h.name != name);
                Ok(())
            })
        })
        .await
        .map_err(|e| Error::failed(e.to_string()))?
    }
}

/// Adds `spec` to the zone of the lab's file that holds it; an identical record is
/// returned as it is (false: not created).
fn add_record(file: &mut LabFile, spec: &RecordSpec) -> Result<(Record, bool)> {
    let zone = file.zone_of(&spec.name).map(str::to_owned).ok_or_else(|| {
        Error::not_found(format!("no zone holds {:?}", spec.name)).with_help(format!(
            "create it first with dns_zone(\"...\"); lab zones: {}",
            if file.zones.is_empty() {
                "none".to_string()
            } else {
                file.zones.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        ))
    })?;
    let records = file.zones.get_mut(&zone).expect("zone exists");
    if let Some(same) = records.iter().find(|r| r.spec == *spec) {
        return Ok((same.clone(), false));
    }
    // Refused here, before the server sees it: a record the server refuses would stay
    // in lab.json and make every later reload fail.
    if let Some(why) = cname_conflict(records.iter().map(|r| &r.spec), spec, &zone) {
        return Err(Error::conflict(why));
    }
    let record = Record {
        id: uuid::Uuid::new_v4().simple().to_string(),
        zone,
        spec: spec.clone(),
    };
    records.push(record.clone());
    Ok((record, true))
}

#[async_trait]
impl Dns for Lab {
    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        Ok(self.load()?.zones.contains_key(name).then(|| Zone {
            id: name.to_string(),
            name: name.to_string(),
        }))
    }

    fn creates_zones(&self) -> bool {
        true
    }

    /// The lab knows where each name goes (the longest of its zones that holds it): a
    /// script's zone must be that one, or the record would land elsewhere than it said.
    async fn hold_in(&self, zone: &str, names: &[String]) -> Result<()> {
        let file = self.load()?;
        if !file.zones.contains_key(zone) {
            return Err(Error::not_found(format!("the lab has no DNS zone {zone}"))
                .with_help("create it first with dns_zone(\"...\")"));
        }
        for name in names {
            match file.zone_of(name) {
                Some(held) if held == zone => {}
                Some(held) => {
                    return Err(Error::invalid(format!(
                        "{name} is in the lab's zone {held}, not in {zone}"
                    )));
                }
                None => return Err(Error::not_found(format!("no lab zone holds {name}"))),
            }
        }
        Ok(())
    }

    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        let name = check_name(name, false)
            .map_err(|why| Error::invalid(format!("{name:?} is not a valid zone name: {why}")))?;
        let created = self.modify(|file| {
            if file.zones.contains_key(&name) {
                return Ok(false);
            }
            file.zones.insert(name.clone(), Vec::new());
            Ok(true)
        })?;
        if created {
            self.reload_dns()?;
        }
        Ok((
            Zone {
                id: name.clone(),
                name,
            },
            created,
        ))
    }

    /// All of them in one change of the lab's file and one reload of its server.
    async fn create_all(&self, specs: &[RecordSpec]) -> Vec<Result<(Record, bool)>> {
        let mut outcomes: Vec<Result<(Record, bool)>> = Vec::with_capacity(specs.len());
        let changed = self.modify(|file| {
            for spec in specs {
                outcomes.push(add_record(file, spec));
            }
            Ok(())
        });
        if let Err(e) = changed {
            return specs.iter().map(|_| Err(e.clone())).collect();
        }
        let made: Vec<String> = outcomes
            .iter()
            .filter_map(|o| match o {
                Ok((r, true)) => Some(r.id.clone()),
                _ => None,
            })
            .collect();
        if !made.is_empty()
            && let Err(e) = self.reload_dns()
        {
            // Never keep what the server did not take.
            let _ = self.modify(|file| {
                for records in file.zones.values_mut() {
                    records.retain(|r| !made.contains(&r.id));
                }
                Ok(())
            });
            return specs.iter().map(|_| Err(e.clone())).collect();
        }
        outcomes
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        let outcome = self.modify(|file| add_record(file, spec))?;
        if outcome.1
            && let Err(e) = self.reload_dns()
        {
            // Never keep what the server did not take.
            let id = outcome.0.id.clone();
            let _ = self.modify(|file| {
                for records in file.zones.values_mut() {
                    records.retain(|r| r.id != id);
                }
                Ok(())
            });
            return Err(e);
        }
        Ok(outcome)
    }

    async fn delete(&self, record: &Record) -> Result<()> {
        let removed = self.modify(|file| {
            let removed = file.zones.get_mut(&record.zone).is_some_and(|rs| {
                let before = rs.len();
                rs.retain(|r| r.id != record.id);
                rs.len() != before
            });
            file.drop_released_zones();
            Ok(removed)
        })?;
        if removed {
            self.reload_dns()?;
        }
        Ok(())
    }

    /// All of them in one change of the lab's file and one reload.
    async fn delete_all(&self, records: &[Record]) -> Vec<Result<()>> {
        let removed = self.modify(|file| {
            let mut removed = false;
            for record in records {
                if let Some(rs) = file.zones.get_mut(&record.zone) {
                    let before = rs.len();
                    rs.retain(|r| r.id != record.id);
                    removed |= rs.len() != before;
                }
            }
            file.drop_released_zones();
            Ok(removed)
        });
        let outcome = match removed {
            Ok(true) => self.reload_dns(),
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        };
        records.iter().map(|_| outcome.clone()).collect()
    }

    /// Deletes the zone once it holds no records: one that still does is shared with a
    /// cluster of another run (several named clusters in one domain), and stays.
    async fn delete_zone(&self, zone: &Zone) -> Result<()> {
        let mut kept = 0;
        let deleted = self.modify(|file| {
            kept = file.zones.get(&zone.name).map_or(0, Vec::len);
            if kept > 0 {
                file.released.insert(zone.name.clone());
            }
            Ok(kept == 0 && file.zones.remove(&zone.name).is_some())
        })?;
        if deleted {
            self.reload_dns()?;
        } else if kept > 0 {
            tracing::info!(
                "the zone {} stays while it holds {kept} records of another run",
                zone.name
            );
        }
        Ok(())
    }

    async fn list(&self, name: &str) -> Result<Vec<Record>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let file = self.load()?;
        Ok(file
            .zones
            .values()
            .flatten()
            .filter(|r| r.spec.name == name)
            .cloned()
            .collect())
    }

    async fn authoritative(&self, _zone: &str) -> Result<Vec<SocketAddr>> {
        Ok(vec![SocketAddr::new(netns::bridge_ip().into(), 53)])
    }
}

#[async_trait]
impl Transport for Lab {
    /// The host's namespace, and the servers its resolv.conf names now (a test, or a
    /// user, may have pointed it elsewhere).
    fn resolver(&self, node: &Instance) -> Result<Option<NodeResolver>> {
        let host = self.host_of(node)?;
        let conf = std::fs::read_to_string(Path::new(&host.dir).join("resolv.conf"))?;
        let servers = conf
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                match (fields.next(), fields.next()) {
                    (Some("nameserver"), Some(ip)) => ip.parse().ok(),
                    _ => None,
                }
            })
            .collect();
        Ok(Some(NodeResolver {
            netns: host.netns,
            servers,
        }))
    }

    async fn run(&self, node: &Instance, command: &str, timeout: Duration) -> Result<ExecOutput> {
        let host = self.host_of(node)?;
        let mut cmd = Command::new("sh");
        // A group of its own: a terminal's Ctrl-C is rigger's to act on (it interrupts
        // the script, and the command is killed with its task), not a signal that
        // kills the command first and reads as the command failing.
        cmd.arg("-c")
            .arg(command)
            .current_dir(&host.dir)
            .stdin(Stdio::null())
            .process_group(0);
        self.exec_for(&host)?.prepare(&mut cmd, false);
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn()?;
        // Interrupted or past its time, the command goes with all it started (its
        // group); one that finished leaves what it meant to leave running.
        let group = child.id().map(|pid| procs::GroupGuard::new(pid as i32));
        let out = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| Error::command_timeout(command, &node.name, timeout))??;
        if let Some(group) = group {
            group.disarm();
        }
        Ok(ExecOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let host = self.host_of(node)?;
        let target = lab_path(&host, path)?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        crate::base::state_dir::write_atomic(&target, bytes, mode)?;
        Ok(())
    }

    async fn upload_together(
        &self,
        node: &Instance,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<()> {
        let host = self.host_of(node)?;
        let mut staged = Vec::new();
        for (path, bytes, mode) in files {
            let target = lab_path(&host, path)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut aside = target.clone().into_os_string();
            aside.push(".rigger-upload");
            let aside = std::path::PathBuf::from(aside);
            // Written whole and synced aside, so that the renames below are all there is
            // between the old set and the new.
            crate::base::state_dir::write_atomic(&aside, bytes, *mode)?;
            staged.push((aside, target));
        }
        for (aside, target) in staged {
            std::fs::rename(aside, target)?;
        }
        Ok(())
    }

    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process> {
        let host = self.host_of(node)?;
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| Error::invalid("no command given"))?;
        let log_path = Path::new(&host.dir).join(format!("{name}.log"));
        // One process per name: a second would write over the first one's log, and
        // stopping "p" would be ambiguous.
        let log = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => Error::conflict(format!(
                    "a process named {name:?} was already started on {}: its log {} is there",
                    node.name,
                    log_path.display()
                ))
                .with_help("give each process on a node a name of its own"),
                _ => Error::from(crate::base::state_dir::at(&log_path, e)),
            })?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&host.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        self.exec_for(&host)?.prepare(&mut cmd, true);
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::failed(format!("cannot start {program} on {}: {e}", node.name)))?;
        let pid = child.id() as i32;
        // Reap it if it ends while rigger still runs; after rigger exits, init does.
        std::thread::spawn(move || child.wait());
        Ok(Process {
            node: node.name.clone(),
            name: name.to_string(),
            pid,
            log: log_path.to_string_lossy().into_owned(),
            address: None,
            ssh: None,
        })
    }

    async fn stop(&self, process: &Process) -> Result<()> {
        // Only a process that still lives in its host is signalled: after a crash its pid
        // may belong to something else entirely.
        let pid = process.pid;
        let host_ns = self.load()?.host(&process.node).map(|h| h.netns.clone());
        let ours = pid > 0 && host_ns.is_some_and(|ns| procs::in_netns(&ns).contains(&pid));
        if !ours {
            return Ok(());
        }
        tokio::task::spawn_blocking(move || procs::terminate(&[pid], Duration::from_secs(5)))
            .await
            .map_err(|e| Error::failed(e.to_string()))?;
        Ok(())
    }
}

/// Lab hosts share this machine's file system, so a node's files live under its own
/// folder: a relative path is taken from there, an absolute one must already be inside.
fn lab_path(host: &LabHost, path: &str) -> Result<PathBuf> {
    let dir = Path::new(&host.dir);
    let p = Path::new(path);
    let full = if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    };
    if full
        .components()
        .any(|c| c == std::path::Component::ParentDir)
        || !full.starts_with(dir)
    {
        return Err(Error::invalid(format!(
            "in the lab a node's files live under its dir ({}); {path:?} is outside it",
            host.dir
        ))
        .with_help("build paths from node.dir, e.g. node.dir + \"/ca.crt\""));
    }
    Ok(full)
}
