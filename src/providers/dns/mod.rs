//! DNS: the trait every DNS backend implements, what API-based backends share, and one
//! module per backend.

pub mod cloudflare;
pub mod exchange;
pub mod marker;
pub mod name_servers;
pub mod rdata;
pub mod rfc2136;
pub mod route53;
pub mod zone_api;

use std::net::SocketAddr;

use async_trait::async_trait;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use crate::base::error::{Error, Result};
use crate::providers::{Record, RecordSpec};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Zone {
    pub id: String,
    pub name: String,
}

#[async_trait]
pub trait Dns: Send + Sync {
    /// The zone `name`: created if the world can create zones (the lab), looked up otherwise.
    async fn zone(&self, name: &str) -> Result<(Zone, bool)>;
    /// The zone `name` if it exists; never creates one (dry runs read through this).
    async fn find_zone(&self, name: &str) -> Result<Option<Zone>>;
    /// Whether `zone()` creates a missing zone (the lab) rather than failing.
    fn creates_zones(&self) -> bool {
        false
    }
    /// Takes `zone` as the zone that holds each of `names`, as a script that named it
    /// says (a record's `zone`): the backend then need not find it, which costs a
    /// question per name where a zone is found by asking (RFC 2136). Fails when there is
    /// no zone `zone`, or (where the backend knows better) when it does not hold a name.
    async fn hold_in(&self, zone: &str, names: &[String]) -> Result<()>;
    /// Creates a record in the zone that holds its name; an identical record is adopted.
    /// Returns the record and whether it was created (false: it already existed).
    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)>;
    /// Creates every one of `specs` as `create` would, in as few calls as the backend
    /// can make: one outcome each, in their order. By default all at once, one call each.
    async fn create_all(&self, specs: &[RecordSpec]) -> Vec<Result<(Record, bool)>> {
        join_all(specs.iter().map(|s| self.create(s))).await
    }
    async fn delete(&self, record: &Record) -> Result<()>;
    /// Deletes every one of `records` as `delete` would, in as few calls as it can.
    async fn delete_all(&self, records: &[Record]) -> Vec<Result<()>> {
        join_all(records.iter().map(|r| self.delete(r))).await
    }
    async fn delete_zone(&self, zone: &Zone) -> Result<()>;
    /// Records named `name` (any type).
    async fn list(&self, name: &str) -> Result<Vec<Record>>;
    /// The servers that answer authoritatively for `zone`: what `wait_resolves` asks.
    async fn authoritative(&self, zone: &str) -> Result<Vec<SocketAddr>>;
    /// Every record in the zone that holds `domain` whose marker names exactly
    /// `cluster` (`marker`): what a destroy without the state removes.
    async fn marked(&self, domain: &str, _cluster: &str) -> Result<Vec<Record>> {
        Err(Error::invalid(format!(
            "this DNS provider keeps no ownership markers, so the records of {domain} can only be found through the state dir"
        )))
    }
}
