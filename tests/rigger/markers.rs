//! Issue 11 §4, end to end: `rigger run cluster` marks its records as the cluster's;
//! with the state dir then deleted, `rigger destroy --cluster DOMAIN` finds them by
//! their markers (and the instances by their tag) and removes exactly those. A record
//! without a marker, or with another cluster's, stays, also beside the cluster's own
//! values in one Route 53 set. Against moto and the Cloudflare stand-in, with a loopback
//! DNS server following each so that `wait_resolves` waits for real; moto's addresses
//! are fiction, and the run stops before dialling any.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_route53::types::RrType;
use rigger::providers::dns::route53::Route53;
use rigger::providers::dns::zone_api::Api;
use rigger::providers::{Dns, Record, RecordData, RecordSpec};
use serde_json::{Value, json};

use crate::cloudflare::stand_in;
use crate::follow::{dns_following, dns_serving, route53_records};
use crate::harness::cloud::{
    all_terminated, aws_cluster, cloud_rig, config, hosted_zone, moto, record_sets, upsert,
};
use crate::harness::{Outcome, Rig, off_runtime};

const MARK: &str = "heritage=rigger,rigger/cluster=example.test";

/// `rigger run cluster` for example.test on moto's EC2 with `dns`, asking `server`.
fn cluster_run(rig: Rig, dns: &str, server: SocketAddr) -> Rig {
    aws_cluster(rig, dns, &[]).args(&["--dns-server", &server.to_string(), "--keep-on-error"])
}

/// Runs the cluster, which stops at the bootstrap (moto's machines are not real) and
/// keeps what it made; then loses the state dir.
async fn run_then_lose_the_state(rig: Rig) -> Rig {
    let (rig, out) = rig.run_kept().await;
    out.failure(1)
        .stderr_has("× parallel: 3 of 3 nodes failed:");
    std::fs::remove_dir_all(rig.path("state")).unwrap();
    rig
}

async fn destroy_cluster(rig: Rig, dns: &str) -> (Rig, Outcome) {
    let dns = dns.to_string();
    off_runtime(move || {
        let scope = [
            "--cluster",
            "example.test",
            "--target",
            "aws",
            "--dns",
            &dns,
        ];
        let out = rig.again(&[&["destroy"][..], &scope].concat());
        (rig, out)
    })
    .await
}

