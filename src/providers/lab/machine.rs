//! A booted lab machine: systemd as PID 1 under systemd-nspawn, in its lab host's
//! network namespace, on an overlay over the machine image (its upper dir is the
//! machine's disk). Reached over SSH only, as an EC2 instance is.
//!
//! Without a systemd on this machine, nspawn runs with `--register=no --keep-unit` and
//! makes its cgroups under the one it starts in: each machine gets one of its own in
//! every hierarchy, which is also how a machine that will not halt is stopped
//! (`cgroup.kill`). A guest's `reboot` ends nspawn with status 133, and the loop it
//! runs in boots it again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::state::LabHost;
use crate::providers::{Error, Result};

/// The hierarchies a machine's cgroup goes in: cgroup2's, and the named v1 `systemd`
/// one where the machine runs hybrid (as this project's CI does).
fn hierarchies() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").exists() {
        return vec![base.to_path_buf()];
    }
    [base.join("unified"), base.join("systemd")]
        .into_iter()
        .filter(|h| h.join("cgroup.procs").exists())
        .collect()
}

/// The machine's cgroup in `hierarchy`.
fn cgroup(hierarchy: &Path, host: &LabHost) -> PathBuf {
    hierarchy.join("rigger").join(&host.netns)
}

/// The machine's files: its disk (the overlay's upper and work dirs) and where the
/// overlay is mounted.
fn disk(host: &LabHost) -> PathBuf {
    Path::new(&host.dir).join("machine")
}

fn merged(host: &LabHost) -> PathBuf {
    disk(host).join("root")
}

/// What a machine is given at its first boot.
pub struct Identity<'a> {
    pub nameserver: std::net::Ipv4Addr,
    /// The lab's SSH client key, trusted for root.
    pub authorized_key: &'a str,
    /// The machine's own host key (private, then public), made by the lab.
    pub host_key: (&'a [u8], &'a [u8]),
}

/// Mounts the machine's disk over `image`, gives it its name, resolver and keys, and
/// boots it in the background. Returns once nspawn runs; sshd answers a moment later.
pub fn boot(host: &LabHost, image: &Path, id: &Identity) -> Result<()> {
    let disk = disk(host);
    for dir in ["upper", "work", "root"] {
        std::fs::create_dir_all(disk.join(dir))?;
    }
    let root = merged(host);
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        image.display(),
        disk.join("upper").display(),
        disk.join("work").display()
    );
    nix::mount::mount(
        Some("overlay"),
        &root,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(|e| Error::failed(format!("cannot mount {}'s disk: {e}", host.name)))?;
    let write = |path: &str, bytes: &[u8], mode: u32| -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))?;
        std::fs::write(&path, bytes)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    write("etc/hostname", format!("{}\n", host.name).as_bytes(), 0o644)?;
    write(
        "etc/resolv.conf",
        format!("nameserver {}\n", id.nameserver).as_bytes(),
        0o644,
    )?;
    write(
        "root/.ssh/authorized_keys",
        id.authorized_key.as_bytes(),
        0o600,
    )?;
    write("etc/ssh/ssh_host_ed25519_key", id.host_key.0, 0o600)?;
    write("etc/ssh/ssh_host_ed25519_key.pub", id.host_key.1, 0o644)?;
    start(host)
}

