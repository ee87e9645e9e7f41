//! A member's Prometheus metrics (`/metrics`), for the gauges rigger reads: the backend
//! quota a member runs with, which nothing else in etcd's API says.

use std::net::SocketAddr;

use super::etcd_client::{cause, credentials, http_client};
use super::resolve;
use crate::base::error::{Error, Result};
use crate::providers::tls::TlsFiles;

/// The backend quota of the member at `endpoint` (its client URL, its name resolved at
/// `server`), in bytes: `etcd_server_quota_backend_bytes`. `None` when it does not say.
pub async fn quota(
    endpoint: &str,
    tls: Option<&TlsFiles>,
    server: SocketAddr,
) -> Result<Option<u64>> {
    let (host, addr) = resolve::endpoint_address(server, endpoint)
        .await
        .map_err(Error::failed)?;
    let creds = tls.map(credentials).transpose()?;
    let client = http_client(creds.as_ref(), &host, addr, false).map_err(Error::failed)?;
    let text = client
        .get(format!("{endpoint}/metrics"))
        .send()
        .await
        .map_err(|e| Error::failed(format!("{endpoint}/metrics: {}", cause(&e))))?
        .text()
        .await
        .map_err(|e| Error::failed(format!("{endpoint}/metrics: {}", cause(&e))))?;
    Ok(gauge(&text, "etcd_server_quota_backend_bytes").map(|v| v as u64))
}

/// The value of the gauge `name` (without labels) in Prometheus's text format.
fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_is_read_by_its_whole_name() {
        let text = "# HELP etcd_server_quota_backend_bytes Current backend storage quota size in bytes.\n\
                    # TYPE etcd_server_quota_backend_bytes gauge\n\
                    etcd_server_quota_backend_bytes_other 1\n\
                    etcd_server_quota_backend_bytes 2.147483648e+09\n";
        assert_eq!(
            gauge(text, "etcd_server_quota_backend_bytes"),
            Some(2_147_483_648.0)
        );
        assert_eq!(gauge(text, "etcd_missing"), None);
    }
}
