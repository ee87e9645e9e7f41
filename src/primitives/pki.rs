//! `pki_ca`, `pki_cert`: a cluster CA and certificates, kept in the state dir.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, Map};

use super::call::primitive;
use super::context::ScriptContext;
use super::failure::Failure;
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
            let ca = ca_of(&ca)?;
            let leaf: LeafSpec = c.spec_as("spec", spec)?;
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
