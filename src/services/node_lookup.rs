//! What a node's own resolver answers (etcd-io/etcd#3553: members that see different SRV
//! sets form different clusters). A lab host's resolver is asked from this process, from a
//! thread inside the host's network namespace, of the servers its resolv.conf names: dig
//! takes about 30 ms just to start, and the check runs on every node before etcd starts.
//! Any other node runs `dig` (over SSH), whose short answers are read back.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::resolve;
use crate::base::error::{Error, Result};
use crate::providers::{Answer, Instance, NodeResolver, Transport};

/// How many times each server is asked before the next, as `dig +tries=2` does.
const TRIES: usize = 2;

/// `name`/`rtype` as `node` resolves it: an empty set when its resolver says there is
/// none; an error, naming the node, when no server of its resolver answers.
pub async fn lookup(
    transport: &dyn Transport,
    node: &Instance,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<Answer>> {
    tracing::debug!(
        "on {}: {name} {rtype}, asked of its own resolver",
        node.name
    );
    match transport.resolver(node)? {
        Some(resolver) => in_namespace(resolver, &node.name, name, rtype).await,
        None => with_dig(transport, node, name, rtype).await,
    }
}

async fn in_namespace(
    resolver: NodeResolver,
    node: &str,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<Answer>> {
    if resolver.servers.is_empty() {
        return Err(Error::failed(format!(
            "{node} has no name server in its resolv.conf"
        )));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let asked = name.to_string();
    // A thread of its own, moved into the host's namespace: its sockets are the host's
    // (its loopback is the host's), and it never serves anything else.
    std::thread::Builder::new()
        .name("rigger-node-dns".into())
        .spawn(move || {
            let outcome = crate::providers::lab::netns::enter(&resolver.netns)
                .and_then(|()| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                })
                .map_err(|e| e.to_string())
                .and_then(|rt| rt.block_on(ask_each(&resolver.servers, &asked, rtype)));
            let _ = tx.send(outcome);
        })?;
    let outcome = rx
        .await
        .map_err(|_| Error::failed(format!("the lookup on {node} was lost")))?;
    outcome.map_err(|why| {
        Error::failed(format!("on {node}, {name} {rtype} did not resolve: {why}"))
            .with_help("the node's resolv.conf names the servers it asks")
    })
}

/// Each server in order, each up to `TRIES` times, as a stub resolver asks them: the
/// first answer wins, a refusal included (it is the node's answer).
async fn ask_each(
    servers: &[std::net::IpAddr],
    name: &str,
    rtype: RecordType,
) -> std::result::Result<BTreeSet<Answer>, String> {
    let mut said = Vec::new();
    for server in servers {
        let server = SocketAddr::new(*server, 53);
        for _ in 0..TRIES {
            match resolve::ask(server, name, rtype).await {
                Ok(answers) => return Ok(answers),
                Err(resolve::ResolveError::Refused { .. }) => return Ok(BTreeSet::new()),
                Err(e) => said.push(e.to_string()),
            }
        }
    }
    said.dedup();
    Err(said.join("; "))
}

async fn with_dig(
    transport: &dyn Transport,
    node: &Instance,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<Answer>> {
    let command = format!("dig +short +tries={TRIES} +time=1 {rtype} '{name}'");
    let out = transport
        .run(node, &command, Duration::from_secs(15))
        .await?;
    if out.status != 0 {
        return Err(Error::failed(format!(
            "`{command}` on {} exited {}: {}",
            node.name,
            out.status,
            out.stderr.trim()
        ))
        .with_help("the node needs dig (Debian and Ubuntu: bind9-dnsutils)"));
    }
    short_answers(&out.stdout, rtype).map_err(|why| {
        Error::failed(format!(
            "on {}, {name} {rtype} did not resolve: {why}",
            node.name
        ))
    })
}

/// `dig +short`'s lines as answers; its `;;` lines say why nothing came back.
fn short_answers(text: &str, rtype: RecordType) -> std::result::Result<BTreeSet<Answer>, String> {
    let mut answers = BTreeSet::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(why) = line.strip_prefix(";;") {
            return Err(why.trim().to_string());
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let answer = match (rtype, fields.as_slice()) {
            (RecordType::SRV, [_priority, _weight, port, target]) => match port.parse() {
                Ok(port) => Answer::Srv {
                    target: target.trim_end_matches('.').to_ascii_lowercase(),
                    port,
                },
                Err(_) => Answer::Other(line.to_string()),
            },
            (RecordType::A | RecordType::AAAA, [ip]) => match ip.parse() {
                Ok(ip) => Answer::Ip(ip),
                Err(_) => Answer::Other(line.to_string()),
            },
            _ => Answer::Other(line.to_string()),
        };
        answers.insert(answer);
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dig_short_answers_read_as_the_wait_compares_them() {
        let srv = short_answers(
            "0 0 2380 etcd-a.example.test.\n0 0 2380 ETCD-B.example.test.\n",
            RecordType::SRV,
        )
        .unwrap();
        let want: BTreeSet<Answer> = ["etcd-a.example.test", "etcd-b.example.test"]
            .into_iter()
            .map(|t| Answer::Srv {
                target: t.into(),
                port: 2380,
            })
            .collect();
        assert_eq!(srv, want);
        let a = short_answers("198.18.1.1\n", RecordType::A).unwrap();
        assert_eq!(
            a,
            BTreeSet::from([Answer::Ip("198.18.1.1".parse().unwrap())])
        );
        assert_eq!(short_answers("", RecordType::SRV).unwrap(), BTreeSet::new());
        let silent = short_answers(
            ";; connection timed out; no servers could be reached\n",
            RecordType::SRV,
        );
        assert_eq!(
            silent,
            Err("connection timed out; no servers could be reached".into())
        );
    }
}
