//! Where backups are kept: a folder of snapshot files, or an S3 prefix of objects; each
//! `<name>.db` beside its manifest `<name>.json` (what the backup was: cluster, members,
//! revision, hash). A backup is complete once its manifest is written, which happens
//! last: a `.db` without one is a backup that never finished, and is not listed.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::s3_store::{DEFAULT_PART_SIZE, S3At};
use crate::base::error::{Error, Result};
use crate::base::state_dir::private_dir;

/// A store of backups.
#[derive(Debug, Clone)]
pub enum BackupStore {
    Dir(PathBuf),
    /// In S3, with the folder here a snapshot is saved in before it is uploaded (and a
    /// backup downloaded to): one file at a time, the last one.
    S3(S3At, PathBuf),
}

impl BackupStore {
    /// The store `to` names: `s3://BUCKET/PREFIX`, staged through the folder `staging`,
    /// or a folder (absolute, or relative to the current one).
    pub fn parse(to: &str, staging: &Path) -> Result<Self> {
        if to.trim().is_empty() {
            return Err(Error::invalid(
                "a backup store is a folder or s3://BUCKET/PREFIX, not an empty string",
            ));
        }
        if let Some(rest) = to.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let fine = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
            if !fine {
                return Err(Error::invalid(format!(
                    "{to}: {bucket:?} is not an S3 bucket's name (3 to 63 lower-case letters, digits, '-' and '.')"
                )));
            }
            let prefix = match prefix.trim_end_matches('/') {
                "" => String::new(),
                p => format!("{p}/"),
            };
            let at = S3At {
                bucket: bucket.to_string(),
                prefix,
                part_size: DEFAULT_PART_SIZE,
            };
            return Ok(Self::S3(at, staging.to_path_buf()));
        }
        if let Some((scheme, _)) = to.split_once("://") {
            return Err(Error::invalid(format!(
                "{to}: a backup store is a folder or s3://BUCKET/PREFIX; {scheme}:// is not one rigger keeps backups in"
            )));
        }
        let path = std::path::absolute(to).map_err(|e| Error::invalid(format!("{to}: {e}")))?;
        Ok(Self::Dir(path))
    }

    /// The same store, its uploads in parts of `bytes` (S3 only).
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        if let Self::S3(at, _) = &mut self {
            at.part_size = bytes;
        }
        self
    }

    /// Where it is, as people and `--set to=...` write it.
    pub fn url(&self) -> String {
        match self {
            Self::Dir(dir) => dir.display().to_string(),
            Self::S3(at, _) => at.url(),
        }
    }

    /// The folder a snapshot bound for this store is saved in first: a folder store's
    /// own; for S3, the staging folder, emptied of what an earlier run left.
    pub fn staging(&self) -> Result<PathBuf> {
        let dir = match self {
            Self::Dir(dir) => dir,
            Self::S3(_, staging) => staging,
        };
        private_dir(dir).map_err(|e| Error::failed(format!("backup store: {e}")))?;
        if let Self::S3(..) = self {
            clear(dir);
        }
        Ok(dir.clone())
    }

    /// Removes what the staging folder of an S3 store holds (a backup downloaded for a
    /// restore, once the restore is done); nothing for a folder store.
    pub fn unstage(&self) {
        if let Self::S3(_, staging) = self {
            clear(staging);
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
            Self::S3(at, _) => {
                manifest.insert("name".into(), name.clone().into());
                manifest.insert("url".into(), format!("{}{name}.db", at.url()).into());
                manifest
                    .entry("kept")
                    .or_insert_with(|| crate::base::human::utc_stamp(now()).into());
                let sent = at.put(file, &name, &manifest).await;
                // The staged copy goes whatever happened: the store holds the backup.
                let _ = std::fs::remove_file(file);
                sent?;
                Ok(manifest)
            }
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
            Self::S3(at, _) => {
                let mut found = at.list().await?;
                found.sort_by(|a, b| name(a).cmp(name(b)));
                Ok(found)
            }
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
            Self::S3(at, _) => {
                let staging = self.staging()?;
                at.fetch(name, &staging.join(format!("{name}.db"))).await
            }
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
            Self::S3(at, _) => at.remove(name).await,
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

/// Removes the files in `dir`: a staging folder's leftovers.
fn clear(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_file() {
            let _ = std::fs::remove_file(entry.path());
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
