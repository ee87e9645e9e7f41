//! `etcd_health`: the cluster's health as the seed's `etcdctl cluster-health` showed it.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, FuncRegistration, Map};

use super::convert::to_value;
use super::{Failure, Options, on_world};
use crate::host::Host;
use crate::providers::records::check_name;
use crate::services::health::{Status, TlsFiles};

const NAME: &str = "etcd_health";

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    FuncRegistration::new(NAME)
        .with_params_info(["domain: String", "tls: Map", "Map"])
        .with_comments(["/// Finds the members of the cluster under `domain` through its client SRV records and\n/// asks each for its health over TLS (`tls`: `#{ca, cert, key}` file paths, a client\n/// certificate of the cluster's CA). Returns `#{status, members, text}`: `status` is\n/// \"healthy\", \"degraded\" (quorum held) or \"unavailable\"; `text` is the report as the\n/// seed article printed it."])
        .register_into_engine(engine, move |domain: &str, tls: Map| -> Result<Map, Box<EvalAltResult>> {
            let domain = check_name(domain, false).map_err(|why| Failure::invalid(NAME, format!("{domain:?} is not a valid domain: {why}")))?;
            let options = Options::new(NAME, tls, &["ca", "cert", "key", "dir", "name"])?;
            let file = |key: &str| -> Result<std::path::PathBuf, Failure> {
                options
                    .get(key)
                    .filter(|v| v.is_string())
                    .map(|v| v.to_string().into())
                    .ok_or_else(|| Failure::invalid(NAME, format!("tls.{key} (a file path) is required")))
            };
            let tls = TlsFiles { ca: file("ca")?, cert: file("cert")?, key: file("key")? };
            let report = on_world(&h, NAME, Duration::from_secs(30), move |world| async move {
                world.health(&domain, &tls).await.map_err(|e| Failure::from_provider(NAME, e))
            })?;
            let mut map = to_value(NAME, &report)?.cast::<Map>();
            map.insert("text".into(), report.text().trim_end().into());
            let healthy = matches!(report.status, Status::Healthy | Status::Planned);
            map.insert("healthy".into(), healthy.into());
            Ok(map)
        });
}
