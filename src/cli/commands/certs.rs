//! `rigger certs --discovery-srv DOMAIN`: every certificate of a cluster, as `kubeadm
//! certs check-expiration` lists a control plane's (subject, SANs, end, days left), the
//! files rigger keeps and what each live member serves on its client and peer ports.
//! Exit 0 when every one has 30 days or more and each member serves its file, 3 with
//! something to warn about, 4 when one in use has expired.

use serde::Serialize;
use time::OffsetDateTime;

use super::health::{Client, asked};
use super::table::{Align, bordered};
use crate::cli::exit;
use crate::services::cert_info::{CertInfo, Expiry};
use crate::services::certs::{FileCert, ServedCert, files, served_by_members};
use crate::world::WorldConfig;

pub struct CertsArgs {
    pub client: Client,
    pub json: bool,
}

#[derive(Serialize)]
struct Listing<'a> {
    domain: &'a str,
    /// The folder of the files.
    pki: String,
    files: Vec<FileRow<'a>>,
    /// None when the cluster was not asked (no TLS files, or it did not answer).
    served: Option<Vec<ServedRow<'a>>>,
    /// Why the live members could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    unasked: Option<String>,
}

#[derive(Serialize)]
struct FileRow<'a> {
    file: String,
    role: &'a str,
    #[serde(flatten)]
    cert: Option<&'a CertInfo>,
    days_left: Option<i64>,
    expiry: Option<Expiry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct ServedRow<'a> {
    endpoint: &'a str,
    port: &'a str,
    #[serde(flatten)]
    cert: Option<&'a CertInfo>,
    days_left: Option<i64>,
    expiry: Option<Expiry>,
    file: String,
    matches_file: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

pub fn certs(config: &WorldConfig, args: CertsArgs) -> u8 {
    let name = args.client.name.clone();
    let (domain, tls) = match asked("certs", config, args.client) {
        Ok(found) => found,
        Err(status) => return status,
    };
    let key = match super::cluster_key(&domain, name.as_deref()) {
        Ok(k) => k,
        Err(status) => return status,
    };
    let pki = config.state.root().join("pki").join(&key);
    let kept = files(&pki);
    let live = match &tls {
        None => Err("the cluster speaks plain HTTP: no certificate to read".to_string()),
        Some(tls) => match super::health::existing_world(config) {
            Ok(world) => {
                let owners = crate::providers::owners::Owners::new(&domain, name.as_deref());
                ask(&world, &domain, owners, tls.clone(), pki.clone())
            }
            Err(status) => return status,
        },
    };
    let now = OffsetDateTime::now_utc();
    let file_rows = kept.iter().flat_map(|f| file_rows(f, now)).collect();
    let (served, unasked) = match &live {
        Ok(s) => (Some(s.iter().map(|s| served_row(s, now)).collect()), None),
        Err(why) => (None, Some(why.clone())),
    };
    let listing = Listing {
        domain: &domain,
        pki: pki.display().to_string(),
        files: file_rows,
        served,
        unasked,
    };
    let text = if args.json {
        super::json_text(&listing)
    } else {
        text(&listing)
    };
    crate::base::output::data(&text);
    verdict(&listing)
}

/// What the members serve, asked in the world's runtime (inside the lab's network).
fn ask(
    world: &crate::world::query::Query,
    domain: &str,
    owners: crate::providers::owners::Owners,
    tls: crate::providers::TlsFiles,
    pki: std::path::PathBuf,
) -> Result<Vec<ServedCert>, String> {
    let dns = world.dns.clone();
    let domain = domain.to_string();
    world.block_on(async move {
        let servers = dns.authoritative(&domain).await.map_err(|e| e.message)?;
        let server = *servers
            .first()
            .ok_or_else(|| format!("no DNS server for {domain}"))?;
        served_by_members(&owners, &tls, server, &pki).await
    })
}

fn file_rows(f: &FileCert, now: OffsetDateTime) -> Vec<FileRow<'_>> {
    let file = f.file.display().to_string();
    match &f.certs {
        Ok(certs) => certs
            .iter()
            .map(|c| FileRow {
                file: file.clone(),
                role: f.role,
                cert: Some(c),
                days_left: Some(c.days_left(now)),
                expiry: Some(c.expiry(now)),
                error: None,
            })
            .collect(),
        Err(why) => vec![FileRow {
            file,
            role: f.role,
            cert: None,
            days_left: None,
            expiry: None,
            error: Some(why),
        }],
    }
}

