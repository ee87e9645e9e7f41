//! Cluster health the way the seed article's `etcdctl cluster-health` reported it:
//! members found through the client SRV records, each asked over TLS.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::resolve::{self, ResolveError};
use crate::base::error::Error;
use crate::providers::probe::{Answer, Member, Report, Status, TlsFiles};

/// Why the members could not even be asked.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("no DNS server to ask about the cluster")]
    NoServer,
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    #[error("{srv_name} has no SRV records at {server}: no members to ask")]
    NoMembers {
        srv_name: String,
        server: SocketAddr,
    },
    #[error("a member check ended without an answer: {0}")]
    Lost(String),
}

impl From<HealthError> for Error {
    fn from(e: HealthError) -> Self {
        match e {
            HealthError::Resolve(r) => r.into(),
            HealthError::NoServer => Error::missing(e.to_string()),
            other => Error::failed(other.to_string()),
        }
    }
}

fn status_of(healthy: usize, total: usize) -> Status {
    if total > 0 && healthy == total {
        Status::Healthy
    } else if healthy > total / 2 {
        Status::Degraded
    } else {
        Status::Unavailable
    }
}

fn client(tls: &TlsFiles, target: &str, addr: SocketAddr) -> Result<reqwest::Client, String> {
    let read =
        |p: &PathBuf| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let ca = reqwest::Certificate::from_pem(&read(&tls.ca)?).map_err(|e| e.to_string())?;
    let mut pem = read(&tls.cert)?;
    pem.extend(read(&tls.key)?);
    let identity = reqwest::Identity::from_pem(&pem).map_err(|e| e.to_string())?;
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(identity)
        // The address comes from the zone's own server: never from the system resolver,
        // and never through a proxy.
        .resolve(target, addr)
        .no_proxy()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())
}

/// The reason a request failed, without the os error number.
fn cause(e: &dyn std::error::Error) -> String {
    crate::base::human::root_cause(e)
        .trim_end_matches(" (os error 111)")
        .to_string()
}

async fn member_id(client: &reqwest::Client, base: &str) -> Option<String> {
    let v: serde_json::Value = client
        .post(format!("{base}/v3/maintenance/status"))
        .body("{}")
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let id: u64 = v.pointer("/header/member_id")?.as_str()?.parse().ok()?;
    Some(format!("{id:x}"))
}

/// Client URL -> member ID, as one member reports the membership.
async fn membership(client: &reqwest::Client, base: &str) -> BTreeMap<String, String> {
    let Ok(resp) = client
        .post(format!("{base}/v3/cluster/member/list"))
        .body("{}")
        .send()
        .await
    else {
        return BTreeMap::new();
    };
    let Ok(v) = resp.json::<serde_json::Value>().await else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for m in v
        .get("members")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
    {
        let Some(id) = m
            .get("ID")
            .and_then(|i| i.as_str())
            .and_then(|i| i.parse::<u64>().ok())
        else {
            continue;
        };
        for url in m
            .get("clientURLs")
            .and_then(|u| u.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(url) = url.as_str() {
                out.insert(url.trim_end_matches('/').to_string(), format!("{id:x}"));
            }
        }
    }
    out
}

/// Finds the members of `domain` through `servers` and asks each for its health.
pub async fn check(
    domain: &str,
    tls: Option<&TlsFiles>,
    servers: &[SocketAddr],
) -> Result<Report, HealthError> {
    let server = *servers.first().ok_or(HealthError::NoServer)?;
    let (service, scheme) = if tls.is_some() {
        ("_etcd-client-ssl", "https")
    } else {
        ("_etcd-client", "http")
    };
    let srv_name = format!("{service}._tcp.{domain}");
    let targets = resolve::ask(server, &srv_name, RecordType::SRV).await?;
    if targets.is_empty() {
        return Err(HealthError::NoMembers { srv_name, server });
    }
    let checks = targets.into_iter().filter_map(|a| match a {
        Answer::Srv { target, port } => Some((target, port)),
        _ => None,
    });
    let mut handles = Vec::new();
    for (target, port) in checks {
        let tls = tls.cloned();
        handles.push(tokio::spawn(async move {
            let endpoint = format!("{scheme}://{target}:{port}");
            let ip = match resolve::ask(server, &target, RecordType::A).await {
                Ok(set) => set.into_iter().find_map(|a| match a {
                    Answer::Ip(ip) => Some(ip),
                    _ => None,
                }),
                Err(_) => None,
            };
            let Some(ip): Option<IpAddr> = ip else {
                return (
                    endpoint.clone(),
                    false,
                    format!("{target} does not resolve at {server}"),
                    None,
                    BTreeMap::new(),
                );
            };
            let client = match &tls {
                Some(tls) => client(tls, &target, SocketAddr::new(ip, port)),
                None => reqwest::Client::builder()
                    .resolve(&target, SocketAddr::new(ip, port))
                    .no_proxy()
                    .timeout(Duration::from_secs(3))
                    .build()
                    .map_err(|e| e.to_string()),
            };
            let client = match client {
                Ok(c) => c,
                Err(e) => return (endpoint, false, e, None, BTreeMap::new()),
            };
            let (healthy, detail) = match client.get(format!("{endpoint}/health")).send().await {
                Ok(resp) => match resp.json::<serde_json::Value>().await {
                    Ok(v) if v.get("health").and_then(|h| h.as_str()) == Some("true") => {
                        (true, String::new())
                    }
                    Ok(v) => (false, format!("got unhealthy result from {endpoint}: {v}")),
                    Err(e) => (
                        false,
                        format!(
                            "{endpoint} answered something that is not a health report: {}",
                            cause(&e)
                        ),
                    ),
                },
                Err(e) => (false, format!("cannot reach {endpoint}: {}", cause(&e))),
            };
            // A member that answers at all can say who is who, even without a leader.
            let reachable = healthy || detail.starts_with("got unhealthy");
            let (id, members) = if reachable {
                (
                    member_id(&client, &endpoint).await,
                    membership(&client, &endpoint).await,
                )
            } else {
                (None, BTreeMap::new())
            };
            (endpoint, healthy, detail, id, members)
        }));
    }
    let mut members = Vec::new();
    let mut known = BTreeMap::new();
    for h in handles {
        let (endpoint, healthy, detail, id, list) =
            h.await.map_err(|e| HealthError::Lost(e.to_string()))?;
        known.extend(list);
        members.push(Member {
            id,
            endpoint,
            healthy,
            detail,
        });
    }
    for m in &mut members {
        if m.id.is_none() {
            m.id = known.get(&m.endpoint).cloned();
        }
    }
    let healthy = members.iter().filter(|m| m.healthy).count();
    Ok(Report {
        domain: domain.to_string(),
        status: status_of(healthy, members.len()),
        members,
        assumed: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_decides_between_degraded_and_unavailable() {
        assert_eq!(status_of(3, 3), Status::Healthy);
        assert_eq!(status_of(2, 3), Status::Degraded);
        assert_eq!(status_of(1, 3), Status::Unavailable);
        assert_eq!(status_of(3, 5), Status::Degraded);
        assert_eq!(status_of(2, 5), Status::Unavailable);
        assert_eq!(status_of(0, 0), Status::Unavailable);
    }
}
