//! What every DNS backend that talks to a zone API shares (Cloudflare, Route 53,
//! RFC 2136): the zone that holds a name is the longest suffix the API knows, an
//! identical record is adopted rather than duplicated, a delete of what is already gone
//! succeeds, and zones are the user's (never created, never removed). A backend
//! implements the few calls below; [`Api`] turns it into a [`Dns`]. Zone lookups are
//! made once per name per run, and many records go in as few calls as the API allows.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::future::join_all;

use super::{Dns, Zone};
use crate::base::error::{Error, ErrorKind, Result};
use crate::base::names::zone_candidates;
use crate::providers::{Record, RecordSpec};

/// The records already in a zone, by name and type.
pub type Sets = HashMap<(String, String), Vec<Record>>;
/// One outcome for each record asked for, in the order asked.
pub type Outcomes = Vec<Result<Record>>;

#[async_trait]
pub trait ZoneApi: Send + Sync {
    /// Where the zones live, for messages: "this Cloudflare account", "Route 53".
    fn service(&self) -> &'static str;
    /// What to do when a zone is missing.
    fn zone_help(&self) -> &'static str;
    /// The zone named exactly `name`, if the API has it.
    async fn lookup_zone(&self, name: &str) -> Result<Option<Zone>>;
    /// The zone that holds `name` (`None` inside: no zone of the API does), when the API
    /// can tell in one call; `None` when it cannot (the default), and each suffix of the
    /// name is looked up in turn, longest first.
    async fn zone_holding(&self, _name: &str) -> Option<Result<Option<Zone>>> {
        None
    }
    /// The records named `name` in `zone`, of type `rtype` when given.
    async fn records(&self, zone: &Zone, name: &str, rtype: Option<&str>) -> Result<Vec<Record>>;
    /// Adds `spec`; `existing` holds the records of its name and type (the API may keep
    /// them in one set).
    async fn add(&self, zone: &Zone, spec: &RecordSpec, existing: &[Record]) -> Result<Record>;
    /// Removes `record`; a record that is already gone may fail with `NotFound`.
    async fn remove(&self, zone: &Zone, record: &Record) -> Result<()>;
    /// The servers that answer for `zone` (found by [`Api`]), for `wait_resolves`.
    async fn servers(&self, zone: &Zone) -> Result<Vec<SocketAddr>>;
    /// Servers given for every zone (`--dns-server`), asked without looking the zone up.
    fn given_servers(&self) -> &[SocketAddr] {
        &[]
    }
    /// The records of `zone` whose marker names exactly `cluster`.
    async fn marked(&self, zone: &Zone, cluster: &str) -> Result<Vec<Record>>;
    /// The records of each name and type of `keys`, for a batch. By default one listing
    /// per key, all at once; an API that lists a whole zone cheaper does that.
    async fn records_of(&self, zone: &Zone, keys: &[(String, String)]) -> Vec<Result<Vec<Record>>> {
        join_all(
            keys.iter()
                .map(|(name, rtype)| self.records(zone, name, Some(rtype))),
        )
        .await
    }
    /// Adds every one of `specs` (none identical to an existing record), in their order;
    /// `existing` holds the records of each name and type. By default one `add` after
    /// the other, each seeing the ones before it (an API that keeps a name's values in
    /// one set must not lose one to another); an API that takes many in one call does.
    async fn add_all(&self, zone: &Zone, specs: &[RecordSpec], existing: &Sets) -> Outcomes {
        let mut sets = existing.clone();
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let key = (spec.name.clone(), spec.data.type_name().to_string());
            let set = sets.entry(key).or_default();
            let added = self.add(zone, spec, set).await;
            if let Ok(record) = &added {
                set.push(record.clone());
            }
            out.push(added);
        }
        out
    }
    /// Adds every one of `specs` without reading the zone first, in one call the API
    /// refuses whole if one of them is there already; `None` when it refused so (nothing
    /// was added: the caller reads what is there, adopts it, and adds the rest), or when
    /// the API has no such call (the default). A new cluster's records are new: reading
    /// before writing would cost every run a round trip that only a retried run needs.
    async fn add_all_unread(&self, _zone: &Zone, _specs: &[RecordSpec]) -> Option<Outcomes> {
        None
    }
    /// Removes every one of `records`, in their order; one outcome each (`NotFound` for
    /// one already gone is fine). By default one after the other, as for `add_all`.
    async fn remove_all(&self, zone: &Zone, records: &[Record]) -> Vec<Result<()>> {
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            out.push(self.remove(zone, record).await);
        }
        out
    }
}

/// A zone API as a DNS backend.
pub struct Api<A> {
    pub api: A,
    /// Zone name -> the zone, or `None`: looked up once per run.
    lookups: Mutex<HashMap<String, Option<Zone>>>,
    /// Record name -> the zone that holds it: found once per run.
    holders: Mutex<HashMap<String, Zone>>,
    /// Zone -> the servers that answer for it: found once per run (a Route 53 delegation
    /// set is two calls and a lookup per name server).
    servers: Mutex<HashMap<String, Vec<SocketAddr>>>,
}

