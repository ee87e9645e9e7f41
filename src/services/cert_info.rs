//! A certificate as people read it (`openssl x509 -noout -subject -serial -enddate`):
//! whom it names, its serial, when it ends, and how that end compares with now.

use std::net::IpAddr;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// Days before its end at which a certificate in use is warned about.
pub const WARN_DAYS: i64 = 30;

/// What a certificate says of itself.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CertInfo {
    /// The subject's common name (`client`, a member's name, `<domain> CA (rigger)`).
    pub subject: String,
    pub issuer: String,
    /// Its subjectAltName: DNS names, then addresses.
    pub sans: Vec<String>,
    /// Hex, as openssl prints it.
    pub serial: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    #[serde(skip)]
    pub ends: OffsetDateTime,
}

/// How a certificate's end stands against now.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Expiry {
    Valid,
    /// Within `WARN_DAYS`.
    Soon,
    Expired,
}

impl CertInfo {
    /// Whole days from `now` to its end (negative once it has ended).
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.ends - now).whole_days()
    }

    pub fn expiry(&self, now: OffsetDateTime) -> Expiry {
        if self.ends <= now {
            Expiry::Expired
        } else if self.days_left(now) < WARN_DAYS {
            Expiry::Soon
        } else {
            Expiry::Valid
        }
    }

    /// Its end as people read a date: `2027-12-06 23:41 UTC`.
    pub fn end_date(&self) -> String {
        let d = self.ends;
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    }
}

/// Every certificate of a PEM file (a CA bundle holds more than one), in order.
pub fn from_pem(pem: &[u8]) -> Result<Vec<CertInfo>, String> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| format!("not PEM: {e}"))?;
        if block.label == "CERTIFICATE" {
            out.push(from_der(&block.contents)?);
        }
    }
    if out.is_empty() {
        return Err("it holds no certificate".into());
    }
    Ok(out)
}

/// A DER certificate, as a TLS handshake carries it.
pub fn from_der(der: &[u8]) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    Ok(info(&cert))
}

fn info(cert: &X509Certificate) -> CertInfo {
    let name = |n: &x509_parser::x509::X509Name| {
        n.iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map_or_else(|| n.to_string(), String::from)
    };
    let mut sans = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for general in &ext.value.general_names {
            match general {
                GeneralName::DNSName(d) => sans.push(d.to_string()),
                GeneralName::IPAddress(b) => match b.len() {
                    4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*b).expect("4 bytes"))),
                    16 => ips.push(IpAddr::from(<[u8; 16]>::try_from(*b).expect("16 bytes"))),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    sans.extend(ips.iter().map(IpAddr::to_string));
    let stamp = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_else(|_| t.to_string());
    let validity = cert.validity();
    let ends = validity.not_after.to_datetime();
    CertInfo {
        subject: name(cert.subject()),
        issuer: name(cert.issuer()),
        sans,
        serial: serial_hex(cert.raw_serial()),
        not_before: stamp(validity.not_before.to_datetime()),
        not_after: stamp(ends),
        ends,
    }
}

/// A serial as openssl prints it: the number's bytes in hex, without the 0x00 that DER
/// puts before a number whose first byte has its top bit set (one serial in 256 was
/// printed two ways).
fn serial_hex(raw: &[u8]) -> String {
    let first = raw
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    raw[first..].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_is_printed_without_ders_padding() {
        assert_eq!(serial_hex(&[0x00, 0xe4, 0x96]), "e496");
        assert_eq!(serial_hex(&[0x12, 0x00]), "1200");
        assert_eq!(serial_hex(&[0x00]), "00");
    }
    use time::Duration;

    fn cert(days: i64) -> String {
        let mut p =
            rcgen::CertificateParams::new(vec!["n1.d.test".into(), "198.18.1.1".into()]).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "n1".to_string());
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::days(400);
        p.not_after = now + Duration::days(days);
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x0a, 0xbc]));
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_certificate_is_read_with_its_names_serial_and_end() {
        let two = cert(90) + cert(10).as_str();
        let read = from_pem(two.as_bytes()).unwrap();
        assert_eq!(read.len(), 2, "a bundle is read whole");
        let c = &read[0];
        assert_eq!(c.subject, "n1");
        assert_eq!(c.sans, ["n1.d.test", "198.18.1.1"]);
        assert_eq!(c.serial, "0abc");
        let now = OffsetDateTime::now_utc();
        assert_eq!(c.days_left(now), 89);
        assert_eq!(c.expiry(now), Expiry::Valid);
        assert_eq!(read[1].expiry(now), Expiry::Soon);
        assert!(c.not_after.ends_with('Z'), "{}", c.not_after);
        assert!(from_pem(b"nothing").is_err());
    }

    #[test]
    fn an_end_in_the_past_is_expired_and_thirty_days_is_the_line() {
        let now = OffsetDateTime::now_utc();
        let read = |days| from_pem(cert(days).as_bytes()).unwrap().remove(0);
        assert_eq!(read(-1).expiry(now), Expiry::Expired);
        assert!(read(-1).days_left(now) < 0);
        assert_eq!(read(29).expiry(now), Expiry::Soon);
        assert_eq!(read(31).expiry(now), Expiry::Valid);
    }
}
