//! The lab's authoritative DNS: hickory's in-memory zones behind a handler whose
//! catalog is swapped whole when the zones change, so a reload is atomic for clients.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use hickory_proto::rr::rdata::{A, NS, SOA};
use hickory_proto::rr::{LowerName, RData, Record as DnsRecord, RecordSet, RrKey};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneType};
use tokio::sync::RwLock;

use crate::providers::Record;
use crate::providers::dns::rdata::{fqdn, rdata};

/// Answers from whichever catalog was installed last.
#[derive(Clone, Default)]
pub struct Zones {
    catalog: Arc<RwLock<Arc<Catalog>>>,
}

impl Zones {
    pub async fn install(&self, catalog: Catalog) {
        *self.catalog.write().await = Arc::new(catalog);
    }
}

#[async_trait::async_trait]
impl RequestHandler for Zones {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let catalog = self.catalog.read().await.clone();
        catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

const TTL_SOA: u32 = 60;

/// Builds the catalog for `zones` (zone name -> records), each with an SOA, an NS
/// record `ns.<zone>` and its address (the server's own, `server_ip`).
pub fn catalog(
    zones: &BTreeMap<String, Vec<Record>>,
    server_ip: Ipv4Addr,
    serial: u32,
) -> Result<Catalog, String> {
    let mut catalog = Catalog::new();
    for (zone, records) in zones {
        let origin = fqdn(zone)?;
        let ns_name = fqdn(&format!("ns.{zone}"))?;
        let mut sets: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
        let mut add = |record: DnsRecord| {
            let key = RrKey::new(LowerName::new(&record.name), record.record_type());
            sets.entry(key)
                .or_insert_with(|| {
                    RecordSet::new(record.name.clone(), record.record_type(), serial)
                })
                .insert(record, serial);
        };
        add(DnsRecord::from_rdata(
            origin.clone(),
            TTL_SOA,
            RData::SOA(SOA::new(
                ns_name.clone(),
                fqdn(&format!("hostmaster.{zone}"))?,
                serial,
                3600,
                600,
                86400,
                TTL_SOA,
            )),
        ));
        add(DnsRecord::from_rdata(
            origin.clone(),
            TTL_SOA,
            RData::NS(NS(ns_name.clone())),
        ));
        add(DnsRecord::from_rdata(
            ns_name,
            TTL_SOA,
            RData::A(A(server_ip)),
        ));
        for r in records {
            add(DnsRecord::from_rdata(
                fqdn(&r.spec.name)?,
                r.spec.ttl,
                rdata(&r.spec.data)?,
            ));
        }
        let handler =
            InMemoryZoneHandler::<hickory_server::net::runtime::TokioRuntimeProvider>::new(
                origin.clone(),
                sets,
                ZoneType::Primary,
                AxfrPolicy::Deny,
            )
            .map_err(|e| format!("zone {zone}: {e}"))?;
        catalog.upsert(LowerName::new(&origin), vec![Arc::new(handler)]);
    }
    Ok(catalog)
}