/// The destroy removed nine records by their markers and three instances by their tag,
/// every instance is terminated, and no state dir is left.
async fn assert_the_cluster_is_gone(rig: &Rig, out: &Outcome, moto_cfg: &aws_config::SdkConfig) {
    out.success()
        .stderr_counts("(by its marker)", 9)
        .stderr_counts("(by its tag)", 3);
    assert!(all_terminated(moto_cfg).await);
    assert!(!rig.path("state").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_state_lost_destroy_cluster_removes_exactly_its_cloudflare_records() {
    let moto = moto(&[]);
    let (cf_base, api) = stand_in().await;
    let server = dns_following(api.clone()).await;
    let rig = cluster_run(cloud_rig(&moto.url, &cf_base), "cloudflare", server);
    let rig = run_then_lose_the_state(rig).await;

    // Every record the run made carries the cluster's marker as its comment.
    let made: Vec<Value> = api.lock().unwrap().records.clone();
    assert_eq!(made.len(), 9, "{made:?}");
    assert!(made.iter().all(|r| r["comment"] == MARK), "{made:?}");

    // Records of others in the same zone, one at a name the cluster uses.
    let foreign = [
        json!({ "id": "www", "zone_id": "zone1", "type": "A", "name": "www.example.test", "content": "10.9.0.1", "ttl": 60 }),
        json!({ "id": "legacy", "zone_id": "zone1", "type": "SRV", "name": "_etcd-client-ssl._tcp.example.test", "data": { "priority": 0, "weight": 0, "port": 2379, "target": "legacy.example.test" }, "ttl": 60, "comment": "kept by hand" }),
        json!({ "id": "other", "zone_id": "zone1", "type": "A", "name": "etcd-x.example.test", "content": "10.9.0.2", "ttl": 60, "comment": "heritage=rigger,rigger/cluster=other.example.test" }),
    ];
    api.lock().unwrap().records.extend(foreign.clone());

    let (rig, out) = destroy_cluster(rig, "cloudflare").await;
    assert_the_cluster_is_gone(&rig, &out, &config(&moto)).await;
    assert_eq!(api.lock().unwrap().records, foreign);
}

/// Every set of the zone but its SOA and NS, as (name, type, sorted values).
async fn sets_of(r53: &aws_sdk_route53::Client, zone: &str) -> Vec<(String, String, Vec<String>)> {
    let all = record_sets(r53, zone).await.into_iter();
    let mut sets: Vec<_> = all.filter(|(_, t, _)| t != "SOA" && t != "NS").collect();
    for (.., values) in &mut sets {
        values.sort();
    }
    sets.sort();
    sets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_state_lost_destroy_cluster_removes_exactly_its_route53_values() {
    let moto = moto(&[]);
    let cfg = config(&moto);
    let r53 = aws_sdk_route53::Client::new(&cfg);
    let zone = hosted_zone(&r53, "rigger-lost-state").await;
    let followed: Arc<Mutex<Vec<Record>>> = Arc::default();
    let (poll_r53, poll_zone, poll_into) = (r53.clone(), zone.clone(), followed.clone());
    tokio::spawn(async move {
        loop {
            let now = route53_records(&poll_r53, &poll_zone).await;
            *poll_into.lock().unwrap() = now;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let source = followed.clone();
    let server = dns_serving(move || {
        BTreeMap::from([("example.test".to_string(), source.lock().unwrap().clone())])
    })
    .await;
    let rig = cluster_run(
        cloud_rig(&moto.url, "http://127.0.0.1:9"),
        "route53",
        server,
    );
    let rig = run_then_lose_the_state(rig).await;

    // Each of the nine values the run made has a TXT marker naming the cluster.
    let made = sets_of(&r53, &zone).await;
    let markers = made
        .iter()
        .filter(|(name, t, values)| {
            name.starts_with("_rigger-") && t == "TXT" && *values == [format!("\"{MARK}\"")]
        })
        .count();
    assert_eq!(markers, 9, "{made:?}");

    // Others' values: one in the cluster's own SRV set, one unmarked name, and one
    // marked for another cluster (through rigger, so with its TXT marker).
    let client = "_etcd-client-ssl._tcp.example.test.";
    let mut shared: Vec<String> = made
        .iter()
        .find(|(n, t, _)| n == client && t == "SRV")
        .unwrap()
        .2
        .clone();
    shared.push("0 0 2379 legacy.example.test.".into());
    upsert(&r53, &zone, client, RrType::Srv, 60, &shared).await;
    upsert(
        &r53,
        &zone,
        "www.example.test.",
        RrType::A,
        60,
        &["10.9.0.1"],
    )
    .await;
    Api::new(Route53::new(&cfg, vec![]))
        .create(&RecordSpec {
            name: "etcd-x.example.test".into(),
            ttl: 60,
            data: RecordData::A {
                content: "10.9.0.2".parse().unwrap(),
            },
            cluster: Some("other.example.test".into()),
        })
        .await
        .unwrap();
    let foreign: Vec<_> = sets_of(&r53, &zone)
        .await
        .into_iter()
        .filter(|(name, _, values)| {
            name.starts_with("www.")
                || name.starts_with("etcd-x.")
                || values.iter().any(|v| v.contains("other.example.test"))
        })
        .chain([(
            client.to_string(),
            "SRV".to_string(),
            vec!["0 0 2379 legacy.example.test.".to_string()],
        )])
        .collect();
    assert_eq!(foreign.len(), 4, "{foreign:?}");

    let (rig, out) = destroy_cluster(rig, "route53").await;
    assert_the_cluster_is_gone(&rig, &out, &cfg).await;
    let mut expected = foreign;
    expected.sort();
    assert_eq!(sets_of(&r53, &zone).await, expected);
}

/// A named cluster (`--set name=prod`) marks its records and tags its machines with
/// its key, `example.test/prod`: with the state lost, `destroy --cluster
/// example.test/prod` finds exactly those, and a record of the domain's unnamed
/// cluster stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_state_lost_a_named_cluster_is_destroyed_by_its_key() {
    let moto = moto(&[]);
    let (cf_base, api) = stand_in().await;
    let server = dns_following(api.clone()).await;
    let rig = aws_cluster(cloud_rig(&moto.url, &cf_base), "cloudflare", &["name=prod"]).args(&[
        "--dns-server",
        &server.to_string(),
        "--keep-on-error",
    ]);
    let rig = run_then_lose_the_state(rig).await;
    let made: Vec<Value> = api.lock().unwrap().records.clone();
    assert_eq!(made.len(), 9, "{made:?}");
    let mark = "heritage=rigger,rigger/cluster=example.test/prod";
    assert!(made.iter().all(|r| r["comment"] == mark), "{made:?}");
    assert!(
        made.iter()
            .any(|r| r["name"] == "_etcd-server-ssl-prod._tcp.example.test"),
        "{made:?}"
    );
    let ec2 = aws_sdk_ec2::Client::new(&config(&moto));
    let described = ec2.describe_instances().send().await.unwrap();
    let tagged = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| {
            i.tags().iter().any(|t| {
                t.key() == Some("rigger:cluster") && t.value() == Some("example.test/prod")
            })
        })
        .count();
    assert_eq!(tagged, 3);

    let unnamed = json!({ "id": "plain", "zone_id": "zone1", "type": "SRV", "name": "_etcd-server-ssl._tcp.example.test", "data": { "priority": 0, "weight": 0, "port": 2380, "target": "etcd-p.example.test" }, "ttl": 60, "comment": MARK });
    api.lock().unwrap().records.push(unnamed.clone());
    let (rig, out) = off_runtime(move || {
        let scope = [
            "--cluster",
            "example.test/prod",
            "--target",
            "aws",
            "--dns",
            "cloudflare",
        ];
        let out = rig.again(&[&["destroy"][..], &scope].concat());
        (rig, out)
    })
    .await;
    assert_the_cluster_is_gone(&rig, &out, &config(&moto)).await;
    assert_eq!(api.lock().unwrap().records, vec![unnamed]);
}
