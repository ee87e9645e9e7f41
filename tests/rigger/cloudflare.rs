//! The Cloudflare provider against the local stand-in for the v4 API
//! (tests/rigger/cloudflare_api.rs). Every test asserts the exact requests it received.

use std::time::Duration;

use axum::http::StatusCode;
use rigger::providers::dns::cloudflare::COMMENT_MAX;
use rigger::providers::dns::cloudflare::{Auth, Cloudflare, Retry};
use rigger::providers::dns::zone_api::Api as ZoneApiDns;
use rigger::providers::{Dns, Record, RecordData, RecordSpec};
use serde_json::{Value, json};

pub use crate::cloudflare_api::{Seen, Shared, TOKEN, stand_in};
use crate::harness::cloud::peer_srv;

fn quick_retry() -> Retry {
    Retry {
        attempts: 4,
        first_wait: Duration::from_millis(10),
        max_wait: Duration::from_millis(50),
    }
}

/// The provider with the stand-in's token and quick retries, at `base`.
fn token_client(base: &str) -> ZoneApiDns<Cloudflare> {
    let auth = Auth::Token(TOKEN.into());
    ZoneApiDns::new(Cloudflare::new(base, auth, quick_retry(), vec![]).unwrap())
}

/// A fresh stand-in, and the provider on it.
async fn on_stand_in() -> (ZoneApiDns<Cloudflare>, Shared) {
    let (base, api) = stand_in().await;
    (token_client(&base), api)
}

fn srv(port: u16, target: &str) -> RecordSpec {
    peer_srv(port, target)
}

fn a(name: &str, ip: &str) -> RecordSpec {
    RecordSpec {
        name: name.into(),
        ttl: 300,
        data: RecordData::A {
            content: ip.parse().unwrap(),
        },
        cluster: None,
    }
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn records_are_created_with_the_exact_requests_cloudflare_takes() {
    let (cf, api) = on_stand_in().await;
    let (rec, created) = cf.create(&srv(2380, "etcd-1.example.test")).await.unwrap();
    assert!(created);
    assert_eq!(rec.zone, "example.test");
    let seen = api.lock().unwrap().seen.clone();
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(
        seen,
        vec![
            Seen {
                method: "GET".into(),
                path: "/zones".into(),
                // Every zone of the account, once: they fit in a page, so no name is
                // asked again; and the record is posted unread (Cloudflare refuses an
                // identical one, see the next test).
                query: q(&[("per_page", "50")]),
                auth: bearer.clone(),
                body: None
            },
            Seen {
                method: "POST".into(),
                path: "/zones/zone1/dns_records".into(),
                query: vec![],
                auth: bearer.clone(),
                body: Some(json!({
                    "type": "SRV", "name": "_etcd-server-ssl._tcp.example.test", "ttl": 300,
                    "data": { "priority": 0, "weight": 0, "port": 2380, "target": "etcd-1.example.test" }
                })),
            },
        ]
    );
    // The stand-in lists it, and so does the provider.
    let listed = cf.list("_etcd-server-ssl._tcp.example.test").await.unwrap();
    assert_eq!(listed, vec![rec]);
}

#[tokio::test]
async fn an_identical_record_is_adopted_not_duplicated() {
    let (cf, api) = on_stand_in().await;
    let (first, created) = cf
        .create(&a("etcd-1.example.test", "10.0.0.5"))
        .await
        .unwrap();
    assert!(created);
    let (again, created) = cf
        .create(&a("etcd-1.example.test", "10.0.0.5"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(first, again);
    let api = api.lock().unwrap();
    assert_eq!(api.records.len(), 1);
    // The second was posted unread, refused as identical, then read and adopted.
    let calls: Vec<(&str, &str)> = api
        .seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str()))
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", "/zones"),
            ("POST", "/zones/zone1/dns_records"),
            ("POST", "/zones/zone1/dns_records"),
            ("GET", "/zones/zone1/dns_records"),
        ]
    );
}

