//! A cluster's certificates (rcgen): a CA, and leaves for members and clients with the
//! names and addresses they are reached by. Keys are written 0600.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::base::error::{self, Error};
use crate::base::state_dir::{StateDir, private_dir, write_atomic};
use crate::providers::{CaFiles, CertFiles, LeafSpec, Local};

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Cert(String),
}

fn err(e: impl std::fmt::Display) -> PkiError {
    PkiError::Cert(e.to_string())
}

/// The CA in `dir` (`ca.crt`, `ca.key`), created if missing. Returns it and whether it
/// was created now.
pub fn ensure_ca(dir: &Path, common_name: &str) -> Result<(CertFiles, bool), PkiError> {
    private_dir(dir)?;
    let files = CertFiles::in_dir(dir, "ca");
    if files.cert.exists() && files.key.exists() {
        return Ok((files, false));
    }
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{common_name} CA (rigger)"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).map_err(err)?;
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert.pem().as_bytes(), 0o644)?;
    Ok((files, true))
}

/// Issues `<dir>/<spec.name>.crt` and `.key`, signed by `ca`.
pub fn issue(ca: &CertFiles, dir: &Path, spec: &LeafSpec) -> Result<CertFiles, PkiError> {
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(&ca.key)?).map_err(err)?;
    let issuer =
        Issuer::from_ca_cert_pem(&std::fs::read_to_string(&ca.cert)?, ca_key).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, spec.name.clone());
    for name in &spec.dns {
        params
            .subject_alt_names
            .push(SanType::DnsName(name.clone().try_into().map_err(err)?));
    }
    for ip in &spec.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    if spec.server {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if spec.client {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    private_dir(dir)?;
    let files = CertFiles::in_dir(dir, &spec.name);
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert.pem().as_bytes(), 0o644)?;
    Ok(files)
}

/// Certificates and files on this machine, under the state dir.
pub struct LocalFiles {
    state: StateDir,
}

impl LocalFiles {
    pub fn new(state: &StateDir) -> Self {
        Self {
            state: state.clone(),
        }
    }
}

impl Local for LocalFiles {
    fn ca(&self, name: &str) -> CaFiles {
        CaFiles::at(name, &self.state.root().join("pki").join(name))
    }

    fn ensure_ca(&self, ca: &CaFiles) -> error::Result<bool> {
        self.state.dir("pki")?;
        let (_, created) = ensure_ca(&ca.dir, &ca.name)
            .map_err(|e| Error::failed(format!("cannot create the CA for {}: {e}", ca.name)))?;
        Ok(created)
    }

    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> error::Result<CertFiles> {
        issue(&ca.files, &ca.dir, leaf)
            .map_err(|e| Error::failed(format!("cannot issue {}: {e}", leaf.name)))
    }

    fn read(&self, path: &Path) -> error::Result<Vec<u8>> {
        std::fs::read(path)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))
    }

    fn remove(&self, path: &Path) -> error::Result<()> {
        // A write cut short by a kill leaves its temporary file beside the real one.
        for stray in crate::base::state_dir::temporaries_of(path) {
            let _ = std::fs::remove_file(stray);
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_leaf_is_signed_by_the_ca_with_its_names_and_private_key() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, created) = ensure_ca(tmp.path(), "example.test").unwrap();
        assert!(created);
        let (_, again) = ensure_ca(tmp.path(), "example.test").unwrap();
        assert!(!again, "an existing CA is reused");
        let leaf = issue(
            &ca,
            tmp.path(),
            &LeafSpec {
                name: "n1".into(),
                dns: vec!["n1.example.test".into(), "example.test".into()],
                ips: vec!["198.18.1.1".parse().unwrap()],
                server: true,
                client: true,
            },
        )
        .unwrap();
        let mode = std::fs::metadata(&leaf.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::metadata(&ca.key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // openssl, independently of rcgen, must accept the chain and see the SANs.
        let verify = std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&ca.cert)
            .arg(&leaf.cert)
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let text = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&leaf.cert)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("DNS:n1.example.test"), "{text}");
        assert!(text.contains("DNS:example.test"), "{text}");
        assert!(text.contains("IP Address:198.18.1.1"), "{text}");
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
    }

    /// A kill in the middle of `write_atomic` leaves `.<name>.tmp<pid>` beside the file:
    /// removing the file (rollback, destroy) removes that too, and nothing else.
    #[test]
    fn removing_a_file_removes_the_temporary_a_killed_write_left() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::locate(Some(tmp.path().join("s")));
        let dir = state.dir("pki/a.test").unwrap();
        let key = dir.join("client.key");
        std::fs::write(&key, b"k").unwrap();
        let stray = dir.join(".client.key.tmp4242");
        std::fs::write(&stray, b"half").unwrap();
        let other = dir.join(".client.crt.tmp4242");
        std::fs::write(&other, b"not ours").unwrap();
        LocalFiles::new(&state).remove(&key).unwrap();
        assert!(!key.exists() && !stray.exists());
        assert!(other.exists(), "a temporary of another file went too");
        // The file itself may be gone already (the kill came before the rename).
        std::fs::write(&stray, b"half").unwrap();
        LocalFiles::new(&state).remove(&key).unwrap();
        assert!(!stray.exists());
    }
}
