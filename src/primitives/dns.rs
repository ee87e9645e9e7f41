//! `dns_zone`, `dns_record`, `delete_dns_record`, `dns_records`: records through the
//! world's Dns, with names checked before anything is sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::convert::{from_value, to_map, to_value};
use super::{Doc, Failure, Options, creating, define, on_world};
use crate::base::error::Error;
use crate::base::names::{check_name, check_srv_owner, cluster_name, in_zone};
use crate::providers::dns::marker;
use crate::providers::{Record, RecordData, RecordSpec};

const LIMIT: Duration = Duration::from_secs(120);

const ZONE: Doc = Doc {
    name: "dns_zone",
    params: &["name: String", "Map"],
    text: "\
/// The DNS zone `name` as `#{id, name, servers}`. The lab creates it (and removes it on
/// rollback and destroy); a cloud provider looks it up and fails when it does not exist.
/// `servers` (\"IP:port\") are those `wait_resolves` asks: `--dns-server`, or the
/// zone's own name servers (Cloudflare's zone, Route 53's delegation set); a zone none
/// of whose name servers can be found fails here. A bare top-level domain (`com`) is
/// refused.",
};

const RECORD: Doc = Doc {
    name: "dns_record",
    params: &["record: Map", "Map"],
    text: "\
/// Publishes a record and returns it with its `id` and `zone`:
/// `#{name, type: \"A\"|\"AAAA\"|\"CNAME\"|\"TXT\", content, ttl, cluster}` or
/// `#{name, type: \"SRV\", priority, weight, port, target, ttl, cluster}` (`ttl` defaults
/// to 300). `cluster` (a domain, default none) marks the record as that cluster's, so
/// that `rigger destroy --cluster DOMAIN` finds it without the state: Cloudflare keeps
/// the mark in the record's comment, Route 53 in a TXT record of its own; the lab and
/// RFC 2136 keep none. Names are checked first (RFC 1035 labels, 253 characters; SRV
/// owners are `_service._proto.domain`; `_rigger-` names are the markers'). `zone`
/// (default: the zone that holds the name, as the provider finds it) names the zone the
/// record goes in, which must hold the name: then it is not looked for, a question per
/// name saved on RFC 2136. An identical record that already exists is returned as is,
/// with its own mark or none.",
};

const RECORDS_AT_ONCE: Doc = Doc {
    name: "dns_record",
    params: &["records: Array", "Array"],
    text: "\
/// Publishes every record of `records` (maps as above) at once and returns them, in
/// order: Cloudflare takes them in one batch request (200 at most per request), Route 53
/// in one change, the lab in one reload, RFC 2136 in one UPDATE message.
/// Every record is checked before any is sent; a record given twice is refused.",
};

const DELETE: Doc = Doc {
    name: "delete_dns_record",
    params: &["record: Map", "()"],
    text: "/// Removes a record returned by `dns_record`; fails when it is not there (any more).",
};

const RECORDS: Doc = Doc {
    name: "dns_records",
    params: &["name: String", "Array"],
    text: "\
/// The records published under `name` (any type), as the provider lists them; `cluster`
/// is the mark where the provider keeps it with the record (Cloudflare's comment), ()
/// elsewhere.",
};

