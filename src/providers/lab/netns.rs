//! Network namespaces for the lab, built with the `ip` tool (iproute2): one lab
//! namespace holding a bridge, and one namespace per host joined to it by a veth pair.
//! The lab namespace has no uplink, so nothing in it can reach beyond this machine.

use std::fs::File;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};

/// The lab's network: 198.18.0.0/15, set aside for network tests (RFC 2544).
pub const PREFIX_LEN: u8 = 15;
pub const BRIDGE: &str = "br0";
/// Locally administered (0x02), so it is no vendor's; each lab is its own link.
const BRIDGE_MAC: &str = "02:72:67:00:00:01";

pub fn bridge_ip() -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 1)
}

/// The address of the `index`th host (1-based): 198.18.1.1, 198.18.1.2, ...
/// skipping .0 and .255 so every address looks like a host.
pub fn host_ip(index: u32) -> Ipv4Addr {
    let i = index.saturating_sub(1);
    let third = 1 + i / 250;
    Ipv4Addr::new(
        198,
        18 + (third / 256) as u8,
        (third % 256) as u8,
        (1 + i % 250) as u8,
    )
}

/// Whether `ip` is in the lab's network, 198.18.0.0/15.
pub fn in_lab_range(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 198 && (b & 0xfe) == 18
}

pub fn path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// The namespaces named `<lab>-<n>`: the hosts of the lab namespace `lab`.
pub fn named_under(lab: &str) -> Vec<String> {
    let prefix = format!("{lab}-");
    std::fs::read_dir("/run/netns")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            n.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect()
}

/// Runs `ip ARGS`, turning a failure into an error that quotes the command and its stderr.
fn ip(args: &[&str]) -> io::Result<()> {
    ip_with(args, None)
}

/// Runs the `ip` commands `lines` inside namespace `ns`, one process for them all (each
/// `ip` costs a few milliseconds, and a lab makes a dozen links); the first to fail
/// stops the rest.
fn ip_batch(ns: &str, lines: &[String]) -> io::Result<()> {
    ip_with(&["-n", ns, "-batch", "-"], Some(lines.join("\n") + "\n"))
}

