//! The day-2 surface: finding an existing cluster (`cluster_find`), its live
//! membership (`etcd_members`), changing it (`etcd_member_add`, `etcd_member_promote`,
//! `etcd_member_remove`, `etcd_move_leader`), its maintenance (`etcd_defrag`,
//! `etcd_compact`, `etcd_alarm_disarm`), its users (`etcd_user_add`,
//! `etcd_user_remove`), and taking one machine's share of the cluster
//! down again (`retire_machine`).

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::etcd::{cluster_arg, tls_files};
use super::failure::Failure;
use crate::base::error::Error;
use crate::providers::Instance;
use crate::providers::etcd_api::ClusterAt;
use crate::providers::members::{MemberCall, Membership};

/// Patience for a change etcd may refuse for a moment.
const CHANGE: Duration = Duration::from_secs(30);
/// A learner with a large backlog takes a while to be in sync.
const CATCH_UP: Duration = Duration::from_secs(60);
/// A defragmentation refused for a passing reason (a leader change) is asked again.
const DEFRAG: Duration = Duration::from_secs(30);

/// An etcd user name rigger gives a certificate to: letters, digits, `.`, `_` and `-`
/// (it names files too), never `root`, which is rigger's own.
fn user_arg(c: &Call, user: &str) -> Result<String, Failure> {
    let fine = !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ".-_".contains(ch));
    if !fine {
        return Err(c.invalid(format!(
            "user {user:?} is not a user name rigger gives: 1 to 64 letters, digits, '.', '_' or '-'"
        )));
    }
    if user == "root" {
        return Err(c.invalid(
            "user root is rigger's own: every right on the cluster, kept as its admin credential",
        ));
    }
    Ok(user.to_string())
}

fn id_arg(c: &Call, id: &str) -> Result<u64, Failure> {
    u64::from_str_radix(id, 16).map_err(|_| {
        c.invalid(format!(
            "member id {id:?} is not an etcd member id (hex digits, as etcd_members gives it)"
        ))
    })
}

/// Asks `call` of the cluster through the world's (journaled) etcd API.
fn ask(
    c: &Call,
    cluster: &str,
    tls: Map,
    call: MemberCall,
    patience: Duration,
) -> Result<Membership, Box<EvalAltResult>> {
    let key = cluster_arg(c, cluster)?;
    let tls = tls_files(c, tls)?;
    let adds = matches!(call, MemberCall::Add { .. });
    // A defragmentation works as long as it takes to rewrite the database file.
    let working = if matches!(call, MemberCall::Defragment { .. }) {
        600
    } else {
        30
    };
    let work = move |world: Arc<crate::world::World>| async move {
        let servers = world.backends.dns.authoritative(&key.domain).await?;
        let at = ClusterAt::new(key, tls, servers);
        world.backends.etcd.membership(&at, &call, patience).await
    };
    let limit = patience + Duration::from_secs(working);
    // An add makes something: interrupted, it is let finish and be journaled.
    if adds {
        c.creating().on_world(limit, work)
    } else {
        c.on_world(limit, work)
    }
}

fn members_array(c: &Call, m: &Membership) -> Result<Array, Box<EvalAltResult>> {
    Ok(c.to_value(&m.members)?.cast::<Array>())
}

/// A membership change named by a member's id.
fn change(
    c: &Call,
    (cluster, tls, id): (&str, Map, &str),
    make: fn(u64) -> MemberCall,
    patience: Duration,
) -> Result<Array, Box<EvalAltResult>> {
    let call = make(id_arg(c, id)?);
    members_array(c, &ask(c, cluster, tls, call, patience)?)
}