const NAME: Doc = Doc {
    name: "dns_name",
    params: &["name: String", "String"],
    text: "\
/// `name` as rigger writes DNS names: checked (RFC 1035 labels, 253 characters),
/// lowercase, without a final dot. Fails saying what is wrong with it.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    define(&NAME).register_into_engine(
        engine,
        |name: &str| -> Result<String, Box<EvalAltResult>> {
            check_name(name, false).map_err(|why| {
                Failure::invalid(
                    NAME.name,
                    format!("{name:?} is not a valid DNS name: {why}"),
                )
                .into()
            })
        },
    );
    let c = cx.clone();
    define(&ZONE).register_into_engine(
        engine,
        move |name: &str| -> Result<Map, Box<EvalAltResult>> {
            let name = check_name(name, false).map_err(|why| {
                Failure::invalid(ZONE.name, format!("{name:?} is not a valid zone name: {why}"))
            })?;
            if !name.contains('.') {
                return Err(Failure::invalid(
                    ZONE.name,
                    format!("{name} is a bare top-level domain; a zone of your own is one below it (example.test)"),
                )
                .into());
            }
            // The servers `wait_resolves` will ask are found now, before anything else
            // exists: a zone whose name servers cannot be found is refused up front,
            // not after the machines are running.
            let (zone, servers) = creating(&c, ZONE.name, LIMIT, move |world| async move {
                let zone = world.backends.dns.zone(&name).await?.0;
                let servers = world.backends.dns.authoritative(&zone.name).await?;
                Ok((zone, servers))
            })?;
            let mut map = to_map(ZONE.name, &zone)?;
            let servers: Array = servers.iter().map(|s| s.to_string().into()).collect();
            map.insert("servers".into(), servers.into());
            Ok(map)
        },
    );

    let c = cx.clone();
    define(&RECORD).register_into_engine(
        engine,
        move |record: Map| -> Result<Map, Box<EvalAltResult>> {
            let (spec, zone) = record_spec(record)?;
            let record = creating(&c, RECORD.name, LIMIT, move |world| async move {
                if let Some(zone) = &zone {
                    let names = std::slice::from_ref(&spec.name);
                    world.backends.dns.hold_in(zone, names).await?;
                }
                Ok(world.backends.dns.create(&spec).await?.0)
            })?;
            to_map(RECORD.name, &record)
        },
    );

    let c = cx.clone();
    define(&RECORDS_AT_ONCE).register_into_engine(
        engine,
        move |records: Array| -> Result<Array, Box<EvalAltResult>> {
            let mut specs = Vec::with_capacity(records.len());
            // Zone -> the names the script said it holds.
            let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (i, record) in records.into_iter().enumerate() {
                let Some(map) = record.clone().try_cast::<Map>() else {
                    return Err(Failure::invalid(
                        RECORDS_AT_ONCE.name,
                        format!(
                            "record {} is {}, not a map",
                            i + 1,
                            crate::base::eval_error::rhai_types(record.type_name())
                        ),
                    )
                    .into());
                };
                let (spec, zone) =
                    record_spec(map).map_err(|f| f.prefixed(&format!("record {}: ", i + 1)))?;
                if let Some(zone) = zone {
                    held.entry(zone).or_default().push(spec.name.clone());
                }
                // Said rather than made once: a script that lists a record twice has
                // most likely mixed up two of them.
                if let Some(earlier) = specs
                    .iter()
                    .position(|s: &RecordSpec| s.data == spec.data && s.name == spec.name)
                {
                    return Err(Failure::invalid(
                        RECORDS_AT_ONCE.name,
                        format!(
                            "record {}: {} {} -> {} is given twice (also as record {})",
                            i + 1,
                            spec.data.type_name(),
                            spec.name,
                            spec.data.content(),
                            earlier + 1
                        ),
                    )
                    .into());
                }
                specs.push(spec);
            }
            let made = creating(&c, RECORDS_AT_ONCE.name, LIMIT, move |world| async move {
                let dns = &world.backends.dns;
                join_all(held.iter().map(|(zone, names)| dns.hold_in(zone, names)))
                    .await
                    .into_iter()
                    .collect::<Result<Vec<()>, _>>()?;
                let outcomes = world.backends.dns.create_all(&specs).await;
                let mut made = Vec::with_capacity(outcomes.len());
                for (i, outcome) in outcomes.into_iter().enumerate() {
                    // What was made stays in the journal, for the rollback to remove.
                    made.push(
                        outcome
                            .map_err(|e| e.prefixed(&format!("record {}: ", i + 1)))?
                            .0,
                    );
                }
                Ok(made)
            })?;
            made.iter()
                .map(|r| to_map(RECORDS_AT_ONCE.name, r).map(Dynamic::from))
                .collect()
        },
    );

    let c = cx.clone();
    define(&DELETE).register_into_engine(
        engine,
        move |record: Map| -> Result<(), Box<EvalAltResult>> {
            let record: Record = from_value(DELETE.name, "record", &Dynamic::from(record))?;
            on_world(&c, DELETE.name, LIMIT, move |world| async move {
                // A record that is not there is most likely a script deleting one twice,
                // or one it never made: said, not passed over.
                let listed = world.backends.dns.list(&record.spec.name).await?;
                if !listed.iter().any(|r| r.id == record.id) {
                    return Err(Error::not_found(format!(
                        "there is no {} record {} -> {} (id {}) to delete",
                        record.spec.data.type_name(),
                        record.spec.name,
                        record.spec.data.content(),
                        record.id
                    )));
                }
                world.backends.dns.delete(&record).await
            })
        },
    );

    let c = cx.clone();
    define(&RECORDS).register_into_engine(
        engine,
        move |name: &str| -> Result<Array, Box<EvalAltResult>> {
            let name = check_name(name, true).map_err(|why| {
                Failure::invalid(
                    RECORDS.name,
                    format!("{name:?} is not a valid DNS name: {why}"),
                )
            })?;
            let records = on_world(&c, RECORDS.name, LIMIT, move |world| async move {
                world.backends.dns.list(&name).await
            })?;
            Ok(records
                .iter()
                .map(|r| to_value(RECORDS.name, r))
                .collect::<Result<Array, _>>()?)
        },
    );
}

