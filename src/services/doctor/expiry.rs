//! Certificates in use near their end or past it: the CA and client certificate rigger
//! asks with, and what each member serves. Past its end a certificate is refused by
//! every peer and client; within 30 days it is time to renew.

use crate::providers::discovery::{Finding, Severity};
use crate::providers::etcd_api::CertNote;

use super::checks::finding;

/// `cluster` is how rigger's scripts are told the cluster, for the fixes: `--set
/// domain=D`, with `--set name=N` for a named one (`ClusterAt::script_flags`).
pub fn findings(cluster: &str, notes: &[CertNote]) -> Vec<Finding> {
    notes
        .iter()
        .map(|n| {
            let (id, severity, message) = if n.expired {
                (
                    "cert-expired",
                    Severity::Error,
                    format!("it expired on {}: members and clients refuse it", n.ends),
                )
            } else {
                (
                    "cert-expiring",
                    Severity::Warning,
                    format!("it expires on {} ({} days left, fewer than 30)", n.ends, n.days_left),
                )
            };
            finding(
                id,
                severity,
                n.what.clone(),
                message,
                vec![format!("{}: notAfter {}", n.what, n.ends)],
                format!(
                    "`rigger run rotate-certs {cluster}` issues new member and client certificates in place, without a restart"
                ),
            )
        })
        .collect()
}
