//! Amazon Route 53 as a DNS provider (aws-sdk-route53). Route 53 keeps all values of a
//! name and type in one record set, so a rigger record is one value in a set: creating
//! adds it, deleting takes it out, and the set goes when its last value does. A value
//! of a cluster's is marked by a TXT record of its own (`marker`), changed in the same
//! batch as the value, so that one never stands without the other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use super::Dns;
use super::Zone;
use super::marker;
use super::name_servers::NameServers;
use super::zone_api::{Api, Outcomes, Sets, ZoneApi};
use crate::base::error::{Error, Result};
use crate::providers::aws::sdk_error;
use crate::providers::opening::Opening;
use crate::providers::{Record, RecordData, RecordSpec};

pub struct Route53 {
    client: Client,
    /// Where `wait_resolves` asks; the hosted zone's delegation set when empty.
    resolvers: Vec<SocketAddr>,
    /// How the delegation set's names become addresses.
    lookup: NameServers,
    /// Calls in flight at once: Route 53 allows five requests a second per account, and
    /// a batch's listings would otherwise all go at the same instant.
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Each zone's delegation set (its name servers' names), asked once: fetched as soon
    /// as the zone is found, so that the call overlaps the run's next ones.
    delegations: Mutex<HashMap<String, Delegation>>,
    /// Every hosted zone of the account, by name, when they came in one page of
    /// ListHostedZones (asked once): then lookups are answered without a call.
    listing: tokio::sync::OnceCell<Option<HashMap<String, Zone>>>,
}

/// A zone's delegation set, once GetHostedZone answered.
type Delegation = Arc<tokio::sync::OnceCell<Result<Vec<String>>>>;

/// The names of hosted zone `id`'s name servers: its delegation set, as Route 53
/// assigned it (what the parent zone's NS records must list for it to be live).
async fn get_delegation(
    client: &Client,
    in_flight: &tokio::sync::Semaphore,
    id: &str,
) -> Result<Vec<String>> {
    let _permit = in_flight.acquire().await;
    let out = client
        .get_hosted_zone()
        .id(id)
        .send()
        .await
        .map_err(|e| sdk_error("route53", "GetHostedZone", e))?;
    Ok(out
        .delegation_set()
        .map(|d| d.name_servers().to_vec())
        .unwrap_or_default())
}