impl<A: ZoneApi> Api<A> {
    pub fn new(api: A) -> Self {
        Self {
            api,
            lookups: Mutex::default(),
            holders: Mutex::default(),
            servers: Mutex::default(),
        }
    }

    /// The zone named exactly `name`, asked of the API the first time only.
    async fn lookup(&self, name: &str) -> Result<Option<Zone>> {
        if let Some(known) = self.lookups.lock().expect("zone lookups").get(name) {
            return Ok(known.clone());
        }
        let found = self.api.lookup_zone(name).await?;
        self.lookups
            .lock()
            .expect("zone lookups")
            .insert(name.to_string(), found.clone());
        Ok(found)
    }

    /// The zone that holds `name`: the longest suffix the API knows.
    async fn zone_for(&self, name: &str) -> Result<Zone> {
        if let Some(known) = self.holders.lock().expect("zone holders").get(name) {
            return Ok(known.clone());
        }
        let candidates = zone_candidates(name);
        let found = match self.api.zone_holding(name).await {
            Some(found) => found?,
            None => self.longest_known(&candidates).await?,
        };
        if let Some(zone) = found {
            self.holders
                .lock()
                .expect("zone holders")
                .insert(name.to_string(), zone.clone());
            // Found whole, it is also the answer to a lookup of its own name.
            self.lookups
                .lock()
                .expect("zone lookups")
                .entry(zone.name.clone())
                .or_insert_with(|| Some(zone.clone()));
            return Ok(zone);
        }
        // Named by the domains looked for (example.com), not by the SRV owner
        // (_etcd-server-ssl._tcp.example.com): no zone is ever named `_tcp...`.
        let domains: Vec<&str> = candidates
            .iter()
            .map(String::as_str)
            .filter(|c| !c.starts_with('_') && c.contains('.'))
            .collect();
        let message = match domains.split_first() {
            Some((first, rest)) if !rest.is_empty() => format!(
                "{} has no zone {first} (nor {}), which would hold {name}",
                self.api.service(),
                rest.join(", ")
            ),
            Some((first, _)) => format!(
                "{} has no zone {first}, which would hold {name}",
                self.api.service()
            ),
            None => format!("no zone in {} holds {name}", self.api.service()),
        };
        Err(Error::not_found(message).with_help(self.api.zone_help()))
    }

    /// The first of `candidates` the API has a zone of, each asked in turn.
    async fn longest_known(&self, candidates: &[String]) -> Result<Option<Zone>> {
        for candidate in candidates {
            if let Some(zone) = self.lookup(candidate).await? {
                return Ok(Some(zone));
            }
        }
        Ok(None)
    }

    /// The servers that answer for `zone`, asked of the API the first time only
    /// (`authoritative` has already answered with `--dns-server` when it was given).
    async fn servers_of(&self, zone: &Zone) -> Result<Vec<SocketAddr>> {
        if let Some(known) = self.servers.lock().expect("zone servers").get(&zone.name) {
            return Ok(known.clone());
        }
        let found = self.api.servers(zone).await?;
        self.servers
            .lock()
            .expect("zone servers")
            .insert(zone.name.clone(), found.clone());
        Ok(found)
    }

    /// The zone of each of `names`, looked up all at once.
    async fn zones_for(&self, names: &[&str]) -> HashMap<String, Result<Zone>> {
        let mut distinct: Vec<&str> = names.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let found = join_all(distinct.iter().map(|n| self.zone_for(n))).await;
        distinct
            .into_iter()
            .map(str::to_string)
            .zip(found)
            .collect()
    }
}

