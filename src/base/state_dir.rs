//! The state directory: what rigger created and must be able to remove again.
//!
//! `--state-dir`, else `RIGGER_STATE_DIR`, else `/var/lib/rigger` for root and
//! `$XDG_STATE_HOME/rigger` (`~/.local/state/rigger`) for anyone else. Always 0700: it
//! holds private keys.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn locate(explicit: Option<PathBuf>) -> Self {
        let root = explicit
            .or_else(|| std::env::var_os("RIGGER_STATE_DIR").map(PathBuf::from))
            .unwrap_or_else(|| {
                if nix::unistd::geteuid().is_root() {
                    PathBuf::from("/var/lib/rigger")
                } else {
                    std::env::var_os("XDG_STATE_HOME")
                        .map(PathBuf::from)
                        .or_else(|| {
                            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state"))
                        })
                        .unwrap_or_else(|| PathBuf::from("."))
                        .join("rigger")
                }
            });
        // Absolute from the start: commands on lab hosts run in other directories.
        let root = std::path::absolute(&root).unwrap_or(root);
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A subdirectory, created 0700 on first use.
    pub fn dir(&self, rel: &str) -> io::Result<PathBuf> {
        let path = self.root.join(rel);
        self.ensure()?;
        private_dir(&path)?;
        Ok(path)
    }

    /// Creates the state dir 0700 if it is missing. One that exists is used as it is,
    /// with a warning (once) when others can read it, as ssh warns of an open key.
    pub fn ensure(&self) -> io::Result<()> {
        if !self.root.exists() {
            let named = |e: io::Error| io::Error::new(e.kind(), format!("state dir {e}"));
            private_dir(&self.root).map_err(named)?;
            // Rigger made it, so rigger may remove it again once it is empty.
            fs::write(self.root.join(MADE_HERE), b"").map_err(|e| named(at(&self.root, e)))?;
        } else if !self.root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("state dir {} is not a directory", self.root.display()),
            ));
        }
        static WARNED: std::sync::Once = std::sync::Once::new();
        if let Ok(meta) = fs::metadata(&self.root)
            && meta.permissions().mode() & 0o077 != 0
        {
            WARNED.call_once(|| {
                tracing::warn!(
                    "state dir {} is open to other users (mode {:o}); it holds private keys: `chmod 700 {}`",
                    self.root.display(),
                    meta.permissions().mode() & 0o777,
                    self.root.display()
                );
            });
        }
        Ok(())
    }

    /// An exclusive lock on `name` in the state dir, held until the guard drops.
    pub fn lock(&self, name: &str) -> io::Result<Flock<File>> {
        self.ensure()?;
        let path = self.root.join(format!("{name}.lock"));
        lock_file(&path, FlockArg::LockExclusive).map_err(|(_, e)| e)
    }

    /// Removes the lock file `name` while holding it, so nobody holds it meanwhile.
    pub fn remove_lock(&self, name: &str) {
        let path = self.root.join(format!("{name}.lock"));
        if path.exists()
            && let Ok(_held) = self.lock(name)
        {
            let _ = fs::remove_file(&path);
        }
    }
}

/// Locks the file at `path` (created 0600), as `arg` says (waiting or not). Lock files
/// are removed by whoever holds them last (see `StateDir::remove_lock`): one locked
/// after its removal guards nothing, so the lock is taken again on the one at the path.
/// When the lock is held elsewhere (non-blocking), the open file comes back with the
/// error, for the holder's note in it.
pub fn lock_file(path: &Path, arg: FlockArg) -> Result<Flock<File>, (Option<File>, io::Error)> {
    loop {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| (None, at(path, e)))?;
        let lock = Flock::lock(file, arg).map_err(|(file, errno)| {
            let e = if errno == nix::errno::Errno::EWOULDBLOCK {
                io::Error::from(io::ErrorKind::WouldBlock)
            } else {
                at(path, errno.into())
            };
            (Some(file), e)
        })?;
        if same_file(&lock, path) {
            return Ok(lock);
        }
    }
}

/// Whether the open `file` is the file now at `path`.
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl StateDir {
    /// Once everything is destroyed: removes the empty folders (`runs/`, `pki/<domain>/`)
    /// and the lab's lock file, and the state dir itself if nothing else is in it. The
    /// writer lock is its holder's to remove (see `Writer`).
    pub fn prune(&self) {
        // Never below a mount point, and never into a lab that is still there: a booted
        // lab machine's disk (its overlay's upper dir, mounted at its root) is under the
        // state dir, and its empty folders are the machine's own (removing one under a
        // mounted overlay breaks the machine). The lab removes its own folder.
        fn empty_dirs(dir: &Path, device: u64) {
            use std::os::unix::fs::MetadataExt;
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let same_fs =
                    fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.dev() == device);
                if same_fs && !path.join("lab.json").exists() {
                    empty_dirs(&path, device);
                    let _ = fs::remove_dir(&path);
                }
            }
        }
        if let Ok(meta) = fs::metadata(&self.root) {
            empty_dirs(&self.root, std::os::unix::fs::MetadataExt::dev(&meta));
        }
        self.remove_lock("lab");
        // The inventory's claims' lock, once no machine of it is held.
        if !self.root.join("hosts").exists() {
            self.remove_lock("hosts");
        }
        self.remove_if_only(&[]);
    }

    /// When the state dir holds nothing but `files` (and rigger's own marker), removes
    /// them, and the folder itself if rigger made it: a folder of the user's stays.
    pub fn remove_if_only(&self, files: &[&str]) {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return;
        };
        let names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
        if !names
            .iter()
            .all(|n| n == MADE_HERE || files.iter().any(|f| n == *f))
        {
            return;
        }
        for file in files {
            let _ = fs::remove_file(self.root.join(file));
        }
        if fs::remove_file(self.root.join(MADE_HERE)).is_ok() {
            let _ = fs::remove_dir(&self.root);
        }
    }
}

/// Marks a state dir rigger created (and so may remove once nothing is left in it).
const MADE_HERE: &str = ".made-by-rigger";

/// Creates `path` (and missing parents) with mode 0700. A directory that already
/// exists is left exactly as it is: rigger never changes the mode of a directory it did
/// not create (a shared `/tmp`, a user's own folder).
pub fn private_dir(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not a directory", path.display()),
            ));
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(at(path, e)),
        Err(_) => {}
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| at(path, e))?;
    // The umask may have taken bits away; this directory is ours, so it is made exact.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(|e| at(path, e))
}

/// An I/O error that names the path it happened on.
pub fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The name `write_atomic` gives its temporary file for `path`, without the pid.
fn temporary_prefix(path: &Path) -> String {
    format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    )
}

/// Temporary files `write_atomic` left beside `path` when a kill cut it short.
pub fn temporaries_of(path: &Path) -> Vec<PathBuf> {
    let prefix = temporary_prefix(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                n.strip_prefix(&prefix)
                    .is_some_and(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .map(|e| e.path())
        .collect()
}

/// Writes `bytes` to `path` atomically (temp file + rename) with the given mode, so a
/// reader never sees half a file and a key is never readable by others, even briefly.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!("{}{}", temporary_prefix(path), std::process::id()));
    {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Reads JSON from `path`, or `T::default()` when the file does not exist yet.
pub fn read_json<T: serde::de::DeserializeOwned + Default>(path: &Path) -> io::Result<T> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(e),
    }
}

pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_atomic(path, &bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_and_files_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::locate(Some(tmp.path().join("s")));
        let d = state.dir("lab").unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(state.root()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let key = d.join("k.pem");
        write_atomic(&key, b"secret", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&key).unwrap(), b"secret");
    }
}
