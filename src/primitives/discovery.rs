//! `discovery_check`: the doctor's reading of a discovery zone, for a script to act on
//! before any etcd starts.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};
use serde::Deserialize;

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::etcd::cluster_arg;
use super::failure::Failure;
use super::typed::{Folder, Label, PeerName, Port, ServerAddr};
use crate::providers::discovery::{Diagnosis, DiscoveryCheck, EtcdVersion, Scheme};

/// The script's options, each checked as it is read (see the doc below).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckOptions {
    tls: Option<bool>,
    etcd_version: Option<EtcdVersion>,
    peer_port: Option<Port>,
    peers: Option<Vec<PeerName>>,
    service_name: Option<Label>,
    servers: Option<Vec<ServerAddr>>,
    certs: Option<Folder>,
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Reads the discovery records of the cluster `cluster` (its domain, or `DOMAIN/NAME`
        /// as `cluster_find` takes it) as etcd will (the SRV names it looks up,
        /// each target's address, the answer's bytes) and says what is wrong, as `rigger doctor`
        /// does. Returns `#{status, findings, unchecked, text}`: `status` is "clean", "warning"
        /// or "error"; each finding is `#{id, severity, subject, message, evidence, fix, text}`,
        /// worst first. Asks the zone's own servers, as `wait_resolves` does. Options: `tls`
        /// (the members' scheme; default: what the records imply), `etcd_version` ("3.4",
        /// "3.5"; default: both are judged), `peer_port` (what members advertise, default
        /// 2380), `peers` (the members' SRV targets, "name" or "name:port", compared with
        /// the records), `service_name` (etcd's `--discovery-srv-name`), `servers` ("ip:port"
        /// to ask instead), `certs` (a folder of the members' certificates, `NAME.crt`, whose
        /// SANs must name each target and its address).
        fn discovery_check(c, cluster: &str, options: Map) -> Map { check(c, cluster, options) }
    }
    primitive! { engine, cx,
        /// `discovery_check(cluster, #{})`.
        fn discovery_check(c, cluster: &str) -> Map { check(c, cluster, Map::new()) }
    }
}

fn check(c: &Call, cluster: &str, options: Map) -> Result<Map, Box<EvalAltResult>> {
    let key = cluster_arg(c, cluster)?;
    let options: CheckOptions = c.options_as(options)?;
    if let (Some(named), Some(option)) = (&key.name, &options.service_name)
        && *named != option.0
    {
        return Err(c
            .invalid(format!(
                "options.service_name {} is not the name {key} gives",
                option.0
            ))
            .into());
    }
    let mut request = request(&key.domain, options);
    request.service_name = request.service_name.or(key.name);
    let diagnosis = c.on_world(Duration::from_secs(120), move |world| async move {
        let (dns, probe) = (world.backends.dns.clone(), world.backends.probe.clone());
        // Before the members start: no cluster to ask.
        crate::world::doctor::check_discovery(Some(dns), probe, request, None).await
    })?;
    result(c, &diagnosis)
}

/// The script's options as the doctor's request.
fn request(domain: &str, o: CheckOptions) -> DiscoveryCheck {
    let mut check = DiscoveryCheck::new(domain);
    check.scheme = o
        .tls
        .map(|tls| if tls { Scheme::Https } else { Scheme::Http });
    check.version = o.etcd_version;
    check.peer_port = o.peer_port.map_or(check.peer_port, |p| p.0);
    check.peers = o.peers.map(|p| p.into_iter().map(|p| p.0).collect());
    check.service_name = o.service_name.map(|l| l.0);
    check.servers = o
        .servers
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.0)
        .collect();
    check.certs = o.certs.map(|f| f.0);
    check
}

fn result(c: &Call, diagnosis: &Diagnosis) -> Result<Map, Box<EvalAltResult>> {
    let mut map = c.to_value(diagnosis)?.cast::<Map>();
    let findings: Array = diagnosis
        .findings
        .iter()
        .map(|f| -> Result<Dynamic, Failure> {
            let mut m = c.to_value(f)?.cast::<Map>();
            m.insert("text".into(), f.line().into());
            Ok(m.into())
        })
        .collect::<Result<_, _>>()?;
    map.insert("findings".into(), findings.into());
    map.insert("text".into(), diagnosis.text().trim_end().into());
    Ok(map)
}
