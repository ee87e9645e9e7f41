//! Cluster health the way the seed article's `etcdctl cluster-health` reported it:
//! members found through the client SRV records, each asked over TLS.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::drift::Published;
use super::etcd_client::{Credentials, FilesError, cause, credentials, http_client};
use super::etcd_grpc::CallError;
use super::resolve::{self, ResolveError};
use crate::base::error::Error;
use crate::providers::etcd_api::ClusterAt;
use crate::providers::etcd_api::{Alarm, CertNote, Member, Report, Status};
use crate::providers::members::{Drift, EtcdMember, MemberCall, url_host};
use crate::providers::probe::Answer;
use crate::providers::tls::TlsFiles;

/// Why the members could not even be asked.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("no DNS server to ask about the cluster")]
    NoServer,
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    #[error("there is no zone {domain} at {server}: it refused to answer for {srv_name}")]
    NoZone {
        domain: String,
        srv_name: String,
        server: SocketAddr,
    },
    #[error("no SRV records at {server} under {srv_name}: no members to ask")]
    NoMembers {
        srv_name: String,
        server: SocketAddr,
    },
    /// The files given to ask with are at fault, not the cluster.
    #[error("{message}")]
    Setup {
        message: String,
        help: Option<String>,
    },
    #[error("a member check ended without an answer: {0}")]
    Lost(String),
}

impl From<FilesError> for HealthError {
    fn from(e: FilesError) -> Self {
        setup(e.message, e.help)
    }
}

impl From<HealthError> for Error {
    fn from(e: HealthError) -> Self {
        match e {
            HealthError::Resolve(r) => r.into(),
            HealthError::NoServer => Error::missing(e.to_string()),
            HealthError::NoZone { .. } => Error::not_found(e.to_string()),
            HealthError::Setup { message, help } => {
                let e = Error::invalid(message);
                match help {
                    Some(help) => e.with_help(help),
                    None => e,
                }
            }
            other => Error::failed(other.to_string()),
        }
    }
}

fn setup(message: String, help: Option<&str>) -> HealthError {
    HealthError::Setup {
        message,
        help: help.map(String::from),
    }
}

/// `healthy` members answer healthy; `electing` ones answer but have no leader, which
/// a majority of live members soon elects: quorum is there, only not yet in use.
fn status_of(healthy: usize, electing: usize, total: usize) -> Status {
    if total > 0 && healthy == total {
        Status::Healthy
    } else if healthy + electing > total / 2 {
        Status::Degraded
    } else {
        Status::Unavailable
    }
}

/// A TLS handshake that failed on a certificate: which side's was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The member's certificate is not signed by our CA.
    TheirCert,
    /// The member does not accept our client certificate.
    OurCert,
}

fn refused(why: &str) -> Option<Refused> {
    if why.contains("invalid peer certificate") {
        Some(Refused::TheirCert)
    } else if why.contains("received fatal alert")
        && [
            "UnknownCA",
            "BadCertificate",
            "CertificateRequired",
            "UnsupportedCertificate",
            "CertificateExpired",
        ]
        .iter()
        .any(|alert| why.contains(alert))
    {
        Some(Refused::OurCert)
    } else {
        None
    }
}

/// A connection the member ended after the handshake.
fn closed(why: &str) -> bool {
    // HTTP/2 (gRPC) says a refusal after the handshake as a connection "not ready".
    [
        "broken pipe",
        "connection closed",
        "reset by peer",
        "not ready",
    ]
    .iter()
    .any(|w| why.contains(w))
}

/// What a member's maintenance status says about raft: its ID, its leader (0 while
/// electing) and the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Raft {
    id: u64,
    /// The cluster's ID, from the answer's header.
    cluster: u64,
    leader: u64,
    term: u64,
    /// The last raft entry it holds, and (3.5 on; 0 before) the last it applied.
    index: u64,
    applied: u64,
    /// The database file's size, and (3.5 on; 0 before) how much of it is in use.
    db_size: u64,
    db_size_in_use: u64,
}

