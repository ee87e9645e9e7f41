//! `rigger health --discovery-srv DOMAIN`: the seed's cluster-health report.

use std::path::PathBuf;
use std::sync::Arc;

use crate::base::error::{self, ErrorKind};
use crate::cli::WriteOut;
use crate::cli::exit;
use crate::providers::TlsFiles;
use crate::providers::etcd_api::{ClusterAt, EtcdApi, Status};
use crate::world::WorldConfig;
use crate::world::query::Query;

/// Which cluster a query asks, and with which client files (`--ca`, `--cert`, `--key`;
/// default: those rigger made for the domain).
pub struct Client {
    pub domain: String,
    /// `--discovery-srv-name`.
    pub name: Option<String>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

pub struct HealthArgs {
    pub client: Client,
    pub write_out: WriteOut,
    /// rigger's own report rather than etcdctl's shapes.
    pub json: bool,
}

pub fn health(config: &WorldConfig, args: HealthArgs) -> u8 {
    // As given, for the messages that repeat it.
    let given = args.client.domain.clone();
    let report = ask_cluster("health", config, args.client, |etcd, at| async move {
        etcd.health(&at).await
    });
    let report = match report {
        Ok(report) => report,
        Err(status) => return status,
    };
    let lab_dns = crate::providers::backends::dns(&config.spec.dns).is_ok_and(|d| d.lab_server);
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // Only the lab's own server can be listed: it is the lab status's zones.
            let help = match e.kind {
                ErrorKind::NotFound if lab_dns && e.help.is_none() => Some(format!(
                    "the lab's DNS server has only the zones `rigger lab status` lists; `rigger run cluster --set domain={}` makes one for {}",
                    given, given
                )),
                _ => e.help,
            };
            return super::fail(format!("health: {}", e.message), help);
        }
    };
    let text = match (args.json, args.write_out) {
        (true, _) => super::json_text(&report),
        (false, WriteOut::Simple) => report.text(),
        (false, WriteOut::Table) => super::endpoints::table(&report),
        (false, WriteOut::Json) => super::endpoints::json(&report),
    };
    crate::base::output::data(&text);
    if report.status != Status::Healthy {
        tracing::info!(
            "`rigger doctor --discovery-srv {given}` checks the records the members were found by"
        );
    }
    match report.status {
        Status::Healthy => exit::OK,
        Status::Degraded => exit::DEGRADED,
        Status::Unavailable => exit::UNAVAILABLE,
    }
}

/// Asks the cluster a query names: its checked domain and client files, the light
/// world, the zone's servers, then `call` with the etcd client. The outer Err is the
/// exit status, the failure said; the inner result is what asking found.
pub fn ask_cluster<T, F, Fut>(
    command: &str,
    config: &WorldConfig,
    client: Client,
    call: F,
) -> Result<error::Result<T>, u8>
where
    T: Send + 'static,
    F: FnOnce(Arc<dyn EtcdApi>, ClusterAt) -> Fut + Send + 'static,
    Fut: Future<Output = error::Result<T>> + Send + 'static,
{
    let service_name = client.name.clone();
    let (domain, tls) = asked(command, config, client)?;
    let world = existing_world(config)?;
    let (dns, etcd) = (world.dns.clone(), world.etcd.clone());
    Ok(world.block_on(async move {
        let servers = dns.authoritative(&domain).await?;
        call(
            etcd,
            ClusterAt {
                domain,
                service_name,
                tls,
                servers,
            },
        )
        .await
    }))
}

/// The checked domain a query asks, and its TLS files (below); Err is the exit status,
/// the failure said.
pub fn asked(
    command: &str,
    config: &WorldConfig,
    client: Client,
) -> Result<(String, Option<TlsFiles>), u8> {
    let domain = super::discovery_domain(&client.domain)?;
    // A named cluster's files are in its own folder below the domain's.
    let key = super::cluster_key(&domain, client.name.as_deref())?;
    let tls = client_files(command, config, &key, client.ca, client.cert, client.key)?;
    Ok((domain, tls))
}

/// The TLS files to ask the cluster under `domain` with: those given (checked at once),
/// else the CA and client certificate `cluster.rhai` made for it; None when neither
/// (a cluster without TLS, asked over plain HTTP; one that speaks TLS is then said to
/// need them). Err is the exit status, the failure said.
pub fn client_files(
    command: &str,
    config: &WorldConfig,
    domain: &str,
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Option<TlsFiles>, u8> {
    let pki = config.state.root().join("pki").join(domain);
    let given = ca.is_some() || cert.is_some() || key.is_some();
    let tls = TlsFiles {
        ca: ca.unwrap_or_else(|| pki.join("ca.crt")),
        cert: cert.unwrap_or_else(|| pki.join("client.crt")),
        key: key.unwrap_or_else(|| pki.join("client.key")),
    };
    // Files given by hand are checked first; the defaults only once the domain is known
    // to exist, since a domain with no cluster has no files either.
    if given && let Err(e) = crate::services::etcd_client::check_files(&tls) {
        let e = crate::base::error::Error::from(e);
        return Err(super::fail(format!("{command}: {}", e.message), e.help));
    }
    Ok((given || pki.exists()).then_some(tls))
}

/// The world of the state dir as a query sees it, which must exist; Err is the exit
/// status, the failure said.
pub fn existing_world(config: &WorldConfig) -> Result<Query, u8> {
    match Query::open(config) {
        Ok(Some(w)) => Ok(w),
        Ok(None) => Err(super::fail(
            format!("there is no lab in {}", config.state.root().display()),
            Some("`rigger run cluster` builds one".into()),
        )),
        Err(e) => Err(super::fail(e.message, e.help)),
    }
}
