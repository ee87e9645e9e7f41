//! DNS servers on loopback that answer from what a stand-in API holds: the Cloudflare
//! stand-in's records, or moto's Route 53 record sets, read again every few milliseconds,
//! so that `wait_resolves` waits for real. Optionally a new record shows only a while
//! after it appeared (propagation, as a real provider's edge takes it).
//!
//! Shared by the tests and the benchmark's `stand-ins` (bench/stand_ins.rs), which
//! includes this file by path.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rigger::providers::lab::dns_server::{Zones, catalog};
use rigger::providers::{Record, RecordData, RecordSpec};

use crate::cloudflare_api::Shared;

/// Zone name -> its records, as the DNS server serves them.
pub type Records = BTreeMap<String, Vec<Record>>;

/// The stand-in's records as rigger's, for the DNS server.
pub fn records_of(api: &Shared) -> Records {
    let api = api.lock().unwrap();
    let mut zone: Vec<Record> = Vec::new();
    for (i, r) in api.records.iter().enumerate() {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        let data = match s("type").as_str() {
            "A" => RecordData::A {
                content: s("content").parse().unwrap(),
            },
            "SRV" => RecordData::SRV {
                priority: r["data"]["priority"].as_u64().unwrap() as u16,
                weight: r["data"]["weight"].as_u64().unwrap() as u16,
                port: r["data"]["port"].as_u64().unwrap() as u16,
                target: r["data"]["target"].as_str().unwrap().to_string(),
            },
            _ => continue,
        };
        zone.push(Record {
            id: i.to_string(),
            zone: "example.test".into(),
            spec: RecordSpec {
                name: s("name"),
                ttl: 60,
                data,
                cluster: None,
            },
        });
    }
    BTreeMap::from([("example.test".to_string(), zone)])
}

/// A DNS server on loopback that follows the stand-in's records.
pub async fn dns_following(api: Shared) -> SocketAddr {
    dns_serving(move || records_of(&api)).await
}

/// A DNS server on loopback answering from `records` (zone -> records), read again
/// every 50 ms.
pub async fn dns_serving(records: impl Fn() -> Records + Send + 'static) -> SocketAddr {
    dns_serving_every(Duration::from_millis(50), records).await
}

/// A DNS server on loopback answering from `records`, read again every `interval`.
pub async fn dns_serving_every(
    interval: Duration,
    records: impl Fn() -> Records + Send + 'static,
) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let zones = Zones::default();
    let mut server = hickory_server::Server::new(zones.clone());
    server.register_socket(socket);
    tokio::spawn(async move {
        let _keep = server;
        loop {
            let cat = catalog(&records(), Ipv4Addr::LOCALHOST, 1).unwrap();
            zones.install(cat).await;
            tokio::time::sleep(interval).await;
        }
    });
    addr
}

/// `source`, but each record shows only once `delay` has passed since it was first seen
/// there (a record removed and made again waits again). Records are known by name, type
/// and value, since some sources (Route 53 sets) give them no lasting ID.
pub fn delayed(
    delay: Duration,
    source: impl Fn() -> Records + Send + 'static,
) -> impl Fn() -> Records + Send + 'static {
    let first_seen: Mutex<HashMap<String, Instant>> = Mutex::default();
    move || {
        let now = Instant::now();
        let mut seen = first_seen.lock().unwrap();
        let mut current = Vec::new();
        let mut out = Records::new();
        for (zone, records) in source() {
            let shown = records
                .into_iter()
                .filter(|r| {
                    let key = format!(
                        "{}|{}|{}",
                        r.spec.name,
                        r.spec.data.type_name(),
                        r.spec.data.content()
                    );
                    let since = *seen.entry(key.clone()).or_insert(now);
                    current.push(key);
                    now.duration_since(since) >= delay
                })
                .collect();
            out.insert(zone, shown);
        }
        seen.retain(|k, _| current.contains(k));
        out
    }
}

/// Route 53's record sets of the zone, A and SRV, as rigger's records (for the DNS
/// server that follows them); none while Route 53 cannot be read.
pub async fn route53_records(r53: &aws_sdk_route53::Client, zone: &str) -> Vec<Record> {
    let Ok(out) = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
    else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for set in out.resource_record_sets() {
        let name = set.name().trim_end_matches('.').to_string();
        for (i, value) in set.resource_records().iter().enumerate() {
            let fields: Vec<&str> = value.value().split_whitespace().collect();
            let data = match (set.r#type().as_str(), fields.as_slice()) {
                ("A", [ip]) => RecordData::A {
                    content: ip.parse().unwrap(),
                },
                ("SRV", [priority, weight, port, target]) => RecordData::SRV {
                    priority: priority.parse().unwrap(),
                    weight: weight.parse().unwrap(),
                    port: port.parse().unwrap(),
                    target: target.trim_end_matches('.').to_string(),
                },
                _ => continue,
            };
            records.push(Record {
                id: format!("{name}/{i}"),
                zone: "example.test".into(),
                spec: RecordSpec {
                    name: name.clone(),
                    ttl: 60,
                    data,
                    cluster: None,
                },
            });
        }
    }
    records
}

/// A hosted zone for `zone` made in Route 53 (moto, asked directly), and a DNS server on
/// loopback following its A and SRV records (read every `poll`), each shown `propagation`
/// after it appeared. Returns the zone's ID, its delegation set's names and the server.
pub async fn route53_followed(
    r53: aws_sdk_route53::Client,
    zone: &str,
    poll: Duration,
    propagation: Duration,
) -> Result<(String, Vec<String>, SocketAddr), String> {
    let made = r53
        .create_hosted_zone()
        .name(format!("{zone}."))
        .caller_reference(format!("rigger-follow-{}-{zone}", std::process::id()))
        .send()
        .await
        .map_err(|e| format!("route53: CreateHostedZone: {e:?}"))?;
    let id = made
        .hosted_zone()
        .ok_or("route53: CreateHostedZone returned no zone")?
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let names: Vec<String> = made
        .delegation_set()
        .map(|d| d.name_servers().to_vec())
        .unwrap_or_default();
    let followed: Arc<Mutex<Vec<Record>>> = Arc::default();
    let (into, poll_zone) = (followed.clone(), id.clone());
    tokio::spawn(async move {
        loop {
            let now = route53_records(&r53, &poll_zone).await;
            *into.lock().unwrap() = now;
            tokio::time::sleep(poll).await;
        }
    });
    let zone = zone.to_string();
    let source = move || Records::from([(zone.clone(), followed.lock().unwrap().clone())]);
    // Read often, so that what the poll brought shows within a few milliseconds of its
    // propagation delay.
    let dns = dns_serving_every(Duration::from_millis(10), delayed(propagation, source)).await;
    Ok((id, names, dns))
}