/// How a change batch went.
enum Applied {
    Done,
    /// A CREATE named a set that exists: nothing was changed.
    SetExists(Error),
    Failed(Error),
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// The value as Route 53 stores it.
fn value_of(data: &RecordData) -> String {
    match data {
        RecordData::SRV {
            priority,
            weight,
            port,
            target,
        } => format!("{priority} {weight} {port} {}", fqdn(target)),
        RecordData::CNAME { content } => fqdn(content),
        RecordData::TXT { content } => format!("{content:?}"),
        RecordData::A { content } => content.to_string(),
        RecordData::AAAA { content } => content.to_string(),
    }
}

fn data_of(rtype: &str, value: &str) -> Option<RecordData> {
    let bare = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
    Some(match rtype {
        "A" => RecordData::A {
            content: value.parse().ok()?,
        },
        "AAAA" => RecordData::AAAA {
            content: value.parse().ok()?,
        },
        "CNAME" => RecordData::CNAME {
            content: bare(value),
        },
        "TXT" => RecordData::TXT {
            content: value.trim_matches('"').to_string(),
        },
        "SRV" => {
            let f: Vec<&str> = value.split_whitespace().collect();
            if f.len() != 4 {
                return None;
            }
            RecordData::SRV {
                priority: f[0].parse().ok()?,
                weight: f[1].parse().ok()?,
                port: f[2].parse().ok()?,
                target: bare(f[3]),
            }
        }
        _ => return None,
    })
}

/// The set `name`/`rtype` among `sets`: its TTL and values.
fn set_in(sets: &[ResourceRecordSet], name: &str, rtype: &str) -> Option<(i64, Vec<String>)> {
    sets.iter()
        .find(|s| s.name().eq_ignore_ascii_case(&fqdn(name)) && s.r#type().as_str() == rtype)
        .map(|s| {
            (
                s.ttl().unwrap_or(300),
                s.resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect(),
            )
        })
}

impl Route53 {
    pub fn new(config: &aws_config::SdkConfig, resolvers: Vec<SocketAddr>) -> Self {
        Self {
            client: Client::from_conf(
                aws_sdk_route53::config::Builder::from(config)
                    .interceptor(crate::providers::aws::LogCalls)
                    .build(),
            ),
            resolvers,
            lookup: NameServers::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(4)),
            delegations: Mutex::default(),
            listing: tokio::sync::OnceCell::new(),
        }
    }

    /// Name servers' addresses found through `lookup` (an override, for tests).
    pub fn with_lookup(mut self, lookup: NameServers) -> Self {
        self.lookup = lookup;
        self
    }

    fn delegation(&self, zone_id: &str) -> Delegation {
        let mut known = self.delegations.lock().expect("delegation sets");
        known.entry(zone_id.to_string()).or_default().clone()
    }

    /// The zone's delegation set, from the call `prefetch` started or a new one.
    async fn delegation_set(&self, zone: &Zone) -> Result<Vec<String>> {
        let cell = self.delegation(&zone.id);
        cell.get_or_init(|| get_delegation(&self.client, &self.in_flight, &zone.id))
            .await
            .clone()
    }

    /// Starts asking for a found zone's delegation set, which a wait will need, so that
    /// the call runs beside the check for records that comes next rather than after
    /// it. Only the API is asked: the name servers' names are resolved by the wait.
    /// Not when the servers are given (`--dns-server`): then no one asks for them.
    fn prefetch(&self, zone_id: &str) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.resolvers.is_empty() {
            return;
        }
        let cell = self.delegation(zone_id);
        if cell.initialized() {
            return;
        }
        let (client, in_flight, id) = (
            self.client.clone(),
            self.in_flight.clone(),
            zone_id.to_string(),
        );
        runtime.spawn(async move {
            let _ = cell
                .get_or_init(|| get_delegation(&client, &in_flight, &id))
                .await;
        });
    }

    /// The account's zones in one ListHostedZones, the first time; `None` when they take
    /// more than a page or the listing is refused (then each name is asked). A member's
    /// name is a candidate zone of its own (`etcd-<id>.<domain>` could be delegated):
    /// without this, each member's record cost a lookup before the change.
    async fn zones_listed(&self) -> Option<&HashMap<String, Zone>> {
        self.listing
            .get_or_init(|| async {
                let _permit = self.in_flight.acquire().await;
                let out = self
                    .client
                    .list_hosted_zones()
                    .max_items(100)
                    .send()
                    .await
                    .ok()?;
                if out.is_truncated() {
                    return None;
                }
                let mut zones = HashMap::new();
                for z in out.hosted_zones() {
                    let name = z.name().trim_end_matches('.').to_ascii_lowercase();
                    // Of two zones of one name (a public and a private one), the first,
                    // as a lookup by name finds it.
                    zones.entry(name.clone()).or_insert_with(|| Zone {
                        id: z.id().trim_start_matches("/hostedzone/").to_string(),
                        name,
                    });
                }
                Some(zones)
            })
            .await
            .as_ref()
    }

    async fn fetch_zone(&self, name: &str) -> Result<Option<Zone>> {
        let found = self.find_zone(name).await?;
        if let Some(zone) = &found {
            self.prefetch(&zone.id);
        }
        Ok(found)
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        if let Some(zones) = self.zones_listed().await {
            return Ok(zones.get(&name.to_ascii_lowercase()).map(|z| Zone {
                id: z.id.clone(),
                name: name.to_string(),
            }));
        }
        let _permit = self.in_flight.acquire().await;
        let out = self
            .client
            .list_hosted_zones_by_name()
            .dns_name(fqdn(name))
            .max_items(1)
            .send()
            .await
            .map_err(|e| sdk_error("route53", "ListHostedZonesByName", e))?;
        Ok(out
            .hosted_zones()
            .iter()
            .find(|z| z.name() == fqdn(name))
            .map(|z| Zone {
                id: z.id().trim_start_matches("/hostedzone/").to_string(),
                name: name.to_string(),
            }))
    }

