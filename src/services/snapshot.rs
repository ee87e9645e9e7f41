//! A snapshot of a cluster's data, saved from its leader over gRPC (the stream
//! `etcdctl snapshot save` reads), as etcdctl saves one: the database file followed by
//! its sha256, which is checked, with every page, before the file is kept. etcdctl and
//! etcdutl restore such a file.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::etcd_client::{Credentials, cause, credentials};
use super::resolve;
use super::snapshot_file::{FileStatus, TrailerCheck, bytes_field, read_database};
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
    let (host, addr) = resolve::endpoint_address(server, &leader.endpoint)
        .await
        .map_err(Error::failed)?;
    let creds = tls.map(credentials).transpose()?;
    let client = streaming_client(creds.as_ref(), &host, addr)?;
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
        hash: status.hash,
        total_key: status.total_key,
        keys: status.keys,
        total_size: status.total_size,
    })
}

/// A client for a long answer over gRPC: no limit on the whole, 30 s at most between
/// reads.
fn streaming_client(
    creds: Option<&Credentials>,
    host: &str,
    addr: SocketAddr,
) -> Result<reqwest::Client> {
    super::etcd_grpc::builder(creds, host, addr)
        .read_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::failed(e.to_string()))
}

/// Streams the snapshot at `endpoint` into `path` (mode 0600: it is every key of the
/// cluster), and reads it back as etcdutl would: its sha256 (hashed as it comes), then
/// every page (from the page cache, mapped rather than copied). Asked over
/// gRPC (`Maintenance/Snapshot`, HTTP/2), as etcdctl asks: etcd's JSON gateway would
/// cost it several times as long, turning every chunk into base64 and JSON.
async fn stream_to(client: &reqwest::Client, endpoint: &str, path: &Path) -> Result<FileStatus> {
    let failed = |why: String| Error::failed(format!("snapshot from {endpoint}: {why}"));
    let mut resp = client
        .post(format!("{endpoint}/etcdserverpb.Maintenance/Snapshot"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        // One message: an empty SnapshotRequest, uncompressed.
        .body(vec![0u8; 5])
        .send()
        .await
        .map_err(|e| failed(cause(&e)))?;
    // A refusal comes as headers alone: grpc-status and its message.
    let grpc = |k: &str| {
        resp.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    if !resp.status().is_success() || grpc("grpc-status").is_some_and(|s| s != "0") {
        let why = grpc("grpc-message").unwrap_or_else(|| resp.status().to_string());
        return Err(failed(format!("etcd refused: {why}")));
    }
    let mut file = private_file(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    let mut frames = Frames::default();
    let mut trailer = TrailerCheck::default();
    while let Some(bytes) = resp.chunk().await.map_err(|e| failed(cause(&e)))? {
        for blob in frames.feed(&bytes).map_err(&failed)? {
            trailer.update(&blob);
            file.write_all(&blob)
                .map_err(|e| failed(format!("{}: {e}", path.display())))?;
        }
    }
    if !frames.rest.is_empty() {
        return Err(failed("the stream ended in the middle of a message".into()));
    }
    file.sync_all().map_err(|e| failed(e.to_string()))?;
    let sha256 = trailer.finish().map_err(&failed)?;
    // SAFETY: the file is this run's own, just written and synced, mode 0600 and not
    // yet renamed into the store: nothing else writes to it while the map lives.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| failed(e.to_string()))?;
    read_database(&map[..map.len() - 32], sha256).map_err(failed)
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// A gRPC response stream: each message a compression flag (0), its length (4 bytes,
/// big-endian) and a `SnapshotResponse`, whose `blob` (field 3) is the next piece of
/// the file.
#[derive(Default)]
struct Frames {
    rest: Vec<u8>,
}

impl Frames {
    /// Takes more of the stream; returns the blobs of the messages it completed.
    fn feed(&mut self, bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
        self.rest.extend_from_slice(bytes);
        let mut blobs = Vec::new();
        let mut at = 0;
        while self.rest.len() - at >= 5 {
            if self.rest[at] != 0 {
                return Err("a compressed message, which rigger did not ask for".into());
            }
            let len = u32::from_be_bytes(self.rest[at + 1..at + 5].try_into().unwrap()) as usize;
            if self.rest.len() - at - 5 < len {
                break;
            }
            let message = &self.rest[at + 5..at + 5 + len];
            blobs.push(bytes_field(message, 3).unwrap_or_default().to_vec());
            at += 5 + len;
        }
        self.rest.drain(..at);
        Ok(blobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gRPC message holding a SnapshotResponse: remaining_bytes (2), blob (3).
    fn message(remaining: u8, blob: &[u8]) -> Vec<u8> {
        let mut m = vec![0x10, remaining, 0x1a, blob.len() as u8];
        m.extend_from_slice(blob);
        let mut framed = vec![0];
        framed.extend((m.len() as u32).to_be_bytes());
        framed.extend(m);
        framed
    }

    #[test]
    fn a_stream_split_anywhere_gives_its_blobs_in_order() {
        let stream = [message(2, b"abc"), message(0, b"de")].concat();
        for size in 1..stream.len() {
            let mut frames = Frames::default();
            let mut out = Vec::new();
            for piece in stream.chunks(size) {
                out.extend(frames.feed(piece).unwrap().concat());
            }
            assert_eq!(out, b"abcde", "pieces of {size}");
            assert!(frames.rest.is_empty());
        }
        let mut compressed = message(0, b"x");
        compressed[0] = 1;
        assert!(Frames::default().feed(&compressed).is_err());
    }
}
