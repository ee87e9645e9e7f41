//! `discovery_check`: the doctor's reading of a discovery zone, for a script to act on
//! before any etcd starts.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::etcd::domain_arg;
use super::failure::Failure;
use super::options::Options;
use crate::base::names::check_name;
use crate::providers::discovery::{Diagnosis, DiscoveryCheck, EtcdVersion, Scheme};

const NAME: &str = "discovery_check";

const KNOWN: &[&str] = &[
    "tls",
    "etcd_version",
    "peer_port",
    "peers",
    "service_name",
    "servers",
    "certs",
];

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Reads the discovery records under `domain` as etcd will (the SRV names it looks up,
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
        fn discovery_check(c, domain: &str, options: Map) -> Map { check(c, domain, options) }
    }
    primitive! { engine, cx,
        /// `discovery_check(domain, #{})`.
        fn discovery_check(c, domain: &str) -> Map { check(c, domain, Map::new()) }
    }
}

fn check(c: &Call, domain: &str, options: Map) -> Result<Map, Box<EvalAltResult>> {
    let domain = domain_arg(c, domain)?;
    let request = request(&domain, &c.options(options, KNOWN)?)?;
    let diagnosis = c.on_world(Duration::from_secs(120), move |world| async move {
        let (dns, probe) = (world.backends.dns.clone(), world.backends.probe.clone());
        // Before the members start: no cluster to ask.
        crate::world::doctor::check_discovery(Some(dns), probe, request, None).await
    })?;
    result(c, &diagnosis)
}

/// The script's options as the doctor's request; each bad one named.
fn request(domain: &str, options: &Options) -> Result<DiscoveryCheck, Failure> {
    let mut check = DiscoveryCheck::new(domain);
    if let Some(v) = options.get("tls") {
        let tls = v
            .as_bool()
            .map_err(|t| Failure::invalid(NAME, format!("tls must be true or false, got {t}")))?;
        check.scheme = Some(if tls { Scheme::Https } else { Scheme::Http });
    }
    if let Some(v) = options.get("etcd_version") {
        let text = v.clone().into_string().map_err(|t| {
            Failure::invalid(
                NAME,
                format!("etcd_version must be a string such as \"3.5\", got {t}"),
            )
        })?;
        let version = EtcdVersion::parse(&text)
            .map_err(|why| Failure::invalid(NAME, format!("etcd_version: {why}")))?;
        check.version = Some(version);
    }
    if let Some(v) = options.get("peer_port") {
        let port = v
            .as_int()
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                Failure::invalid(
                    NAME,
                    format!("peer_port must be a port from 1 to 65535, got {v}"),
                )
            })?;
        check.peer_port = port;
    }
    if let Some(v) = options.get("service_name") {
        let name = v.to_string();
        if !v.is_string() || name.contains('.') || check_name(&name, false).is_err() {
            return Err(Failure::invalid(
                NAME,
                format!("service_name must be one DNS label (letters, digits, hyphens), got {v}"),
            ));
        }
        check.service_name = Some(name);
    }
    if let Some(v) = options.get("certs") {
        let dir = std::path::PathBuf::from(v.to_string());
        if !v.is_string() || !dir.is_dir() {
            return Err(Failure::invalid(
                NAME,
                format!("certs must be the folder of the members' certificates, got {v}"),
            ));
        }
        check.certs = Some(dir);
    }
    if let Some(v) = options.get("peers") {
        check.peers = Some(peers(v)?);
    }
    if let Some(v) = options.get("servers") {
        check.servers = array(v, "servers")?
            .iter()
            .map(|s| {
                s.to_string()
                    .parse::<SocketAddr>()
                    .map_err(|_| Failure::invalid(NAME, format!("server {s} is not ip:port")))
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(check)
}

fn array(value: &Dynamic, what: &str) -> Result<Array, Failure> {
    value
        .clone()
        .into_array()
        .map_err(|t| Failure::invalid(NAME, format!("{what} must be an array, got {t}")))
}

/// "n1.d.test", "n1.d.test:2380" or `#{target, port}`: the target's name.
fn peers(value: &Dynamic) -> Result<BTreeSet<String>, Failure> {
    let mut out = BTreeSet::new();
    for item in array(value, "peers")? {
        let text = match item.read_lock::<Map>() {
            Some(map) => map.get("target").map(|t| t.to_string()).unwrap_or_default(),
            None => item.to_string(),
        };
        let host = match text.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => host,
            _ => text.as_str(),
        };
        let name = check_name(host, false)
            .map_err(|why| Failure::invalid(NAME, format!("peer {item} is not a name: {why}")))?;
        out.insert(name);
    }
    Ok(out)
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
