//! `dns_zone`, `dns_record`, `delete_dns_record`, `dns_records`: records through the
//! world's Dns, with names checked before anything is sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use crate::base::error::Error;
use crate::base::names::check_name;
use crate::providers::records::RecordRequest;
use crate::providers::{Record, RecordSpec};

const LIMIT: Duration = Duration::from_secs(120);

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// `name` as rigger writes DNS names: checked (RFC 1035 labels, 253 characters),
        /// lowercase, without a final dot. Fails saying what is wrong with it.
        fn dns_name(c, name: &str) -> String {
            let why = |why| c.invalid(format!("{name:?} is not a valid DNS name: {why}"));
            Ok(check_name(name, false).map_err(why)?)
        }
    }
    primitive! { engine, cx,
        /// The DNS zone `name` as `#{id, name, servers}`. The lab creates it (and removes it on
        /// rollback and destroy); a cloud provider looks it up and fails when it does not exist.
        /// `servers` ("IP:port") are those `wait_resolves` asks: `--dns-server`, or the
        /// zone's own name servers (Cloudflare's zone, Route 53's delegation set); a zone none
        /// of whose name servers can be found fails here. A bare top-level domain (`com`) is
        /// refused.
        fn dns_zone(c, name: &str) -> Map {
            let name = zone_name(c, name)?;
            // The servers `wait_resolves` will ask are found now, before anything else
            // exists: a zone whose name servers cannot be found is refused up front,
            // not after the machines are running.
            let (zone, servers) = c.creating().on_world(LIMIT, move |world| async move {
                let zone = world.backends.dns.zone(&name).await?.0;
                let servers = world.backends.dns.authoritative(&zone.name).await?;
                Ok((zone, servers))
            })?;
            let mut map = c.to_map(&zone)?;
            let servers: Array = servers.iter().map(|s| s.to_string().into()).collect();
            map.insert("servers".into(), servers.into());
            Ok(map)
        }
    }
    primitive! { engine, cx,
        /// Publishes a record and returns it with its `id` and `zone`:
        /// `#{name, type: "A"|"AAAA"|"CNAME"|"TXT", content, ttl, cluster}` or
        /// `#{name, type: "SRV", priority, weight, port, target, ttl, cluster}` (`ttl` defaults
        /// to 300). `cluster` (a domain, default none) marks the record as that cluster's, so
        /// that `rigger destroy --cluster DOMAIN` finds it without the state: Cloudflare keeps
        /// the mark in the record's comment, Route 53 in a TXT record of its own; the lab and
        /// RFC 2136 keep none. Names are checked first (RFC 1035 labels, 253 characters; SRV
        /// owners are `_service._proto.domain`; `_rigger-` names are the markers'). `zone`
        /// (default: the zone that holds the name, as the provider finds it) names the zone the
        /// record goes in, which must hold the name: then it is not looked for, a question per
        /// name saved on RFC 2136. An identical record that already exists is returned as is,
        /// with its own mark or none.
        fn dns_record(c, record: Map) -> Map {
            let RecordRequest { spec, zone } = c.request("record", "", record)?;
            let record = c.creating().on_world(LIMIT, move |world| async move {
                if let Some(zone) = &zone {
                    world.backends.dns.hold_in(zone, std::slice::from_ref(&spec.name)).await?;
                }
                Ok(world.backends.dns.create(&spec).await?.0)
            })?;
            c.to_map(&record)
        }
    }
    primitive! { engine, cx,
        /// Publishes every record of `records` (maps as above) at once and returns them, in
        /// order: Cloudflare takes them in one batch request (200 at most per request), Route 53
        /// in one change, the lab in one reload, RFC 2136 in one UPDATE message.
        /// Every record is checked before any is sent; a record given twice is refused.
        fn dns_record(c, records: Array) -> Array { records_at_once(c, records) }
    }
    primitive! { engine, cx,
        /// Removes a record returned by `dns_record`; fails when it is not there (any more).
        fn delete_dns_record(c, record: Map) {
            let record: Record = c.read("record", record)?;
            c.on_world(LIMIT, move |world| async move {
                // A record that is not there is most likely a script deleting one twice,
                // or one it never made: said, not passed over.
                let listed = world.backends.dns.list(&record.spec.name).await?;
                if !listed.iter().any(|r| r.id == record.id) {
                    let (spec, id) = (&record.spec, &record.id);
                    let (kind, content) = (spec.data.type_name(), spec.data.content());
                    let what = format!("{kind} record {} -> {content} (id {id})", spec.name);
                    return Err(Error::not_found(format!("there is no {what} to delete")));
                }
                world.backends.dns.delete(&record).await
            })
        }
    }
    primitive! { engine, cx,
        /// The records published under `name` (any type), as the provider lists them; `cluster`
        /// is the mark where the provider keeps it with the record (Cloudflare's comment), ()
        /// elsewhere.
        fn dns_records(c, name: &str) -> Array {
            let name = check_name(name, true)
                .map_err(|why| c.invalid(format!("{name:?} is not a valid DNS name: {why}")))?;
            let records = c.on_world(LIMIT, move |world| async move {
                world.backends.dns.list(&name).await
            })?;
            Ok(records.iter().map(|r| c.to_value(r)).collect::<Result<Array, _>>()?)
        }
    }
}

/// A zone's name as a script gives it: checked, and not a bare top-level domain.
fn zone_name(c: &Call, name: &str) -> Result<String, Box<EvalAltResult>> {
    let name = check_name(name, false)
        .map_err(|why| c.invalid(format!("{name:?} is not a valid zone name: {why}")))?;
    if !name.contains('.') {
        return Err(c.invalid(format!(
            "{name} is a bare top-level domain; a zone of your own is one below it (example.test)"
        ))
        .into());
    }
    Ok(name)
}

/// Every record of `records` checked before any is sent, then sent at once.
fn records_at_once(c: &Call, records: Array) -> Result<Array, Box<EvalAltResult>> {
    let mut specs: Vec<RecordSpec> = Vec::with_capacity(records.len());
    // Zone -> the names the script said it holds.
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, record) in records.into_iter().enumerate() {
        if !record.is_map() {
            let kind = crate::base::eval_error::rhai_types(record.type_name());
            return Err(c
                .invalid(format!("record {} is {kind}, not a map", i + 1))
                .into());
        }
        let (what, lead) = (format!("record {}", i + 1), format!("record {}: ", i + 1));
        let RecordRequest { spec, zone } = c.request(&what, &lead, record)?;
        if let Some(zone) = zone {
            held.entry(zone).or_default().push(spec.name.clone());
        }
        // Said rather than made once: a script that lists a record twice has most likely
        // mixed up two of them.
        let twice = specs
            .iter()
            .position(|s| s.data == spec.data && s.name == spec.name);
        if let Some(earlier) = twice {
            return Err(c
                .invalid(format!(
                    "record {}: {} {} -> {} is given twice (also as record {})",
                    i + 1,
                    spec.data.type_name(),
                    spec.name,
                    spec.data.content(),
                    earlier + 1
                ))
                .into());
        }
        specs.push(spec);
    }
    let made = c.creating().on_world(LIMIT, move |world| async move {
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
        .map(|r| c.to_map(r).map(Dynamic::from))
        .collect()
}