/// A retried run's batch: posted unread, refused whole because one record is there
/// already (Cloudflare applies a batch whole or not at all), then the names are read,
/// the identical record adopted and the rest posted in one more batch.
#[tokio::test]
async fn a_batch_with_a_record_already_there_adopts_it_and_posts_the_rest() {
    let (cf, api) = on_stand_in().await;
    let (first, _) = cf
        .create(&a("etcd-1.example.test", "10.0.0.5"))
        .await
        .unwrap();
    api.lock().unwrap().seen.clear();
    let specs = [
        a("etcd-1.example.test", "10.0.0.5"),
        a("etcd-2.example.test", "10.0.0.6"),
        srv(2380, "etcd-1.example.test"),
    ];
    let out: Vec<(Record, bool)> = cf
        .create_all(&specs)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out[0], (first, false), "adopted");
    assert!(out[1].1 && out[2].1, "created");
    let api = api.lock().unwrap();
    assert_eq!(api.records.len(), 3);
    let batches: Vec<usize> = api
        .seen
        .iter()
        .filter(|s| s.path.ends_with("/batch"))
        .map(|s| s.body.as_ref().unwrap()["posts"].as_array().unwrap().len())
        .collect();
    assert_eq!(
        batches,
        [3, 2],
        "refused whole, then the two that were not there"
    );
    let reads = api
        .seen
        .iter()
        .filter(|s| s.method == "GET" && s.path.ends_with("/dns_records"))
        .count();
    assert_eq!(reads, 3, "each name and type read once, after the refusal");
}

#[tokio::test]
async fn listing_follows_every_page() {
    let (base, api) = stand_in().await;
    {
        let mut api = api.lock().unwrap();
        for i in 0..250 {
            api.records.push(json!({ "id": format!("r{i}"), "zone_id": "zone1", "type": "A", "name": "many.example.test", "content": format!("10.0.{}.{}", i / 200, i % 200), "ttl": 60 }));
        }
    }
    let cf = token_client(&base);
    let all = cf.list("many.example.test").await.unwrap();
    assert_eq!(all.len(), 250);
    let pages: Vec<String> = api
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|s| s.path.ends_with("/dns_records"))
        .map(|s| s.query.iter().find(|(k, _)| k == "page").unwrap().1.clone())
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let (base, api) = stand_in().await;
    api.lock().unwrap().failures.extend([
        (StatusCode::TOO_MANY_REQUESTS, Some(0)),
        (StatusCode::BAD_GATEWAY, None),
    ]);
    let cf = token_client(&base);
    let (zone, _) = cf.zone("example.test").await.unwrap();
    assert_eq!(zone.id, "zone1");
    assert_eq!(
        api.lock().unwrap().seen.len(),
        3,
        "two failures, then the answer"
    );
}