/// What a new member needs: `#{member, members, initial_cluster}`, the last with the
/// others by name (the new one's name is the caller's to put in).
fn joined(c: &Call, m: &Membership) -> Result<Map, Box<EvalAltResult>> {
    let added = m.added.clone().ok_or_else(|| {
        c.failed(Error::failed(
            "etcd took the member but did not say which it is",
        ))
    })?;
    let others = m.members.iter().filter(|x| x.id != added.id);
    let initial: Vec<String> = others
        .flat_map(|o| o.peer_urls.iter().map(|url| format!("{}={url}", o.name)))
        .collect();
    let mut out = Map::new();
    out.insert("member".into(), c.to_value(&added)?);
    out.insert("members".into(), members_array(c, m)?.into());
    out.insert("initial_cluster".into(), initial.join(",").into());
    Ok(out)
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// The cluster `cluster` as the state dir names it, across every run that built or
        /// changed it: `cluster` is its discovery domain (`example.test`), or `DOMAIN/NAME`
        /// for one of several clusters sharing a domain (etcd's `--discovery-srv-name NAME`,
        /// records under `_etcd-server-ssl-NAME._tcp.DOMAIN`); every primitive that asks a
        /// cluster takes it so. Returns `#{machines, records}`. `machines` are maps as
        /// `launch_instance` returns them, with `fqdn` (`<name>.<domain>`): every machine a
        /// standing A record of the cluster names. `records` are maps as `dns_record`
        /// returns them, every record of the cluster under the domain (another cluster's of
        /// the same domain left out). `others` names the domain's other clusters
        /// (`DOMAIN/NAME`) whose records the state holds. `client` is the `#{ca, cert, key}` the cluster was
        /// built with (for `etcd_members` and `etcd_health`), () when the state names none.
        /// `processes` are the processes standing on those machines (`#{node, name, pid,
        /// log}`, as `start_process` returns them): a member run as a process. In the
        /// cloud, a state that names no machine (it was lost) is made up for by the machines
        /// carrying the cluster's tag (`rigger:cluster`).
        fn cluster_find(c, cluster: &str) -> Map {
            let key = cluster_arg(c, cluster)?;
            let suffix = key.domain.clone();
            let found = c.on_world(Duration::from_secs(60), move |world| async move {
                world.standing(&key).await
            })?;
            let mut machines = Array::new();
            for machine in &found.machines {
                let mut map = c.to_map(machine)?;
                map.insert("fqdn".into(), format!("{}.{suffix}", machine.name).into());
                machines.push(map.into());
            }
            let mut out = Map::new();
            out.insert("machines".into(), machines.into());
            out.insert("records".into(), c.to_value(&found.records)?);
            out.insert("processes".into(), c.to_value(&found.processes)?);
            out.insert("others".into(), c.to_value(&found.neighbours)?);
            let client = found.client.as_ref().map(|f| c.to_value(f)).transpose()?;
            out.insert("client".into(), client.unwrap_or(Dynamic::UNIT));
            Ok(out)
        }
    }
    primitive! { engine, cx,
        /// The live membership of the cluster `cluster`, as etcd's `member list` gives it
        /// (asked of the members found through the client SRV records, as `etcd_health`
        /// finds them, the first that answers): an array of
        /// `#{id, name, peer_urls, client_urls, is_learner, is_leader}`, `id` in hex as etcdctl
        /// shows it, `name` empty for a member added but not started. `tls` as for
        /// `etcd_health`.
        fn etcd_members(c, cluster: &str, tls: Map) -> Array {
            let m = ask(c, cluster, tls, MemberCall::List, Duration::from_secs(5))?;
            members_array(c, &m)
        }
    }
    primitive! { engine, cx,
        /// Adds a member with the peer URL `peer_url` to the cluster `cluster` as a
        /// learner (`member add --learner`: no vote, so no quorum at stake, until promoted) and
        /// returns `#{member, members, initial_cluster}`: the member added, the membership
        /// after it, and the `--initial-cluster` the new member starts with (with the name
        /// `name=` left for the caller, as `<name>=<peer_url>` of the others). Journaled: a
        /// failed run removes the learner again. etcd's passing refusals ("unhealthy
        /// cluster" after a leader change, "too many learner members") are retried for 30 s.
        fn etcd_member_add(c, cluster: &str, tls: Map, peer_url: &str) -> Map {
            if url::Url::parse(peer_url).map_or(true, |u| u.host_str().is_none()) {
                let example = "https://etcd-1.example.test:2380";
                let why = format!("{peer_url:?} is not a peer URL such as {example}");
                return Err(c.invalid(why).into());
            }
            let call = MemberCall::Add { peer_urls: vec![peer_url.to_string()], learner: true };
            let m = ask(c, cluster, tls, call, CHANGE)?;
            joined(c, &m)
        }
    }
    primitive! { engine, cx,
        /// Promotes the learner `id` (hex) to a voting member, retried for up to 60 s while
        /// etcd says it is not yet in sync with the leader; returns the membership after it.
        fn etcd_member_promote(c, cluster: &str, tls: Map, id: &str) -> Array {
            change(c, (cluster, tls, id), |id| MemberCall::Promote { id }, CATCH_UP)
        }
    }
    primitive! { engine, cx,
        /// Removes the member `id` (hex) from the cluster `cluster`, retried for 30 s
        /// while etcd refuses for a passing reason; returns the membership after it. It does
        /// not check quorum: `members::remove_problem` says whether a removal is safe.
        fn etcd_member_remove(c, cluster: &str, tls: Map, id: &str) -> Array {
            change(c, (cluster, tls, id), |id| MemberCall::Remove { id }, CHANGE)
        }
    }
    primitive! { engine, cx,
        /// Asks the leader of the cluster `cluster` to hand leadership to the member `id`
        /// (hex), as `etcdctl move-leader` does; returns the membership after it.
        fn etcd_move_leader(c, cluster: &str, tls: Map, id: &str) -> Array {
            change(c, (cluster, tls, id), |to| MemberCall::MoveLeader { to }, CHANGE)
        }
    }
    primitive! { engine, cx,
        /// Defragments the member `id` (hex) of the cluster `cluster`, as `etcdctl
        /// defrag` does: its database file rewritten without the space compaction freed,
        /// which goes back to the disk. The member answers nothing while it runs (seconds per
        /// GiB): one member at a time. Returns the membership after it.
        fn etcd_defrag(c, cluster: &str, tls: Map, id: &str) -> Array {
            change(c, (cluster, tls, id), |id| MemberCall::Defragment { id }, DEFRAG)
        }
    }
    primitive! { engine, cx,
        /// Compacts the keyspace of the cluster `cluster` to its current revision, as
        /// `etcdctl compact --physical` does: every older revision is gone (a read or a watch
        /// at one gets "compacted"), its space free inside each member's database file for
        /// `etcd_defrag` to give back. Returns the revision compacted to.
        fn etcd_compact(c, cluster: &str, tls: Map) -> i64 {
            let done = ask(c, cluster, tls, MemberCall::Compact, CHANGE)?;
            let revision = done.compacted.unwrap_or(0);
            Ok(i64::try_from(revision).unwrap_or(i64::MAX))
        }
    }
    primitive! { engine, cx,
        /// Clears the alarm `alarm` (`"NOSPACE"`) the member `id` (hex) raised, as `etcdctl
        /// alarm disarm` does; returns the membership after it. etcd raises NOSPACE again at
        /// the next write that finds a database still over its quota.
        fn etcd_alarm_disarm(c, cluster: &str, tls: Map, id: &str, alarm: &str) -> Array {
            let member = id_arg(c, id)?;
            if !["NOSPACE", "CORRUPT"].contains(&alarm) {
                return Err(c
                    .invalid(format!("alarm {alarm:?} is not one etcd raises: NOSPACE or CORRUPT"))
                    .into());
            }
            let call = MemberCall::Disarm { member, alarm: alarm.to_string() };
            members_array(c, &ask(c, cluster, tls, call, CHANGE)?)
        }
    }
    primitive! { engine, cx,
        /// Gives the cluster `cluster` the etcd user `user`, with a role of the same
        /// name that may read (`access` "read") or read and write ("readwrite") the keys
        /// under `prefix`, as `etcdctl role grant-permission --prefix` grants. The user has
        /// no password: with `--client-cert-auth` etcd takes a client's user from its
        /// certificate's common name. Auth is turned on first if it is off, with a `root`
        /// user holding the root role (`tls` must then name root already, or the cluster
        /// refuses rigger afterwards). Steps already done are not done again. Returns what
        /// was done, as etcdctl would say each step.
        fn etcd_user_add(c, cluster: &str, tls: Map, user: &str, prefix: &str, access: &str) -> Array {
            let name = user_arg(c, user)?;
            if prefix.is_empty() {
                return Err(c.invalid("prefix is empty: a user is given the keys under a prefix, such as \"/app/\"").into());
            }
            let readwrite = match access {
                "read" => false,
                "readwrite" => true,
                other => return Err(c.invalid(format!("access {other:?} is \"read\" or \"readwrite\"")).into()),
            };
            let call = MemberCall::UserAdd { name, prefix: prefix.to_string(), readwrite };
            let done = ask(c, cluster, tls, call, CHANGE)?;
            Ok(done.done.into_iter().map(Dynamic::from).collect())
        }
    }
    primitive! { engine, cx,
        /// Takes the etcd user `user` and its role away from the cluster `cluster`: a
        /// certificate naming it is refused from then on. Returns what was done.
        fn etcd_user_remove(c, cluster: &str, tls: Map, user: &str) -> Array {
            let name = user_arg(c, user)?;
            let done = ask(c, cluster, tls, MemberCall::UserRemove { name }, CHANGE)?;
            Ok(done.done.into_iter().map(Dynamic::from).collect())
        }
    }
    primitive! { engine, cx,
        /// Takes down everything the state dir names of the machine `node` (a map from
        /// `cluster_find`, with `fqdn`): its processes, every record naming it (its A record,
        /// SRV records pointing at it), its certificate files and the machine, whichever run
        /// made them, each marked gone in that run's journal. Returns what was removed, as
        /// lines. It does not touch etcd's membership: `etcd_member_remove` first.
        fn retire_machine(c, node: Map) -> Array {
            let fqdn = node.get("fqdn").map(|f| f.to_string()).ok_or_else(|| {
                c.invalid("node.fqdn is required: give a machine as cluster_find returns it")
            })?;
            let node: Instance = c.read("node", node)?;
            let removed = c.on_world(Duration::from_secs(300), move |world| async move {
                world.retire(&node.name, &fqdn).await
            })?;
            Ok(removed.into_iter().map(Dynamic::from).collect())
        }
    }
}
