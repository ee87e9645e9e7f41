//! Backups: reading a snapshot file as `etcdutl snapshot status` does, and the store
//! backups are kept in (`backup_store`, then `backup_put`, `backup_list`,
//! `backup_fetch` and `backup_remove` on it).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::failure::Failure;
use crate::base::error::Error;
use crate::services::backup_store::BackupStore;

/// How long a store may take to keep or hand back a snapshot (a large one, uploaded).
const STORE_LIMIT: Duration = Duration::from_secs(3600);

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Reads the snapshot file at `path` as `etcdutl snapshot status` does, after
        /// checking the sha256 etcd saved at its end: `#{hash, revision, total_key, keys,
        /// total_size, bytes, sha256, consistent_index, term}`. `hash` is etcdutl's (the
        /// CRC-32C of every bucket, in hex), `total_key` counts entries as etcdutl 3.5 does,
        /// `keys` the keys alive at `revision` (as 3.6 counts), `total_size` the database's
        /// size and `bytes` the file's. Fails naming the file and what is wrong with it: a
        /// missing or wrong sha256, a page out of place.
        fn snapshot_status(c, path: &str) -> Map {
            let status = crate::services::snapshot_file::status(Path::new(path))
                .map_err(|why| c.failed(Error::invalid(format!("the snapshot {path}: {why}"))))?;
            c.to_map(&status)
        }
    }
    primitive! { engine, cx,
        /// The store the backups of the cluster `cluster` (as `cluster_find` takes it) are
        /// kept in when none is named: the state dir's `snapshots/<cluster>/`. Returns `#{kind, url, staging}`, what the other
        /// `backup_` primitives take (`staging`: the folder a snapshot is saved in first).
        fn backup_store(c, cluster: &str) -> Map {
            let (dir, _) = state_dirs(c, cluster)?;
            store_map(&BackupStore::Dir(dir))
        }
    }
    primitive! { engine, cx,
        /// The store `to` names: a folder, or `s3://BUCKET/PREFIX` (the AWS SDK's settings
        /// as for EC2; `AWS_ENDPOINT_URL_S3` for another S3), staged through the state
        /// dir's `snapshots/<cluster>/.staging/`. Returns `#{kind, url, staging}`.
        fn backup_store(c, cluster: &str, to: &str) -> Map {
            let (_, staging) = state_dirs(c, cluster)?;
            let store = BackupStore::parse(to, &staging).map_err(|e| c.failed(e))?;
            store_map(&store)
        }
    }
    primitive! { engine, cx,
        /// `backup_store(cluster, to)` with options: `part_size`, the bytes of each part of
        /// an upload to S3 (a larger file goes in parts; S3 takes parts of 5 MiB and more
        /// but the last; default 8 MiB).
        fn backup_store(c, cluster: &str, to: &str, options: Map) -> Map {
            let options = c.options(options, &["part_size"])?;
            let (_, staging) = state_dirs(c, cluster)?;
            let mut store = BackupStore::parse(to, &staging).map_err(|e| c.failed(e))?;
            if let Some(size) = options.get("part_size").filter(|v| !v.is_unit()) {
                let size = size
                    .as_int()
                    .ok()
                    .filter(|n| (65_536..=5_368_709_120).contains(n))
                    .ok_or_else(|| c.invalid(format!("options.part_size is bytes from 64 KiB to 5 GiB, not {size}")))?;
                store = store.with_part_size(size as u64);
            }
            store_map(&store)
        }
    }
    primitive! { engine, cx,
        /// Keeps the snapshot `file` in `store` with `manifest` (any map: what the backup
        /// is), the manifest written last so that a backup is listed only once whole.
        /// Returns the manifest with the backup's `name` (the file's, without `.db`) and
        /// `url`. A dry run keeps nothing.
        fn backup_put(c, store: Map, file: &str, manifest: Map) -> Map {
            let store = store_of(c, &store)?;
            let manifest: serde_json::Map<String, serde_json::Value> = c.read("manifest", manifest)?;
            if c.dry_run() {
                return c.to_map(&manifest);
            }
            let file = file.to_string();
            let kept = c.wait(STORE_LIMIT, async move { store.put(Path::new(&file), manifest).await })?;
            c.to_map(&kept)
        }
    }
    primitive! { engine, cx,
        /// The backups in `store`, oldest first: each its manifest, with `name` and `url`.
        fn backup_list(c, store: Map) -> Array {
            let store = store_of(c, &store)?;
            let found = c.wait(STORE_LIMIT, async move { store.list().await })?;
            found
                .iter()
                .map(|m| c.to_map(m).map(Dynamic::from))
                .collect::<Result<Array, _>>()
        }
    }
    primitive! { engine, cx,
        /// The snapshot of the backup `name` in `store`, as a file here: its path.
        fn backup_fetch(c, store: Map, name: &str) -> String {
            let store = store_of(c, &store)?;
            let name = name.to_string();
            let path = c.wait(STORE_LIMIT, async move { store.fetch(&name).await })?;
            Ok(path.display().to_string())
        }
    }
    primitive! { engine, cx,
        /// Removes what `backup_fetch` downloaded from an S3 `store` (the copy a restore
        /// used); nothing for a folder store, whose backups are used where they are.
        fn backup_unstage(c, store: Map) {
            let store = store_of(c, &store)?;
            if !c.dry_run() {
                store.unstage();
            }
            Ok(())
        }
    }
    primitive! { engine, cx,
        /// Removes the backup `name` from `store` (its manifest first). A dry run removes
        /// nothing.
        fn backup_remove(c, store: Map, name: &str) {
            let store = store_of(c, &store)?;
            if c.dry_run() {
                return Ok(());
            }
            let name = name.to_string();
            c.wait(STORE_LIMIT, async move { store.remove(&name).await })
        }
    }
}

