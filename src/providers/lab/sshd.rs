//! An sshd inside a lab host, so the lab can be reached the way the cloud is: over SSH,
//! with a key of the lab's own and host keys checked against a known_hosts of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::netns::HostExec;
use super::state::LabHost;
use crate::base::state_dir::private_dir;
use crate::providers::{Error, Result};

/// The lab's SSH client side: key, known hosts, multiplexing sockets.
pub struct ClientFiles {
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub control_dir: PathBuf,
}

pub fn client_files(lab_dir: &Path) -> ClientFiles {
    let dir = lab_dir.join("ssh");
    ClientFiles {
        key: dir.join("id_ed25519"),
        known_hosts: dir.join("known_hosts"),
        control_dir: dir.join("mux"),
    }
}

fn keygen(path: &Path, comment: &str) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::failed(format!("cannot run ssh-keygen (openssh-client): {e}")))?;
    if !out.status.success() {
        return Err(Error::failed(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The lab's client files, its key made on first use.
pub fn client(lab_dir: &Path) -> Result<ClientFiles> {
    let client = client_files(lab_dir);
    private_dir(client.key.parent().expect("ssh dir"))?;
    keygen(&client.key, "rigger-lab")?;
    Ok(client)
}

/// A host key for `host`, made in its folder: the private key's path.
pub fn host_key(host: &LabHost) -> Result<PathBuf> {
    let key = Path::new(&host.dir).join("ssh_host_ed25519_key");
    keygen(&key, &host.name)?;
    Ok(key)
}

/// Starts sshd in `host` (it daemonizes inside the host's namespaces), trusting the lab's
/// client key, and records the host key in the lab's known_hosts.
pub fn start(lab_dir: &Path, host: &LabHost, exec: HostExec) -> Result<()> {
    let client = client(lab_dir)?;
    let dir = Path::new(&host.dir);
    let host_key = host_key(host)?;
    std::fs::copy(
        client.key.with_extension("pub"),
        dir.join("authorized_keys"),
    )?;
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress {ip}\nPort 22\nHostKey {key}\nAuthorizedKeysFile {dir}/authorized_keys\n\
             PidFile {dir}/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n",
            ip = host.ip,
            key = host_key.display(),
            dir = dir.display(),
        ),
    )?;
    // Debian's sshd insists on its privilege separation directory.
    std::fs::create_dir_all("/run/sshd")?;
    let mut cmd = Command::new("/usr/sbin/sshd");
    cmd.arg("-f")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    exec.prepare(&mut cmd, true);
    // sshd forks into the background once it listens; its first process then exits.
    let out = cmd.output().map_err(|e| {
        Error::failed(format!(
            "cannot start sshd on {} (openssh-server): {e}",
            host.name
        ))
    })?;
    if !out.status.success() {
        return Err(Error::failed(format!(
            "sshd did not start on {}: {}",
            host.name,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    remember(&client, host, &host_key)
}

/// Records `host`'s key (the private key's path) in the lab's known_hosts.
pub fn remember(client: &ClientFiles, host: &LabHost, host_key: &Path) -> Result<()> {
    let public = std::fs::read_to_string(host_key.with_extension("pub"))?;
    let mut fields = public.split_whitespace();
    let line = format!(
        "{} {} {}\n",
        host.ip,
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default()
    );
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&client.known_hosts)?
        .write_all(line.as_bytes())?;
    Ok(())
}