fn ip_with(args: &[&str], input: Option<String>) -> io::Result<()> {
    // A process group of its own: a terminal's Ctrl-C goes to rigger, which lets a
    // half-made namespace finish and then removes it, never to `ip` half way.
    let mut child = Command::new("ip")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run `ip` (iproute2): {e}")))?;
    if let (Some(text), Some(mut stdin)) = (&input, child.stdin.take()) {
        stdin.write_all(text.as_bytes())?;
    }
    crate::base::hook::point("ip");
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        let batch = input.map(|t| format!(" with `{}`", t.trim().replace('\n', "; ")));
        Err(io::Error::other(format!(
            "`ip {}`{} failed: {}",
            args.join(" "),
            batch.unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Creates the lab namespace with its bridge at `bridge_ip()`.
pub fn create_lab(ns: &str) -> io::Result<()> {
    ip(&["netns", "add", ns])?;
    // A bridge whose address is not set takes the lowest of its ports' and changes it
    // as ports come and go: the hosts' ARP entries for the DNS server then name a MAC
    // no port answers to, and every lookup times out until they expire.
    let made = ip_batch(
        ns,
        &[
            "link set lo up".to_string(),
            format!("link add {BRIDGE} address {BRIDGE_MAC} type bridge"),
            format!("addr add {}/{PREFIX_LEN} dev {BRIDGE}", bridge_ip()),
            format!("link set {BRIDGE} up"),
        ],
    );
    if made.is_err() {
        let _ = delete(ns);
    }
    made
}

/// Creates a host namespace joined to the lab bridge, with `ip` on its `eth0`.
pub fn create_host(lab_ns: &str, host_ns: &str, index: u32, ip_addr: Ipv4Addr) -> io::Result<()> {
    ip(&["netns", "add", host_ns])?;
    let veth = format!("v{index}");
    let made = ip_batch(
        lab_ns,
        &[
            format!("link add {veth} type veth peer name eth0 netns {host_ns}"),
            format!("link set {veth} master {BRIDGE} up"),
        ],
    )
    .and_then(|()| {
        ip_batch(
            host_ns,
            &[
                format!("addr add {ip_addr}/{PREFIX_LEN} dev eth0"),
                "link set eth0 up".to_string(),
                "link set lo up".to_string(),
            ],
        )
    });
    if made.is_err() {
        let _ = delete(host_ns);
    }
    made
}

/// Deletes a namespace; its end of any veth pair goes with it, and so does the peer.
pub fn delete(ns: &str) -> io::Result<()> {
    if !exists(ns) {
        return Ok(());
    }
    ip(&["netns", "delete", ns])
}

/// Moves the calling thread into namespace `ns`. Threads it starts afterwards (a tokio
/// runtime's workers) are born there too, so every socket they open is in the lab.
pub fn enter(ns: &str) -> io::Result<()> {
    // EINVAL: the path is not (yet) the namespace's bind mount but the plain file under
    // it. Seen, rarely, right after `ip netns add` while other labs are being made
    // (twice in CI); it is asked again for a second before it is taken as final.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let file = File::open(path(ns))
            .map_err(|e| io::Error::new(e.kind(), format!("lab namespace {ns} is gone: {e}")))?;
        match setns(&file, CloneFlags::CLONE_NEWNET) {
            Err(nix::errno::Errno::EINVAL) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done.map_err(io::Error::from),
        }
    }
}

/// Whether the calling thread is in namespace `ns`.
pub fn current_is(ns: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata("/proc/thread-self/ns/net"),
        std::fs::metadata(path(ns)),
    ) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Bind-mounts `source` over `target` (in a private mount namespace). A plain system
/// call, safe between fork and exec.
fn bind(source: &Path, target: &str) -> io::Result<()> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(io::Error::from)
}

/// How a command is placed inside a lab host.
pub struct HostExec {
    netns: File,
    resolv_conf: PathBuf,
}

impl HostExec {
    pub fn new(host_ns: &str, resolv_conf: &Path) -> io::Result<Self> {
        let netns = File::open(path(host_ns)).map_err(|e| {
            io::Error::new(e.kind(), format!("host namespace {host_ns} is gone: {e}"))
        })?;
        Ok(Self {
            netns,
            resolv_conf: resolv_conf.to_path_buf(),
        })
    }

    /// Sets `cmd` up to start inside the host: its network namespace, and a private
    /// mount namespace where `/etc/resolv.conf` names the lab's DNS server and
    /// `/etc/nsswitch.conf` sends host lookups only to files and DNS (no nss-resolve,
    /// which would ask this machine's resolver over a socket and so reach outside). The
    /// machine's own files are never touched. With `detach` the process gets its own
    /// session, so it outlives rigger and ignores rigger's Ctrl-C.
    pub fn prepare(self, cmd: &mut Command, detach: bool) {
        let HostExec { netns, resolv_conf } = self;
        let nsswitch = resolv_conf.with_file_name("nsswitch.conf");
        // SAFETY: between fork and exec only raw system calls run (setns, unshare, mount,
        // setsid); the paths were built before the fork.
        unsafe {
            cmd.pre_exec(move || {
                setns(&netns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
                unshare(CloneFlags::CLONE_NEWNS).map_err(io::Error::from)?;
                mount(
                    None::<&str>,
                    "/",
                    None::<&str>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&str>,
                )
                .map_err(io::Error::from)?;
                bind(&resolv_conf, "/etc/resolv.conf")?;
                bind(&nsswitch, "/etc/nsswitch.conf")?;
                if detach {
                    nix::unistd::setsid().map_err(io::Error::from)?;
                }
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addresses_skip_network_and_broadcast_looking_ones() {
        assert_eq!(host_ip(1), Ipv4Addr::new(198, 18, 1, 1));
        assert_eq!(host_ip(250), Ipv4Addr::new(198, 18, 1, 250));
        assert_eq!(host_ip(251), Ipv4Addr::new(198, 18, 2, 1));
        assert_eq!(host_ip(256 * 250), Ipv4Addr::new(198, 19, 0, 250));
    }
}