/// The state dir's folder of the cluster's snapshots (`DOMAIN/NAME` for a named one),
/// and its staging folder for S3: `.staging`, which no cluster's name can be.
fn state_dirs(
    c: &Call,
    cluster: &str,
) -> Result<(std::path::PathBuf, std::path::PathBuf), Box<EvalAltResult>> {
    let key = super::etcd::cluster_arg(c, cluster)?;
    let world = c.world().map_err(|e| c.failed(e))?;
    let dir = world.state().root().join("snapshots").join(key.folder());
    let staging = dir.join(".staging");
    Ok((dir, staging))
}

fn store_map(store: &BackupStore) -> Result<Map, Box<EvalAltResult>> {
    let mut map = Map::new();
    let (kind, staging, part) = match store {
        BackupStore::Dir(dir) => ("dir", dir.clone(), None),
        BackupStore::S3(at, staging) => ("s3", staging.clone(), Some(at.part_size)),
    };
    map.insert("kind".into(), kind.into());
    map.insert("url".into(), store.url().into());
    map.insert("staging".into(), staging.display().to_string().into());
    if let Some(part) = part {
        map.insert("part_size".into(), (part as i64).into());
    }
    Ok(map)
}

/// The store a `backup_store` map names.
fn store_of(c: &Call, store: &Map) -> Result<BackupStore, Failure> {
    let text = |key: &str| {
        store
            .get(key)
            .filter(|u| u.is_string())
            .map(ToString::to_string)
            .ok_or_else(|| {
                c.invalid(format!(
                    "store is what backup_store returns: a map with its {key}"
                ))
            })
    };
    let (url, staging) = (text("url")?, text("staging")?);
    let parsed = BackupStore::parse(&url, Path::new(&staging)).map_err(|e| c.failed(e))?;
    Ok(match store.get("part_size").and_then(|v| v.as_int().ok()) {
        Some(n) if n > 0 => parsed.with_part_size(n as u64),
        _ => parsed,
    })
}
