//! A cluster's membership read and changed through etcd's own cluster API (`Cluster`,
//! `Maintenance`, `KV/Compact`, `Auth`: the calls etcdctl makes, over gRPC, asked and
//! answered in the JSON of etcd's gateway), with the members found through the client SRV
//! records as `health` finds them. etcd refuses some changes for a passing reason (a
//! leader elected moments ago, a learner still catching up): those are retried, within
//! a bound, and the last refusal is said when the bound runs out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

use super::etcd_client::{Credentials, credentials};
use super::etcd_grpc::CallError;
use super::resolve;
use crate::base::error::Error;
use crate::providers::etcd_api::ClusterAt;
use crate::providers::members::{EtcdMember, ListHeader, MemberCall, Membership};
use crate::providers::probe::Answer;

/// How long to wait between tries while etcd refuses for a passing reason.
const PAUSE: Duration = Duration::from_millis(250);

/// Refusals that pass on their own. etcd 3.4 answers "unhealthy cluster" to a member
/// add for about 5 s after a leader change (until the new leader has heard from a
/// quorum), "too many learner members" while another learner is still there, and
/// refuses to promote a learner that is not yet in sync with the leader.
const PASSING: &[&str] = &[
    "unhealthy cluster",
    "too many learner members",
    "in sync with leader",
    "leader changed",
    "no leader",
    "request timed out",
    "not capable",
    "rpc not supported for learner",
];

fn passing(why: &str) -> bool {
    PASSING.iter().any(|p| why.contains(p))
}

/// One member to ask: its client URL and the address its name resolves to in the zone.
#[derive(Debug, Clone)]
struct Endpoint {
    url: String,
    host: String,
    addr: SocketAddr,
}

/// The members' client endpoints, found as etcdctl 3.5 finds them: `_etcd-client-ssl`
/// with TLS, `_etcd-client` without, each target resolved at the zone's own server.
async fn endpoints(at: &ClusterAt, tls: bool) -> Result<Vec<Endpoint>, Error> {
    let domain = at.label();
    let server = *at
        .servers
        .first()
        .ok_or_else(|| Error::missing(format!("no DNS server to ask about {domain}")))?;
    let owners = at.owners();
    let (name, scheme) = if tls {
        (owners.client_ssl, "https")
    } else {
        (owners.client, "http")
    };
    // A zone that does not answer has no members to ask (a destroy took it down).
    let answers = resolve::ask(server, &name, RecordType::SRV)
        .await
        .map_err(|e| Error::not_found(format!("the members of {domain} cannot be found: {e}")))?;
    let mut found = Vec::new();
    for answer in answers {
        let Answer::Srv { target, port } = answer else {
            continue;
        };
        if let Some(at) = endpoint_of(server, &format!("{scheme}://{target}:{port}")).await {
            found.push(at);
        }
    }
    if found.is_empty() {
        return Err(Error::not_found(format!(
            "no member of the cluster under {domain} is listed in {name} with an address at {server}"
        ))
        .with_help("`rigger run reconcile --set domain=...` publishes the records of the live members"));
    }
    Ok(found)
}

/// The member at client URL `url`, its host name resolved at the zone's `server`.
async fn endpoint_of(server: SocketAddr, url: &str) -> Option<Endpoint> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.trim_end_matches('.').to_string();
    let port = parsed.port_or_known_default()?;
    let ip = resolve::address(server, &host).await?;
    Some(Endpoint {
        url: url.trim_end_matches('/').to_string(),
        host,
        addr: SocketAddr::new(ip, port),
    })
}

/// Why a member did not take a request, and whether another member (or the same one a
/// moment later) might: it is down, or refused for a passing reason.
struct Refusal {
    why: String,
    passing: bool,
    /// etcd said there is no such member (gRPC NotFound), which a caller removing one
    /// takes as done.
    no_such_member: bool,
}

