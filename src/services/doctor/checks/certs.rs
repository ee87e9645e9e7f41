//! The members' certificates against the records: a peer dials each SRV target by its
//! name and refuses a certificate that does not name it ("x509: certificate is valid for
//! ..., not ..."); with `--peer-client-cert-auth` a member refuses a peer whose
//! certificate carries neither the address it connects from nor a name resolving to it.

use std::net::IpAddr;

use super::super::certs::{Cert, covers};
use super::super::served::{Lookup, Rr};
use super::{Context, finding, targets};
use crate::providers::discovery::{Finding, Severity};

pub fn sans(
    cx: &Context,
    certs: &std::collections::BTreeMap<String, Cert>,
) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    let mut unchecked = Vec::new();
    for target in targets(&cx.peer_records()) {
        let sans = match certs.get(&target) {
            None => continue,
            Some(Cert::Missing(file)) => {
                unchecked.push(format!(
                    "the certificate of {target}: there is no {}",
                    file.display()
                ));
                continue;
            }
            Some(Cert::Unreadable(file, why)) => {
                unchecked.push(format!(
                    "the certificate of {target}: {}: {why}",
                    file.display()
                ));
                continue;
            }
            Some(Cert::Read(sans)) => sans,
        };
        let lookup = cx.view.addresses.get(&target);
        let addresses = lookup.map(Lookup::addresses).unwrap_or_default();
        let named = sans.dns.iter().any(|d| covers(d, &target));
        // An address counts when it is in the certificate, or a name in it resolves to it.
        let resolves = |ip: &IpAddr| {
            sans.dns.iter().any(|d| {
                cx.view
                    .addresses
                    .get(d)
                    .is_some_and(|l| l.addresses().contains(ip))
            })
        };
        let missing: Vec<IpAddr> = addresses
            .iter()
            .copied()
            .filter(|ip| !sans.ips.contains(ip) && !resolves(ip))
            .collect();
        if named && missing.is_empty() {
            continue;
        }
        let shown = |v: Vec<String>| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let dns = shown(sans.dns.clone());
        let ips = shown(sans.ips.iter().map(ToString::to_string).collect());
        let mut wrong = Vec::new();
        if !named {
            wrong.push(format!(
                "it does not name {target}, so peers dialling it refuse it (\"x509: certificate is valid for {dns}, not {target}\")"
            ));
        }
        if !missing.is_empty() {
            let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
            wrong.push(format!(
                "it carries neither {} nor a name resolving to it, so members refuse the connections it makes (\"does not match any of DNSNames\")",
                missing.join(", ")
            ));
        }
        let mut evidence = vec![format!("{}: DNS {dns}; IP {ips}", sans.file.display())];
        evidence.extend(
            lookup
                .map(|l| l.records().iter().map(Rr::line).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        let want: Vec<String> = addresses.iter().map(|ip| format!("\"{ip}\"")).collect();
        out.push(finding(
            "cert-mismatch",
            Severity::Error,
            target.clone(),
            format!("the certificate of the member at {target}: {}", wrong.join("; and ")),
            evidence,
            format!(
                "issue it again with {target} and its address among its SANs (pki_cert(ca, #{{ dns: [\"{target}\"], ips: [{}] }}))",
                want.join(", ")
            ),
        ));
    }
    (out, unchecked)
}