#[tokio::test]
async fn retries_stop_at_the_limit_with_cloudflares_error() {
    let (base, api) = stand_in().await;
    api.lock().unwrap().failures.extend(std::iter::repeat_n(
        (StatusCode::SERVICE_UNAVAILABLE, None),
        10,
    ));
    let cf = token_client(&base);
    let err = cf.zone("example.test").await.unwrap_err();
    assert_eq!(
        api.lock().unwrap().seen.len(),
        4,
        "exactly the allowed attempts"
    );
    assert!(
        err.message
            .contains("GET /zones failed (503 Service Unavailable): 10503 injected failure"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn api_errors_carry_cloudflares_code_and_message_and_never_the_token() {
    let (base, _api) = stand_in().await;
    let cf = token_client(&base);
    let err = cf
        .create(&a("exists.example.test", "10.0.0.9"))
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "cloudflare: POST /zones/zone1/dns_records failed (400 Bad Request): 81057 Record already exists."
    );
    let bad = ZoneApiDns::new(
        Cloudflare::new(
            &base,
            Auth::Token("wrong-token".into()),
            quick_retry(),
            vec![],
        )
        .unwrap(),
    );
    let err = bad.zone("example.test").await.unwrap_err();
    assert_eq!(err.kind.as_str(), "permission");
    assert!(
        err.message.contains("10000 Authentication error"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("wrong-token"));
    let missing = cf.zone("other.test").await.unwrap_err();
    assert_eq!(
        missing.message,
        "zone \"other.test\" not found in this Cloudflare account"
    );
}

#[tokio::test]
async fn the_legacy_key_goes_in_its_own_headers() {
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(
            &base,
            Auth::Key {
                email: "ops@example.test".into(),
                key: "legacy-key".into(),
            },
            quick_retry(),
            vec![],
        )
        .unwrap(),
    );
    cf.zone("example.test").await.unwrap();
    assert_eq!(
        api.lock().unwrap().seen[0].auth,
        "key ops@example.test legacy-key"
    );
}

#[tokio::test]
async fn delete_removes_the_record_and_a_gone_record_is_not_an_error() {
    let (cf, api) = on_stand_in().await;
    let (rec, _) = cf
        .create(&a("etcd-2.example.test", "10.0.0.6"))
        .await
        .unwrap();
    cf.delete(&rec).await.unwrap();
    assert!(api.lock().unwrap().records.is_empty());
    cf.delete(&rec).await.unwrap();
    assert!(cf.list("etcd-2.example.test").await.unwrap().is_empty());
}

#[tokio::test]
async fn every_record_type_round_trips_through_the_api() {
    let (cf, api) = on_stand_in().await;
    let specs = [
        RecordSpec {
            name: "v6.example.test".into(),
            ttl: 120,
            data: RecordData::AAAA {
                content: "2001:db8::7".parse().unwrap(),
            },
            cluster: None,
        },
        RecordSpec {
            name: "alias.example.test".into(),
            ttl: 120,
            data: RecordData::CNAME {
                content: "etcd-1.example.test".into(),
            },
            cluster: None,
        },
        RecordSpec {
            name: "_note.example.test".into(),
            ttl: 120,
            data: RecordData::TXT {
                content: "owner=rigger".into(),
            },
            cluster: None,
        },
    ];
    for spec in &specs {
        let (created, fresh) = cf.create(spec).await.unwrap();
        assert!(fresh);
        assert_eq!(&created.spec, spec);
        assert_eq!(cf.list(&spec.name).await.unwrap(), vec![created.clone()]);
        cf.delete(&created).await.unwrap();
    }
    let posted: Vec<Value> = api
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|s| s.method == "POST")
        .filter_map(|s| s.body.clone())
        .collect();
    assert_eq!(
        posted,
        vec![
            json!({ "type": "AAAA", "name": "v6.example.test", "ttl": 120, "content": "2001:db8::7" }),
            json!({ "type": "CNAME", "name": "alias.example.test", "ttl": 120, "content": "etcd-1.example.test" }),
            json!({ "type": "TXT", "name": "_note.example.test", "ttl": 120, "content": "owner=rigger" }),
        ]
    );
    assert!(api.lock().unwrap().records.is_empty());
}

/// A record under a domain the account has no zone for is refused naming the domains
/// looked for, not the SRV owner (no zone is called `_tcp.…`).
#[tokio::test]
async fn a_missing_zone_is_named_by_its_domain() {
    let (cf, _api) = on_stand_in().await;
    let spec = RecordSpec {
        name: "_etcd-server-ssl._tcp.cluster.other.test".into(),
        ttl: 300,
        data: RecordData::SRV {
            priority: 0,
            weight: 0,
            port: 2380,
            target: "etcd-1.cluster.other.test".into(),
        },
        cluster: None,
    };
    let err = cf.create(&spec).await.unwrap_err();
    assert_eq!(
        err.message,
        "this Cloudflare account has no zone cluster.other.test (nor other.test), which would hold _etcd-server-ssl._tcp.cluster.other.test",
    );
}

fn marked(name: &str, ip: &str, cluster: &str) -> RecordSpec {
    RecordSpec {
        cluster: Some(cluster.into()),
        ..a(name, ip)
    }
}

/// The marker goes in the record's `comment`, and comes back as `cluster` when listed.
#[tokio::test]
async fn a_records_cluster_is_its_comment_and_comes_back_listed() {
    let (cf, api) = on_stand_in().await;
    let spec = marked("etcd-1.example.test", "10.0.0.5", "example.test");
    let (rec, created) = cf.create(&spec).await.unwrap();
    assert!(created);
    assert_eq!(rec.spec, spec);
    let posted = api.lock().unwrap().seen.last().unwrap().body.clone();
    assert_eq!(
        posted,
        Some(json!({
            "type": "A", "name": "etcd-1.example.test", "ttl": 300, "content": "10.0.0.5",
            "comment": "heritage=rigger,rigger/cluster=example.test"
        }))
    );
    assert_eq!(cf.list("etcd-1.example.test").await.unwrap(), vec![rec]);
    // A comment of the user's is no marker.
    api.lock().unwrap().records.push(json!({ "id": "mine", "zone_id": "zone1", "type": "A", "name": "www.example.test", "content": "10.0.0.9", "ttl": 60, "comment": "the web server, ask Ann" }));
    assert_eq!(
        cf.list("www.example.test").await.unwrap()[0].spec.cluster,
        None
    );
}

/// The stand-in refuses what a Free zone refuses, and rigger never sends it: a marker
/// over 100 characters fails before any POST.
#[tokio::test]
async fn an_over_long_comment_is_refused_by_the_stand_in_and_never_sent() {
    let (base, api) = stand_in().await;
    let post = |comment: String| {
        let url = format!("{base}/zones/zone1/dns_records");
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(TOKEN)
                .json(&json!({ "type": "A", "name": "x.example.test", "ttl": 60, "content": "10.0.0.5", "comment": comment }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post("c".repeat(COMMENT_MAX)).await, StatusCode::OK);
    assert_eq!(
        post("c".repeat(COMMENT_MAX + 1)).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(post("two\nlines".into()).await, StatusCode::BAD_REQUEST);

    let cf = token_client(&base);
    let posts_before = api.lock().unwrap().seen.len();
    let long = format!("{}.test", "a".repeat(70));
    let err = cf
        .create(&marked("y.example.test", "10.0.0.6", &long))
        .await
        .unwrap_err();
    assert!(err.message.contains("at most 100"), "{}", err.message);
    let seen = api.lock().unwrap().seen[posts_before..].to_vec();
    assert!(seen.iter().all(|s| s.method != "POST"), "{seen:?}");
}

/// `marked` asks the API for the marker's comment (which Cloudflare matches without
/// regard to case) and keeps only the records whose comment is exactly it: not another
/// cluster's, not an unmarked one, not one whose comment differs in case.
#[tokio::test]
async fn marked_finds_exactly_the_clusters_records() {
    let (cf, api) = on_stand_in().await;
    let (mine, _) = cf
        .create(&marked("etcd-1.example.test", "10.0.0.5", "example.test"))
        .await
        .unwrap();
    cf.create(&marked(
        "etcd-1.other.example.test",
        "10.0.0.6",
        "other.example.test",
    ))
    .await
    .unwrap();
    cf.create(&a("www.example.test", "10.0.0.7")).await.unwrap();
    api.lock().unwrap().records.push(json!({ "id": "shout", "zone_id": "zone1", "type": "A", "name": "loud.example.test", "content": "10.0.0.8", "ttl": 60, "comment": "HERITAGE=RIGGER,RIGGER/CLUSTER=EXAMPLE.TEST" }));
    let seen_before = api.lock().unwrap().seen.len();

    let found = cf.marked("example.test", "example.test").await.unwrap();
    assert_eq!(found, vec![mine]);
    let seen = api.lock().unwrap().seen[seen_before..].to_vec();
    assert_eq!(
        seen.last().unwrap().query,
        q(&[
            (
                "comment.exact",
                "heritage=rigger,rigger/cluster=example.test"
            ),
            ("per_page", "100"),
            ("page", "1")
        ])
    );
}
