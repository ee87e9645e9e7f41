//! Plain against `-ssl`, for the members' scheme and etcd's version. etcd 3.4 reads
//! `_etcd-server-ssl._tcp` alone (etcd-io/etcd#11321); 3.5 and later read both names
//! and merge them into one initial cluster. A record under the `-ssl` name is an https
//! peer URL, one under the plain name an http one, and a member whose own URL has the
//! other scheme does not find itself.

use super::{Context, finding};
use crate::providers::discovery::{EtcdVersion, Finding, Scheme, Severity};

const PLAIN_ON_3_4: &str = "plain-srv-on-3.4";
const BOTH_SETS: &str = "both-srv-sets";
const SCHEME_MISMATCH: &str = "scheme-mismatch";

/// What fails on `version`: the finding's id and the owner it is about.
fn failure(
    cx: &Context,
    version: EtcdVersion,
    ssl: bool,
    plain: bool,
) -> Option<(&'static str, String)> {
    let o = &cx.owners;
    let http = cx.scheme == Some(Scheme::Http);
    let https = cx.scheme == Some(Scheme::Https);
    if !version.reads_plain() {
        return if !ssl {
            Some((PLAIN_ON_3_4, o.server.clone()))
        } else if http {
            Some((SCHEME_MISMATCH, o.server_ssl.clone()))
        } else {
            None
        };
    }
    if ssl && plain {
        Some((BOTH_SETS, o.server_ssl.clone()))
    } else if ssl && http {
        Some((SCHEME_MISMATCH, o.server_ssl.clone()))
    } else if plain && https {
        Some((SCHEME_MISMATCH, o.server.clone()))
    } else {
        None
    }
}

/// The versions something fails on, as a phrase.
fn on(versions: &[EtcdVersion], given: bool) -> String {
    match versions {
        [v] if given => format!("etcd {v}"),
        [v] if v.reads_plain() => "etcd from 3.5 on".to_string(),
        [_] => "etcd 3.4".to_string(),
        _ => "every etcd from 3.4 on".to_string(),
    }
}

pub fn versions(cx: &Context) -> Vec<Finding> {
    let ssl = !cx.srv(&cx.owners.server_ssl).is_empty();
    let plain = !cx.srv(&cx.owners.server).is_empty();
    if !ssl && !plain {
        return Vec::new();
    }
    let given = cx.check.version.is_some();
    let judged = match cx.check.version {
        Some(v) => vec![v],
        None => vec![EtcdVersion::V3_4, EtcdVersion::V3_5],
    };
    // Each failure once, with every version it happens on.
    let mut failures: Vec<(&'static str, String, Vec<EtcdVersion>)> = Vec::new();
    for v in judged {
        let Some((id, owner)) = failure(cx, v, ssl, plain) else {
            continue;
        };
        match failures
            .iter_mut()
            .find(|(i, o, _)| *i == id && *o == owner)
        {
            Some((.., versions)) => versions.push(v),
            None => failures.push((id, owner, vec![v])),
        }
    }
    failures
        .into_iter()
        .map(|(id, owner, versions)| {
            // Unknown version, failing on 3.4 alone: the release is past its end of life,
            // and the members may well run a later one; said, not stopped on.
            let severity = if given || versions.iter().any(|v| v.reads_plain()) {
                Severity::Error
            } else {
                Severity::Warning
            };
            describe(cx, id, owner, &on(&versions, given), severity)
        })
        .collect()
}

fn describe(
    cx: &Context,
    id: &'static str,
    owner: String,
    on: &str,
    severity: Severity,
) -> Finding {
    let o = &cx.owners;
    let evidence: Vec<String> = cx.srv(&owner).iter().map(|r| r.line()).collect();
    let version_hint = if cx.check.version.is_none() {
        " (say which with --etcd-version)"
    } else {
        ""
    };
    match id {
        PLAIN_ON_3_4 => finding(
            id,
            severity,
            owner,
            format!(
                "the peers are published only under {}, for plain HTTP: {on} looks up {} \
                 alone (etcd-io/etcd#11321) and stops (\"couldn't resolve during SRV \
                 discovery\"); etcd 3.5 and later read them",
                o.server, o.server_ssl
            ),
            evidence,
            format!(
                "run etcd 3.5 or later{version_hint}, or use TLS and publish the records under {}",
                o.server_ssl
            ),
        ),
        BOTH_SETS => {
            let mut evidence = evidence;
            evidence.extend(cx.srv(&o.server).iter().map(|r| r.line()));
            finding(
                id,
                severity,
                owner,
                format!(
                    "the peers are published under both {} (https) and {} (http): {on} \
                     merges the two into one initial cluster in which every member appears \
                     twice, under names each member makes up for itself, so the members \
                     disagree on the cluster and refuse each other (\"cluster ID mismatch\")",
                    o.server_ssl, o.server
                ),
                evidence,
                format!(
                    "keep only the set of the members' scheme: {} for https, {} for http",
                    o.server_ssl, o.server
                ),
            )
        }
        _ => {
            let (theirs, read_as) = if owner == o.server_ssl {
                ("http", "https")
            } else {
                ("https", "http")
            };
            let other = if owner == o.server_ssl {
                &o.server
            } else {
                &o.server_ssl
            };
            finding(
                id,
                severity,
                owner.clone(),
                format!(
                    "members advertise {theirs}:// peer URLs, but the peers are published \
                     under {owner}, which {on} reads as {read_as}:// URLs: no member finds \
                     itself (\"cannot find local etcd member\")"
                ),
                evidence,
                format!(
                    "publish the records under {other}, or start the members with \
                     {read_as}:// URLs"
                ),
            )
        }
    }
}
