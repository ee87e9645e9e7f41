//! A cluster's certificates (rcgen): a CA, and leaves for members and clients with the
//! names and addresses they are reached by. Each lives a bounded time from its issue
//! (a leaf no longer than its CA), and has a random serial. Keys are written 0600.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::base::error::{self, Error};
use crate::base::state_dir::{StateDir, private_dir, write_atomic};
use crate::providers::local::{CA_YEARS, LEAF_YEARS};
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

/// How far back a certificate's `not_before` is set: a machine whose clock is a little
/// behind this one's still takes it.
const SKEW: Duration = Duration::minutes(5);

/// Valid from now (less the skew) for `days`, or else `years` to the same date (29
/// February on to 28 February), but never past `end`; a random serial (128 bits, the top
/// one clear so that it reads as positive), as RFC 5280 asks of a CA.
fn stamp(
    params: &mut CertificateParams,
    days: Option<u32>,
    years: i32,
    end: Option<OffsetDateTime>,
) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - SKEW;
    let until = match days {
        Some(days) => now + Duration::days(i64::from(days)),
        None => {
            let year = now.year() + years;
            now.replace_year(year)
                .or_else(|_| now.replace_day(28).and_then(|d| d.replace_year(year)))
                .unwrap_or(now + Duration::days(365 * i64::from(years)))
        }
    };
    params.not_after = end.map_or(until, |end| until.min(end));
    let mut serial = *uuid::Uuid::new_v4().as_bytes();
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
}

/// The DER blocks of every certificate in the PEM text `pem`, in order.
fn pem_blocks(pem: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let block = block.map_err(err)?;
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
    }
    Ok(out)
}

fn to_pem(blocks: &[Vec<u8>]) -> String {
    blocks.iter().map(|der| pem_of(der)).collect()
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The public key (its bits, as `KeyPair::public_key_raw` gives them) of the first
/// certificate in `pem`.
fn first_public_key(pem: &str) -> Result<Vec<u8>, PkiError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(err)?;
    let cert = block.parse_x509().map_err(err)?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// Rewrites `ca.cert` as its first certificate followed by those in `also` (each once).
pub fn trust(ca: &CertFiles, also: &[std::path::PathBuf]) -> Result<(), PkiError> {
    let mut blocks = pem_blocks(&std::fs::read(&ca.cert)?)?;
    blocks.truncate(1);
    for path in also {
        for der in pem_blocks(&std::fs::read(path)?)? {
            if !blocks.contains(&der) {
                blocks.push(der);
            }
        }
    }
    write_atomic(&ca.cert, to_pem(&blocks).as_bytes(), 0o644)?;
    Ok(())
}

/// `next` becomes the CA that signs: first in `ca.cert`, the others after it; its key
/// `ca.key`. The bundle is written before the key (a stop between the two is caught by
/// `issue`, and a second promotion finishes it); `next`'s files go last.
pub fn promote(ca: &CertFiles, next: &CertFiles) -> Result<(), PkiError> {
    let new = pem_blocks(&std::fs::read(&next.cert)?)?;
    let mut blocks = new.clone();
    for der in pem_blocks(&std::fs::read(&ca.cert)?)? {
        if !blocks.contains(&der) {
            blocks.push(der);
        }
    }
    write_atomic(&ca.cert, to_pem(&blocks).as_bytes(), 0o644)?;
    write_atomic(&ca.key, &std::fs::read(&next.key)?, 0o600)?;
    std::fs::remove_file(&next.cert)?;
    std::fs::remove_file(&next.key)?;
    Ok(())
}

/// When the certificate `pem` stops being valid.
pub fn not_after(pem: &str) -> Result<OffsetDateTime, PkiError> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(err)?;
    let cert = pem.parse_x509().map_err(err)?;
    Ok(cert.validity().not_after.to_datetime())
}

/// The CA in `dir` (`ca.crt`, `ca.key`), created if missing (valid `days`, or ten years).
/// Returns it and whether it was created now.
pub fn ensure_ca(
    dir: &Path,
    common_name: &str,
    days: Option<u32>,
) -> Result<(CertFiles, bool), PkiError> {
    ensure_ca_at(dir, "ca", common_name, days)
}

/// `ensure_ca` with the files `<dir>/<stem>.crt` and `.key`.
pub fn ensure_ca_at(
    dir: &Path,
    stem: &str,
    common_name: &str,
    days: Option<u32>,
) -> Result<(CertFiles, bool), PkiError> {
    private_dir(dir)?;
    let files = CertFiles::in_dir(dir, stem);
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
    stamp(&mut params, days, CA_YEARS, None);
    let cert = params.self_signed(&key).map_err(err)?;
    write_atomic(&files.key, key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&files.cert, cert.pem().as_bytes(), 0o644)?;
    Ok((files, true))
}

