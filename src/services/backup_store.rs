//! Where backups are kept: a folder of snapshot files, each `<name>.db` beside its
//! manifest `<name>.json` (what the backup was: cluster, members, revision, hash). A
//! backup is complete once its manifest is written, which happens last: a `.db` without
//! one is a backup that never finished, and is not listed.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::base::error::{Error, Result};
use crate::base::state_dir::private_dir;

/// A store of backups.
#[derive(Debug, Clone)]
pub enum BackupStore {
    Dir(PathBuf),
}

impl BackupStore {
    /// The store `to` names: a folder (absolute, or relative to the current one).
    pub fn parse(to: &str) -> Result<Self> {
        if to.trim().is_empty() {
            return Err(Error::invalid(
                "a backup store is a folder, not an empty string",
            ));
        }
        if let Some((scheme, _)) = to.split_once("://") {
            return Err(Error::invalid(format!(
                "{to}: a backup store is a folder; {scheme}:// is not one rigger keeps backups in"
            )));
        }
        let path = std::path::absolute(to).map_err(|e| Error::invalid(format!("{to}: {e}")))?;
        Ok(Self::Dir(path))
    }

    /// Where it is, as people and `--set to=...` write it.
    pub fn url(&self) -> String {
        match self {
            Self::Dir(dir) => dir.display().to_string(),
        }
    }

    /// The folder a snapshot bound for this store is saved in first: the store's own.
    pub fn staging(&self) -> Result<PathBuf> {
        match self {
            Self::Dir(dir) => {
                private_dir(dir).map_err(|e| Error::failed(format!("backup store: {e}")))?;
                Ok(dir.clone())
            }
        }
    }

    /// Keeps the snapshot `file` with `manifest` (written last, so that a backup is
    /// listed only once whole). Returns the manifest with the backup's `name` and `url`.
    pub async fn put(
        &self,
        file: &Path,
        mut manifest: Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let name = name_of(file)?;
        match self {
            Self::Dir(dir) => {
                private_dir(dir).map_err(|e| Error::failed(format!("backup store: {e}")))?;
                let at = dir.join(format!("{name}.db"));
                if file != at {
                    copy_private(file, &at)?;
                }
                manifest.insert("name".into(), name.clone().into());
                manifest
                    .entry("kept")
                    .or_insert_with(|| crate::base::human::utc_stamp(now()).into());
                manifest.insert("url".into(), at.display().to_string().into());
                let text = serde_json::to_string_pretty(&manifest)
                    .map_err(|e| Error::failed(e.to_string()))?;
                write_private(&dir.join(format!("{name}.json")), text.as_bytes())?;
                Ok(manifest)
            }
        }
    }

    /// The backups kept, oldest first (names sort by the time they were taken).
    pub async fn list(&self) -> Result<Vec<Map<String, Value>>> {
        match self {
            Self::Dir(dir) => {
                let entries = match std::fs::read_dir(dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(Error::failed(format!("{}: {e}", dir.display()))),
                };
                let mut found = Vec::new();
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_none_or(|e| e != "json") {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| Error::failed(format!("{}: {e}", path.display())))?;
                    let manifest: Map<String, Value> =
                        serde_json::from_str(&text).map_err(|e| {
                            Error::failed(format!(
                                "{} is not a backup's manifest: {e}",
                                path.display()
                            ))
                        })?;
                    found.push(manifest);
                }
                found.sort_by(|a, b| name(a).cmp(name(b)));
                Ok(found)
            }
        }
    }

    /// The snapshot of the backup `name`, as a file here.
    pub async fn fetch(&self, name: &str) -> Result<PathBuf> {
        check_name(name)?;
        match self {
            Self::Dir(dir) => {
                let at = dir.join(format!("{name}.db"));
                if !at.is_file() {
                    return Err(Error::missing(format!(
                        "{} has no backup {name}",
                        dir.display()
                    )));
                }
                Ok(at)
            }
        }
    }

    /// Removes the backup `name`: its manifest first, so that it is never listed
    /// without its snapshot.
    pub async fn remove(&self, name: &str) -> Result<()> {
        check_name(name)?;
        match self {
            Self::Dir(dir) => {
                for ext in ["json", "db"] {
                    let path = dir.join(format!("{name}.{ext}"));
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::failed(format!("{}: {e}", path.display()))),
                    }
                }
                Ok(())
            }
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn name(manifest: &Map<String, Value>) -> &str {
    manifest
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// A backup's name: its snapshot's file name without `.db`.
fn name_of(file: &Path) -> Result<String> {
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| Error::invalid(format!("{}: not a snapshot file", file.display())))?;
    check_name(name)?;
    Ok(name.to_string())
}

/// Names are file names in a folder (and object keys under a prefix): no separators.
fn check_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name:?} is not a backup's name (letters, digits, '-', '_' and '.')"
        )))
    }
}

/// Writes `bytes` to `path` through a file beside it (mode 0600), renamed into place.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let part = path.with_extension("part");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&part, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&part);
        Error::failed(format!("{}: {e}", path.display()))
    })
}

/// Copies `from` to `to` (mode 0600) through a file beside it.
fn copy_private(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let part = to.with_extension("part");
    let copy = || -> std::io::Result<()> {
        let mut src = std::fs::File::open(from)?;
        let mut dst = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&part)?;
        std::io::copy(&mut src, &mut dst)?;
        dst.sync_all()?;
        std::fs::rename(&part, to)
    };
    copy().map_err(|e| {
        let _ = std::fs::remove_file(&part);
        Error::failed(format!("{} to {}: {e}", from.display(), to.display()))
    })
}
