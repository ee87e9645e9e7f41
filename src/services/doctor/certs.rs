//! The members' certificates, read for their SANs. Peers dial a member by its SRV
//! target's name and check that its certificate names it; with `--peer-client-cert-auth`
//! a member checks that a peer's certificate carries the address it connects from, as an
//! IP or as a name that resolves to it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use x509_parser::extensions::GeneralName;

/// What a certificate says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sans {
    pub file: PathBuf,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

/// The certificate of one member, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cert {
    Missing(PathBuf),
    Unreadable(PathBuf, String),
    Read(Sans),
}

/// The certificate of the member at `target` in `dir`: `<first label>.crt`, as rigger
/// names them (`pki_cert(ca, #{ name: node.name })`).
pub fn read(dir: &Path, target: &str) -> Cert {
    let label = target.split('.').next().unwrap_or(target);
    let file = dir.join(format!("{label}.crt"));
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Cert::Missing(file),
        Err(e) => return Cert::Unreadable(file, e.to_string()),
    };
    match sans(&bytes) {
        Ok((dns, ips)) => Cert::Read(Sans { file, dns, ips }),
        Err(why) => Cert::Unreadable(file, why),
    }
}

/// The DNS names and addresses of a PEM certificate's subjectAltName.
pub fn sans(pem: &[u8]) -> Result<(Vec<String>, Vec<IpAddr>), String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| format!("not PEM: {e}"))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let extension = cert
        .subject_alternative_name()
        .map_err(|e| format!("its subjectAltName does not parse: {e}"))?;
    for name in extension.iter().flat_map(|e| e.value.general_names.iter()) {
        match name {
            GeneralName::DNSName(d) => dns.push(d.to_ascii_lowercase()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*bytes).expect("4 bytes"))),
                16 => ips.push(IpAddr::from(
                    <[u8; 16]>::try_from(*bytes).expect("16 bytes"),
                )),
                _ => {}
            },
            _ => {}
        }
    }
    Ok((dns, ips))
}

/// Whether a certificate's DNS name `san` covers `name` (`*.d.test` covers one label).
pub fn covers(san: &str, name: &str) -> bool {
    match san.strip_prefix("*.") {
        Some(rest) => name
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => san == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sans_of_a_certificate_are_read() {
        let mut params =
            rcgen::CertificateParams::new(vec!["n1.d.test".to_string(), "198.18.1.1".to_string()])
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        let (dns, ips) = sans(pem.as_bytes()).unwrap();
        assert_eq!(dns, ["n1.d.test"]);
        assert_eq!(ips, ["198.18.1.1".parse::<IpAddr>().unwrap()]);
        assert!(sans(b"not a certificate").is_err());
    }

    #[test]
    fn a_wildcard_covers_one_label() {
        assert!(covers("*.d.test", "n1.d.test"));
        assert!(!covers("*.d.test", "a.n1.d.test"));
        assert!(!covers("*.d.test", "d.test"));
        assert!(covers("n1.d.test", "n1.d.test"));
    }
}
