//! `pki_ca`, `pki_cert`: a cluster CA and certificates, kept in the state dir.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Engine, Map};

use super::call::primitive;
use super::context::ScriptContext;
use super::failure::Failure;
use super::options::Options;
use crate::base::names::check_name;
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
        /// state dir, the key readable by its owner only.
        fn pki_ca(c, name: &str) -> Map {
            let name = check_name(name, false)
                .map_err(|why| c.invalid(format!("{name:?} is not a valid CA name: {why}")))?;
            c.creating().on_world(LIMIT, move |world| async move {
                let local = &world.backends.local;
                let ca = local.ca(&name);
                local.ensure_ca(&ca)?;
                let mut m = files_map(&ca.files);
                m.insert("name".into(), name.into());
                m.insert("dir".into(), ca.dir.to_string_lossy().into_owned().into());
                Ok(m)
            })
        }
    }
    primitive! { engine, cx,
        /// Issues a certificate signed by `ca` and returns `#{cert, key}` (paths).
        /// `spec`: `name` (file name), `dns` and `ips` (arrays of SANs), `server` and `client`
        /// (extended key usages, both true by default: etcd peers need both).
        fn pki_cert(c, ca: Map, spec: Map) -> Map {
            let (ca, leaf) = (ca_of(&ca)?, leaf_of(spec)?);
            c.creating().on_world(LIMIT, move |world| async move {
                Ok(files_map(&world.backends.local.issue(&ca, &leaf)?))
            })
        }
    }
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
    // Certificates are written next to their CA, inside the state dir, and only there.
    if dir
        .components()
        .any(|c| c == std::path::Component::ParentDir)
        || dir.parent().and_then(|p| p.file_name()) != Some(std::ffi::OsStr::new("pki"))
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

/// A script's certificate spec as a checked `LeafSpec`.
fn leaf_of(spec: Map) -> Result<LeafSpec, Failure> {
    const NAME: &str = "pki_cert";
    let options = Options::new(NAME, spec, &["name", "dns", "ips", "server", "client"])?;
    let name = options
        .get("name")
        .filter(|v| v.is_string())
        .map(|v| v.to_string())
        .ok_or_else(|| Failure::invalid(NAME, "spec.name (a string) is required"))?;
    // A file name: one DNS-style label, and never the CA's own.
    if check_name(&name, false).is_err() || name.contains('.') || name == "ca" {
        return Err(Failure::invalid(
            NAME,
            format!("spec.name {name:?} must be one label (letters, digits, hyphens), not \"ca\""),
        ));
    }
    let strings = |key: &str| -> Result<Vec<String>, Failure> {
        let Some(v) = options.get(key) else {
            return Ok(Vec::new());
        };
        v.clone()
            .into_typed_array::<String>()
            .or_else(|_| {
                v.clone()
                    .into_array()
                    .map(|a: Array| a.iter().map(|x| x.to_string()).collect())
            })
            .map_err(|t| {
                Failure::invalid(
                    NAME,
                    format!("spec.{key} must be an array of strings, got {t}"),
                )
            })
    };
    let dns = strings("dns")?
        .into_iter()
        .map(|d| {
            check_name(&d, false).map_err(|why| {
                Failure::invalid(NAME, format!("{d:?} is not a valid DNS SAN: {why}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ips = strings("ips")?
        .into_iter()
        .map(|i| {
            i.parse::<IpAddr>()
                .map_err(|_| Failure::invalid(NAME, format!("{i:?} is not an IP address")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let flag = |key: &str| {
        options.get(key).map_or(Ok(true), |v| {
            v.as_bool().map_err(|t| {
                Failure::invalid(NAME, format!("spec.{key} must be true or false, got {t}"))
            })
        })
    };
    Ok(LeafSpec {
        name,
        dns,
        ips,
        server: flag("server")?,
        client: flag("client")?,
    })
}
