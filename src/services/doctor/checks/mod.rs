//! The checks: pure functions from what the servers served to findings, each saying
//! what etcd does with the zone (measured on 3.4.23 and 3.5.1, see issue 13) and what
//! to change. Severity follows etcd's outcome: an error where it fails or comes up
//! short, a warning where it starts with a weakness it does not tell.

mod certs;
mod members;
mod owners;
mod records;
mod scheme;
mod zone;

use std::collections::BTreeSet;

use super::owners::Owners;
use super::served::{Rr, Served, View};
use crate::providers::discovery::{DiscoveryCheck, Finding, Scheme, Severity};

/// What every check reads: the request, the first server that answered, and the names.
pub struct Context<'a> {
    pub check: &'a DiscoveryCheck,
    pub view: &'a View,
    pub owners: Owners,
    /// The members' scheme: given, or what the records imply (`-ssl` alone: https).
    pub scheme: Option<Scheme>,
}

impl Context<'_> {
    /// The SRV records under `owner`.
    pub fn srv(&self, owner: &str) -> Vec<&Rr> {
        let found = self.view.srv_at(owner).srv().into_iter();
        found.map(|(.., r)| r).collect()
    }

    /// The peer records etcd reads: both sets, except on 3.4, which reads `-ssl` alone.
    pub fn peer_records(&self) -> Vec<&Rr> {
        let mut out = self.srv(&self.owners.server_ssl);
        if self.check.version.is_none_or(|v| v.reads_plain()) {
            out.extend(self.srv(&self.owners.server));
        }
        out
    }

    /// The records clients read (etcdctl 3.5 reads both names).
    pub fn client_records(&self) -> Vec<&Rr> {
        let mut out = self.srv(&self.owners.client_ssl);
        out.extend(self.srv(&self.owners.client));
        out
    }
}

/// The targets of `records`, each once.
pub fn targets(records: &[&Rr]) -> BTreeSet<String> {
    records.iter().filter_map(|r| target(r)).collect()
}

pub fn target(record: &Rr) -> Option<String> {
    match &record.data {
        super::served::RrData::Srv { target, .. } => Some(target.clone()),
        _ => None,
    }
}

pub fn finding(
    id: &'static str,
    severity: Severity,
    subject: impl Into<String>,
    message: String,
    evidence: Vec<String>,
    fix: String,
) -> Finding {
    Finding {
        id,
        severity,
        subject: subject.into(),
        message,
        evidence,
        fix,
    }
}

/// Every finding about `served`, and what could not be checked.
pub fn judge(check: &DiscoveryCheck, served: &Served) -> (Vec<Finding>, Vec<String>) {
    let mut findings = zone::unserved(check, served);
    findings.extend(zone::silent(check, served));
    let mut unchecked = zone::without_soa(check, served);
    let Some(view) = served.views.iter().find(|v| v.answered()) else {
        return (findings, unchecked);
    };
    let owners = Owners::new(&check.domain, check.service_name.as_deref());
    let ssl = !view.srv_at(&owners.server_ssl).srv().is_empty();
    let plain = !view.srv_at(&owners.server).srv().is_empty();
    let scheme = check.scheme.or(match (ssl, plain) {
        (true, false) => Some(Scheme::Https),
        (false, true) => Some(Scheme::Http),
        _ => None,
    });
    let cx = Context {
        check,
        view,
        owners,
        scheme,
    };
    let named = owners::named(&cx);
    let nothing = named.iter().any(|f| f.id == owners::NO_RECORDS);
    findings.extend(named);
    if nothing {
        return (findings, unchecked);
    }
    findings.extend(zone::disagreements(&cx, served));
    findings.extend(scheme::versions(&cx));
    findings.extend(records::fields(&cx));
    let (about_targets, not_checked) = records::targets(&cx);
    findings.extend(about_targets);
    unchecked.extend(not_checked);
    findings.extend(members::sets(&cx));
    let (about_certs, not_checked) = certs::sans(&cx, &served.certs);
    findings.extend(about_certs);
    unchecked.extend(not_checked);
    (findings, unchecked)
}

#[cfg(test)]
pub mod tests;
