//! `pki_ca`, `pki_cert`: a cluster CA and certificates, kept in the state dir.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, Map};

use super::call::primitive;
use super::context::ScriptContext;
use super::failure::Failure;
use crate::base::names::check_name;
use crate::providers::local::MAX_CA_DAYS;
use crate::providers::{CaFiles, CertFiles, LeafSpec};

const LIMIT: Duration = Duration::from_secs(60);

fn files_map(files: &CertFiles) -> Map {
    let mut m = Map::new();
    m.insert(
        "cert".into(),
        files.cert.to_string_lossy().into_owned().into(),
    );
    m.insert(
        "key".into(),
        files.key.to_string_lossy().into_owned().into(),
    );
    m
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// The certificate authority for `name` (e.g. the cluster domain) as
        /// `#{name, dir, cert, key}`: file paths on this machine, created on first use under the
        /// state dir (valid ten years, to the date), the key readable by its owner only. A
        /// named cluster's is `DOMAIN/NAME`, in a folder below its domain's.
        fn pki_ca(c, name: &str) -> Map { ca(c, name, None) }
    }
    primitive! { engine, cx,
        /// `pki_ca(name)`, a CA made now valid `opts.days` (1 to 36500; `()` for ten
        /// years); one that exists is used as it is.
        fn pki_ca(c, name: &str, opts: Map) -> Map {
            let days = ca_days(c, &opts)?;
            ca(c, name, days)
        }
    }
    primitive! { engine, cx,
        /// Issues a certificate signed by `ca` and returns `#{cert, key}` (paths).
        /// `spec`: `name` (file name), `dns` and `ips` (arrays of SANs), `server` and `client`
        /// (extended key usages, both true by default: etcd peers need both), `days` (its
        /// life from now, 1 to 3650; a year to the date unless told; never past the CA's
        /// end). It is valid
        /// from five minutes before now (clocks differ a little), with a random serial.
        /// Returns `#{cert, key, serial, not_after, ends}` (`serial` hex, `not_after` RFC
        /// 3339, `ends` as people read it; a dry run gives the paths alone).
        fn pki_cert(c, ca: Map, spec: Map) -> Map {
            let ca = ca_of(&ca)?;
            let leaf: LeafSpec = c.spec_as("spec", spec)?;
            let mut made = c.creating().on_world(LIMIT, move |world| async move {
                Ok(files_map(&world.backends.local.issue(&ca, &leaf)?))
            })?;
            // What it is, read back (a plan writes no file, and says none).
            let cert = made.get("cert").map(|p| p.to_string()).unwrap_or_default();
            if let Some(info) = std::fs::read(&cert)
                .ok()
                .and_then(|b| crate::services::cert_info::from_pem(&b).ok())
            {
                made.insert("serial".into(), info[0].serial.clone().into());
                made.insert("not_after".into(), info[0].not_after.clone().into());
                made.insert("ends".into(), info[0].end_date().into());
            }
            Ok(made)
        }
    }
    primitive! { engine, cx,
        /// The CA that is to follow `ca` (`pki_ca`'s map), for a rotation of the CA: made
        /// now beside it (`ca-next.crt`, `ca-next.key`), valid `opts.days` (`()`: ten years),
        /// or the one a rotation that stopped made, kept. A map as `pki_ca` returns, so that
        /// `pki_cert` signs with it.
        fn pki_ca_next(c, ca: Map, opts: Map) -> Map {
            let days = ca_days(c, &opts)?;
            let ca = ca_of(&ca)?;
            let next = c.creating().on_world(LIMIT, move |world| async move {
                world.backends.local.next_ca(&ca, days)
            })?;
            let mut m = files_map(&next.files);
            m.insert("name".into(), next.name.into());
            m.insert("dir".into(), next.dir.to_string_lossy().into_owned().into());
            Ok(m)
        }
    }
    primitive! { engine, cx,
        /// Rewrites the certificate file of `ca` as the bundle rigger (and every member it is
        /// uploaded to) trusts: the CA that signs, then the certificates of the files `also`
        /// (paths; `[]` leaves the CA alone). A member reads its trusted CA file only when it
        /// starts.
        fn pki_ca_trust(c, ca: Map, also: rhai::Array) -> () {
            let ca = ca_of(&ca)?;
            let also: Vec<PathBuf> = also.iter().map(|p| PathBuf::from(p.to_string())).collect();
            c.on_world(LIMIT, move |world| async move {
                world.backends.local.trust(&ca, &also)
            })?;
            Ok(())
        }
    }
    primitive! { engine, cx,
        /// Makes `next` (`pki_ca_next`'s map) the CA of `ca` that signs: its certificate
        /// first in `ca`'s bundle, the old ones after it, its key `ca`'s key; `next`'s own
        /// files go. Certificates `pki_cert` issues from `ca` are then the new CA's.
        fn pki_ca_promote(c, ca: Map, next: Map) -> () {
            let ca = ca_of(&ca)?;
            let next = ca_of(&next)?;
            c.on_world(LIMIT, move |world| async move {
                world.backends.local.promote(&ca, &next)
            })?;
            Ok(())
        }
    }
    primitive! { engine, cx,
        /// Removes the certificate `name` (`<name>.crt` and `.key` beside the CA `ca`, as
        /// `pki_cert` wrote them): a user's, once the user is gone. The CA's own files and
        /// rigger's client certificate are refused.
        fn pki_cert_remove(c, ca: Map, name: &str) -> () {
            let ca = ca_of(&ca)?;
            if ["ca", "ca-next", "client"].contains(&name) || check_name(name, false).is_err() || name.contains('.') {
                return Err(c.invalid(format!("{name:?} is not a certificate pki_cert_remove takes away: one label, not the CA's or rigger's client certificate")).into());
            }
            let files = CertFiles::in_dir(&ca.dir, name);
            c.on_world(LIMIT, move |world| async move {
                world.backends.local.remove(&files.key)?;
                world.backends.local.remove(&files.cert)
            })?;
            Ok(())
        }
    }
}

