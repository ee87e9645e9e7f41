//! Waiting until every member of a cluster says it is healthy, asked as lightly as it
//! can be: the members found once, one kept-alive connection each, only `/health` on
//! every poll. A full health check (health.rs) reads the raft status, the membership
//! and the drift of every member, about thirty milliseconds a time; polled that way a
//! booting cluster is seen healthy a whole check late, and the checks take CPU from
//! the members still starting.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::etcd_client::{Credentials, credentials, http_client};
use super::health::{HealthError, client_targets};
use super::resolve;
use crate::providers::etcd_api::ClusterAt;

/// A member as the wait asks it: its endpoint, and once its name resolved, a client
/// that keeps its connection.
struct Asked {
    endpoint: String,
    target: String,
    port: u16,
    creds: Option<Credentials>,
    client: Option<reqwest::Client>,
}

impl Asked {
    /// Whether the member answers `/health` with `"health": "true"` now.
    async fn healthy(&mut self, server: SocketAddr) -> bool {
        if self.client.is_none() {
            let Some(ip) = resolve::address(server, &self.target).await else {
                return false;
            };
            let addr = SocketAddr::new(ip, self.port);
            self.client = http_client(self.creds.as_ref(), &self.target, addr, false).ok();
        }
        let Some(client) = &self.client else {
            return false;
        };
        let Ok(resp) = client.get(format!("{}/health", self.endpoint)).send().await else {
            return false;
        };
        resp.json::<serde_json::Value>()
            .await
            .is_ok_and(|v| v.get("health").and_then(|h| h.as_str()) == Some("true"))
    }
}

/// The members under `domain`'s client SRV records, or none yet (a zone that does not
/// answer yet is waited for like one without records).
async fn members(at: &ClusterAt, server: SocketAddr, creds: Option<&Credentials>) -> Vec<Asked> {
    let (found, _) = client_targets(at, server).await.unwrap_or_default();
    found
        .into_iter()
        .map(|(target, port, scheme)| Asked {
            endpoint: format!("{scheme}://{target}:{port}"),
            target,
            port,
            creds: creds.cloned().filter(|_| scheme == "https"),
            client: None,
        })
        .collect()
}

/// How often a wait asks: members that just started answer within milliseconds, and
/// each ask is a handful of loopback or LAN requests.
const INTERVAL: Duration = Duration::from_millis(10);

/// Waits up to `within` until every member under `domain` (found through `servers`)
/// answers healthy, asking all of them together every `INTERVAL`. Returns whether they
/// did; what is wrong, if not, is the full check's to say. Fails only on files that
/// cannot be used to ask at all.
pub async fn wait_healthy(at: &ClusterAt, within: Duration) -> Result<bool, HealthError> {
    let server = *at.servers.first().ok_or(HealthError::NoServer)?;
    let creds = at.tls.as_ref().map(credentials).transpose()?;
    let deadline = Instant::now() + within;
    let mut asked: Vec<Asked> = Vec::new();
    loop {
        if asked.is_empty() {
            asked = members(at, server, creds.as_ref()).await;
            // TLS members and no client certificate: no wait can end well, and the
            // full check says what is missing.
            if asked
                .iter()
                .any(|m| m.endpoint.starts_with("https:") && m.creds.is_none())
            {
                return Ok(false);
            }
        }
        if !asked.is_empty() {
            let polls = asked.iter_mut().map(|m| m.healthy(server));
            if futures::future::join_all(polls)
                .await
                .into_iter()
                .all(|h| h)
            {
                return Ok(true);
            }
        }
        if Instant::now() + INTERVAL > deadline {
            return Ok(false);
        }
        tokio::time::sleep(INTERVAL).await;
    }
}