/// Issues `<dir>/<spec.name>.crt` and `.key`, signed by `ca`, valid `spec.days` (or a
/// year) or until the CA's end, whichever comes first.
pub fn issue(ca: &CertFiles, dir: &Path, spec: &LeafSpec) -> Result<CertFiles, PkiError> {
    let ca_key = KeyPair::from_pem(&std::fs::read_to_string(&ca.key)?).map_err(err)?;
    let ca_pem = std::fs::read_to_string(&ca.cert)?;
    let ca_end = not_after(&ca_pem)?;
    // The key must be the first certificate's: a leaf signed by another key under its
    // name would be refused by every member.
    if first_public_key(&ca_pem)? != ca_key.public_key_raw() {
        return Err(PkiError::Cert(format!(
            "{} is not the key of the first certificate in {}: a CA rotation stopped between the two files; `rigger run rotate-certs --set ca=true` again finishes it",
            ca.key.display(),
            ca.cert.display()
        )));
    }
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    params.distinguished_name.push(
        DnType::CommonName,
        spec.cn.clone().unwrap_or_else(|| spec.name.clone()),
    );
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
    stamp(&mut params, spec.days, LEAF_YEARS, Some(ca_end));
    // Names the CA's key: while two CAs of one name are trusted together (a rotation),
    // a verifier finds the one that signed without trying each.
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    private_dir(dir)?;
    let files = CertFiles::in_dir(dir, &spec.name);
    // Both written aside, then renamed one right after the other: a reader (a health
    // check during a rotation) finds a key and a certificate that do not match for
    // microseconds at most.
    write_atomic(&aside(&files.key), key.serialize_pem().as_bytes(), 0o600)?;
    write_atomic(&aside(&files.cert), cert.pem().as_bytes(), 0o644)?;
    std::fs::rename(aside(&files.key), &files.key)?;
    std::fs::rename(aside(&files.cert), &files.cert)?;
    Ok(files)
}