impl Refusal {
    /// Another member, or the same one a moment later, may take it.
    fn passing(why: impl Into<String>) -> Self {
        Self {
            why: why.into(),
            passing: true,
            no_such_member: false,
        }
    }

    /// Asking again will not change it.
    fn lasting(why: impl Into<String>) -> Self {
        Self {
            passing: false,
            ..Self::passing(why)
        }
    }
}

async fn post(
    creds: Option<&Credentials>,
    at: &Endpoint,
    path: &str,
    body: &Value,
) -> Result<Value, Refusal> {
    post_within(creds, at, path, body, None).await
}

/// `post`, waiting up to `within` for the answer instead of the client's usual few
/// seconds: for a call that works that long (a defragmentation).
async fn post_within(
    creds: Option<&Credentials>,
    at: &Endpoint,
    path: &str,
    body: &Value,
    within: Option<Duration>,
) -> Result<Value, Refusal> {
    let client = match super::etcd_grpc::client(creds, &at.host, at.addr) {
        Ok(c) => c,
        Err(why) => {
            return Err(Refusal::lasting(why));
        }
    };
    match super::etcd_grpc::call(&client, &at.url, path, body, within).await {
        Ok(value) => Ok(value),
        // Down or unreachable: another member may answer.
        Err(CallError::Unreachable(why)) => {
            Err(Refusal::passing(format!("cannot reach {}: {why}", at.url)))
        }
        Err(CallError::Garbled(why)) => Err(Refusal::passing(format!("{}: {why}", at.url))),
        Err(CallError::Refused { code, message }) => Err(Refusal {
            passing: passing(&message),
            no_such_member: code == super::etcd_grpc::NOT_FOUND,
            why: message,
        }),
    }
}

