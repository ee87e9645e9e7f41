//! The image booted lab machines start from: a Debian 12 root filesystem made once with
//! debootstrap and kept in rigger's cache, one folder per recipe, so a change of recipe
//! makes a new image and an unchanged one is never made twice. Each machine boots an
//! overlay over it (`machine.rs`); the image itself is never written after it is made.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::providers::{Error, Result};

/// Debian 12, the release the cloud's AMIs run.
const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
/// What a cloud VM has that the bootstrap uses: an init, sshd, `ip`, curl with the CA
/// bundle to download a release, and dig (which a stock cloud image lacks: the cloud's
/// page says to install it) to read the machine's own resolver.
const PACKAGES: &[&str] = &[
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "iproute2",
    "ca-certificates",
    "curl",
    // What rigger asks a machine's own resolver with, as it needs on a cloud machine.
    "bind9-dnsutils",
];
/// Raised when what is done to the image after debootstrap changes.
const FINISH: u32 = 1;

/// Where rigger keeps what outlives a state dir: `RIGGER_CACHE_DIR`, else
/// `/var/cache/rigger` (setup.sh keeps the tests' virtualenv there too).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("RIGGER_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/rigger"))
}

/// The recipe as one line; its hash names the image's folder.
fn recipe() -> String {
    format!(
        "{SUITE} minbase {MIRROR} {} finish={FINISH}",
        PACKAGES.join(",")
    )
}

/// The folder of the image this rigger boots: `images/debian12-<recipe hash>/rootfs`.
pub fn root() -> PathBuf {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, recipe().as_bytes());
    let id = &id.simple().to_string()[..12];
    cache_dir()
        .join("images")
        .join(format!("debian12-{id}"))
        .join("rootfs")
}

/// Written last: an image without it was not finished (a build that was interrupted).
const DONE: &str = ".rigger-image";

/// The image, which must have been made.
pub fn find() -> Result<PathBuf> {
    let root = root();
    if root.join(DONE).is_file() {
        return Ok(root);
    }
    Err(
        Error::missing(format!("there is no machine image at {}", root.display()))
            .with_help("`rigger lab image` makes it once (about a minute; setup.sh does it)"),
    )
}

/// Makes the image unless it is there; returns its root.
pub fn ensure() -> Result<PathBuf> {
    if let Ok(root) = find() {
        return Ok(root);
    }
    let root = root();
    let folder = root.parent().expect("an image folder");
    // Built beside its final place and renamed into it, so a half-made image is never
    // found; a leftover of an interrupted build is removed first.
    let building = folder.with_extension("building");
    if building.exists() {
        std::fs::remove_dir_all(&building)?;
    }
    std::fs::create_dir_all(&building)?;
    let rootfs = building.join("rootfs");
    tracing::info!("making the machine image (Debian 12, debootstrap): about a minute");
    run(Command::new("debootstrap")
        .arg("--variant=minbase")
        .arg(format!("--include={}", PACKAGES.join(",")))
        .arg(SUITE)
        .arg(&rootfs)
        .arg(MIRROR))?;
    finish(&rootfs)?;
    if folder.exists() {
        std::fs::remove_dir_all(folder)?;
    }
    std::fs::rename(&building, folder)?;
    Ok(root)
}

/// What makes one image many machines: no identity of its own (each machine gets its
/// machine-id and host key at launch), and no package cache.
fn finish(rootfs: &Path) -> Result<()> {
    // An empty machine-id is filled in at each machine's first boot; D-Bus reads the
    // same one, or every clone would share its own.
    std::fs::write(rootfs.join("etc/machine-id"), "")?;
    let dbus = rootfs.join("var/lib/dbus/machine-id");
    let _ = std::fs::remove_file(&dbus);
    std::os::unix::fs::symlink("/etc/machine-id", &dbus)?;
    // The host keys openssh-server's install made would be every machine's.
    for entry in std::fs::read_dir(rootfs.join("etc/ssh"))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("ssh_host_") {
            std::fs::remove_file(&path)?;
        }
    }
    std::fs::write(
        rootfs.join("etc/ssh/sshd_config.d/rigger.conf"),
        "HostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\n",
    )?;
    // minbase has none; names of the machine itself resolve without DNS.
    std::fs::write(
        rootfs.join("etc/hosts"),
        "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
    )?;
    run(Command::new("chroot")
        .arg(rootfs)
        .args(["apt-get", "clean"]))?;
    std::fs::write(rootfs.join(DONE), recipe() + "\n")?;
    Ok(())
}

/// Runs `cmd` to its end; a failure quotes the last lines it wrote on stderr.
pub(super) fn run(cmd: &mut Command) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::failed(format!("cannot run {program}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = said.lines().rev().take(5).collect();
    Err(Error::failed(format!(
        "{program} failed ({}): {}",
        out.status,
        last.into_iter().rev().collect::<Vec<_>>().join(" / ")
    )))
}
