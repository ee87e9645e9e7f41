//! How rigger talks HTTP to an etcd member: the client certificate it presents, read
//! and checked once, and a client pinned to the address DNS gave. Shared by the health
//! check and the membership calls, below both.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::base::error::Error;
use crate::providers::tls::TlsFiles;

/// The files given to ask with are at fault, not the cluster: each problem names its
/// file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FilesError {
    pub message: String,
    pub help: Option<&'static str>,
}

impl FilesError {
    fn said(message: String) -> Self {
        Self {
            message,
            help: None,
        }
    }
}

impl From<FilesError> for Error {
    fn from(e: FilesError) -> Self {
        let error = Error::invalid(e.message);
        match e.help {
            Some(help) => error.with_help(help),
            None => error,
        }
    }
}

/// The CA and client identity, read and checked once: a file problem is the caller's,
/// and must not read as every member being down.
#[derive(Clone)]
pub struct Credentials {
    pub files: TlsFiles,
    ca: Vec<reqwest::Certificate>,
    identity: reqwest::Identity,
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, FilesError> {
    let bytes = std::fs::read(path).map_err(|e| {
        let why = e.to_string();
        let why = why.split(" (os error").next().unwrap_or(&why).to_string();
        FilesError::said(format!("cannot read the {what} {}: {why}", path.display()))
    })?;
    if bytes.is_empty() {
        return Err(FilesError::said(format!(
            "the {what} {} is empty",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Whether `files` are a CA, a client certificate and its key that can be used at
/// all, before anything is asked: the error names the file at fault.
pub fn check_files(files: &TlsFiles) -> Result<(), FilesError> {
    credentials(files).map(|_| ())
}

/// The CA and client identity in `files`. Every file's problem is said at once (a
/// missing certificate and a CA that is not one), each naming its file.
pub fn credentials(files: &TlsFiles) -> Result<Credentials, FilesError> {
    let mut problems: Vec<String> = Vec::new();
    let mut help = None;
    let ca = read_file("CA certificate", &files.ca)
        .map_err(|e| e.to_string())
        .and_then(|pem| {
            reqwest::Certificate::from_pem_bundle(&pem)
                .and_then(|ca| {
                    // reqwest parses a certificate only when a client is built: build one
                    // with the CA alone, then with the identity, so an error names its file.
                    reqwest::Client::builder()
                        .tls_certs_only(ca.clone())
                        .build()
                        .map(|_| ca)
                })
                .map_err(|e| cause(&e))
                .and_then(|ca| {
                    if ca.is_empty() {
                        Err("no PEM certificate in it".to_string())
                    } else {
                        Ok(ca)
                    }
                })
                .map_err(|why| format!("{} is not a CA certificate: {why}", files.ca.display()))
        })
        .map_err(|why| problems.push(why))
        .ok();
    let cert = read_file("client certificate", &files.cert)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let key = read_file("client key", &files.key)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let identity = match (cert, key) {
        (Some(mut pem), Some(key)) => {
            // A certificate file without a final newline would run into the key's first line.
            pem.push(b'\n');
            pem.extend(key);
            reqwest::Identity::from_pem(&pem)
                .and_then(|id| {
                    reqwest::Client::builder()
                        .tls_certs_only(ca.clone().unwrap_or_default())
                        .identity(id.clone())
                        .build()
                        .map(|_| id)
                })
                .map_err(|e| {
                    let (cert, key) = (files.cert.display(), files.key.display());
                    let why = cause(&e);
                    help = Some(
                        "--cert and --key take a PEM certificate and the PEM private key it was made for",
                    );
                    problems.push(if why.contains("KeyMismatch") {
                        format!("the client key {key} is not the key of the client certificate {cert}")
                    } else {
                        format!("{cert} and {key} are not a client certificate and its key: {why}")
                    });
                })
                .ok()
        }
        _ => None,
    };
    match (ca, identity) {
        (Some(ca), Some(identity)) if problems.is_empty() => Ok(Credentials {
            files: files.clone(),
            ca,
            identity,
        }),
        _ => Err(FilesError {
            message: problems.join("; "),
            help,
        }),
    }
}

impl Credentials {
    /// `builder` presenting this client certificate and trusting only this CA.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        builder
            .tls_certs_only(self.ca.clone())
            .identity(self.identity.clone())
    }
}

pub fn http_client(
    creds: Option<&Credentials>,
    target: &str,
    addr: SocketAddr,
    tls12: bool,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder();
    if let Some(c) = creds {
        builder = c.apply(builder);
    }
    if tls12 {
        builder = builder.tls_version_max(reqwest::tls::Version::TLS_1_2);
    }
    // The address comes from the zone's own server: never from the system resolver,
    // and never through a proxy.
    builder
        .resolve(target, addr)
        .no_proxy()
        .timeout(Duration::from_secs(3))
        .build()
        .map_err(|e| e.to_string())
}

/// The reason a request failed, without the os error number.
pub fn cause(e: &dyn std::error::Error) -> String {
    let why = crate::base::human::root_cause(e);
    // rustls says a reqwest message this way; the message says enough.
    why.trim_start_matches("unexpected error: ")
        .trim_end_matches(" (os error 111)")
        .to_string()
}
