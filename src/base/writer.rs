//! One writer at a time per state directory: `run`, `destroy`, `lab up` and `lab down`
//! change what the state dir names, and two of them at once would publish into one SRV
//! set, or tear a run down under it. Readers (`status`, `health`) never take it.
//!
//! The lock is an `flock` on `writer.lock`, so it goes with the process, however that
//! ends; the file holds who has it, for the message the next writer gets.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};

use super::error::{Error, ErrorKind, Result};
use super::state_dir::{StateDir, lock_file};

const FILE: &str = "writer.lock";

/// Held while a command changes the state dir; released when dropped.
pub struct Writer {
    lock: Option<Flock<File>>,
    state: StateDir,
}

impl Drop for Writer {
    /// A state dir that holds nothing else any more goes, lock file and all: a run that
    /// left nothing leaves no folder either. Removed while still held, so nobody else
    /// can be holding it.
    fn drop(&mut self) {
        // Ours while held: removed before release, so nobody can hold a removed one.
        self.state.remove_lock("lab");
        let _ = std::fs::remove_file(self.state.root().join(FILE));
        self.lock.take();
        self.state.remove_if_only(&[]);
    }
}

impl Writer {
    /// Takes the lock, or says who holds it. Never waits: a second writer is most
    /// likely a mistake the user wants to hear about now.
    pub fn take(state: &StateDir) -> Result<Self> {
        state.ensure()?;
        let path = state.root().join(FILE);
        let mut lock = match lock_file(&path, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((Some(mut file), e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(busy(state, &holder));
            }
            Err((_, e)) => return Err(e.into()),
        };
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut command: Vec<String> = std::env::args().collect();
        if let Some(program) = command.first_mut() {
            *program = "rigger".into();
        }
        let holder = format!("{} {since} {}", std::process::id(), command.join(" "));
        let _ = lock.set_len(0);
        let _ = lock.rewind();
        let _ = lock.write_all(holder.as_bytes());
        Ok(Self {
            lock: Some(lock),
            state: state.clone(),
        })
    }
}

fn busy(state: &StateDir, holder: &str) -> Error {
    let mut parts = holder.splitn(3, ' ');
    let pid = parts.next().unwrap_or("?");
    let since = parts.next().and_then(|s| s.parse::<u64>().ok());
    let command = parts.next().unwrap_or("rigger");
    let ago = since
        .and_then(|s| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_millis() as u64;
            let held = std::time::Duration::from_millis(now.saturating_sub(s));
            Some(format!(
                ", started {} ago",
                crate::base::human::duration(held)
            ))
        })
        .unwrap_or_default();
    Error::new(
        ErrorKind::Conflict,
        format!(
            "another rigger is changing {}: pid {pid} (`{command}`){ago}",
            state.root().display()
        ),
    )
    .with_help("wait for it to finish, or give this command a state dir of its own (--state-dir)")
}