async fn raft_status(grpc: &reqwest::Client, base: &str) -> Result<Option<Raft>, String> {
    let path = "/v3/maintenance/status";
    let v = match super::etcd_grpc::call(grpc, base, path, &serde_json::json!({}), None).await {
        Ok(v) => v,
        Err(CallError::Unreachable(why)) => return Err(why),
        Err(_) => return Ok(None),
    };
    // The gateway writes uint64 as strings and leaves out zero values.
    let number = |p: &str| {
        v.pointer(p)
            .and_then(|n| n.as_str())
            .map_or(Some(0), |n| n.parse::<u64>().ok())
    };
    Ok((|| {
        Some(Raft {
            id: number("/header/member_id").filter(|id| *id != 0)?,
            cluster: number("/header/cluster_id")?,
            leader: number("/leader")?,
            term: number("/raftTerm")?,
            index: number("/raftIndex")?,
            applied: number("/raftAppliedIndex")?,
            db_size: number("/dbSize")?,
            db_size_in_use: number("/dbSizeInUse")?,
        })
    })())
}

/// The alarms the cluster has raised, as a member lists them (`etcdctl alarm list`).
async fn alarms(grpc: &reqwest::Client, base: &str) -> Option<Vec<Alarm>> {
    let get = serde_json::json!({ "action": "GET" });
    let v = super::etcd_grpc::call(grpc, base, "/v3/maintenance/alarm", &get, None)
        .await
        .ok()?;
    let list = v.get("alarms").and_then(|a| a.as_array());
    Some(
        list.into_iter()
            .flatten()
            .map(|a| Alarm {
                member: a
                    .get("memberID")
                    .and_then(|m| m.as_str())
                    .and_then(|m| m.parse::<u64>().ok())
                    .map_or_else(String::new, |m| format!("{m:x}")),
                // The gateway leaves out the zero value (NONE).
                alarm: a
                    .get("alarm")
                    .and_then(|k| k.as_str())
                    .unwrap_or("NONE")
                    .to_string(),
            })
            .filter(|a| a.alarm != "NONE")
            .collect(),
    )
}

/// Client URL -> member ID, as one member reports the membership.
/// What a member's `/version` says: its own release and the cluster's version (the
/// lowest minor its members run, as `3.5.0`; empty while it is not decided yet).
async fn versions(client: &reqwest::Client, base: &str) -> Option<(String, String)> {
    let resp = client.get(format!("{base}/version")).send().await.ok()?;
    let v = resp.json::<serde_json::Value>().await.ok()?;
    let field = |k: &str| v.get(k).and_then(|s| s.as_str()).map(String::from);
    Some((
        field("etcdserver")?,
        field("etcdcluster").unwrap_or_default(),
    ))
}

/// Whether release `version` has `/readyz`, which etcd added in 3.5.11: a member that
/// has it is asked there (a linearizable read, and no corruption alarm), else `/health`.
fn has_readyz(version: Option<&str>) -> bool {
    version
        .and_then(crate::providers::release::Version::parse)
        .is_some_and(|v| (v.major, v.minor, v.patch) >= (3, 5, 11))
}

/// A member's answer to its health check as `/health` gives it: `{"health": "true"}`
/// when healthy. `/readyz` answers `ok` with 200, or 503 and a line per failed check;
/// it is read into the same shape (`reason` its failed checks).
async fn health_answer(
    client: &reqwest::Client,
    endpoint: &str,
    readyz: bool,
) -> Result<Result<serde_json::Value, String>, reqwest::Error> {
    if !readyz {
        let resp = client.get(format!("{endpoint}/health")).send().await?;
        return Ok(resp.json::<serde_json::Value>().await.map_err(|e| {
            format!(
                "{endpoint} answered something that is not a health report: {}",
                cause(&e)
            )
        }));
    }
    let resp = client.get(format!("{endpoint}/readyz")).send().await?;
    let ok = resp.status().is_success();
    let text = resp.text().await.unwrap_or_default();
    let text = text.trim();
    Ok(Ok(if ok && text == "ok" {
        serde_json::json!({ "health": "true", "reason": "" })
    } else {
        let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("[-]")).collect();
        let reason = if failed.is_empty() {
            text.to_string()
        } else {
            failed.join("; ")
        };
        // A member that cannot serve a linearizable read because no leader is elected.
        let reason = if reason.to_lowercase().contains("no leader") {
            format!("NO LEADER: {reason}")
        } else {
            reason
        };
        serde_json::json!({ "health": "false", "reason": reason, "readyz": text })
    }))
}

