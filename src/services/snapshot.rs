//! A snapshot of a cluster's data, saved from its leader through etcd's JSON gateway
//! (`/v3/maintenance/snapshot`, a stream of base64 chunks), as `etcdctl snapshot save`
//! saves one: the database file followed by its sha256, which is checked before the
//! file is kept. etcdctl and etcdutl restore such a file.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;

use super::etcd_client::{Credentials, cause, credentials};
use super::resolve;
use super::snapshot_file::{FileStatus, status};
use crate::base::error::{Error, Result};
use crate::providers::etcd_api::{Report, Snapshot};
use crate::providers::tls::TlsFiles;

/// Saves a snapshot from the leader `report` names to `to` (written beside it first,
/// renamed into place once its checksum holds).
pub async fn save(
    report: &Report,
    tls: Option<&TlsFiles>,
    server: SocketAddr,
    to: &Path,
) -> Result<Snapshot> {
    let leader = report
        .members
        .iter()
        .find(|m| m.is_leader && m.healthy)
        .ok_or_else(|| {
            Error::failed(format!(
                "no healthy leader under {} to take a snapshot from",
                report.domain
            ))
        })?;
    let url = url::Url::parse(&leader.endpoint)
        .map_err(|e| Error::failed(format!("{}: {e}", leader.endpoint)))?;
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port_or_known_default().unwrap_or(2379);
    let ip = resolve::address(server, &host)
        .await
        .ok_or_else(|| Error::failed(format!("{host} does not resolve at {server}")))?;
    let creds = tls.map(credentials).transpose()?;
    let client = streaming_client(creds.as_ref(), &host, SocketAddr::new(ip, port))?;
    let partial = to.with_extension("part");
    let saved = stream_to(&client, &leader.endpoint, &partial).await;
    let status = match saved {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to)
        .map_err(|e| Error::failed(format!("cannot keep {}: {e}", to.display())))?;
    Ok(Snapshot {
        path: to.to_path_buf(),
        bytes: status.bytes,
        from: leader.endpoint.clone(),
        version: leader.version.clone(),
        revision: status.revision,
        sha256: status.sha256,
    })
}

/// A client for a long answer: no limit on the whole, 30 s at most between reads.
fn streaming_client(
    creds: Option<&Credentials>,
    host: &str,
    addr: SocketAddr,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(c) = creds {
        builder = c.apply(builder);
    }
    builder
        .resolve(host, addr)
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::failed(e.to_string()))
}

/// Streams the snapshot at `endpoint` into `path` (mode 0600: it is every key of the
/// cluster), and reads it back as etcdutl would: its sha256, then every page.
async fn stream_to(client: &reqwest::Client, endpoint: &str, path: &Path) -> Result<FileStatus> {
    let failed = |why: String| Error::failed(format!("snapshot from {endpoint}: {why}"));
    let mut resp = client
        .post(format!("{endpoint}/v3/maintenance/snapshot"))
        .body("{}")
        .send()
        .await
        .map_err(|e| failed(cause(&e)))?;
    if !resp.status().is_success() {
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        return Err(failed(format!("{status}: {text}")));
    }
    let mut file = private_file(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    let mut chunks = Chunks::default();
    while let Some(bytes) = resp.chunk().await.map_err(|e| failed(cause(&e)))? {
        for blob in chunks.feed(&bytes).map_err(&failed)? {
            file.write_all(&blob)
                .map_err(|e| failed(format!("{}: {e}", path.display())))?;
        }
    }
    if !chunks.rest.iter().all(u8::is_ascii_whitespace) {
        return Err(failed("the stream ended in the middle of a chunk".into()));
    }
    file.sync_all().map_err(|e| failed(e.to_string()))?;
    drop(file);
    status(path).map_err(failed)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// The gateway's stream: one JSON object per line, `{"result": {"header": {...},
/// "remaining_bytes": "...", "blob": "<base64>"}}`, or `{"error": {...}}`.
#[derive(Default)]
struct Chunks {
    rest: Vec<u8>,
}

impl Chunks {
    /// Takes more of the stream; returns the blobs of the lines it completed.
    fn feed(&mut self, bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
        self.rest.extend_from_slice(bytes);
        let mut blobs = Vec::new();
        while let Some(end) = self.rest.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.rest.drain(..=end).collect();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: serde_json::Value = serde_json::from_slice(&line)
                .map_err(|e| format!("a chunk that is not JSON: {e}"))?;
            if let Some(err) = v.get("error") {
                return Err(format!("etcd refused: {err}"));
            }
            let result = v.get("result").unwrap_or(&v);
            let blob = result.get("blob").and_then(|b| b.as_str()).unwrap_or("");
            blobs.push(
                base64::engine::general_purpose::STANDARD
                    .decode(blob)
                    .map_err(|e| format!("a chunk that is not base64: {e}"))?,
            );
        }
        Ok(blobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_split_anywhere_gives_its_blobs_in_order() {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let stream = format!(
            "{{\"result\":{{\"header\":{{\"revision\":\"42\"}},\"remaining_bytes\":\"3\",\"blob\":\"{}\"}}}}\n{{\"result\":{{\"blob\":\"{}\"}}}}\n",
            b64(b"abc"),
            b64(b"de")
        );
        let mut chunks = Chunks::default();
        let mut out = Vec::new();
        for piece in stream.as_bytes().chunks(7) {
            out.extend(chunks.feed(piece).unwrap().concat());
        }
        assert_eq!(out, b"abcde");
        assert!(
            Chunks::default()
                .feed(b"{\"error\":{\"code\":2}}\n")
                .is_err()
        );
    }
}
