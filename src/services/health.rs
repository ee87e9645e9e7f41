//! Cluster health the way the seed article's `etcdctl cluster-health` reported it:
//! members found through the client SRV records, each asked over TLS.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use serde::Serialize;

use super::resolve::{self, Answer};

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// etcd's member ID in hex, when some member could tell it.
    pub id: Option<String>,
    pub endpoint: String,
    pub healthy: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Healthy,
    /// Some members are down but a quorum answers.
    Degraded,
    /// No quorum: the cluster cannot serve writes.
    Unavailable,
    /// A dry run: nothing was asked.
    Planned,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub status: Status,
    pub members: Vec<Member>,
}

impl Report {
    /// The seed's output: one line per member, then the verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for m in &self.members {
            let id = m.id.as_deref().unwrap_or("(id unknown)");
            if m.healthy {
                out.push_str(&format!(
                    "member {id} is healthy: got healthy result from {}\n",
                    m.endpoint
                ));
            } else {
                out.push_str(&format!("member {id} is unhealthy: {}\n", m.detail));
            }
        }
        let healthy = self.members.iter().filter(|m| m.healthy).count();
        let total = self.members.len();
        out.push_str(&match self.status {
            Status::Healthy => "cluster is healthy\n".to_string(),
            Status::Degraded => {
                format!("cluster is degraded: {healthy} of {total} members healthy, quorum held\n")
            }
            Status::Unavailable => {
                format!("cluster is unavailable: {healthy} of {total} members healthy, no quorum\n")
            }
            Status::Planned => format!(
                "(dry run) the health of the cluster under {} would be checked here\n",
                self.domain
            ),
        });
        out
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
    crate::human::root_cause(e)
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
) -> Result<Report, String> {
    let server = *servers.first().ok_or("no DNS server to ask")?;
    let (service, scheme) = if tls.is_some() {
        ("_etcd-client-ssl", "https")
    } else {
        ("_etcd-client", "http")
    };
    let srv_name = format!("{service}._tcp.{domain}");
    let targets = resolve::ask(server, &srv_name, RecordType::SRV).await?;
    if targets.is_empty() {
        return Err(format!(
            "{srv_name} has no SRV records at {server}: no members to ask"
        ));
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
        let (endpoint, healthy, detail, id, list) = h.await.map_err(|e| e.to_string())?;
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
