//! What a node's own resolver answers (etcd-io/etcd#3553: members that see different SRV
//! sets form different clusters). A lab host's resolver is asked from this process, from a
//! thread inside the host's network namespace, of the servers its resolv.conf names: dig
//! takes about 30 ms just to start, and the check runs on every node before etcd starts.
//! Any other node runs `dig` (over SSH), whose short answers are read back. The doctor's
//! check of every node's resolver asks through here too.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::resolve;
use crate::base::error::{Error, Result};
use crate::providers::{Answer, Instance, NodeResolver, Transport};

/// The status of the command [`dig_command`] writes on a node without dig.
const NO_DIG: i32 = 69;
const NEEDS_DIG: &str =
    "the node needs dig (Debian and Ubuntu: bind9-dnsutils; Amazon Linux: bind-utils)";

/// How many times each server is asked before the next, as `dig +tries=2` does.
const TRIES: usize = 2;

/// What a node's resolver gave for one name: its answers (none when it says there are
/// none), or why no server of it answered, in its words.
pub type Gave = std::result::Result<BTreeSet<Answer>, String>;

/// `name`/`rtype` as `node` resolves it: an empty set when its resolver says there is
/// none; an error, naming the node, when no server of its resolver answers.
pub async fn lookup(
    transport: &dyn Transport,
    node: &Instance,
    name: &str,
    rtype: RecordType,
) -> Result<BTreeSet<Answer>> {
    let mut each = lookup_each(transport, node, &[name], rtype).await?;
    each.pop()
        .unwrap_or_else(|| Err("no outcome".into()))
        .map_err(|why| {
            Error::failed(format!(
                "on {}, {name} {rtype} did not resolve: {why}",
                node.name
            ))
            .with_help("the node's resolv.conf names the servers it asks")
        })
}

/// Each of `names`/`rtype` as `node` resolves it, in their order, asked together (one
/// command on a node reached over SSH). The error is for a node that cannot be asked at
/// all; a name no server answered is that name's [`Gave`].
pub async fn lookup_each(
    transport: &dyn Transport,
    node: &Instance,
    names: &[&str],
    rtype: RecordType,
) -> Result<Vec<Gave>> {
    tracing::debug!(
        "on {}: {} {rtype}, asked of its own resolver",
        node.name,
        names.join(", ")
    );
    match transport.resolver(node)? {
        Some(resolver) => in_namespace(resolver, &node.name, names, rtype).await,
        None => with_dig(transport, node, names, rtype).await,
    }
}

async fn in_namespace(
    resolver: NodeResolver,
    node: &str,
    names: &[&str],
    rtype: RecordType,
) -> Result<Vec<Gave>> {
    if resolver.servers.is_empty() {
        return Err(Error::failed(format!(
            "{node} has no name server in its resolv.conf"
        )));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let asked: Vec<String> = names.iter().map(|n| n.to_string()).collect();
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
                .map(|rt| {
                    rt.block_on(futures::future::join_all(
                        asked
                            .iter()
                            .map(|name| ask_each(&resolver.servers, name, rtype)),
                    ))
                });
            let _ = tx.send(outcome);
        })?;
    let outcome = rx
        .await
        .map_err(|_| Error::failed(format!("the lookup on {node} was lost")))?;
    outcome.map_err(|e| Error::failed(format!("cannot ask {node}'s resolver: {e}")))
}

/// Each server in order, each up to `TRIES` times, as a stub resolver asks them: the
/// first answer wins, a refusal included (it is the node's answer).
async fn ask_each(servers: &[std::net::IpAddr], name: &str, rtype: RecordType) -> Gave {
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
    names: &[&str],
    rtype: RecordType,
) -> Result<Vec<Gave>> {
    let command = dig_command(names, rtype);
    let out = transport
        .run(node, &command, Duration::from_secs(15))
        .await?;
    if out.status == NO_DIG {
        return Err(Error::failed(format!(
            "{} cannot be asked what its resolver says: {}",
            node.name,
            out.stderr.trim()
        ))
        .with_help(NEEDS_DIG));
    }
    let mut sections = dig_sections(&out.stdout, rtype);
    let each: Vec<Gave> = names
        .iter()
        .map(|n| {
            sections
                .remove(*n)
                .unwrap_or_else(|| Err("dig said nothing".into()))
        })
        .collect();
    // dig's status is its last question's; a failure its `;;` lines explain is that
    // name's answer, any other (no dig at all) the node's.
    if out.status != 0 && each.iter().all(|gave| gave.is_ok()) {
        return Err(Error::failed(format!(
            "`{command}` on {} exited {}: {}",
            node.name,
            out.status,
            out.stderr.trim()
        ))
        .with_help(NEEDS_DIG));
    }
    Ok(each)
}

/// The shell command that asks a node's resolver for each of `names`, each answer under
/// an `== NAME` line, as [`dig_sections`] reads it back.
pub fn dig_command(names: &[&str], rtype: RecordType) -> String {
    // A node without dig says so, rather than leaving a bare 127 to be read.
    let mut asks = vec![format!(
        "command -v dig >/dev/null || {{ echo 'dig is not installed' >&2; exit {NO_DIG}; }}"
    )];
    asks.extend(
        names
            .iter()
            .map(|n| format!("echo '== {n}'; dig +short +tries={TRIES} +time=1 {rtype} '{n}'")),
    );
    asks.join("; ")
}

/// What [`dig_command`] printed, name by name.
pub fn dig_sections(stdout: &str, rtype: RecordType) -> BTreeMap<String, Gave> {
    let mut texts: Vec<(&str, String)> = Vec::new();
    for line in stdout.lines() {
        match (line.trim().strip_prefix("== "), texts.last_mut()) {
            (Some(name), _) => texts.push((name, String::new())),
            (None, Some((_, text))) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    texts
        .into_iter()
        .map(|(name, text)| (name.to_string(), short_answers(&text, rtype)))
        .collect()
}

/// `dig +short`'s lines as answers; its `;;` lines say why nothing came back.
fn short_answers(text: &str, rtype: RecordType) -> Gave {
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

    #[test]
    fn one_dig_command_asks_many_names_and_is_read_back_name_by_name() {
        let command = dig_command(&["_a._tcp.d", "_b._tcp.d"], RecordType::SRV);
        assert_eq!(
            command,
            "command -v dig >/dev/null || { echo 'dig is not installed' >&2; exit 69; }; \
             echo '== _a._tcp.d'; dig +short +tries=2 +time=1 SRV '_a._tcp.d'; \
             echo '== _b._tcp.d'; dig +short +tries=2 +time=1 SRV '_b._tcp.d'"
        );
        let out = "== _a._tcp.d\n0 0 2380 A.d.\n== _b._tcp.d\n\
                   ;; communications error to 127.0.0.1#53: connection refused\n";
        let sections = dig_sections(out, RecordType::SRV);
        assert_eq!(
            sections["_a._tcp.d"],
            Ok(BTreeSet::from([Answer::Srv {
                target: "a.d".into(),
                port: 2380
            }]))
        );
        assert_eq!(
            sections["_b._tcp.d"],
            Err("communications error to 127.0.0.1#53: connection refused".into())
        );
    }
}
