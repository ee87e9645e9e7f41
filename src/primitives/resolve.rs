//! `wait_resolves`: wait until the zone's authoritative servers answer what is expected.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use rhai::{Dynamic, Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::failure::Failure;
use super::typed::{Seconds, ServerAddr};
use crate::base::names::check_name;
use crate::base::progress;
use crate::providers::{Answer, DnsWait};

const NAME: &str = "wait_resolves";

fn expected_set(expected: &Dynamic) -> Result<(RecordType, BTreeSet<Answer>), Failure> {
    let items: Vec<Dynamic> = if expected.is_array() {
        expected.clone().into_array().unwrap_or_default()
    } else {
        vec![expected.clone()]
    };
    if items.is_empty() {
        return Err(Failure::invalid(
            NAME,
            "expected nothing: give an address, or the SRV targets",
        ));
    }
    let mut rtype = None;
    let mut set = BTreeSet::new();
    for item in items {
        let (t, answer) = if let Some(map) = item.read_lock::<Map>() {
            let target = map.get("target").map(|v| v.to_string()).unwrap_or_default();
            let port = map
                .get("port")
                .and_then(|v| v.as_int().ok())
                .and_then(|p| u16::try_from(p).ok());
            match (check_name(&target, false), port) {
                (Ok(target), Some(port)) => (RecordType::SRV, Answer::Srv { target, port }),
                _ => {
                    return Err(Failure::invalid(
                        NAME,
                        format!("{item} is not #{{target, port}}"),
                    ));
                }
            }
        } else {
            let text = item.to_string();
            if let Ok(ip) = text.parse::<std::net::IpAddr>() {
                (
                    if ip.is_ipv4() {
                        RecordType::A
                    } else {
                        RecordType::AAAA
                    },
                    Answer::Ip(ip),
                )
            } else if let Some((host, port)) = text
                .rsplit_once(':')
                .and_then(|(h, p)| Some((check_name(h, false).ok()?, p.parse::<u16>().ok()?)))
            {
                (RecordType::SRV, Answer::Srv { target: host, port })
            } else {
                return Err(Failure::invalid(NAME, format!("{text:?} is neither an IP address nor target:port"))
                    .with_help("A/AAAA: wait_resolves(name, \"198.18.1.1\"); SRV: wait_resolves(name, [#{target, port}, ...])"));
            }
        };
        if rtype.is_some_and(|r| r != t) {
            return Err(Failure::invalid(
                NAME,
                "the expected answers mix record types",
            ));
        }
        rtype = Some(t);
        set.insert(answer);
    }
    Ok((rtype.expect("at least one item"), set))
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Waits until every authoritative server of the zone answers `name` with exactly
        /// `expected`: an address (or array of addresses) for A/AAAA, or an array of
        /// `#{target, port}` (or "target:port") for SRV. Asks the servers directly, no cache.
        /// Options: `timeout` (seconds, default 60), `interval` (default 0.1), `servers` (array
        /// of "ip:port" to ask instead of the zone's own). Fails with what each server said last.
        fn wait_resolves(c, name: &str, expected: Dynamic, options: Map) {
            wait(c, name, expected, options)
        }
    }
    primitive! { engine, cx,
        /// `wait_resolves(name, expected, #{})`.
        fn wait_resolves(c, name: &str, expected: Dynamic) { wait(c, name, expected, Map::new()) }
    }
    primitive! { engine, cx,
        /// Waits for many names at once: `expected` maps each name to what it must resolve to,
        /// as above (`#{"etcd-1.example.test": "198.18.1.1", "_etcd-server-ssl._tcp.example.test":
        /// [...]}`). The names are polled together, so the wait ends when the last one answers,
        /// not after the sum of the waits; a failure names every name that did not answer.
        /// Takes the same options.
        fn wait_resolves(c, expected: Map, options: Map) { wait_all(c, expected, options) }
    }
    primitive! { engine, cx,
        /// `wait_resolves(expected, #{})`.
        fn wait_resolves(c, expected: Map) { wait_all(c, expected, Map::new()) }
    }
}

struct Expected {
    name: String,
    rtype: RecordType,
    want: BTreeSet<Answer>,
}

fn expected_one(name: &str, expected: &Dynamic) -> Result<Expected, Failure> {
    if expected.is_map() {
        return Err(Failure::invalid(
            NAME,
            "expected must be an address or an array",
        ));
    }
    let name = check_name(name, true).map_err(|why| {
        Failure::invalid(NAME, format!("{name:?} is not a valid DNS name: {why}"))
    })?;
    let (rtype, want) = expected_set(expected)?;
    Ok(Expected { name, rtype, want })
}