async fn membership(grpc: &reqwest::Client, base: &str) -> BTreeMap<String, String> {
    let list = "/v3/cluster/member/list";
    let Ok(v) = super::etcd_grpc::call(grpc, base, list, &serde_json::json!({}), None).await else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for m in v
        .get("members")
        .and_then(|m| m.as_array())
        .into_iter()
        .flatten()
    {
        let Some(id) = m
            .get("ID")
            .and_then(|i| i.as_str())
            .and_then(|i| i.parse::<u64>().ok())
        else {
            continue;
        };
        for url in m
            .get("clientURLs")
            .and_then(|u| u.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(url) = url.as_str() {
                out.insert(url.trim_end_matches('/').to_string(), format!("{id:x}"));
            }
        }
    }
    out
}

/// One member, as asked.
struct Asked {
    endpoint: String,
    healthy: bool,
    /// It answered its health check at all (healthy or not).
    answered: bool,
    detail: String,
    /// Raft as the member told it just before its health check.
    raft: Option<Raft>,
    /// Its health check answered "no leader" (etcd 3.5 says why), or its term moved on
    /// while it was asked: an election under way.
    leaderless: bool,
    refused: Option<Refused>,
    members: BTreeMap<String, String>,
    /// How long the health check took (or the attempt, when it never got that far).
    took: Duration,
    /// Its release and the cluster version, as its `/version` said them.
    version: Option<String>,
    cluster_version: Option<String>,
    /// The cluster's alarms, as it listed them.
    alarms: Option<Vec<Alarm>>,
}

impl Asked {
    fn failed(endpoint: String, detail: String) -> Self {
        Self {
            endpoint,
            healthy: false,
            answered: false,
            detail,
            raft: None,
            leaderless: false,
            refused: None,
            members: BTreeMap::new(),
            took: Duration::ZERO,
            version: None,
            cluster_version: None,
            alarms: None,
        }
    }

    /// Answers but has no leader that answers too: it is electing one.
    fn electing(&self, answering: &BTreeSet<u64>) -> bool {
        self.answered
            && !self.healthy
            && (self.leaderless
                || self
                    .raft
                    .is_some_and(|r| r.leader == 0 || !answering.contains(&r.leader)))
    }
}