/// Starts the machine's nspawn loop on its mounted disk.
fn start(host: &LabHost) -> Result<()> {
    let root = merged(host);
    let disk = disk(host);
    let cgroups: Vec<PathBuf> = hierarchies().iter().map(|h| cgroup(h, host)).collect();
    for cg in &cgroups {
        std::fs::create_dir_all(cg)?;
    }
    // The loop moves itself into the machine's cgroups before nspawn starts, so that
    // nspawn and the guest's every process are under them.
    // A loop that could not join them would run a machine no halt can find: it stops.
    let join: String = cgroups
        .iter()
        .map(|cg| format!("echo $$ > '{}/cgroup.procs' || exit 1; ", cg.display()))
        .collect();
    // The machine is named by its namespace (unique on this machine, as nspawn's own
    // files under /run are named by it); its hostname is the host's. nspawn keeps its
    // hands off the resolv.conf and timezone rigger gave it.
    let script = format!(
        "{join}while systemd-nspawn -D '{root}' -b -M {ns} --hostname={name} \
         --network-namespace-path=/run/netns/{ns} --register=no --keep-unit \
         --console=read-only --resolv-conf=off --timezone=off; [ $? -eq 133 ]; do :; done",
        root = root.display(),
        name = host.name,
        ns = host.netns,
    );
    let console = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(disk.join("console.log"))?;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(console.try_clone()?)
        .stderr(console);
    // A session of its own: a terminal's Ctrl-C goes to rigger, which halts machines
    // as its rollback says, not to the guests.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            nix::unistd::setsid()
                .map(|_| ())
                .map_err(std::io::Error::from)
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::failed(format!("cannot boot {}: {e}", host.name)))?;
    // Returned only once the loop is in the machine's cgroups: a halt from then on
    // finds it there (before, it would find nothing and the machine would boot after).
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if members(host).contains(&pid) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::failed(format!(
                "{} did not boot: its boot loop ended ({status}) before joining its cgroups",
                host.name
            )));
        }
        if Instant::now() > deadline {
            return Err(Error::failed(format!(
                "{} did not boot: its boot loop never joined its cgroups",
                host.name
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The processes in the machine's cgroups, nspawn and the guest's all included.
fn members(host: &LabHost) -> Vec<i32> {
    let mut pids = Vec::new();
    for h in hierarchies() {
        collect(&cgroup(&h, host), &mut pids);
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn collect(dir: &Path, pids: &mut Vec<i32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect(&entry.path(), pids);
        }
    }
}

/// The guest's PID 1 (its systemd), as this machine numbers it.
fn guest_init(host: &LabHost) -> Option<i32> {
    hierarchies().iter().find_map(|h| {
        let procs = cgroup(h, host).join("payload/init.scope/cgroup.procs");
        let text = std::fs::read_to_string(procs).ok()?;
        text.lines().next()?.trim().parse().ok()
    })
}

/// A real `systemctl reboot` inside the guest, as its own administrator would type it;
/// the loop nspawn runs in boots it again.
pub fn reboot(host: &LabHost) -> Result<()> {
    let init =
        guest_init(host).ok_or_else(|| Error::failed(format!("{} is not running", host.name)))?;
    let mut nsenter = Command::new("nsenter");
    nsenter.args(["-t", &init.to_string(), "-a", "systemctl", "reboot"]);
    super::image::run(&mut nsenter).map_err(|e| e.context(format!("rebooting {}", host.name)))
}

/// A power cut and the power back: every process of the guest killed at once (its
/// disk as it was at that instant), then the machine booted again.
pub fn power_cycle(host: &LabHost) -> Result<()> {
    for h in hierarchies() {
        let kill = cgroup(&h, host).join("cgroup.kill");
        if kill.exists() {
            std::fs::write(&kill, "1")?;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while running(host) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if running(host) {
        return Err(Error::failed(format!("{} did not stop", host.name)));
    }
    // nspawn's sub-cgroups of the last boot go; the machine's own stays for the next.
    for h in hierarchies() {
        let cg = cgroup(&h, host);
        for entry in std::fs::read_dir(&cg).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    start(host)
}

/// Whether the machine is running (anything is left in its cgroups).
pub fn running(host: &LabHost) -> bool {
    !members(host).is_empty()
}

/// Halts the machine: SIGTERM to nspawn, which shuts the guest down cleanly; what is
/// still there after `grace` is killed through its cgroup. Then its cgroups, its
/// overlay and nspawn's leftovers go; its disk goes with the host's folder.
pub fn halt(host: &LabHost, grace: Duration) -> Result<()> {
    // Asked again every second: a guest still booting may not have an init that takes
    // nspawn's poweroff request yet.
    let deadline = Instant::now() + grace;
    let mut asked = Instant::now() - Duration::from_secs(1);
    while running(host) && Instant::now() < deadline {
        if asked.elapsed() >= Duration::from_secs(1) {
            for pid in nspawn_pids(host) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
            asked = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if running(host) {
        // Never SIGKILL nspawn alone: the guest would go on under this machine's init.
        for h in hierarchies() {
            let kill = cgroup(&h, host).join("cgroup.kill");
            if kill.exists() {
                let _ = std::fs::write(&kill, "1");
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while running(host) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if running(host) {
        return Err(Error::failed(format!(
            "{} did not stop: processes {:?} are left in its cgroup",
            host.name,
            members(host)
        )));
    }
    for h in hierarchies() {
        let cg = cgroup(&h, host);
        remove_tree(&cg);
        // The machines' common parent goes with the last of them.
        let _ = std::fs::remove_dir(cg.parent().expect("rigger/NAME"));
    }
    // Unmounted whether or not /proc's mount list spells the path as we do (a link, a
    // space); not mounted at all is fine.
    match nix::mount::umount2(&merged(host), nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => {
            return Err(Error::failed(format!(
                "cannot unmount {}'s disk: {e}",
                host.name
            )));
        }
    }
    let _ = std::fs::remove_dir_all(Path::new("/run/systemd/nspawn/propagate").join(&host.netns));
    Ok(())
}

/// nspawn's own processes: those of the machine whose command is systemd-nspawn.
fn nspawn_pids(host: &LabHost) -> Vec<i32> {
    members(host)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "systemd-nspawn")
        })
        .collect()
}

/// Removes a cgroup and its children, deepest first (cgroups go with rmdir only).
fn remove_tree(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path());
        }
    }
    let _ = std::fs::remove_dir(dir);
}