/// `timeout`, `interval` and `servers`, as every form takes them.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitOptions {
    timeout: Option<Seconds>,
    interval: Option<Seconds>,
    servers: Option<Vec<ServerAddr>>,
}

fn wait_all(c: &Call, expected: Map, options: Map) -> Result<(), Box<EvalAltResult>> {
    crate::base::hook::point("wait");
    if expected.is_empty() {
        return Err(Failure::invalid(
            NAME,
            "expected names nothing: give #{name: what it resolves to, ...}",
        )
        .into());
    }
    let all = expected
        .iter()
        .map(|(name, want)| expected_one(name, want))
        .collect::<Result<Vec<_>, _>>()?;
    waits(c, all, c.options_as(options)?)
}

fn wait(c: &Call, name: &str, expected: Dynamic, options: Map) -> Result<(), Box<EvalAltResult>> {
    crate::base::hook::point("wait");
    let one = expected_one(name, &expected)?;
    waits(c, vec![one], c.options_as(options)?)
}

/// Polls every name together, each against its zone's servers (or those given).
fn waits(c: &Call, all: Vec<Expected>, options: WaitOptions) -> Result<(), Box<EvalAltResult>> {
    let timeout = Seconds::or(options.timeout, 60.0);
    let interval = Seconds::or(options.interval, 0.1);
    let servers: Option<Vec<SocketAddr>> =
        (options.servers).map(|s| s.into_iter().map(|a| a.0).collect());
    c.on_world(timeout + Duration::from_secs(10), move |world| {
        // The step this wait is shown as; the count of names that answer goes on it.
        let step = tracing::Span::current();
        let total = all.len();
        let started = std::time::Instant::now();
        tracing::info!("waiting until DNS answers {total} names");
        async move {
            // Each name's servers, found all at once (once per zone: the backend keeps them).
            let found = futures::future::join_all(all.iter().map(|e| async {
                match &servers {
                    Some(s) => Ok(s.clone()),
                    None => world.backends.dns.authoritative(&e.name).await,
                }
            }))
            .await;
            let mut set = tokio::task::JoinSet::new();
            for (i, (e, servers)) in all.into_iter().zip(found).enumerate() {
                let servers = servers?;
                let probe = world.backends.probe.clone();
                // A line of its own under the wait's, saying what each server answered
                // last; it goes when its name answers.
                let line =
                    progress::step_under(&step, &format!("waiting for {} {}", e.name, e.rtype));
                let shown = line.clone();
                let one = async move {
                    let wait = DnsWait {
                        servers,
                        name: e.name,
                        rtype: e.rtype,
                        want: e.want,
                        timeout,
                        interval,
                        line,
                    };
                    (i, probe.wait_resolves(&wait).await)
                };
                set.spawn(tracing::Instrument::instrument(one, shown));
            }
            let mut failed: Vec<(usize, crate::base::error::Error)> = Vec::new();
            let mut answered = 0;
            progress::say(&step, &format!("{NAME}: 0 of {total} names answer"));
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok((_, Ok(()))) => {
                        answered += 1;
                        progress::say(
                            &step,
                            &format!("{NAME}: {answered} of {total} names answer"),
                        );
                    }
                    Ok((i, Err(e))) => failed.push((i, e)),
                    Err(e) => return Err(crate::base::error::Error::failed(e.to_string())),
                }
            }
            // In the order the script gave them; one failure is itself, several are
            // said together.
            failed.sort_by_key(|(i, _)| *i);
            let mut failed = failed.into_iter().map(|(_, e)| e);
            match (failed.next(), failed.len()) {
                (None, _) => {
                    let took = crate::base::human::duration(started.elapsed());
                    tracing::info!("DNS answers all {total} names ({took})");
                    Ok(())
                }
                (Some(first), 0) => Err(first),
                (Some(first), _) => {
                    let kind = first.kind;
                    let help = first.help.clone();
                    let mut message = first.message;
                    for e in failed {
                        message.push_str("; ");
                        message.push_str(&e.message);
                    }
                    let e = crate::base::error::Error::new(kind, message);
                    Err(match help {
                        Some(h) => e.with_help(h),
                        None => e,
                    })
                }
            }
        }
    })
}
