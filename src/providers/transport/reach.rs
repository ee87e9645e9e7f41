//! How SSH reaches a target's machines. The target says it, since only it knows them:
//! the lab's hosts take the lab's own key, known_hosts and network namespace; EC2's take
//! the user's settings, and a stand-in's invented addresses are never dialled. The SSH
//! transport only connects as told, so that no backend opens another.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SshConfig {
    pub user: String,
    pub port: u16,
    /// A private key file; without one, the agent and ~/.ssh/config decide.
    pub key: Option<PathBuf>,
    /// Accept and remember an unknown host key on first contact (`accept-new`).
    pub accept_new: bool,
    /// A known_hosts file of rigger's own (the lab keeps one); else the user's.
    pub known_hosts: Option<PathBuf>,
    /// Where the multiplexing sockets live.
    pub control_dir: PathBuf,
    /// The network namespace every connection must start from (the lab's): a guard
    /// that no lab address is ever dialled from this machine's own network.
    pub netns: Option<String>,
    /// How long to keep trying while the host does not answer yet (a new instance's
    /// sshd is still booting); a refused host key is never retried.
    pub wait: Duration,
}

/// What the SSH transport is told by the target.
#[derive(Debug, Clone)]
pub enum SshReach {
    Connect(SshConfig),
    /// Machines that must not (or cannot) be connected to, and why: every command on
    /// one fails saying so.
    Unreachable {
        reason: String,
        help: String,
    },
}