    /// The record set `name`/`rtype`: its TTL and values, if it exists.
    async fn record_set(
        &self,
        zone: &Zone,
        name: &str,
        rtype: &str,
    ) -> Result<Option<(i64, Vec<String>)>> {
        let _permit = self.in_flight.acquire().await;
        let out = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(&zone.id)
            .start_record_name(fqdn(name))
            .start_record_type(RrType::from(rtype))
            .max_items(1)
            .send()
            .await
            .map_err(|e| sdk_error("route53", "ListResourceRecordSets", e))?;
        Ok(set_in(out.resource_record_sets(), name, rtype))
    }

    /// Every set named `name`, from a listing that starts at it: a page holds all of a
    /// name's sets unless it has more than a page of them.
    async fn sets_named(&self, zone: &Zone, name: &str) -> Result<Vec<ResourceRecordSet>> {
        const PAGE: i32 = 20;
        let _permit = self.in_flight.acquire().await;
        let named = |n: &str| n.eq_ignore_ascii_case(&fqdn(name));
        let mut out = Vec::new();
        let mut next_type: Option<RrType> = None;
        loop {
            let out_page = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(&zone.id)
                .start_record_name(fqdn(name))
                .set_start_record_type(next_type.take())
                .max_items(PAGE)
                .send()
                .await
                .map_err(|e| sdk_error("route53", "ListResourceRecordSets", e))?;
            let sets = out_page.resource_record_sets();
            out.extend(sets.iter().filter(|s| named(s.name())).cloned());
            let past = sets.iter().any(|s| !named(s.name()));
            match (
                out_page.is_truncated(),
                out_page.next_record_name(),
                out_page.next_record_type(),
            ) {
                (true, Some(n), Some(t)) if !past && named(n) => next_type = Some(t.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Applies `changes` as one batch, which Route 53 carries out whole or not at all.
    async fn apply(&self, zone: &Zone, changes: Vec<Change>) -> Result<()> {
        match self.apply_creating(zone, changes).await {
            Applied::Done => Ok(()),
            Applied::SetExists(e) | Applied::Failed(e) => Err(e),
        }
    }

    /// `apply`, telling apart the refusal of a CREATE whose set exists already.
    async fn apply_creating(&self, zone: &Zone, changes: Vec<Change>) -> Applied {
        let batch = match ChangeBatch::builder().set_changes(Some(changes)).build() {
            Ok(batch) => batch,
            Err(e) => return Applied::Failed(Error::failed(e.to_string())),
        };
        let _permit = self.in_flight.acquire().await;
        let sent = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(&zone.id)
            .change_batch(batch)
            .send()
            .await;
        match sent {
            Ok(_) => Applied::Done,
            Err(e) => {
                // Route 53's words: "Tried to create resource record set [name='…',
                // type='…'] but it already exists", as an InvalidChangeBatch.
                let exists = matches!(
                    e.as_service_error(),
                    Some(ChangeResourceRecordSetsError::InvalidChangeBatch(b))
                        if b.message().into_iter().chain(b.messages().iter().map(String::as_str))
                            .any(|m| m.contains("already exists"))
                );
                let error = sdk_error("route53", "ChangeResourceRecordSets", e);
                if exists {
                    Applied::SetExists(error)
                } else {
                    Applied::Failed(error)
                }
            }
        }
    }

    /// Every record set of the zone, page by page.
    async fn all_sets(&self, zone: &Zone) -> Result<Vec<ResourceRecordSet>> {
        let _permit = self.in_flight.acquire().await;
        let mut sets = Vec::new();
        let mut next: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut request = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(&zone.id);
            if let Some((name, rtype, identifier)) = next.take() {
                request = request
                    .start_record_name(name)
                    .start_record_type(rtype)
                    .set_start_record_identifier(identifier);
            }
            let out = request
                .send()
                .await
                .map_err(|e| sdk_error("route53", "ListResourceRecordSets", e))?;
            sets.extend(out.resource_record_sets().iter().cloned());
            match (
                out.is_truncated(),
                out.next_record_name(),
                out.next_record_type(),
            ) {
                (true, Some(name), Some(rtype)) => {
                    next = Some((
                        name.to_string(),
                        rtype.clone(),
                        out.next_record_identifier().map(str::to_string),
                    ));
                }
                _ => return Ok(sets),
            }
        }
    }

    /// The set `name`/`rtype` as it is to be: `values` upserted, or deleted when none are
    /// left (a delete names the values the set has now, `before`).
    fn set_change(
        name: &str,
        rtype: &str,
        ttl: i64,
        values: &[String],
        before: &[String],
    ) -> Result<Change> {
        if values.is_empty() {
            Self::change(ChangeAction::Delete, name, rtype, ttl, before)
        } else {
            Self::change(ChangeAction::Upsert, name, rtype, ttl, values)
        }
    }

    fn change(
        action: ChangeAction,
        name: &str,
        rtype: &str,
        ttl: i64,
        values: &[String],
    ) -> Result<Change> {
        let mut set = ResourceRecordSet::builder()
            .name(fqdn(name))
            .r#type(RrType::from(rtype))
            .ttl(ttl);
        for v in values {
            set = set.resource_records(
                ResourceRecord::builder()
                    .value(v)
                    .build()
                    .map_err(|e| Error::failed(e.to_string()))?,
            );
        }
        Change::builder()
            .action(action)
            .resource_record_set(set.build().map_err(|e| Error::failed(e.to_string()))?)
            .build()
            .map_err(|e| Error::failed(e.to_string()))
    }

    /// The TXT marker that says `spec`'s value is its cluster's: its name and value.
    fn marker_of(spec: &RecordSpec, cluster: &str) -> Result<(String, String)> {
        let name = marker::txt_name(spec).map_err(|len| {
            Error::invalid(format!(
                "route53: {} is too long to carry an ownership marker: the marker's name would have {len} characters, more than the 253 a name may have",
                spec.name
            ))
            .with_help("give the record a shorter name, or no `cluster` (it is then found only through the state dir)")
        })?;
        let value = value_of(&RecordData::TXT {
            content: marker::text(cluster),
        });
        Ok((name, value))
    }

    /// The marker of `spec`, upserted: a marker already there names a value that is gone
    /// (this one was not there, or it would have been adopted), so it is replaced.
    fn marker_change(spec: &RecordSpec, cluster: &str) -> Result<Change> {
        let (name, value) = Self::marker_of(spec, cluster)?;
        Self::set_change(&name, "TXT", i64::from(spec.ttl), &[value], &[])
    }

    /// Every set of `specs` (their values together, after those `existing` holds of it)
    /// and every marker, each as `action`: CREATEs, which Route 53 refuses whole if one
    /// of them exists, so that they never overwrite what was not read; or UPSERTs of
    /// whole sets, after reading them.
    fn batch(specs: &[RecordSpec], existing: &Sets, action: ChangeAction) -> Result<Vec<Change>> {
        let mut sets: Vec<((String, String), i64, Vec<String>)> = Vec::new();
        let mut markers = Vec::new();
        for spec in specs {
            let key = (spec.name.clone(), spec.data.type_name().to_string());
            let at = match sets.iter().position(|(k, ..)| *k == key) {
                Some(at) => at,
                None => {
                    let before = existing.get(&key).map(Vec::as_slice).unwrap_or_default();
                    let ttl = before.first().map_or(spec.ttl, |r| r.spec.ttl);
                    let values = before.iter().map(|r| value_of(&r.spec.data)).collect();
                    sets.push((key, i64::from(ttl), values));
                    sets.len() - 1
                }
            };
            sets[at].2.push(value_of(&spec.data));
            if let Some(cluster) = &spec.cluster {
                let (name, value) = Self::marker_of(spec, cluster)?;
                let ttl = i64::from(spec.ttl);
                markers.push(Self::change(action.clone(), &name, "TXT", ttl, &[value])?);
            }
        }
        let mut changes = Vec::new();
        for ((name, rtype), ttl, values) in &sets {
            changes.push(Self::change(action.clone(), name, rtype, *ttl, values)?);
        }
        changes.extend(markers);
        Ok(changes)
    }

    /// The records of one set: its values that rigger can read, at the set's TTL.
    fn set_records(
        zone: &Zone,
        name: &str,
        rtype: &str,
        ttl: i64,
        values: Vec<String>,
    ) -> Vec<Record> {
        let ttl = u32::try_from(ttl).unwrap_or(300);
        values
            .iter()
            .filter_map(|v| data_of(rtype, v))
            .map(|data| {
                Self::record(
                    zone,
                    RecordSpec {
                        name: name.to_string(),
                        ttl,
                        data,
                        // The marker lives in a set of its own; listing does not read it
                        // (a request per value, on a rate-limited API).
                        cluster: None,
                    },
                )
            })
            .collect()
    }

    fn record(zone: &Zone, spec: RecordSpec) -> Record {
        let id = format!(
            "{}|{}|{}",
            spec.name,
            spec.data.type_name(),
            value_of(&spec.data)
        );
        Record {
            id,
            zone: zone.name.clone(),
            spec,
        }
    }
}

/// The Route 53 backend of a run (its row in the backend table).
pub fn open(opening: &Opening) -> Result<Arc<dyn Dns>> {
    Ok(Arc::new(Api::new(
        Route53::new(opening.aws()?, opening.dns_servers.clone())
            .with_lookup(NameServers::from_env()?),
    )))
}

#[async_trait]
impl ZoneApi for Route53 {
    fn service(&self) -> &'static str {
        "Route 53"
    }

    fn zone_help(&self) -> &'static str {
        "rigger does not create hosted zones: create it first"
    }

    async fn lookup_zone(&self, name: &str) -> Result<Option<Zone>> {
        self.fetch_zone(name).await
    }

    async fn records(&self, zone: &Zone, name: &str, rtype: Option<&str>) -> Result<Vec<Record>> {
        // Of one type, its set; of any, every set of the name in one listing (Route 53
        // lists a name's sets together), not one request per type.
        let sets: Vec<(&str, (i64, Vec<String>))> = match rtype {
            Some(t) => self
                .record_set(zone, name, t)
                .await?
                .map(|set| (t, set))
                .into_iter()
                .collect(),
            None => {
                let sets = self.sets_named(zone, name).await?;
                ["A", "AAAA", "CNAME", "TXT", "SRV"]
                    .into_iter()
                    .filter_map(|t| set_in(&sets, name, t).map(|set| (t, set)))
                    .collect()
            }
        };
        Ok(sets
            .into_iter()
            .flat_map(|(rtype, (ttl, values))| Self::set_records(zone, name, rtype, ttl, values))
            .collect())
    }

    async fn add(&self, zone: &Zone, spec: &RecordSpec, existing: &[Record]) -> Result<Record> {
        // One set holds every value of the name and type: the new one joins the others,
        // at the set's TTL.
        let ttl = existing.first().map_or(spec.ttl, |r| r.spec.ttl);
        let mut values: Vec<String> = existing.iter().map(|r| value_of(&r.spec.data)).collect();
        values.push(value_of(&spec.data));
        let mut changes = vec![Self::set_change(
            &spec.name,
            spec.data.type_name(),
            i64::from(ttl),
            &values,
            &[],
        )?];
        if let Some(cluster) = &spec.cluster {
            changes.push(Self::marker_change(spec, cluster)?);
        }
        self.apply(zone, changes).await?;
        Ok(Self::record(zone, spec.clone()))
    }

    /// One listing of the zone for all of them: Route 53 takes five requests a second.
    async fn records_of(&self, zone: &Zone, keys: &[(String, String)]) -> Vec<Result<Vec<Record>>> {
        let sets = match self.all_sets(zone).await {
            Ok(sets) => sets,
            Err(e) => return keys.iter().map(|_| Err(e.clone())).collect(),
        };
        keys.iter()
            .map(|(name, rtype)| {
                Ok(set_in(&sets, name, rtype)
                    .map(|(ttl, values)| Self::set_records(zone, name, rtype, ttl, values))
                    .unwrap_or_default())
            })
            .collect()
    }

    /// Every new value, and its marker, in one ChangeResourceRecordSets: each set once,
    /// with the values it has and all the new ones (Route 53 applies a batch whole).
    async fn add_all(&self, zone: &Zone, specs: &[RecordSpec], existing: &Sets) -> Outcomes {
        if specs.is_empty() {
            return Vec::new();
        }
        let built = Self::batch(specs, existing, ChangeAction::Upsert);
        let applied = match built {
            Ok(changes) => self.apply(zone, changes).await,
            Err(e) => Err(e),
        };
        match applied {
            Ok(()) => specs
                .iter()
                .map(|s| Ok(Self::record(zone, s.clone())))
                .collect(),
            Err(e) => specs.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    /// Every set and marker as a CREATE, in one ChangeResourceRecordSets, unread: Route
    /// 53 refuses the batch whole if one of the sets exists (a retried run, a set with
    /// other values), and then the caller reads, adopts and adds the rest.
    async fn add_all_unread(&self, zone: &Zone, specs: &[RecordSpec]) -> Option<Outcomes> {
        if specs.is_empty() {
            return Some(Vec::new());
        }
        let applied = match Self::batch(specs, &HashMap::new(), ChangeAction::Create) {
            Ok(changes) => self.apply_creating(zone, changes).await,
            Err(e) => Applied::Failed(e),
        };
        let failed = match applied {
            Applied::Done => {
                return Some(
                    specs
                        .iter()
                        .map(|s| Ok(Self::record(zone, s.clone())))
                        .collect(),
                );
            }
            Applied::SetExists(e) => {
                tracing::debug!("route53: {e}; reading the sets, then adding the rest");
                return None;
            }
            Applied::Failed(e) => e,
        };
        Some(specs.iter().map(|_| Err(failed.clone())).collect())
    }

    /// Every value, and its marker, out in one ChangeResourceRecordSets; if the batch
    /// fails (a set changed meanwhile), one value at a time.
    async fn remove_all(&self, zone: &Zone, records: &[Record]) -> Vec<Result<()>> {
        if records.len() < 2 {
            let mut out = Vec::new();
            for r in records {
                out.push(self.remove(zone, r).await);
            }
            return out;
        }
        let mut keys: Vec<(String, String)> = records
            .iter()
            .map(|r| (r.spec.name.clone(), r.spec.data.type_name().to_string()))
            .collect();
        keys.sort();
        keys.dedup();
        let mut markers: Vec<String> = records
            .iter()
            .filter_map(|r| marker::txt_name(&r.spec).ok())
            .collect();
        // Route 53 refuses a batch that changes one set twice.
        markers.sort();
        markers.dedup();
        // One listing of the zone for every set and marker (Route 53 takes five requests
        // a second: one read per value would be the slowest part of a teardown).
        let listed = self.all_sets(zone).await;
        let set_of = |name: &str, rtype: &str| -> Result<Option<(i64, Vec<String>)>> {
            let sets = listed.as_ref().map_err(Clone::clone)?;
            Ok(set_in(sets, name, rtype))
        };
        let sets: Vec<_> = keys.iter().map(|(n, t)| set_of(n, t)).collect();
        let marker_sets: Vec<_> = markers.iter().map(|n| set_of(n, "TXT")).collect();
        let built = (|| {
            let mut changes = Vec::new();
            for ((name, rtype), set) in keys.iter().zip(sets) {
                let Some((ttl, values)) = set? else { continue };
                let gone: Vec<String> = records
                    .iter()
                    .filter(|r| r.spec.name == *name && r.spec.data.type_name() == rtype)
                    .map(|r| value_of(&r.spec.data))
                    .collect();
                let rest: Vec<String> = values
                    .iter()
                    .filter(|v| !gone.contains(v))
                    .cloned()
                    .collect();
                if rest.len() < values.len() {
                    changes.push(Self::set_change(name, rtype, ttl, &rest, &values)?);
                }
            }
            for (name, set) in markers.iter().zip(marker_sets) {
                if let Some((ttl, values)) = set? {
                    changes.push(Self::set_change(name, "TXT", ttl, &[], &values)?);
                }
            }
            Ok::<_, Error>(changes)
        })();
        let applied = match built {
            Ok(changes) if changes.is_empty() => Ok(()),
            Ok(changes) => self.apply(zone, changes).await,
            Err(e) => Err(e),
        };
        match applied {
            Ok(()) => records.iter().map(|_| Ok(())).collect(),
            Err(e) => {
                tracing::debug!("route53: the batch removal failed ({e}); one value at a time");
                let mut out = Vec::new();
                for r in records {
                    out.push(self.remove(zone, r).await);
                }
                out
            }
        }
    }

    async fn remove(&self, zone: &Zone, record: &Record) -> Result<()> {
        let rtype = record.spec.data.type_name();
        let value = value_of(&record.spec.data);
        let mut changes = Vec::new();
        if let Some((ttl, values)) = self.record_set(zone, &record.spec.name, rtype).await? {
            let rest: Vec<String> = values.iter().filter(|v| **v != value).cloned().collect();
            // The set goes with its last value.
            if rest.len() < values.len() {
                changes.push(Self::set_change(
                    &record.spec.name,
                    rtype,
                    ttl,
                    &rest,
                    &values,
                )?);
            }
        }
        // The value's marker goes with it, whoever's record this was: it marks nothing
        // once the value is gone. A marker standing alone (its value removed by hand)
        // goes too.
        if let Ok(name) = marker::txt_name(&record.spec)
            && let Some((ttl, values)) = self.record_set(zone, &name, "TXT").await?
        {
            changes.push(Self::set_change(&name, "TXT", ttl, &[], &values)?);
        }
        if changes.is_empty() {
            return Ok(());
        }
        self.apply(zone, changes).await
    }

    fn given_servers(&self) -> &[SocketAddr] {
        &self.resolvers
    }

    async fn servers(&self, zone: &Zone) -> Result<Vec<SocketAddr>> {
        let names = self.delegation_set(zone).await?;
        self.lookup.addresses(&zone.name, &names).await
    }

    /// The values whose TXT marker names `cluster`, read from one listing of the zone;
    /// a marker whose value is gone is itself returned, so that it is removed too.
    async fn marked(&self, zone: &Zone, cluster: &str) -> Result<Vec<Record>> {
        let sets = self.all_sets(zone).await?;
        let values_of = |s: &ResourceRecordSet| -> Vec<String> {
            s.resource_records()
                .iter()
                .map(|r| r.value().to_string())
                .collect()
        };
        let bare = |s: &ResourceRecordSet| s.name().trim_end_matches('.').to_ascii_lowercase();
        let ttl = |s: &ResourceRecordSet| u32::try_from(s.ttl().unwrap_or(300)).unwrap_or(300);
        let wanted = value_of(&RecordData::TXT {
            content: marker::text(cluster),
        });
        let mut found = Vec::new();
        for set in &sets {
            let name = bare(set);
            let Some(marked) = marker::parse_txt_name(&name) else {
                continue;
            };
            if set.r#type().as_str() != "TXT" || values_of(set) != [wanted.clone()] {
                continue;
            }
            let value = sets
                .iter()
                .filter(|s| bare(s) == marked.name && s.r#type().as_str() == marked.rtype)
                .flat_map(|s| {
                    values_of(s)
                        .into_iter()
                        .filter_map(|v| data_of(&marked.rtype, &v))
                        .map(move |data| (ttl(s), data))
                })
                .find(|(_, data)| marked.marks(data));
            let spec = match value {
                Some((ttl, data)) => RecordSpec {
                    name: marked.name.to_string(),
                    ttl,
                    data,
                    cluster: Some(cluster.to_string()),
                },
                None => RecordSpec {
                    name: name.clone(),
                    ttl: ttl(set),
                    data: RecordData::TXT {
                        content: marker::text(cluster),
                    },
                    cluster: Some(cluster.to_string()),
                },
            };
            found.push(Self::record(zone, spec));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_in_route53_form() {
        let srv = RecordData::SRV {
            priority: 0,
            weight: 0,
            port: 2380,
            target: "etcd-1.example.test".into(),
        };
        assert_eq!(value_of(&srv), "0 0 2380 etcd-1.example.test.");
        assert_eq!(data_of("SRV", &value_of(&srv)), Some(srv));
        let txt = RecordData::TXT {
            content: "hello".into(),
        };
        assert_eq!(value_of(&txt), "\"hello\"");
        assert_eq!(data_of("TXT", "\"hello\""), Some(txt));
    }
}