async fn ask_member(
    server: SocketAddr,
    scheme: &str,
    target: String,
    port: u16,
    creds: Option<Credentials>,
) -> Asked {
    let endpoint = format!("{scheme}://{target}:{port}");
    let Some(ip) = resolve::address(server, &target).await else {
        let detail = format!("{target} does not resolve at {server}");
        return Asked::failed(endpoint, detail);
    };
    let addr = SocketAddr::new(ip, port);
    let client = match http_client(creds.as_ref(), &target, addr, false) {
        Ok(c) => c,
        Err(e) => return Asked::failed(endpoint, e),
    };
    // etcd's API over gRPC (its gateway refuses a named certificate once auth is on);
    // `/health`, `/version` and `/metrics` over plain HTTPS.
    let grpc = match super::etcd_grpc::client(creds.as_ref(), &target, addr) {
        Ok(c) => c,
        Err(e) => return Asked::failed(endpoint, e),
    };
    // Asked before the health check: /health waits up to a second for a read through
    // raft, and a leader seen after it may be one elected meanwhile.
    let status = raft_status(&grpc, &endpoint).await;
    let raft = status.as_ref().ok().copied().flatten();
    let (version, cluster_version) = match &status {
        Ok(_) => versions(&client, &endpoint).await.unzip(),
        Err(_) => (None, None),
    };

    // `took` times the health check alone, as etcdctl's does.
    let sent = std::time::Instant::now();
    let health = match health_answer(&client, &endpoint, has_readyz(version.as_deref())).await {
        Ok(answer) => answer,
        Err(e) => {
            let why = cause(&e);
            let mut asked = Asked::failed(endpoint.clone(), String::new());
            asked.took = sent.elapsed();
            // Its status still says how much of the log it holds (a member without a
            // quorum answers that, and times out on a health check through raft).
            asked.raft = raft;
            asked.version = version.clone();
            // A refused client certificate reaches TLS 1.3 clients after the handshake,
            // as an alert on whichever request reads it first; the next may only see
            // the connection gone.
            let earlier = status.as_ref().err().and_then(|e| refused(e));
            asked.refused = refused(&why).or(earlier);
            if asked.refused.is_none() && creds.is_some() && closed(&why) {
                // TLS 1.2 refuses a client certificate inside the handshake, where the
                // reason cannot be lost.
                if let Ok(c) = http_client(creds.as_ref(), &target, addr, true)
                    && let Err(e) = c.get(format!("{endpoint}/health")).send().await
                {
                    asked.refused = refused(&cause(&e));
                }
            }
            asked.detail = match (asked.refused, &creds) {
                (Some(Refused::TheirCert), Some(_)) if why.contains("expired") => {
                    format!("{endpoint} serves a certificate that has expired: {why}")
                }
                (Some(Refused::OurCert), Some(c)) if why.contains("CertificateExpired") => format!(
                    "{endpoint} refuses the client certificate {} as expired: {why}",
                    c.files.cert.display()
                ),
                (Some(Refused::TheirCert), Some(c)) => format!(
                    "the certificate of {endpoint} is not signed by the CA in {}: {why}",
                    c.files.ca.display()
                ),
                (Some(Refused::OurCert), Some(c)) => format!(
                    "{endpoint} does not accept the client certificate {}: {why}",
                    c.files.cert.display()
                ),
                _ => format!("cannot reach {endpoint}: {why}"),
            };
            return asked;
        }
    };
    let mut asked = Asked::failed(endpoint.clone(), String::new());
    asked.took = sent.elapsed();
    asked.version = version;
    asked.cluster_version = cluster_version.filter(|v| !v.is_empty());
    match health {
        Ok(v) if v.get("health").and_then(|h| h.as_str()) == Some("true") => {
            asked.healthy = true;
            asked.answered = true;
            // Listing them goes through raft: asked of a member with a leader only, so
            // that an election is never waited for.
            asked.alarms = alarms(&grpc, &endpoint).await;
        }
        Ok(v) => {
            asked.answered = true;
            let reason = v.get("reason").and_then(|r| r.as_str()).unwrap_or("");
            let after = raft_status(&grpc, &endpoint).await.ok().flatten();
            let moved = matches!((raft, after), (Some(a), Some(b)) if a.term != b.term);
            asked.leaderless = reason.contains("NO LEADER") || moved;
            asked.detail = format!("got unhealthy result from {endpoint}: {v}");
        }
        Err(detail) => asked.detail = detail,
    }
    asked.raft = raft;
    // A member that answers at all can say who is who, even without a leader.
    if asked.answered {
        asked.members = membership(&grpc, &endpoint).await;
    }
    asked
}

