//! `etcd_health`: the cluster's health as the seed's `etcdctl cluster-health` showed it.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::failure::Failure;
use crate::base::names::ClusterKey;
use crate::providers::TlsFiles;
use crate::providers::etcd_api::{ClusterAt, Status};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Saves a snapshot of the cluster `cluster` (as `cluster_find` takes it) from its leader, as `etcdctl
        /// snapshot save` does (the database, then its sha256, checked before the file is
        /// kept, and every page read back as `etcdutl snapshot status` reads it), into the
        /// state dir: `snapshots/<cluster>/<UTC time>.db`, mode 0600. `tls` as for
        /// `etcd_health`. Returns `#{path, bytes, from, version, revision, sha256, hash,
        /// total_key, keys, total_size}` (`from` the leader's client URL, `version` its
        /// release; the rest as `snapshot_status` says them). A backup outlives the run:
        /// a rollback or `rigger destroy` leaves it. `etcdutl snapshot restore` (3.5 on)
        /// restores it.
        fn etcd_snapshot(c, cluster: &str, tls: Map) -> Map { snapshot(c, cluster, tls, Map::new()) }
    }
    primitive! { engine, cx,
        /// `etcd_snapshot` with options: `dir`, the folder to save it in instead of the
        /// state dir's (made 0700 when missing; one that exists keeps its mode).
        fn etcd_snapshot(c, cluster: &str, tls: Map, options: Map) -> Map {
            snapshot(c, cluster, tls, options)
        }
    }
    primitive! { engine, cx,
        /// Finds the members of the cluster `cluster` (as `cluster_find` takes it) through its
        /// client SRV records, as etcdctl 3.5 does (`_etcd-client-ssl._tcp` and
        /// `_etcd-client._tcp`, with `-NAME` after the service for `DOMAIN/NAME`), and asks each for
        /// its health: over TLS with `tls` (`#{ca, cert, key}` file paths, a client certificate
        /// of the cluster's CA), over plain HTTP with `#{}`. Returns `#{status, members, drift,
        /// text}`: `status` is "healthy", "degraded" (quorum held, or DNS differs from the
        /// membership) or "unavailable"; `drift` lists where DNS and the live membership
        /// disagree, as `#{kind, subject, text}` (`kind`: missing_srv, learner_in_srv,
        /// not_a_member, missing_a, wrong_a); `text` is the report as the seed article printed
        /// it, with a `drift:` line for each difference. A healthy member's node, when this run
        /// launched it and its SRV target is `NAME.domain`, reaches its last phase, healthy
        /// (see `node_phase`).
        fn etcd_health(c, cluster: &str, tls: Map) -> Map { health(c, cluster, tls, Map::new()) }
    }
    primitive! { engine, cx,
        /// `etcd_health` with options: `wait` (seconds, default 0) first waits up to that long
        /// for every member to answer healthy, asking only their `/health`, all of them every
        /// 10 ms (a whole check takes tens of milliseconds, so a loop of them sees a booting
        /// cluster healthy late); then checks as `etcd_health` does. Still unhealthy when the
        /// wait ends, the report says why. `name`: the cluster's `--discovery-srv-name`, as
        /// `DOMAIN/NAME` says it.
        fn etcd_health(c, cluster: &str, tls: Map, options: Map) -> Map {
            health(c, cluster, tls, options)
        }
    }
}

