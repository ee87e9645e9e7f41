//! The day-2 surface: finding an existing cluster (`cluster_find`), its live
//! membership (`etcd_members`), changing it (`etcd_member_add`, `etcd_member_promote`,
//! `etcd_member_remove`, `etcd_move_leader`), and taking one machine's share of the
//! cluster down again (`retire_machine`).

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::convert::{from_value, to_map, to_value};
use super::etcd::tls_files;
use super::{Doc, Failure, creating, define, on_world};
use crate::base::names::check_name;
use crate::providers::Instance;
use crate::providers::etcd_api::ClusterAt;
use crate::providers::members::{MemberCall, Membership};

const FIND: Doc = Doc {
    name: "cluster_find",
    params: &["domain: String", "Map"],
    text: "\
/// The cluster under `domain` as the state dir names it, across every run that built
/// or changed it: `#{machines, records}`. `machines` are maps as `launch_instance`
/// returns them, with `fqdn` (`<name>.<domain>`): every machine a standing A record
/// names. `records` are maps as `dns_record` returns them, every record under
/// `domain`. `client` is the `#{ca, cert, key}` the cluster was built with (for
/// `etcd_members` and `etcd_health`), () when the state names none. In the cloud, a state that names no machine (it was lost) is made up for
/// by the machines carrying the cluster's tag (`rigger:cluster`).",
};

const MEMBERS: Doc = Doc {
    name: "etcd_members",
    params: &["domain: String", "tls: Map", "Array"],
    text: "\
/// The live membership of the cluster under `domain`, as etcd's `member list` gives it
/// (asked of the members found through the client SRV records, as `etcd_health`
/// finds them, the first that answers): an array of
/// `#{id, name, peer_urls, client_urls, is_learner, is_leader}`, `id` in hex as etcdctl
/// shows it, `name` empty for a member added but not started. `tls` as for
/// `etcd_health`.",
};

const ADD: Doc = Doc {
    name: "etcd_member_add",
    params: &["domain: String", "tls: Map", "peer_url: String", "Map"],
    text: "\
/// Adds a member with the peer URL `peer_url` to the cluster under `domain` as a
/// learner (`member add --learner`: no vote, so no quorum at stake, until promoted) and
/// returns `#{member, members, initial_cluster}`: the member added, the membership
/// after it, and the `--initial-cluster` the new member starts with (with the name
/// `name=` left for the caller, as `<name>=<peer_url>` of the others). Journaled: a
/// failed run removes the learner again. etcd's passing refusals (\"unhealthy
/// cluster\" after a leader change, \"too many learner members\") are retried for 30 s.",
};

const PROMOTE: Doc = Doc {
    name: "etcd_member_promote",
    params: &["domain: String", "tls: Map", "id: String", "Array"],
    text: "\
/// Promotes the learner `id` (hex) to a voting member, retried for up to 60 s while
/// etcd says it is not yet in sync with the leader; returns the membership after it.",
};

const REMOVE: Doc = Doc {
    name: "etcd_member_remove",
    params: &["domain: String", "tls: Map", "id: String", "Array"],
    text: "\
/// Removes the member `id` (hex) from the cluster under `domain`, retried for 30 s
/// while etcd refuses for a passing reason; returns the membership after it. It does
/// not check quorum: `members::remove_problem` says whether a removal is safe.",
};

const MOVE_LEADER: Doc = Doc {
    name: "etcd_move_leader",
    params: &["domain: String", "tls: Map", "id: String", "Array"],
    text: "\
/// Asks the leader of the cluster under `domain` to hand leadership to the member `id`
/// (hex), as `etcdctl move-leader` does; returns the membership after it.",
};

const RETIRE: Doc = Doc {
    name: "retire_machine",
    params: &["node: Map", "Array"],
    text: "\
/// Takes down everything the state dir names of the machine `node` (a map from
/// `cluster_find`, with `fqdn`): its processes, every record naming it (its A record,
/// SRV records pointing at it), its certificate files and the machine, whichever run
/// made them, each marked gone in that run's journal. Returns what was removed, as
/// lines. It does not touch etcd's membership: `etcd_member_remove` first.",
};

/// Patience for a change etcd may refuse for a moment.
const CHANGE: Duration = Duration::from_secs(30);
/// A learner with a large backlog takes a while to be in sync.
const CATCH_UP: Duration = Duration::from_secs(60);

fn domain_arg(primitive: &'static str, domain: &str) -> Result<String, Failure> {
    check_name(domain, false).map_err(|why| {
        Failure::invalid(
            primitive,
            format!("{domain:?} is not a valid domain: {why}"),
        )
    })
}

fn id_arg(primitive: &'static str, id: &str) -> Result<u64, Failure> {
    u64::from_str_radix(id, 16).map_err(|_| {
        Failure::invalid(
            primitive,
            format!(
                "member id {id:?} is not an etcd member id (hex digits, as etcd_members gives it)"
            ),
        )
    })
}

