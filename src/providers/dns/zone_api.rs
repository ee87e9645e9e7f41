//! What every DNS backend that talks to a zone API shares (Cloudflare, Route 53,
//! RFC 2136): the zone that holds a name is the longest suffix the API knows, an
//! identical record is adopted rather than duplicated, a delete of what is already gone
//! succeeds, and zones are the user's (never created, never removed). A backend
//! implements the few calls below; [`Api`] turns it into a [`Dns`].

use std::net::SocketAddr;

use async_trait::async_trait;

use super::{Dns, Zone};
use crate::base::error::{Error, ErrorKind, Result};
use crate::base::names::zone_candidates;
use crate::providers::{Record, RecordSpec};

#[async_trait]
pub trait ZoneApi: Send + Sync {
    /// Where the zones live, for messages: "this Cloudflare account", "Route 53".
    fn service(&self) -> &'static str;
    /// What to do when a zone is missing.
    fn zone_help(&self) -> &'static str;
    /// The zone named exactly `name`, if the API has it.
    async fn lookup_zone(&self, name: &str) -> Result<Option<Zone>>;
    /// The records named `name` in `zone`, of type `rtype` when given.
    async fn records(&self, zone: &Zone, name: &str, rtype: Option<&str>) -> Result<Vec<Record>>;
    /// Adds `spec`; `existing` holds the records of its name and type (the API may keep
    /// them in one set).
    async fn add(&self, zone: &Zone, spec: &RecordSpec, existing: &[Record]) -> Result<Record>;
    /// Removes `record`; a record that is already gone may fail with `NotFound`.
    async fn remove(&self, zone: &Zone, record: &Record) -> Result<()>;
    /// The servers that answer for `zone`, for `wait_resolves`.
    async fn servers(&self, zone: &str) -> Result<Vec<SocketAddr>>;
    /// The records of `zone` whose marker names exactly `cluster`.
    async fn marked(&self, zone: &Zone, cluster: &str) -> Result<Vec<Record>>;
}

/// A zone API as a DNS backend.
pub struct Api<A>(pub A);

impl<A: ZoneApi> Api<A> {
    /// The zone that holds `name`: the longest suffix the API knows.
    async fn zone_for(&self, name: &str) -> Result<Zone> {
        let candidates = zone_candidates(name);
        for candidate in &candidates {
            if let Some(zone) = self.0.lookup_zone(candidate).await? {
                return Ok(zone);
            }
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
                self.0.service(),
                rest.join(", ")
            ),
            Some((first, _)) => format!(
                "{} has no zone {first}, which would hold {name}",
                self.0.service()
            ),
            None => format!("no zone in {} holds {name}", self.0.service()),
        };
        Err(Error::not_found(message).with_help(self.0.zone_help()))
    }
}

#[async_trait]
impl<A: ZoneApi> Dns for Api<A> {
    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        let zone = self.0.lookup_zone(name).await?.ok_or_else(|| {
            Error::not_found(format!("zone {name:?} not found in {}", self.0.service()))
                .with_help(self.0.zone_help())
        })?;
        Ok((zone, false))
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        self.0.lookup_zone(name).await
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        let zone = self.zone_for(&spec.name).await?;
        // An identical record is adopted: a retried run must not duplicate it. TTLs may
        // differ (providers rewrite some), the data may not.
        let existing = self
            .0
            .records(&zone, &spec.name, Some(spec.data.type_name()))
            .await?;
        if let Some(same) = existing.iter().find(|r| r.spec.data == spec.data) {
            return Ok((same.clone(), false));
        }
        Ok((self.0.add(&zone, spec, &existing).await?, true))
    }

    async fn delete(&self, record: &Record) -> Result<()> {
        let (zone, _) = self.zone(&record.zone).await?;
        match self.0.remove(&zone, record).await {
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
        self.0.records(&zone, name, None).await
    }

    async fn authoritative(&self, zone: &str) -> Result<Vec<SocketAddr>> {
        self.0.servers(zone).await
    }

    async fn marked(&self, domain: &str, cluster: &str) -> Result<Vec<Record>> {
        let zone = self.zone_for(domain).await?;
        self.0.marked(&zone, cluster).await
    }
}