/// `opts.days` of a CA: None (ten years) unless given, 1 to 36500.
fn ca_days(c: &super::call::Call, opts: &Map) -> Result<Option<u32>, Failure> {
    if let Some(k) = opts.keys().find(|k| k.as_str() != "days") {
        return Err(c.invalid(format!("opts.{k} is not one a CA takes: days")));
    }
    match opts.get("days") {
        None => Ok(None),
        Some(d) if d.is_unit() => Ok(None),
        Some(d) => d
            .as_int()
            .ok()
            .filter(|d| (1..=i64::from(MAX_CA_DAYS)).contains(d))
            .map(|d| Some(d as u32))
            .ok_or_else(|| {
                c.invalid(format!(
                    "opts.days {d} is not a CA's life: 1 to {MAX_CA_DAYS} days"
                ))
            }),
    }
}

fn ca(
    c: &super::call::Call,
    name: &str,
    days: Option<u32>,
) -> Result<Map, Box<rhai::EvalAltResult>> {
    // A named cluster's CA (`DOMAIN/NAME`) lives in a folder below its domain's.
    let checked = match crate::base::names::split_cluster(name) {
        (domain, Some(service)) => check_name(domain, false)
            .and_then(|d| Ok(format!("{d}/{}", crate::base::names::check_label(service)?))),
        (name, None) => check_name(name, false),
    };
    let name =
        checked.map_err(|why| c.invalid(format!("{name:?} is not a valid CA name: {why}")))?;
    c.creating().on_world(LIMIT, move |world| async move {
        let local = &world.backends.local;
        let ca = local.ca(&name);
        local.ensure_ca(&ca, days)?;
        let mut m = files_map(&ca.files);
        m.insert("name".into(), name.into());
        m.insert("dir".into(), ca.dir.to_string_lossy().into_owned().into());
        Ok(m)
    })
}

fn ca_of(ca: &Map) -> Result<CaFiles, Failure> {
    const NAME: &str = "pki_cert";
    let path = |key: &str| -> Result<PathBuf, Failure> {
        ca.get(key)
            .filter(|v| v.is_string())
            .map(|v| v.to_string().into())
            .ok_or_else(|| {
                Failure::invalid(
                    NAME,
                    format!("ca.{key} is missing: pass the map pki_ca returned"),
                )
            })
    };
    let files = CertFiles {
        cert: path("cert")?,
        key: path("key")?,
    };
    let dir = path("dir")?;
    // Certificates are written next to their CA, inside the state dir, and only there:
    // `pki/NAME`, or `pki/DOMAIN/NAME` for a named cluster's.
    let pki = Some(std::ffi::OsStr::new("pki"));
    let parent = dir.parent();
    let under_pki = parent.and_then(|p| p.file_name()) == pki
        || parent.and_then(|p| p.parent()).and_then(|p| p.file_name()) == pki;
    if dir
        .components()
        .any(|c| c == std::path::Component::ParentDir)
        || !under_pki
    {
        return Err(Failure::invalid(
            NAME,
            format!("ca.dir {} is not a CA folder rigger made", dir.display()),
        )
        .with_help("pass the map pki_ca returned"));
    }
    let name = ca.get("name").map(|v| v.to_string()).unwrap_or_default();
    Ok(CaFiles { name, dir, files })
}