/// A script's record map as a checked `RecordSpec`, and the zone it names, if any.
fn record_spec(map: Map) -> Result<(RecordSpec, Option<String>), Failure> {
    const NAME: &str = "dns_record";
    let options = Options::new(
        NAME,
        map,
        &[
            "name", "type", "content", "ttl", "priority", "weight", "port", "target", "cluster",
            "zone", "id",
        ],
    )?;
    let text = |key: &str| -> Result<String, Failure> {
        options
            .get(key)
            .filter(|v| v.is_string())
            .map(|v| v.to_string())
            .ok_or_else(|| Failure::invalid(NAME, format!("`{key}` (a string) is required")))
    };
    let number = |key: &str, default: Option<i64>| -> Result<i64, Failure> {
        match options.get(key) {
            Some(v) => v.as_int().map_err(|t| {
                Failure::invalid(NAME, format!("`{key}` must be an integer, got {t}"))
            }),
            None => default.ok_or_else(|| {
                Failure::invalid(
                    NAME,
                    format!("`{key}` (an integer) is required for this type"),
                )
            }),
        }
    };
    let u16_of = |key: &str, default: Option<i64>| -> Result<u16, Failure> {
        let n = number(key, default)?;
        u16::try_from(n)
            .map_err(|_| Failure::invalid(NAME, format!("`{key}` must be 0..65535, got {n}")))
    };
    let kind = text("type")?.to_ascii_uppercase();
    let raw_name = text("name")?;
    let name = match kind.as_str() {
        "SRV" => check_srv_owner(&raw_name),
        "TXT" => check_name(&raw_name, true),
        _ => check_name(&raw_name, false),
    }
    .map_err(|why| {
        Failure::invalid(
            NAME,
            format!("{raw_name:?} is not a valid {kind} record name: {why}"),
        )
    })?;
    if name.starts_with(marker::LABEL_PREFIX) {
        return Err(Failure::invalid(
            NAME,
            format!(
                "{name} starts with `{}`, which names rigger's ownership markers",
                marker::LABEL_PREFIX
            ),
        ));
    }
    let cluster = match options.get("cluster") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) if v.is_string() => Some(cluster_name(&v.to_string()).map_err(|why| {
            Failure::invalid(NAME, format!("`cluster` {v:?} is not a domain: {why}"))
        })?),
        Some(v) => {
            return Err(Failure::invalid(
                NAME,
                format!(
                    "`cluster` must be a string (the cluster's domain) or (), got {}",
                    v.type_name()
                ),
            ));
        }
    };
    let ttl = number("ttl", Some(300))?;
    let ttl = u32::try_from(ttl).ok().filter(|t| *t >= 1).ok_or_else(|| {
        Failure::invalid(
            NAME,
            format!("`ttl` must be a positive number of seconds, got {ttl}"),
        )
    })?;
    let host_name = |key: &str| -> Result<String, Failure> {
        let v = text(key)?;
        check_name(&v, false).map_err(|why| {
            Failure::invalid(
                NAME,
                format!("`{key}` {v:?} is not a valid host name: {why}"),
            )
        })
    };
    let data = match kind.as_str() {
        "A" => {
            let c = text("content")?;
            RecordData::A {
                content: c.parse().map_err(|_| {
                    Failure::invalid(NAME, format!("`content` {c:?} is not an IPv4 address"))
                })?,
            }
        }
        "AAAA" => {
            let c = text("content")?;
            RecordData::AAAA {
                content: c.parse().map_err(|_| {
                    Failure::invalid(NAME, format!("`content` {c:?} is not an IPv6 address"))
                })?,
            }
        }
        "CNAME" => RecordData::CNAME {
            content: host_name("content")?,
        },
        "TXT" => RecordData::TXT {
            content: text("content")?,
        },
        "SRV" => RecordData::SRV {
            priority: u16_of("priority", Some(0))?,
            weight: u16_of("weight", Some(0))?,
            port: u16_of("port", None)?,
            target: host_name("target")?,
        },
        other => {
            return Err(
                Failure::invalid(NAME, format!("record type {other:?} is not supported"))
                    .with_help("types: A, AAAA, CNAME, TXT, SRV"),
            );
        }
    };
    // A record read back carries its zone, and goes back there; a planned record (a dry
    // run's) has none yet.
    let zone = match options.get("zone") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(v) if v.is_string() && v.to_string().is_empty() => None,
        Some(v) if v.is_string() => {
            let zone = check_name(&v.to_string(), false).map_err(|why| {
                Failure::invalid(
                    NAME,
                    format!("`zone` {v:?} is not a valid zone name: {why}"),
                )
            })?;
            if !in_zone(&name, &zone) {
                return Err(Failure::invalid(
                    NAME,
                    format!("{name} is not in the zone {zone} the record names"),
                )
                .with_help("a record's `zone` is the zone its name is in (or leave it out)"));
            }
            Some(zone)
        }
        Some(v) => {
            return Err(Failure::invalid(
                NAME,
                format!(
                    "`zone` must be a string (a zone name) or (), got {}",
                    v.type_name()
                ),
            ));
        }
    };
    Ok((
        RecordSpec {
            name,
            ttl,
            data,
            cluster,
        },
        zone,
    ))
}