/// A uint64 as the gateway writes it: a string, or absent for zero.
fn uint(v: &Value, key: &str) -> u64 {
    match v.get(key) {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    let list = v.get(key).and_then(Value::as_array).into_iter().flatten();
    list.filter_map(|s| s.as_str().map(String::from)).collect()
}

fn member(v: &Value, leader: u64) -> EtcdMember {
    let id = uint(v, "ID");
    EtcdMember {
        id: format!("{id:x}"),
        name: v.get("name").and_then(Value::as_str).unwrap_or("").into(),
        peer_urls: strings(v, "peerURLs"),
        client_urls: strings(v, "clientURLs"),
        is_learner: v.get("isLearner").and_then(Value::as_bool).unwrap_or(false),
        is_leader: id != 0 && id == leader,
    }
}

fn members(v: &Value, leader: u64) -> Vec<EtcdMember> {
    let list = v
        .get("members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut all: Vec<EtcdMember> = list.map(|m| member(m, leader)).collect();
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    all
}

/// The leader's ID as `at` knows it (0 while electing, or when `at` does not answer).
async fn leader_of(creds: Option<&Credentials>, at: &Endpoint) -> u64 {
    post(creds, at, "/v3/maintenance/status", &json!({}))
        .await
        .map_or(0, |v| uint(&v, "leader"))
}

/// Asks `call` of the cluster under `domain`: of each member in turn until one takes
/// it, and again after a pause while every refusal is a passing one, for up to
/// `patience`.
pub async fn change(
    at: &ClusterAt,
    call: &MemberCall,
    patience: Duration,
) -> Result<Membership, Error> {
    let (domain, servers) = (at.label(), &at.servers);
    let creds = match &at.tls {
        Some(files) => Some(credentials(files).map_err(Error::from)?),
        None => None,
    };
    let creds = creds.as_ref();
    let start = Instant::now();
    let mut retries = 0;
    loop {
        // Found again each round: a member removed meanwhile is not asked again.
        let all = endpoints(at, creds.is_some()).await?;
        let mut last = String::new();
        let mut keep_trying = false;
        let mut gone = false;
        let mut unreachable = 0;
        for at in &all {
            match attempt(servers[0], creds, at, call, &all).await {
                Ok(mut done) => {
                    done.retries = retries;
                    return Ok(done);
                }
                Err(Refusal {
                    why,
                    passing,
                    no_such_member,
                }) => {
                    keep_trying |= passing;
                    gone = no_such_member;
                    unreachable += usize::from(why.starts_with("cannot reach "));
                    last = why;
                }
            }
        }
        if !keep_trying || start.elapsed() >= patience {
            let waited = if keep_trying {
                format!(
                    " (still refused after {})",
                    crate::base::human::duration(patience)
                )
            } else {
                String::new()
            };
            // A member that is not there is not a refusal: a caller removing it is done.
            if gone {
                return Err(Error::not_found(format!(
                    "etcd has no such member in the cluster under {domain} (`{}`): {last}",
                    call.describe()
                )));
            }
            // Nobody answering is a cluster that is not there (any more), not a refusal.
            if unreachable == all.len() {
                return Err(Error::not_found(format!(
                    "no member of the cluster under {domain} answers `{}`: {last}{waited}",
                    call.describe()
                )));
            }
            return Err(Error::failed(format!(
                "etcd refused `{}` for the cluster under {domain}: {last}{waited}",
                call.describe()
            )));
        }
        retries += 1;
        tokio::time::sleep(PAUSE).await;
    }
}

/// The client endpoint of the first member `at` lists that `pick` chooses (`leader`, its
/// ID, marks the leader), found through its name's A record; `None` when no member is
/// chosen or its name does not resolve.
async fn listed_endpoint(
    server: SocketAddr,
    creds: Option<&Credentials>,
    at: &Endpoint,
    leader: u64,
    pick: impl Fn(&EtcdMember) -> bool,
) -> Result<Option<Endpoint>, Refusal> {
    let listed = post(creds, at, "/v3/cluster/member/list", &json!({})).await?;
    let url = members(&listed, leader)
        .into_iter()
        .find(|m| pick(m))
        .and_then(|m| m.client_urls.into_iter().next());
    Ok(match url {
        Some(url) => endpoint_of(server, &url).await,
        None => None,
    })
}

/// One try of `call` at `at`, followed by the membership as `at` then sees it.
async fn attempt(
    server: SocketAddr,
    creds: Option<&Credentials>,
    at: &Endpoint,
    call: &MemberCall,
    all: &[Endpoint],
) -> Result<Membership, Refusal> {
    let (mut added, mut compacted) = (None, None);
    let mut done = Vec::new();
    match call {
        MemberCall::List => {}
        MemberCall::Add { peer_urls, learner } => {
            let body = json!({ "peerURLs": peer_urls, "isLearner": learner });
            added = match post(creds, at, "/v3/cluster/member/add", &body).await {
                Ok(v) => v.get("member").map(|m| member(m, 0)),
                // An add whose answer was lost (a timeout) and was asked again: etcd took
                // the first, and that member is the one this call made.
                Err(refused) if refused.why.contains("Peer URLs already exists") => {
                    let now = listed(creds, all).await?;
                    let made = now.members.into_iter().find(|m| m.peer_urls == *peer_urls);
                    Some(made.ok_or(refused)?)
                }
                Err(refused) => return Err(refused),
            };
        }
        MemberCall::Promote { id } => {
            let body = json!({ "ID": id.to_string() });
            match post(creds, at, "/v3/cluster/member/promote", &body).await {
                Ok(_) => {}
                // A promotion whose answer was lost (a timeout on a busy machine) and was
                // asked again: etcd took the first, and the member votes. (Not the same as
                // "... a learner member which is in sync with leader", which passes.)
                Err(refused)
                    if refused
                        .why
                        .trim_end()
                        .ends_with("can only promote a learner member") => {}
                Err(refused) => return Err(refused),
            }
        }
        MemberCall::Remove { id } => {
            let body = json!({ "ID": id.to_string() });
            post(creds, at, "/v3/cluster/member/remove", &body).await?;
        }
        MemberCall::MoveLeader { to } => {
            // Only the leader hands leadership on, and it may be one no SRV record names
            // any more (it is being removed): found through the membership and its A record.
            let leader = leader_of(creds, at).await;
            let leader_at = listed_endpoint(server, creds, at, leader, |m| m.is_leader)
                .await?
                .ok_or_else(|| {
                    Refusal::passing(
                        "no member says which is the leader, or the leader's name does not resolve",
                    )
                })?;
            let body = json!({ "targetID": to.to_string() });
            let path = "/v3/maintenance/transfer-leadership";
            post(creds, &leader_at, path, &body).await?;
        }
        MemberCall::Defragment { id } => {
            // Asked of the member itself, found by its ID in the membership.
            let hex = format!("{id:x}");
            let member_at = listed_endpoint(server, creds, at, 0, |m| m.id == hex)
                .await?
                .ok_or_else(|| {
                    Refusal::passing("the member is not listed, or its name does not resolve")
                })?;
            // It rewrites the whole database file: seconds per GiB.
            let within = Some(Duration::from_secs(600));
            let path = "/v3/maintenance/defragment";
            post_within(creds, &member_at, path, &json!({}), within).await?;
        }
        MemberCall::Compact => {
            // The current revision is any read's header's.
            let read = json!({ "key": "AA==", "limit": "1", "keys_only": true });
            let header = post(creds, at, "/v3/kv/range", &read).await?;
            let revision = header.get("header").map_or(0, |h| uint(h, "revision"));
            // Physical: etcd answers once the old revisions are out of the file's pages.
            let body = json!({ "revision": revision.to_string(), "physical": true });
            match post(creds, at, "/v3/kv/compaction", &body).await {
                // Compacted to it already (the periodic compactor got there first).
                Err(refused) if refused.why.contains("required revision has been compacted") => {}
                done => {
                    done?;
                }
            }
            compacted = Some(revision);
        }
        MemberCall::UserAdd {
            name,
            prefix,
            readwrite,
        } => {
            done = user_add(creds, at, name, prefix, *readwrite).await?;
        }
        MemberCall::UserRemove { name } => {
            done = user_remove(creds, at, name).await?;
        }
        MemberCall::Disarm { member, alarm } => {
            let body =
                json!({ "action": "DEACTIVATE", "memberID": member.to_string(), "alarm": alarm });
            post(creds, at, "/v3/maintenance/alarm", &body).await?;
        }
    }
    // A change etcd took is not asked again because nobody answered the list after it
    // (a leader moving): the change is said, with the membership unknown.
    let mut listed_after = match listed(creds, all).await {
        Ok(listed) => listed,
        Err(refused) if *call == MemberCall::List => return Err(refused),
        Err(_) => Membership {
            members: Vec::new(),
            header: None,
            added: None,
            asked: at.url.clone(),
            retries: 0,
            compacted: None,
            done: Vec::new(),
        },
    };
    listed_after.added = added;
    listed_after.compacted = compacted;
    listed_after.done = done;
    Ok(listed_after)
}

/// A refusal that says the thing is there already: a step done by an earlier try.
fn exists(refused: &Refusal) -> bool {
    refused.why.contains("already exists")
}

/// `call` at `at`, where "already exists" counts as done; what was done, or nothing.
async fn step(
    creds: Option<&Credentials>,
    at: &Endpoint,
    path: &str,
    body: Value,
    said: String,
) -> Result<Option<String>, Refusal> {
    match post(creds, at, path, &body).await {
        Ok(_) => Ok(Some(said)),
        Err(refused) if exists(&refused) => Ok(None),
        Err(refused) => Err(refused),
    }
}

/// The end of the range of keys under `prefix` (etcdctl's `--prefix`): the prefix with
/// its last byte that is not 0xff raised by one; all keys (`\0`) for an empty prefix.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The user `name` with a role of its own on `prefix`; auth on first (with `root`) if
/// it is off. Each step that was there already is not done again.
async fn user_add(
    creds: Option<&Credentials>,
    at: &Endpoint,
    name: &str,
    prefix: &str,
    readwrite: bool,
) -> Result<Vec<String>, Refusal> {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let no_password = json!({ "no_password": true });
    let mut done = Vec::new();
    let status = post(creds, at, "/v3/auth/status", &json!({})).await?;
    if status.get("enabled").and_then(Value::as_bool) != Some(true) {
        let root = json!({ "name": "root", "options": no_password });
        done.extend(
            step(
                creds,
                at,
                "/v3/auth/user/add",
                root,
                "user add root --no-password".into(),
            )
            .await?,
        );
        let grant = json!({ "user": "root", "role": "root" });
        done.extend(
            step(
                creds,
                at,
                "/v3/auth/user/grant",
                grant,
                "user grant-role root root".into(),
            )
            .await?,
        );
        done.extend(
            step(
                creds,
                at,
                "/v3/auth/enable",
                json!({}),
                "auth enable".into(),
            )
            .await?,
        );
    }
    done.extend(
        step(
            creds,
            at,
            "/v3/auth/role/add",
            json!({ "name": name }),
            format!("role add {name}"),
        )
        .await?,
    );
    let access = if readwrite { "READWRITE" } else { "READ" };
    let perm = json!({
        "name": name,
        "perm": { "permType": access, "key": b64(prefix.as_bytes()), "range_end": b64(&prefix_end(prefix.as_bytes())) },
    });
    let said = format!(
        "role grant-permission {name} {} {prefix} --prefix",
        access.to_lowercase()
    );
    done.extend(step(creds, at, "/v3/auth/role/grant", perm, said).await?);
    let user = json!({ "name": name, "options": no_password });
    done.extend(
        step(
            creds,
            at,
            "/v3/auth/user/add",
            user,
            format!("user add {name} --no-password"),
        )
        .await?,
    );
    let grant = json!({ "user": name, "role": name });
    done.extend(
        step(
            creds,
            at,
            "/v3/auth/user/grant",
            grant,
            format!("user grant-role {name} {name}"),
        )
        .await?,
    );
    Ok(done)
}

/// The user `name` and its role gone; either gone already is fine.
async fn user_remove(
    creds: Option<&Credentials>,
    at: &Endpoint,
    name: &str,
) -> Result<Vec<String>, Refusal> {
    let mut done = Vec::new();
    for (path, body, said) in [
        (
            "/v3/auth/user/delete",
            json!({ "name": name }),
            format!("user delete {name}"),
        ),
        (
            "/v3/auth/role/delete",
            json!({ "role": name }),
            format!("role delete {name}"),
        ),
    ] {
        match post(creds, at, path, &body).await {
            Ok(_) => done.push(said),
            Err(refused) if refused.why.contains("not found") => {}
            Err(refused) => return Err(refused),
        }
    }
    Ok(done)
}

/// The membership as the first member that answers sees it: after a change, the member
/// that took it may be the one just removed.
async fn listed(creds: Option<&Credentials>, all: &[Endpoint]) -> Result<Membership, Refusal> {
    let mut last = Refusal::passing("no member to ask");
    for at in all {
        match post(creds, at, "/v3/cluster/member/list", &json!({})).await {
            Ok(v) => {
                let leader = leader_of(creds, at).await;
                return Ok(Membership {
                    members: members(&v, leader),
                    header: v.get("header").map(|h| ListHeader {
                        cluster_id: uint(h, "cluster_id"),
                        member_id: uint(h, "member_id"),
                        raft_term: uint(h, "raft_term"),
                    }),
                    added: None,
                    asked: at.url.clone(),
                    retries: 0,
                    compacted: None,
                    done: Vec::new(),
                });
            }
            Err(refused) => last = refused,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member on loopback that refuses every gRPC call as etcd does, with the status
    /// `code` and `message` in the headers alone (gRPC's "trailers only").
    async fn refusing(code: u32, message: &'static str) -> Endpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut h2) = h2::server::handshake(conn).await else {
                        return;
                    };
                    while let Some(Ok((_, mut respond))) = h2.accept().await {
                        let answer = http::Response::builder()
                            .status(200)
                            .header("content-type", "application/grpc")
                            .header("grpc-status", code.to_string())
                            .header("grpc-message", message)
                            .body(())
                            .unwrap();
                        let _ = respond.send_response(answer, true);
                    }
                });
            }
        });
        Endpoint {
            url: format!("http://{addr}"),
            host: "127.0.0.1".into(),
            addr,
        }
    }

    #[tokio::test]
    async fn a_member_etcd_does_not_have_is_told_by_its_code_not_its_words() {
        let remove = "/v3/cluster/member/remove";
        let at = refusing(5, "whatever it says").await;
        let Err(refused) = post(None, &at, remove, &json!({"ID": "1"})).await else {
            panic!("a NotFound answer was taken");
        };
        assert!(
            refused.no_such_member && !refused.passing,
            "{}",
            refused.why
        );
        // etcd's words without its code are a refusal like any other.
        let at = refusing(2, "etcdserver: member not found").await;
        let Err(refused) = post(None, &at, remove, &json!({"ID": "1"})).await else {
            panic!("an error answer was taken");
        };
        assert!(!refused.no_such_member, "{}", refused.why);
        assert_eq!(refused.why, "etcdserver: member not found");
        // A passing refusal, percent-encoded as gRPC sends what is not plain ASCII.
        let at = refusing(14, "etcdserver: unhealthy cluster %E2%80%94 try later").await;
        let Err(refused) = post(None, &at, remove, &json!({"ID": "1"})).await else {
            panic!("an error answer was taken");
        };
        assert!(refused.passing, "{}", refused.why);
        assert_eq!(
            refused.why,
            "etcdserver: unhealthy cluster \u{2014} try later"
        );
    }

    #[tokio::test]
    async fn a_promotion_asked_again_after_etcd_took_it_is_done() {
        let promote = MemberCall::Promote { id: 1 };
        let at = refusing(9, "etcdserver: can only promote a learner member").await;
        let all = [at.clone()];
        assert!(attempt(at.addr, None, &at, &promote, &all).await.is_ok());
        let at = refusing(
            9,
            "etcdserver: can only promote a learner member which is in sync with leader",
        )
        .await;
        let all = [at.clone()];
        let Err(refused) = attempt(at.addr, None, &at, &promote, &all).await else {
            panic!("a learner not yet in sync was taken as promoted");
        };
        assert!(refused.passing, "{}", refused.why);
    }

    #[test]
    fn the_gateways_member_list_reads_as_etcdctl_shows_it() {
        let v = json!({"header": {"member_id": "10"}, "members": [
            {"ID": "255", "name": "b", "peerURLs": ["https://b.x.test:2380"],
             "clientURLs": ["https://b.x.test:2379"]},
            {"ID": "16", "peerURLs": ["https://a.x.test:2380"], "isLearner": true},
        ]});
        let all = members(&v, 255);
        assert_eq!(all[0].id, "10");
        assert_eq!(all[0].name, "");
        assert!(all[0].is_learner && !all[0].is_leader);
        assert!(all[0].client_urls.is_empty());
        assert_eq!(all[1].id, "ff");
        assert!(all[1].is_leader);
        assert_eq!(all[1].peer_hosts(), vec!["b.x.test"]);
    }

    #[test]
    fn refusals_that_pass_are_told_from_those_that_do_not() {
        assert!(passing("etcdserver: unhealthy cluster"));
        assert!(passing("etcdserver: too many learner members in cluster"));
        assert!(passing(
            "etcdserver: can only promote a learner member which is in sync with leader"
        ));
        assert!(!passing("etcdserver: member not found"));
        assert!(!passing("etcdserver: Peer URLs already exists"));
    }
}