/// Where `issue` writes a file before renaming it into place: `NAME.new` beside it.
fn aside(path: &Path) -> std::path::PathBuf {
    let mut a = path.as_os_str().to_owned();
    a.push(".new");
    std::path::PathBuf::from(a)
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

    fn ensure_ca(&self, ca: &CaFiles, days: Option<u32>) -> error::Result<bool> {
        self.state.dir("pki")?;
        let (_, created) = ensure_ca(&ca.dir, &ca.name, days)
            .map_err(|e| Error::failed(format!("cannot create the CA for {}: {e}", ca.name)))?;
        Ok(created)
    }

    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> error::Result<CertFiles> {
        issue(&ca.files, &ca.dir, leaf)
            .map_err(|e| Error::failed(format!("cannot issue {}: {e}", leaf.name)))
    }

    fn next_ca(&self, ca: &CaFiles, days: Option<u32>) -> error::Result<CaFiles> {
        let (files, _) = ensure_ca_at(&ca.dir, "ca-next", &ca.name, days).map_err(|e| {
            Error::failed(format!("cannot create the next CA for {}: {e}", ca.name))
        })?;
        Ok(CaFiles {
            name: ca.name.clone(),
            dir: ca.dir.clone(),
            files,
        })
    }

    fn trust(&self, ca: &CaFiles, also: &[std::path::PathBuf]) -> error::Result<()> {
        trust(&ca.files, also)
            .map_err(|e| Error::failed(format!("cannot write {}: {e}", ca.files.cert.display())))
    }

    fn promote(&self, ca: &CaFiles, next: &CaFiles) -> error::Result<()> {
        promote(&ca.files, &next.files).map_err(|e| {
            Error::failed(format!(
                "cannot make {} the CA of {}: {e}",
                next.files.cert.display(),
                ca.name
            ))
        })
    }

    fn read(&self, path: &Path) -> error::Result<Vec<u8>> {
        std::fs::read(path)
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))
    }

    fn remove(&self, path: &Path) -> error::Result<()> {
        // A write cut short by a kill leaves its temporary file beside the real one, and
        // an issue cut short its aside copy (`NAME.new`, see `issue`) and that copy's.
        let aside = aside(path);
        let strays = crate::base::state_dir::temporaries_of(path)
            .into_iter()
            .chain(crate::base::state_dir::temporaries_of(&aside))
            .chain([aside.clone()]);
        for stray in strays {
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
        let (ca, created) = ensure_ca(tmp.path(), "example.test", None).unwrap();
        assert!(created);
        let (_, again) = ensure_ca(tmp.path(), "example.test", None).unwrap();
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
                days: None,
                cn: None,
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

    /// The dates and serial as openssl reads them, independently of rcgen.
    fn dates(cert: &Path) -> (OffsetDateTime, OffsetDateTime, String) {
        let out = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-startdate", "-enddate", "-serial", "-in"])
            .arg(cert)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {text}"))
                .to_string()
        };
        let format = time::format_description::parse_borrowed::<2>(
            "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT",
        )
        .unwrap();
        let at = |s: String| {
            time::PrimitiveDateTime::parse(&s, &format)
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .assume_utc()
        };
        (
            at(field("notBefore=")),
            at(field("notAfter=")),
            field("serial="),
        )
    }

    #[test]
    fn certificates_live_their_days_from_now_and_a_leaf_ends_with_its_ca() {
        let tmp = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let near = |a: OffsetDateTime, b: OffsetDateTime| (a - b).abs() < Duration::minutes(2);
        let (ca, _) = ensure_ca(tmp.path(), "example.test", None).unwrap();
        let (from, until, _) = dates(&ca.cert);
        assert!(
            near(from, now - SKEW),
            "{from} is not five minutes before {now}"
        );
        let ten_years = now.replace_year(now.year() + 10).unwrap();
        assert!(near(until, ten_years), "{until} is not ten years on");
        let leaf = |name: &str, days| LeafSpec {
            name: name.into(),
            dns: vec![format!("{name}.example.test")],
            ips: vec![],
            server: true,
            client: true,
            days,
            cn: None,
        };
        let a = issue(&ca, tmp.path(), &leaf("a", None)).unwrap();
        let (from, until, serial_a) = dates(&a.cert);
        assert!(near(from, now - SKEW));
        let a_year = now.replace_year(now.year() + 1).unwrap();
        assert!(near(until, a_year), "{until} is not a year on");
        let b = issue(&ca, tmp.path(), &leaf("b", Some(2))).unwrap();
        let (_, until, _) = dates(&b.cert);
        assert!(near(until, now + Duration::days(2)), "{until}");
        let (_, _, serial_b) = dates(&b.cert);
        assert_ne!(serial_a, serial_b, "serials are random");
        assert!(serial_a.len() >= 30, "{serial_a} is not 128 bits");

        // Under a CA of 10 days a leaf asked for a year ends with the CA.
        let short = tmp.path().join("short");
        let (ca, _) = ensure_ca(&short, "short.test", Some(10)).unwrap();
        let (_, ca_end, _) = dates(&ca.cert);
        let c = issue(&ca, &short, &leaf("c", None)).unwrap();
        let (_, until, _) = dates(&c.cert);
        assert_eq!(until, ca_end);
        assert!(near(until, now + Duration::days(10)));
    }

    fn verifies(ca: &Path, leaf: &Path) -> bool {
        std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(ca)
            .arg(leaf)
            .output()
            .unwrap()
            .status
            .success()
    }

    #[test]
    fn a_next_ca_is_trusted_beside_the_old_then_signs_in_its_place() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (ca, _) = ensure_ca(dir, "d.test", None).unwrap();
        let old_ca = dir.join("old-ca.crt");
        std::fs::copy(&ca.cert, &old_ca).unwrap();
        let (next, made) = ensure_ca_at(dir, "ca-next", "d.test", None).unwrap();
        assert!(made);
        let leaf = |name: &str| LeafSpec {
            name: name.into(),
            dns: vec![],
            ips: vec![],
            server: true,
            client: true,
            days: None,
            cn: None,
        };
        // Both trusted, the old one still signs.
        trust(&ca, std::slice::from_ref(&next.cert)).unwrap();
        let bundle = std::fs::read_to_string(&ca.cert).unwrap();
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
        trust(&ca, std::slice::from_ref(&next.cert)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&ca.cert).unwrap(),
            bundle,
            "each once"
        );
        let a = issue(&ca, dir, &leaf("a")).unwrap();
        assert!(verifies(&old_ca, &a.cert));
        assert!(!verifies(&next.cert, &a.cert));
        // Promoted: the new one signs, first in the bundle, its own files gone.
        let new_ca = dir.join("new-ca.crt");
        std::fs::copy(&next.cert, &new_ca).unwrap();
        promote(&ca, &next).unwrap();
        assert!(!next.cert.exists() && !next.key.exists());
        let b = issue(&ca, dir, &leaf("b")).unwrap();
        assert!(verifies(&new_ca, &b.cert));
        assert!(!verifies(&old_ca, &b.cert));
        assert!(verifies(&ca.cert, &a.cert), "the bundle trusts both");
        // Shrunk to the new one alone: the old leaf is no longer trusted.
        trust(&ca, &[]).unwrap();
        assert!(!verifies(&ca.cert, &a.cert));
        assert!(verifies(&ca.cert, &b.cert));
        // A key that is not the first certificate's is refused, not used.
        std::fs::write(&ca.cert, std::fs::read(&old_ca).unwrap()).unwrap();
        let why = issue(&ca, dir, &leaf("c")).unwrap_err().to_string();
        assert!(
            why.contains("is not the key of the first certificate"),
            "{why}"
        );
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
        // An issue killed between writing aside and renaming: the aside copy, and a
        // temporary of it.
        let aside = dir.join("client.key.new");
        let aside_tmp = dir.join(".client.key.new.tmp4242");
        std::fs::write(&aside, b"whole").unwrap();
        std::fs::write(&aside_tmp, b"half").unwrap();
        LocalFiles::new(&state).remove(&key).unwrap();
        assert!(!aside.exists() && !aside_tmp.exists());
        assert!(other.exists(), "a temporary of another file went too");
    }
}