/// Asks `call` of the cluster through the world's (journaled) probe.
fn ask(
    cx: &Arc<ScriptContext>,
    primitive: &'static str,
    domain: &str,
    tls: Map,
    call: MemberCall,
    patience: Duration,
) -> Result<Membership, Box<EvalAltResult>> {
    let domain = domain_arg(primitive, domain)?;
    let tls = tls_files(primitive, tls, cx.dry_run())?;
    let adds = matches!(call, MemberCall::Add { .. });
    let work = move |world: Arc<crate::world::World>| async move {
        let servers = world.backends.dns.authoritative(&domain).await?;
        let at = ClusterAt {
            domain,
            tls,
            servers,
        };
        world.backends.etcd.membership(&at, &call, patience).await
    };
    let limit = patience + Duration::from_secs(30);
    // An add makes something: interrupted, it is let finish and be journaled.
    if adds {
        creating(cx, primitive, limit, work)
    } else {
        on_world(cx, primitive, limit, work)
    }
}

fn members_array(primitive: &'static str, m: &Membership) -> Result<Array, Box<EvalAltResult>> {
    Ok(to_value(primitive, &m.members)?.cast::<Array>())
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let c = cx.clone();
    define(&FIND).register_into_engine(
        engine,
        move |domain: &str| -> Result<Map, Box<EvalAltResult>> {
            let domain = domain_arg(FIND.name, domain)?;
            let suffix = domain.clone();
            let limit = Duration::from_secs(60);
            let found = on_world(&c, FIND.name, limit, move |world| async move {
                world.standing(&domain).await
            })?;
            let mut machines = Array::new();
            for machine in &found.machines {
                let mut map = to_map(FIND.name, machine)?;
                map.insert("fqdn".into(), format!("{}.{suffix}", machine.name).into());
                machines.push(map.into());
            }
            let records = to_value(FIND.name, &found.records)?;
            let mut out = Map::new();
            out.insert("machines".into(), machines.into());
            out.insert("records".into(), records);
            let client = match &found.client {
                Some(files) => to_value(FIND.name, files)?,
                None => Dynamic::UNIT,
            };
            out.insert("client".into(), client);
            Ok(out)
        },
    );

    let c = cx.clone();
    define(&MEMBERS).register_into_engine(
        engine,
        move |domain: &str, tls: Map| -> Result<Array, Box<EvalAltResult>> {
            let m = ask(
                &c,
                MEMBERS.name,
                domain,
                tls,
                MemberCall::List,
                Duration::from_secs(5),
            )?;
            members_array(MEMBERS.name, &m)
        },
    );

    let c = cx.clone();
    define(&ADD).register_into_engine(
        engine,
        move |domain: &str, tls: Map, peer_url: &str| -> Result<Map, Box<EvalAltResult>> {
            if url::Url::parse(peer_url).map_or(true, |u| u.host_str().is_none()) {
                return Err(Failure::invalid(
                    ADD.name,
                    format!(
                        "{peer_url:?} is not a peer URL such as https://etcd-1.example.test:2380"
                    ),
                )
                .into());
            }
            let call = MemberCall::Add {
                peer_urls: vec![peer_url.to_string()],
                learner: true,
            };
            let m = ask(&c, ADD.name, domain, tls, call, CHANGE)?;
            let Some(added) = m.added.clone() else {
                return Err(Failure::new(
                    ADD.name,
                    crate::base::error::Error::failed(
                        "etcd took the member but did not say which it is",
                    ),
                )
                .into());
            };
            // The others by name; the new one's name is the caller's to put in.
            let mut initial = Vec::new();
            for member in m.members.iter().filter(|x| x.id != added.id) {
                for url in &member.peer_urls {
                    initial.push(format!("{}={url}", member.name));
                }
            }
            let mut out = Map::new();
            out.insert("member".into(), to_value(ADD.name, &added)?);
            out.insert("members".into(), members_array(ADD.name, &m)?.into());
            out.insert("initial_cluster".into(), initial.join(",").into());
            Ok(out)
        },
    );

    for (doc, patience, make) in [
        (
            &PROMOTE,
            CATCH_UP,
            (|id| MemberCall::Promote { id }) as fn(u64) -> MemberCall,
        ),
        (&REMOVE, CHANGE, |id| MemberCall::Remove { id }),
        (&MOVE_LEADER, CHANGE, |to| MemberCall::MoveLeader { to }),
    ] {
        let c = cx.clone();
        let name = doc.name;
        define(doc).register_into_engine(
            engine,
            move |domain: &str, tls: Map, id: &str| -> Result<Array, Box<EvalAltResult>> {
                let id = id_arg(name, id)?;
                let m = ask(&c, name, domain, tls, make(id), patience)?;
                members_array(name, &m)
            },
        );
    }

    let c = cx.clone();
    define(&RETIRE).register_into_engine(
        engine,
        move |node: Map| -> Result<Array, Box<EvalAltResult>> {
            let fqdn = node.get("fqdn").map(|f| f.to_string());
            let Some(fqdn) = fqdn else {
                return Err(Failure::invalid(
                    RETIRE.name,
                    "node.fqdn is required: give a machine as cluster_find returns it",
                )
                .into());
            };
            let node: Instance = from_value(RETIRE.name, "node", &Dynamic::from(node))?;
            let limit = Duration::from_secs(300);
            let removed = on_world(&c, RETIRE.name, limit, move |world| async move {
                world.retire(&node.name, &fqdn).await
            })?;
            Ok(removed.into_iter().map(Dynamic::from).collect())
        },
    );
}