fn served_row(s: &ServedCert, now: OffsetDateTime) -> ServedRow<'_> {
    let cert = s.cert.as_ref().ok();
    ServedRow {
        endpoint: &s.endpoint,
        port: s.port,
        cert,
        days_left: cert.map(|c| c.days_left(now)),
        expiry: cert.map(|c| c.expiry(now)),
        file: s.file.display().to_string(),
        matches_file: s.matches_file,
        error: s.cert.as_ref().err().map(String::as_str),
    }
}

/// A file's name alone: the table says its folder once.
fn short(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Days left as kubeadm's RESIDUAL TIME says it: `364d`, or `expired`.
fn residual(days: Option<i64>, expiry: Option<Expiry>) -> String {
    match (days, expiry) {
        (_, Some(Expiry::Expired)) => "expired".into(),
        (Some(d), _) => format!("{d}d"),
        _ => "-".into(),
    }
}

fn text(l: &Listing) -> String {
    let rows: Vec<Vec<String>> = l
        .files
        .iter()
        .map(|r| {
            vec![
                short(&r.file),
                r.role.to_string(),
                r.cert
                    .map_or_else(|| r.error.unwrap_or("").to_string(), |c| c.subject.clone()),
                r.cert.map_or(String::new(), |c| c.sans.join(",")),
                r.cert.map_or(String::new(), |c| c.end_date()),
                residual(r.days_left, r.expiry),
                r.cert.map_or(String::new(), |c| c.serial.clone()),
            ]
        })
        .collect();
    let mut out = format!(
        "certificates of {} kept by rigger in {}:\n",
        l.domain, l.pki
    );
    let headers = [
        "FILE",
        "ROLE",
        "SUBJECT",
        "SANS",
        "EXPIRES",
        "RESIDUAL TIME",
        "SERIAL",
    ];
    out.push_str(&bordered(&headers, &rows, |i| {
        if i == 5 { Align::Right } else { Align::Left }
    }));
    match (&l.served, &l.unasked) {
        (Some(served), _) => {
            out.push_str("served by the members:\n");
            let rows: Vec<Vec<String>> = served
                .iter()
                .map(|r| {
                    vec![
                        r.endpoint.to_string(),
                        r.port.to_string(),
                        r.cert.map_or_else(
                            || r.error.unwrap_or("").to_string(),
                            |c| c.subject.clone(),
                        ),
                        r.cert.map_or(String::new(), |c| c.end_date()),
                        residual(r.days_left, r.expiry),
                        r.cert.map_or(String::new(), |c| c.serial.clone()),
                        match r.matches_file {
                            Some(true) => "yes".into(),
                            Some(false) => "NO".into(),
                            None => "-".into(),
                        },
                    ]
                })
                .collect();
            let headers = [
                "ENDPOINT",
                "PORT",
                "SUBJECT",
                "EXPIRES",
                "RESIDUAL TIME",
                "SERIAL",
                "FILE'S",
            ];
            out.push_str(&bordered(&headers, &rows, |i| {
                if i == 4 { Align::Right } else { Align::Left }
            }));
        }
        (None, Some(why)) => out.push_str(&format!("the members were not asked: {why}\n")),
        (None, None) => {}
    }
    for w in warnings(l) {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

/// What is worth saying below the tables: certificates near their end or past it, and
/// members serving something other than their file.
fn warnings(l: &Listing) -> Vec<String> {
    let mut out = Vec::new();
    for r in &l.files {
        if let (Some(c), Some(e)) = (r.cert, r.expiry) {
            match e {
                Expiry::Expired => out.push(format!("{} expired on {}", r.file, c.end_date())),
                Expiry::Soon => out.push(format!(
                    "{} expires on {} ({} days left)",
                    r.file,
                    c.end_date(),
                    r.days_left.unwrap_or(0)
                )),
                Expiry::Valid => {}
            }
        }
    }
    for r in l.served.iter().flatten() {
        if let (Some(c), Some(Expiry::Expired)) = (r.cert, r.expiry) {
            out.push(format!(
                "{} ({}) serves a certificate that expired on {}",
                r.endpoint,
                r.port,
                c.end_date()
            ));
        }
        if r.matches_file == Some(false) {
            out.push(format!(
                "{} ({}) serves serial {}, not that of {}: the file was replaced and is not served yet, or the member serves another",
                r.endpoint,
                r.port,
                r.cert.map_or("", |c| c.serial.as_str()),
                r.file
            ));
        }
    }
    out
}

fn verdict(l: &Listing) -> u8 {
    let expired = l.files.iter().any(|r| r.expiry == Some(Expiry::Expired))
        || l.served
            .iter()
            .flatten()
            .any(|r| r.expiry == Some(Expiry::Expired));
    if expired {
        return exit::ERROR;
    }
    if !warnings(l).is_empty() || l.served.iter().flatten().any(|r| r.error.is_some()) {
        return exit::WARNING;
    }
    exit::OK
}
