//! A cluster's certificates, as `kubeadm certs check-expiration` lists a control
//! plane's: the files rigger keeps for it (its CA, each member's, the clients'), and
//! what each live member actually serves on its client port and its peer port, read
//! from a handshake. A file replaced but not yet served, or served but not the file on
//! disk, shows as a serial that differs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hickory_proto::rr::RecordType;
use serde::Serialize;

use super::cert_info::{CertInfo, Expiry, from_pem};
use super::resolve;
use super::served_cert::{Identity, served};
use crate::providers::TlsFiles;
use crate::providers::etcd_api::{CertNote, ClusterAt};
use crate::providers::owners::Owners;
use crate::providers::probe::Answer;

/// One certificate file under the state dir.
#[derive(Debug, Clone, Serialize)]
pub struct FileCert {
    pub file: PathBuf,
    /// `ca`, `member`, `client`.
    pub role: &'static str,
    /// Every certificate in it (a CA bundle holds the old and the new), or why none.
    pub certs: Result<Vec<CertInfo>, String>,
}

/// What one member serves on one port.
#[derive(Debug, Clone, Serialize)]
pub struct ServedCert {
    /// `host:port`, as the SRV record names it.
    pub endpoint: String,
    /// `client` or `peer`.
    pub port: &'static str,
    pub cert: Result<CertInfo, String>,
    /// The file under the state dir that names this member (`<first label>.crt`).
    pub file: PathBuf,
    /// Whether the serial served is that file's: false when it was replaced and not yet
    /// served, or served and not on disk; None when either is unknown.
    pub matches_file: Option<bool>,
}

/// The certificate files rigger keeps for `domain` in `pki` (`<state>/pki/<domain>`):
/// the CA first, then members and clients by name. A client certificate is one whose
/// name is `client` or whose file says it is one (no server use).
pub fn files(pki: &Path) -> Vec<FileCert> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(pki)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "crt"))
                .collect()
        })
        .unwrap_or_default();
    names.sort_by_key(|p| (p.file_stem().is_none_or(|s| s != "ca"), p.clone()));
    names
        .into_iter()
        .map(|file| {
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
            let role = match stem.as_deref() {
                Some("ca") => "ca",
                Some("client") => "client",
                Some(s) if s.starts_with("user-") => "client",
                _ => "member",
            };
            let certs = std::fs::read(&file)
                .map_err(|e| e.to_string())
                .and_then(|b| from_pem(&b));
            FileCert { file, role, certs }
        })
        .collect()
}

/// What each member under `owners` serves, on the client port (the client SRV records)
/// and the peer port (the server SRV records), asked at the zone's `server` and shaken
/// hands with under `tls`'s client certificate.
pub async fn served_by_members(
    owners: &Owners,
    tls: &TlsFiles,
    server: SocketAddr,
    pki: &Path,
) -> Result<Vec<ServedCert>, String> {
    let me = Identity::from_files(&tls.cert, &tls.key)?;
    let mut asked = Vec::new();
    for (name, port) in [(&owners.client_ssl, "client"), (&owners.server_ssl, "peer")] {
        let answers = resolve::ask(server, name, RecordType::SRV)
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        for answer in answers {
            if let Answer::Srv { target, port: at } = answer {
                asked.push((target, at, port));
            }
        }
    }
    let shakes = asked.into_iter().map(|(target, at, port)| {
        let me = &me;
        async move {
            let host = target.trim_end_matches('.').to_string();
            let label = host.split('.').next().unwrap_or(&host).to_string();
            let file = pki.join(format!("{label}.crt"));
            let cert = match resolve::address(server, &host).await {
                Some(ip) => served(SocketAddr::new(ip, at), &host, Some(me)).await,
                None => Err(format!("{host} has no address at {server}")),
            };
            let on_disk = std::fs::read(&file).ok().and_then(|b| from_pem(&b).ok());
            let matches_file = match (&cert, on_disk) {
                (Ok(c), Some(disk)) => Some(disk.iter().any(|d| d.serial == c.serial)),
                _ => None,
            };
            ServedCert {
                endpoint: format!("{host}:{at}"),
                port,
                cert,
                file,
                matches_file,
            }
        }
    });
    let mut all = futures::future::join_all(shakes).await;
    all.sort_by(|a, b| (a.port, &a.endpoint).cmp(&(b.port, &b.endpoint)));
    Ok(all)
}

/// The certificates a client of the cluster relies on that end within 30 days or have
/// ended: the files it asks with (`tls`: the CA, the client certificate) and what each
/// member at `targets` (`(host, port)`, resolved at the zone's `server`) serves.
pub async fn notes_in_use(
    tls: &TlsFiles,
    targets: &[(String, u16)],
    server: SocketAddr,
) -> Vec<CertNote> {
    let now = time::OffsetDateTime::now_utc();
    let note = |what: String, c: &CertInfo| match c.expiry(now) {
        Expiry::Valid => None,
        e => Some(CertNote {
            what,
            ends: c.end_date(),
            days_left: c.days_left(now),
            expired: e == Expiry::Expired,
        }),
    };
    let mut out = Vec::new();
    for file in [&tls.ca, &tls.cert] {
        if let Ok(certs) = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|b| from_pem(&b))
        {
            out.extend(
                certs
                    .iter()
                    .filter_map(|c| note(file.display().to_string(), c)),
            );
        }
    }
    let Ok(me) = Identity::from_files(&tls.cert, &tls.key) else {
        return out;
    };
    let shakes = targets.iter().map(|(target, port)| {
        let me = &me;
        async move {
            let host = target.trim_end_matches('.');
            let ip = resolve::address(server, host).await?;
            let c = served(SocketAddr::new(ip, *port), host, Some(me))
                .await
                .ok()?;
            note(format!("{host}:{port}"), &c)
        }
    });
    out.extend(
        futures::future::join_all(shakes)
            .await
            .into_iter()
            .flatten(),
    );
    out
}

/// `notes_in_use` for the members the client SRV records of the cluster `at` (its
/// `--discovery-srv-name` too) name at `server`.
pub async fn notes_for(at: &ClusterAt, tls: &TlsFiles, server: SocketAddr) -> Vec<CertNote> {
    let name = at.owners().client_ssl;
    let targets: Vec<(String, u16)> = match resolve::ask(server, &name, RecordType::SRV).await {
        Ok(answers) => answers
            .into_iter()
            .filter_map(|a| match a {
                Answer::Srv { target, port } => Some((target, port)),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    notes_in_use(tls, &targets, server).await
}