/// A member as its client SRV record names it: target, port and scheme.
pub(super) type Target = (String, u16, &'static str);

/// The members under the cluster's client SRV records, as etcdctl 3.5 finds them: under
/// both names, TLS and plain, together; with the names asked.
pub(super) async fn client_targets(
    at: &ClusterAt,
    server: SocketAddr,
) -> Result<(Vec<Target>, Vec<String>), HealthError> {
    let mut found = Vec::new();
    let mut asked_names = Vec::new();
    let owners = at.owners();
    for (srv_name, scheme) in [(owners.client_ssl, "https"), (owners.client, "http")] {
        let answers = match resolve::ask(server, &srv_name, RecordType::SRV).await {
            Err(ResolveError::Refused { .. }) => {
                return Err(HealthError::NoZone {
                    domain: at.domain.clone(),
                    srv_name,
                    server,
                });
            }
            other => other?,
        };
        for answer in answers {
            if let Answer::Srv { target, port } = answer {
                found.push((target, port, scheme));
            }
        }
        asked_names.push(srv_name);
    }
    Ok((found, asked_names))
}

/// Finds the members of the cluster `at` through its servers and asks each for its
/// health.
pub async fn check(at: &ClusterAt) -> Result<Report, HealthError> {
    let (domain, tls) = (at.domain.as_str(), at.tls.as_ref());
    let server = *at.servers.first().ok_or(HealthError::NoServer)?;
    let (found, asked_names) = client_targets(at, server).await?;
    if found.is_empty() {
        return Err(HealthError::NoMembers {
            srv_name: asked_names.join(" or "),
            server,
        });
    }
    let over_tls = found.iter().any(|(.., scheme)| *scheme == "https");
    // After DNS: a domain that does not exist has no files either, and saying so about
    // the domain is the more useful.
    let creds = match (over_tls, tls) {
        (true, Some(files)) => Some(credentials(files)?),
        (true, None) => {
            return Err(setup(
                format!(
                    "the members under {} speak TLS, and no CA and client certificate were given",
                    at.owners().client_ssl
                ),
                Some("give --ca, --cert and --key (or run health where rigger made them)"),
            ));
        }
        (false, _) => None,
    };
    // What the client relies on, read while the members are asked.
    let in_use: Vec<(String, u16)> = found
        .iter()
        .filter(|(.., scheme)| *scheme == "https")
        .map(|(t, p, _)| (t.clone(), *p))
        .collect();
    let notes = {
        let files = creds.as_ref().map(|c| c.files.clone());
        tokio::spawn(async move {
            match files {
                Some(files) => super::certs::notes_in_use(&files, &in_use, server).await,
                None => Vec::new(),
            }
        })
    };
    let checks = found.into_iter();
    let mut handles = Vec::new();
    for (target, port, scheme) in checks {
        let creds = creds.clone().filter(|_| scheme == "https");
        handles.push(tokio::spawn(ask_member(
            server, scheme, target, port, creds,
        )));
    }
    let mut asked = Vec::new();
    for h in handles {
        asked.push(h.await.map_err(|e| HealthError::Lost(e.to_string()))?);
    }
    let certificates = notes.await.unwrap_or_default();
    if let Some(creds) = &creds {
        refused_by_all(&asked, &creds.files, &certificates)?;
    }
    let answering: BTreeSet<u64> = asked
        .iter()
        .filter(|a| a.answered)
        .filter_map(|a| a.raft.map(|r| r.id))
        .collect();
    let mut known = BTreeMap::new();
    for a in &asked {
        known.extend(a.members.clone());
    }
    let mut members = Vec::new();
    let mut electing = 0;
    for a in &asked {
        let mut detail = a.detail.clone();
        let is_electing = a.electing(&answering);
        if is_electing {
            electing += 1;
            detail = format!("{} answers but has no leader yet (electing)", a.endpoint);
            if let Some(r) = a
                .raft
                .filter(|r| r.leader != 0 && !answering.contains(&r.leader))
            {
                detail = format!("{detail}; its last leader {:x} does not answer", r.leader);
            }
        }
        let id = a.raft.map(|r| format!("{:x}", r.id));
        members.push(Member {
            id: id.or_else(|| known.get(&a.endpoint).cloned()),
            endpoint: a.endpoint.clone(),
            healthy: a.healthy,
            electing: is_electing,
            detail,
            took: a.took,
            version: a.version.clone(),
            raft_index: a.raft.map(|r| r.index),
            applied_index: a.raft.map(|r| r.applied).filter(|i| *i > 0),
            is_leader: a.raft.is_some_and(|r| r.leader == r.id),
            db_size: a.raft.map(|r| r.db_size),
            db_size_in_use: a.raft.map(|r| r.db_size_in_use).filter(|s| *s > 0),
        });
    }
    let (drift, known) = drift_of(at, server, &asked).await;
    let membership_read = known.is_some();
    // An SRV target that is no member is drift, not a member down: it does not count
    // against the quorum.
    if let Some((listed, published)) = known {
        let member = |m: &Member| super::drift::is_member(&m.endpoint, &listed, &published);
        let electing_gone = members.iter().filter(|m| m.electing && !member(m)).count();
        electing -= electing_gone;
        members.retain(member);
    }
    let healthy = members.iter().filter(|m| m.healthy).count();
    let mut status = status_of(healthy, electing, members.len());
    if status == Status::Healthy && !drift.is_empty() {
        status = Status::Degraded;
    }
    // An alarm stops every write, whoever answers.
    let alarms = asked
        .iter()
        .find_map(|a| a.alarms.clone())
        .unwrap_or_default();
    if !alarms.is_empty() {
        status = Status::Unavailable;
    }
    // Every member that says one tells the same, once decided: the leader's is taken
    // when it answered.
    let leader = asked
        .iter()
        .find(|a| a.raft.is_some_and(|r| r.leader == r.id));
    let cluster_version = leader
        .and_then(|a| a.cluster_version.clone())
        .or_else(|| asked.iter().find_map(|a| a.cluster_version.clone()));
    let cluster_id = leader
        .or_else(|| asked.iter().find(|a| a.raft.is_some()))
        .and_then(|a| a.raft)
        .map(|r| format!("{:x}", r.cluster));
    Ok(Report {
        domain: domain.to_string(),
        status,
        members,
        assumed: None,
        drift,
        membership_read,
        cluster_version,
        cluster_id,
        alarms,
        certificates,
    })
}

/// Where DNS and the membership disagree, with the membership and DNS as read; nothing when the
/// membership cannot be read (no quorum: a linearizable member list needs a leader).
async fn drift_of(
    at: &ClusterAt,
    server: SocketAddr,
    asked: &[Asked],
) -> (Vec<Drift>, Option<(Vec<EtcdMember>, Published)>) {
    let call = MemberCall::List;
    let listed = super::membership::change(at, &call, Duration::ZERO).await;
    let Ok(listed) = listed else {
        return (Vec::new(), None);
    };
    let owners = at.owners();
    let (server_srv, client_srv) = match at.tls {
        Some(_) => (owners.server_ssl, owners.client_ssl),
        None => (owners.server, owners.client),
    };
    let hosts: Vec<String> = listed.members.iter().flat_map(|m| m.peer_hosts()).collect();
    let names = [server_srv.clone(), client_srv.clone()];
    let published = super::drift::read(server, &names, &hosts).await;
    // Who answered at each host's address, as the health checks found it.
    let answering = asked
        .iter()
        .filter_map(|a| Some((url_host(&a.endpoint)?, format!("{:x}", a.raft?.id))))
        .collect();
    let drift = super::drift::compare(
        &listed.members,
        &published,
        &server_srv,
        &client_srv,
        &answering,
    );
    (drift, Some((listed.members, published)))
}

/// Every member refusing a certificate is the CA or client certificate given, not a
/// cluster that is down.
fn refused_by_all(
    asked: &[Asked],
    files: &TlsFiles,
    certificates: &[CertNote],
) -> Result<(), HealthError> {
    if asked.is_empty() || asked.iter().any(|a| a.refused.is_none()) {
        return Ok(());
    }
    // A certificate past its end is the reason, whichever side refused.
    let expired: Vec<String> = certificates
        .iter()
        .filter(|c| c.expired)
        .map(CertNote::line)
        .collect();
    if !expired.is_empty() {
        return Err(setup(
            expired.join("; "),
            Some("`rigger run rotate-certs` issues new certificates from the cluster's CA"),
        ));
    }
    Err(
        if asked.iter().any(|a| a.refused == Some(Refused::TheirCert)) {
            setup(
                format!(
                    "the members' certificates are not signed by the CA in {}",
                    files.ca.display()
                ),
                Some(
                    "--ca takes the CA that signed the cluster's certificates (rigger made one per domain under its state dir's pki/)",
                ),
            )
        } else {
            setup(
                format!(
                    "the members do not accept the client certificate {} (not signed by a CA they trust)",
                    files.cert.display()
                ),
                Some(
                    "--cert and --key take a client certificate signed by the cluster's CA, and its key",
                ),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_decides_between_degraded_and_unavailable() {
        assert_eq!(status_of(3, 0, 3), Status::Healthy);
        assert_eq!(status_of(2, 0, 3), Status::Degraded);
        assert_eq!(status_of(1, 0, 3), Status::Unavailable);
        assert_eq!(status_of(3, 0, 5), Status::Degraded);
        assert_eq!(status_of(2, 0, 5), Status::Unavailable);
        assert_eq!(status_of(0, 0, 0), Status::Unavailable);
    }

    #[test]
    fn members_electing_a_leader_hold_quorum() {
        assert_eq!(status_of(0, 2, 3), Status::Degraded);
        assert_eq!(status_of(1, 1, 3), Status::Degraded);
        assert_eq!(status_of(0, 1, 3), Status::Unavailable);
        assert_eq!(status_of(0, 3, 3), Status::Degraded);
    }

    #[test]
    fn certificate_refusals_are_told_apart() {
        let theirs = "invalid peer certificate: UnknownIssuer";
        assert_eq!(refused(theirs), Some(Refused::TheirCert));
        let ours = "received fatal alert: UnknownCA";
        assert_eq!(refused(ours), Some(Refused::OurCert));
        assert_eq!(refused("Connection refused"), None);
    }
}
