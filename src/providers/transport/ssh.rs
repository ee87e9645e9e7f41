//! Reaching nodes over SSH (the `openssh` crate, which drives the system `ssh` with
//! multiplexing, so `~/.ssh/config` is honoured). Host keys are always checked: first
//! contact with an unknown host is refused unless the user chose accept-new.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::reach::{SshConfig, SshReach};
use super::unreachable::Unreachable;
use super::{ExecOutput, Process, Transport};
use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::Instance;
use crate::providers::opening::{Machines, Opening};

/// The SSH transport of a run (its row in the backend table), reaching the machines as
/// their target says they are reached.
pub fn open(_opening: &Opening, machines: &Machines) -> Result<Arc<dyn Transport>> {
    Ok(match &machines.ssh {
        SshReach::Connect(config) => Arc::new(Ssh::new(config.clone())),
        SshReach::Unreachable { reason, help } => Arc::new(Unreachable {
            reason: reason.clone(),
            help: help.clone(),
        }),
    })
}

/// openssh takes a remote exit status of 127 for "sh was not found" and 255 for a lost
/// connection, and gives the command's output up with it. A command's own 127 (a
/// program it runs was not found) or 255 is passed as 1 with this marker ending stderr
/// instead, and given back by `restored_status`.
const STATUS_MARK: &str = "\nrigger-exit-status:";

/// `command`, run by a shell of its own, its status 127 or 255 carried as `STATUS_MARK`.
fn carrying_status(command: &str) -> String {
    let mark = STATUS_MARK.replace('\n', "\\n");
    format!(
        "sh -c {}; s=$?; case $s in 127|255) printf '{mark}%s' \"$s\" >&2; exit 1;; esac; exit $s",
        quote(command)
    )
}

/// The status and stderr `carrying_status` hid: the marker taken off stderr.
fn restored_status(status: i32, stderr: String) -> (i32, String) {
    if status == 1
        && let Some((before, code)) = stderr.rsplit_once(STATUS_MARK)
        && let Ok(code) = code.parse::<i32>()
    {
        return (code, before.to_string());
    }
    (status, stderr)
}

/// One machine's connection, made once: its own lock, so that machines are connected
/// to all at once (the first contact with each waits for no other).
type Slot = Arc<Mutex<Option<Arc<Session>>>>;

pub struct Ssh {
    config: SshConfig,
    sessions: Mutex<HashMap<String, Slot>>,
}

fn ssh_error(node: &str, e: openssh::Error) -> Error {
    let text = crate::base::human::error_chain(&e);
    let host_key = text.contains("Host key verification failed");
    // The host answered and said no: waiting longer will not change its mind.
    let refused = host_key || text.contains("Permission denied");
    let kind = if refused {
        ErrorKind::Permission
    } else {
        ErrorKind::Unreachable
    };
    let err = Error::new(kind, format!("ssh to {node}: {text}"));
    if host_key {
        err.with_help("the host's key is unknown or changed; check it, or allow first contact with --ssh-accept-new")
    } else if refused {
        err.with_help("the host refused the key: check --ssh-user and --ssh-key (or the agent)")
    } else {
        err
    }
}

/// Where a node is reached: its public address when it has one.
fn address_of(node: &Instance) -> String {
    node.public_ip
        .clone()
        .filter(|ip| !ip.is_empty())
        .unwrap_or_else(|| node.private_ip.clone())
}