/// The snapshots of `domain` (a cluster's key) go in the state dir's
/// `snapshots/<domain>/` (`snapshots/DOMAIN/NAME/` for a named one), or the
/// folder `options.dir`, named by the UTC time (and a count, when one of that second is
/// there already).
fn snapshot(c: &Call, domain: &str, tls: Map, options: Map) -> Result<Map, Box<EvalAltResult>> {
    let key = cluster_arg(c, domain)?;
    let tls = tls_files(c, tls)?;
    let options = c.options(options, &["dir"])?;
    let world = c.world().map_err(|e| c.failed(e))?;
    let state = world.state().clone();
    let dir = match options.get("dir").filter(|d| !d.is_unit()) {
        Some(d) if d.is_string() => std::path::absolute(d.to_string())
            .map_err(|e| c.invalid(format!("options.dir {d}: {e}")))?,
        Some(d) => {
            return Err(c
                .invalid(format!("options.dir is a folder's path, not {d}"))
                .into());
        }
        None => state.root().join("snapshots").join(key.folder()),
    };
    if !c.dry_run() {
        let made = if dir.starts_with(state.root()) {
            state
                .ensure()
                .and_then(|()| crate::base::state_dir::private_dir(&dir))
        } else {
            crate::base::state_dir::private_dir(&dir)
        };
        made.map_err(|e| c.failed(crate::base::error::Error::failed(format!("snapshots: {e}"))))?;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stamp = crate::base::human::utc_stamp(secs);
    let to = (1..)
        .map(|n| match n {
            1 => dir.join(format!("{stamp}.db")),
            n => dir.join(format!("{stamp}-{n}.db")),
        })
        .find(|p| !p.exists() && !p.with_extension("json").exists())
        .expect("a free name");
    let saved = c.on_world(Duration::from_secs(600), move |world| async move {
        let servers = world.backends.dns.authoritative(&key.domain).await?;
        let at = ClusterAt::new(key, tls, servers);
        world.backends.etcd.snapshot(&at, &to).await
    })?;
    c.to_map(&saved)
}

fn health(c: &Call, domain: &str, tls: Map, options: Map) -> Result<Map, Box<EvalAltResult>> {
    let options = c.options(options, &["wait", "name"])?;
    let wait = options.seconds("wait", 0.0)?;
    let mut key = cluster_arg(c, domain)?;
    if let Some(n) = options.get("name").filter(|n| !n.is_unit()) {
        let name = crate::base::names::check_label(&n.to_string())
            .map_err(|why| c.invalid(format!("options.name: {why}")))?;
        if key.name.as_ref().is_some_and(|k| *k != name) {
            return Err(c
                .invalid(format!("options.name {name} is not the name {key} gives"))
                .into());
        }
        key.name = Some(name);
    }
    let tls = tls_files(c, tls)?;
    crate::base::hook::point("health");
    let asked = key.domain.clone();
    let report = c.on_world(Duration::from_secs(30) + wait, move |world| async move {
        let servers = world.backends.dns.authoritative(&key.domain).await?;
        let at = ClusterAt::new(key, tls, servers);
        let etcd = &world.backends.etcd;
        if !wait.is_zero() {
            etcd.wait_healthy(&at, wait).await?;
        }
        etcd.health(&at).await
    })?;
    if !c.dry_run() {
        say_healthy(&asked, &report);
    }
    let mut map = c.to_map(&report)?;
    // Always there for a script to read: empty when DNS equals the membership.
    map.entry("drift".into())
        .or_insert_with(|| rhai::Array::new().into());
    map.insert("text".into(), report.text().trim_end().into());
    let healthy = report.status == Status::Healthy;
    map.insert("healthy".into(), healthy.into());
    Ok(map)
}

/// A cluster's domain as a script gives it, checked.
/// The cluster a primitive asks: `DOMAIN`, or `DOMAIN/NAME` for one of several
/// clusters sharing the domain (etcd's `--discovery-srv-name NAME`).
pub(super) fn cluster_arg(c: &Call, cluster: &str) -> Result<ClusterKey, Failure> {
    ClusterKey::parse(cluster).map_err(|why| {
        c.invalid(format!(
            "{cluster:?} is not a cluster (DOMAIN, or DOMAIN/NAME with etcd's --discovery-srv-name): {why}"
        ))
    })
}

fn say_healthy(domain: &str, report: &crate::providers::etcd_api::Report) {
    for member in report.members.iter().filter(|m| m.healthy) {
        let host = member.endpoint.split("://").last().unwrap_or_default();
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if let Some(node) = host.strip_suffix(&format!(".{domain}"))
            && !node.contains('.')
        {
            crate::base::phase::set_if_known(node, crate::base::phase::Phase::Healthy);
        }
    }
}

/// The client certificate a script gives for asking the cluster (`#{ca, cert, key}`
/// file paths, what `etcd::client_tls` returns), or `None` for `#{}`: a cluster without
/// TLS, asked over plain HTTP. The files are the script's to get right, so they are
/// checked before any member is asked (not in a dry run, whose certificates are only
/// written down).
pub(super) fn tls_files(c: &Call, tls: Map) -> Result<Option<TlsFiles>, Failure> {
    let options = c.options(tls, &["ca", "cert", "key", "dir", "name"])?;
    let file = |key: &str| -> Result<std::path::PathBuf, Failure> {
        let path = options
            .get(key)
            .filter(|v| v.is_string())
            .map(|v| v.to_string().into());
        path.ok_or_else(|| c.invalid(format!("tls.{key} (a file path) is required")))
    };
    if ["ca", "cert", "key"]
        .iter()
        .all(|k| options.get(k).is_none())
    {
        return Ok(None);
    }
    let files = TlsFiles {
        ca: file("ca")?,
        cert: file("cert")?,
        key: file("key")?,
    };
    if !c.dry_run() {
        crate::services::etcd_client::check_files(&files).map_err(|e| c.failed(e.into()))?;
    }
    Ok(Some(files))
}
