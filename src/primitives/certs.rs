//! `cert_info`, `served_cert`: a certificate read from a file, and the one a member
//! actually serves, read from a TLS handshake with it (for a rotation to see the new
//! serial served before it moves on).

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::etcd::{cluster_arg, tls_files};
use crate::base::error::Error;
use crate::base::names::check_name;
use crate::services::cert_info::{CertInfo, from_pem};

fn info_map(c: &Call, info: &CertInfo) -> Result<Map, Box<rhai::EvalAltResult>> {
    let mut m = c.to_map(info)?;
    let days = info.days_left(time::OffsetDateTime::now_utc());
    m.insert("days_left".into(), days.into());
    m.insert("ends".into(), info.end_date().into());
    Ok(m)
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// The certificate in the PEM file `path` on this machine (the first, when it holds
        /// a bundle) as `#{subject, issuer, sans, serial, not_before, not_after, ends,
        /// days_left}`: `serial` in hex as openssl prints it, the dates RFC 3339, `ends` as
        /// people read it.
        fn cert_info(c, path: &str) -> Map {
            let bytes = std::fs::read(path)
                .map_err(|e| c.invalid(format!("cannot read {path}: {e}")))?;
            let all = from_pem(&bytes)
                .map_err(|why| c.invalid(format!("{path} is no certificate: {why}")))?;
            info_map(c, &all[0])
        }
    }
    primitive! { engine, cx,
        /// The certificate the member at `host` (a name in the zone of the cluster's domain,
        /// resolved there; `cluster` as `cluster_find` takes it) serves on `port`, read from a TLS handshake presenting the client
        /// certificate of `tls` (as `etcd_health` takes it): `#{subject, issuer, sans,
        /// serial, not_before, not_after, ends, days_left}`, whatever it is (expired, from
        /// another CA). Throws when no handshake happens within 5 s.
        fn served_cert(c, cluster: &str, tls: Map, host: &str, port: i64) -> Map {
            let domain = cluster_arg(c, cluster)?.domain;
            let host = check_name(host, false)
                .map_err(|why| c.invalid(format!("{host:?} is not a host name: {why}")))?;
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| c.invalid(format!("port {port} is not a TCP port (1 to 65535)")))?;
            let tls = tls_files(c, tls)?
                .ok_or_else(|| c.invalid("tls is required: a member asks a client for its certificate"))?;
            let info = c.on_world(Duration::from_secs(15), move |world| async move {
                let servers = world.backends.dns.authoritative(&domain).await?;
                let server = *servers
                    .first()
                    .ok_or_else(|| Error::missing(format!("no DNS server for {domain}")))?;
                let ip = crate::services::resolve::address(server, &host)
                    .await
                    .ok_or_else(|| Error::not_found(format!("{host} has no address at {server}")))?;
                let me = crate::services::served_cert::Identity::from_files(&tls.cert, &tls.key)
                    .map_err(Error::invalid)?;
                let addr = std::net::SocketAddr::new(ip, port);
                crate::services::served_cert::served(addr, &host, Some(&me))
                    .await
                    .map_err(Error::failed)
            })?;
            info_map(c, &info)
        }
    }
}