/// Single-quotes `s` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Ssh {
    pub fn new(config: SshConfig) -> Self {
        Self {
            config,
            sessions: Mutex::default(),
        }
    }

    async fn session(&self, node: &Instance) -> Result<Arc<Session>> {
        let address = address_of(node);
        // A machine's own user and port (an inventory's) over the run's.
        let own = node.ssh.clone().unwrap_or_default();
        let user = own.user.unwrap_or_else(|| self.config.user.clone());
        let port = own.port.unwrap_or(self.config.port);
        let address = format!("{user}@{address}:{port}");
        let slot = {
            let mut sessions = self.sessions.lock().await;
            sessions.entry(address.clone()).or_default().clone()
        };
        let mut held = slot.lock().await;
        if let Some(s) = held.as_ref() {
            // A machine that rebooted leaves a master connection that is gone: it is
            // connected again, as a first contact would be (and waited for while it boots).
            if s.check().await.is_ok() {
                return Ok(s.clone());
            }
            tracing::debug!(
                "{}: the SSH connection was lost; connecting again",
                node.name
            );
            *held = None;
        }
        if let Some(ns) = &self.config.netns
            && !crate::providers::lab::netns::current_is(ns)
        {
            return Err(Error::failed(format!(
                "internal: refusing to dial {address} from outside the lab's network namespace"
            )));
        }
        crate::base::state_dir::private_dir(&self.config.control_dir)?;
        let mut builder = SessionBuilder::default();
        builder
            .user(user)
            .port(port)
            .known_hosts_check(if self.config.accept_new {
                KnownHosts::Add
            } else {
                KnownHosts::Strict
            })
            .connect_timeout(Duration::from_secs(10))
            .control_directory(&self.config.control_dir);
        if let Some(key) = &self.config.key {
            builder.keyfile(key);
        }
        if let Some(known) = &self.config.known_hosts {
            builder.user_known_hosts_file(known);
        }
        let host = address_of(node);
        let session = Arc::new(self.connect(&builder, &host, &node.name).await?);
        *held = Some(session.clone());
        Ok(session)
    }

    /// Connects, trying again with a growing pause while the host does not answer yet
    /// (a new instance's sshd still booting: refused, timed out, no banner), for up to
    /// `wait`. A refused key or host key is an answer, and is never retried.
    async fn connect(
        &self,
        builder: &SessionBuilder,
        address: &str,
        node: &str,
    ) -> Result<Session> {
        let started = tokio::time::Instant::now();
        let deadline = started + self.config.wait;
        let mut pause = Duration::from_millis(250);
        let mut tries = 0;
        loop {
            tries += 1;
            let err = match builder.connect(address).await {
                Ok(session) => return Ok(session),
                Err(e) => ssh_error(node, e),
            };
            if err.kind != ErrorKind::Unreachable || tokio::time::Instant::now() + pause > deadline
            {
                if tries == 1 {
                    return Err(err);
                }
                let waited = crate::base::human::duration(started.elapsed());
                let message = format!("{} (tried {tries} times over {waited})", err.message);
                return Err(Error { message, ..err });
            }
            tracing::debug!(
                "{node}: sshd not answering yet, trying again in {pause:?}: {}",
                err.message
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

#[async_trait]
impl Transport for Ssh {
    async fn run(&self, node: &Instance, command: &str, timeout: Duration) -> Result<ExecOutput> {
        let session = self.session(node).await?;
        let mut cmd = session.raw_command("sh");
        cmd.raw_arg("-c").raw_arg(quote(&carrying_status(command)));
        let out = tokio::time::timeout(timeout, cmd.output())
            .await
            .map_err(|_| Error::command_timeout(command, &node.name, timeout))?
            .map_err(|e| ssh_error(&node.name, e))?;
        let (status, stderr) = restored_status(
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        Ok(ExecOutput {
            status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        })
    }

    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        // One file is a set of one: written aside with its mode, then renamed.
        self.upload_together(node, &[(path.to_string(), bytes.to_vec(), mode)])
            .await
    }

    async fn upload_together(
        &self,
        node: &Instance,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<()> {
        let session = self.session(node).await?;
        // One stream on stdin, each file's bytes in turn, cut by their lengths (`head -c`):
        // no byte of a key is ever on a command line. Each is written aside with its
        // final mode, then all are renamed in one go.
        // The folders are made first, with the login's own umask: a folder is not a
        // secret, and one made 0700 would shut out the users a service runs as (the etcd
        // user, exec'ing a binary below it). Only the files are written under 077.
        let mut script = String::from("set -e;");
        for (path, _, _) in files {
            script.push_str(&format!(" mkdir -p \"$(dirname {})\";", quote(path)));
        }
        script.push_str(" umask 077;");
        let mut renames = String::new();
        for (path, bytes, mode) in files {
            let tmp = format!("{path}.rigger-upload");
            script.push_str(&format!(
                " head -c {n} > {t}; chmod {mode:o} {t};",
                t = quote(&tmp),
                n = bytes.len()
            ));
            renames.push_str(&format!(" mv {} {};", quote(&tmp), quote(path)));
        }
        script.push_str(&renames);
        let mut cmd = session.raw_command("sh");
        cmd.raw_arg("-c")
            .raw_arg(quote(&script))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().await.map_err(|e| ssh_error(&node.name, e))?;
        if let Some(mut stdin) = child.stdin().take() {
            for (_, bytes, _) in files {
                stdin.write_all(bytes).await?;
            }
            stdin.shutdown().await?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| ssh_error(&node.name, e))?;
        if !out.status.success() {
            let paths: Vec<&str> = files.iter().map(|(p, _, _)| p.as_str()).collect();
            return Err(Error::failed(format!(
                "upload of {} to {} failed: {}",
                paths.join(", "),
                node.name,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    }

    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process> {
        let log = format!("{}/{name}.log", node.dir);
        let line = argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
        let out = self
            .run(
                node,
                &format!(
                    // The log is made first with noclobber: a second process of the same
                    // name is refused, as in the lab.
                    "cd {d} && (set -C; : > {l}) && {{ setsid nohup {line} >> {l} 2>&1 < /dev/null & echo $!; }}",
                    d = quote(&node.dir),
                    l = quote(&log)
                ),
                Duration::from_secs(30),
            )
            .await?;
        let pid = out.stdout.trim().parse().map_err(|_| {
            Error::failed(format!(
                "cannot start {name} on {}: {}",
                node.name,
                out.stderr.trim()
            ))
        })?;
        Ok(Process {
            node: node.name.clone(),
            name: name.to_string(),
            pid,
            log,
            address: Some(address_of(node)),
            ssh: node.ssh.clone(),
        })
    }

    async fn stop(&self, process: &Process) -> Result<()> {
        let address = process.address.clone().ok_or_else(|| {
            Error::failed(format!(
                "{} on {} was not started over SSH",
                process.name, process.node
            ))
        })?;
        let node = Instance {
            id: String::new(),
            name: process.node.clone(),
            private_ip: address,
            public_ip: None,
            dir: String::new(),
            booted: false,
            ssh: process.ssh.clone(),
        };
        // TERM, a grace period, then KILL; a process already gone is stopped.
        let pid = process.pid;
        let script = format!(
            "kill {pid} 2>/dev/null || exit 0; for i in $(seq 50); do kill -0 {pid} 2>/dev/null || exit 0; sleep 0.1; done; kill -9 {pid} 2>/dev/null; exit 0"
        );
        self.run(&node, &script, Duration::from_secs(30))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::{carrying_status, quote, restored_status};

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    /// The wrapper as the remote login shell runs it (`sh -c WRAPPED`), here.
    fn through_the_wrapper(command: &str) -> (i32, String, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(carrying_status(command))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let (status, stderr) = restored_status(out.status.code().unwrap(), stderr);
        (
            status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        )
    }

    #[test]
    fn a_commands_own_127_and_255_come_back_with_their_output() {
        let (status, stdout, stderr) = through_the_wrapper("echo before; no-such-program-here");
        assert_eq!((status, stdout.as_str()), (127, "before\n"));
        assert!(stderr.contains("no-such-program-here"), "{stderr}");
        assert!(!stderr.contains("rigger-exit-status"), "{stderr}");
        let (status, _, stderr) = through_the_wrapper("echo said >&2; exit 255");
        assert_eq!((status, stderr.as_str()), (255, "said\n"));
        // Every other status, and output with quotes, pass as they are.
        assert_eq!(through_the_wrapper("exit 3").0, 3);
        assert_eq!(through_the_wrapper("echo 'it'\\''s'").1, "it's\n");
        let (status, _, stderr) = through_the_wrapper("echo oops >&2; exit 1");
        assert_eq!((status, stderr.as_str()), (1, "oops\n"));
    }
}