#[async_trait]
impl<A: ZoneApi> Dns for Api<A> {
    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        let zone = self.lookup(name).await?.ok_or_else(|| {
            Error::not_found(format!("zone {name:?} not found in {}", self.api.service()))
                .with_help(self.api.zone_help())
        })?;
        Ok((zone, false))
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        self.lookup(name).await
    }

    /// The zone is looked up by its name (once per run); the names are then taken to be
    /// in it without a question each.
    async fn hold_in(&self, zone: &str, names: &[String]) -> Result<()> {
        let (zone, _) = self.zone(zone).await?;
        let mut holders = self.holders.lock().expect("zone holders");
        for name in names {
            holders.insert(name.clone(), zone.clone());
        }
        Ok(())
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        let zone = self.zone_for(&spec.name).await?;
        if let Some(mut added) = self
            .api
            .add_all_unread(&zone, std::slice::from_ref(spec))
            .await
        {
            return added
                .pop()
                .unwrap_or_else(|| Err(Error::failed("a record had no outcome")))
                .map(|r| (r, true));
        }
        // An identical record is adopted: a retried run must not duplicate it. TTLs may
        // differ (providers rewrite some), the data may not.
        let existing = self
            .api
            .records(&zone, &spec.name, Some(spec.data.type_name()))
            .await?;
        if let Some(same) = existing.iter().find(|r| r.spec.data == spec.data) {
            return Ok((same.clone(), false));
        }
        Ok((self.api.add(&zone, spec, &existing).await?, true))
    }

    async fn create_all(&self, specs: &[RecordSpec]) -> Vec<Result<(Record, bool)>> {
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let zones = self.zones_for(&names).await;
        let mut out: Vec<Option<Result<(Record, bool)>>> = specs.iter().map(|_| None).collect();
        // Per zone: every record in one call if the API takes them unread; else what is
        // there already (one listing per name and type, all at once), then every new
        // record in as few calls as the API takes.
        let mut by_zone: HashMap<String, (Zone, Vec<usize>)> = HashMap::new();
        for (i, spec) in specs.iter().enumerate() {
            match &zones[&spec.name] {
                Ok(zone) => by_zone
                    .entry(zone.id.clone())
                    .or_insert_with(|| (zone.clone(), Vec::new()))
                    .1
                    .push(i),
                Err(e) => out[i] = Some(Err(e.clone())),
            }
        }
        for (zone, members) in by_zone.into_values() {
            let batch: Vec<RecordSpec> = members.iter().map(|&i| specs[i].clone()).collect();
            if let Some(added) = self.api.add_all_unread(&zone, &batch).await {
                for (&i, outcome) in members.iter().zip(added) {
                    out[i] = Some(outcome.map(|r| (r, true)));
                }
                continue;
            }
            // An identical record is adopted: a retried run must not duplicate it. TTLs
            // may differ (providers rewrite some), the data may not.
            let mut keys: Vec<(String, String)> = members
                .iter()
                .map(|&i| (specs[i].name.clone(), specs[i].data.type_name().to_string()))
                .collect();
            keys.sort();
            keys.dedup();
            let listed = self.api.records_of(&zone, &keys).await;
            let mut existing = HashMap::new();
            let mut failed = HashMap::new();
            for (key, listing) in keys.into_iter().zip(listed) {
                match listing {
                    Ok(records) => {
                        existing.insert(key, records);
                    }
                    Err(e) => {
                        failed.insert(key, e);
                    }
                }
            }
            let mut new = Vec::new();
            for i in members {
                let spec = &specs[i];
                let key = (spec.name.clone(), spec.data.type_name().to_string());
                if let Some(e) = failed.get(&key) {
                    out[i] = Some(Err(e.clone()));
                } else if let Some(same) = existing
                    .get(&key)
                    .and_then(|set| set.iter().find(|r| r.spec.data == spec.data))
                {
                    // Adopted.
                    out[i] = Some(Ok((same.clone(), false)));
                } else {
                    new.push(i);
                }
            }
            let batch: Vec<RecordSpec> = new.iter().map(|&i| specs[i].clone()).collect();
            let added = self.api.add_all(&zone, &batch, &existing).await;
            for (i, outcome) in new.into_iter().zip(added) {
                out[i] = Some(outcome.map(|r| (r, true)));
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Err(Error::failed("a record of the batch had no outcome")))
            })
            .collect()
    }

    async fn delete_all(&self, records: &[Record]) -> Vec<Result<()>> {
        let mut out: Vec<Option<Result<()>>> = records.iter().map(|_| None).collect();
        let mut by_zone: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            by_zone.entry(r.zone.clone()).or_default().push(i);
        }
        for (zone, members) in by_zone {
            let zone = match self.zone(&zone).await {
                Ok((zone, _)) => zone,
                Err(e) => {
                    for i in members {
                        out[i] = Some(Err(e.clone()));
                    }
                    continue;
                }
            };
            let batch: Vec<Record> = members.iter().map(|&i| records[i].clone()).collect();
            let removed = self.api.remove_all(&zone, &batch).await;
            for (i, outcome) in members.into_iter().zip(removed) {
                out[i] = Some(match outcome {
                    // Already gone is what a delete wants.
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
                    other => other,
                });
            }
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Err(Error::failed("a record of the batch had no outcome")))
            })
            .collect()
    }

    async fn delete(&self, record: &Record) -> Result<()> {
        let (zone, _) = self.zone(&record.zone).await?;
        match self.api.remove(&zone, record).await {
            // Already gone is what a delete wants.
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    async fn delete_zone(&self, _zone: &Zone) -> Result<()> {
        // Zones are the user's; rigger never created one, so it never removes one.
        Ok(())
    }

    async fn list(&self, name: &str) -> Result<Vec<Record>> {
        let zone = self.zone_for(name).await?;
        // Not the zone's servers meanwhile, though a wait will ask for them next: finding
        // them resolves the name servers' names, which a run that never waits (a listing,
        // a test without its name servers mapped) must not send anywhere.
        self.api.records(&zone, name, None).await
    }

    async fn authoritative(&self, name: &str) -> Result<Vec<SocketAddr>> {
        if !self.api.given_servers().is_empty() {
            return Ok(self.api.given_servers().to_vec());
        }
        let zone = self.zone_for(name).await?;
        self.servers_of(&zone).await
    }

    async fn marked(&self, domain: &str, cluster: &str) -> Result<Vec<Record>> {
        let zone = self.zone_for(domain).await?;
        self.api.marked(&zone, cluster).await
    }
}
