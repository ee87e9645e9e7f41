//! The Cloudflare provider against a local stand-in for the v4 API: stateful enough to
//! list what was created, strict about the request forms Cloudflare takes today, and able
//! to answer 429 / 5xx on demand. Every test asserts the exact requests it received.
//!
//! Its zone is on the Free plan: a record's `comment` (which the published schema leaves
//! unbounded) holds at most 100 characters, as Cloudflare's plan table says, and never a
//! newline or carriage return, as its record-attributes page says.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use rigger::providers::dns::cloudflare::COMMENT_MAX;
use rigger::providers::dns::cloudflare::{Auth, Cloudflare, Retry};
use rigger::providers::dns::zone_api::Api as ZoneApiDns;
use rigger::providers::{Dns, RecordData, RecordSpec};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token-0123456789";

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    auth: String,
    body: Option<Value>,
}

#[derive(Default)]
pub struct Api {
    zones: Vec<(String, String)>,
    pub records: Vec<Value>,
    seen: Vec<Seen>,
    /// Statuses (with Retry-After seconds) to answer before serving normally.
    failures: VecDeque<(StatusCode, Option<u64>)>,
    next_id: u64,
    /// Answer the batch endpoint as an account without it would (404).
    pub refuse_batch: bool,
}

pub type Shared = Arc<Mutex<Api>>;

impl Api {
    /// The requests served so far, as (method, path, body), and forgets them.
    pub fn take_calls(&mut self) -> Vec<(String, String, Option<Value>)> {
        std::mem::take(&mut self.seen)
            .into_iter()
            .map(|s| (s.method, s.path, s.body))
            .collect()
    }
}

fn envelope(result: Value, info: Option<Value>) -> Response {
    let mut body = json!({ "success": true, "errors": [], "messages": [], "result": result });
    if let Some(info) = info {
        body["result_info"] = info;
    }
    axum::Json(body).into_response()
}

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, axum::Json(json!({ "success": false, "errors": [{ "code": code, "message": message }], "messages": [], "result": null }))).into_response()
}

/// Logs the request, checks credentials, and serves an injected failure if one is queued.
fn admit(
    api: &Shared,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Option<Value>,
) -> Option<Response> {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
        .or_else(|| {
            Some(format!(
                "key {} {}",
                headers.get("x-auth-email")?.to_str().ok()?,
                headers.get("x-auth-key")?.to_str().ok()?
            ))
        })
        .unwrap_or_default();
    let mut api = api.lock().unwrap();
    api.seen.push(Seen {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_vec(),
        auth: auth.clone(),
        body,
    });
    if let Some((status, after)) = api.failures.pop_front() {
        let mut response = error(status, 10000 + status.as_u16() as u64, "injected failure");
        if let Some(after) = after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().unwrap());
        }
        return Some(response);
    }
    if auth != format!("Bearer {TOKEN}") && auth != "key ops@example.test legacy-key" {
        return Some(error(StatusCode::FORBIDDEN, 10000, "Authentication error"));
    }
    None
}

/// One page, as the published schema defines listing: `per_page` within the bounds of
/// the endpoint (`/zones` 5..50, dns_records 5..5,000,000; out of bounds is a 400, as
/// Cloudflare validates its parameters), and a `result_info` of page, per_page, count
/// and total_count (no total_pages: the schema has none, so a client must not need it).
fn page(
    items: Vec<Value>,
    query: &[(String, String)],
    bounds: (usize, usize),
    default: usize,
) -> Response {
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = get("per_page").unwrap_or(default);
    if per_page < bounds.0 || per_page > bounds.1 {
        return error(
            StatusCode::BAD_REQUEST,
            1004,
            &format!("per_page must be between {} and {}", bounds.0, bounds.1),
        );
    }
    let page = get("page").unwrap_or(1).max(1);
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let count = slice.len();
    envelope(
        Value::Array(slice),
        Some(json!({ "page": page, "per_page": per_page, "count": count, "total_count": total })),
    )
}

async fn zones(
    State(api): State<Shared>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&api, &Method::GET, "/zones", &q, &headers, None) {
        return r;
    }
    let name = q.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone());
    let found = api
        .lock()
        .unwrap()
        .zones
        .iter()
        .filter(|(_, n)| name.as_ref().is_none_or(|want| want == n))
        .map(|(id, n)| json!({ "id": id, "name": n, "name_servers": ["ns1.example.test"] }))
        .collect();
    page(found, &q, (5, 50), 20)
}

async fn records(
    State(api): State<Shared>,
    Path(zone): Path<String>,
    method: Method,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/zones/{zone}/dns_records");
    let body: Option<Value> = (!body.is_empty()).then(|| serde_json::from_slice(&body).unwrap());
    if let Some(r) = admit(&api, &method, &path, &q, &headers, body.clone()) {
        return r;
    }
    let mut api = api.lock().unwrap();
    if method == Method::GET {
        let want = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        // The schema's comment filters are case-insensitive.
        let comment = want("comment.exact").map(|c| c.to_lowercase());
        let items = api
            .records
            .iter()
            .filter(|r| r["zone_id"] == zone)
            .filter(|r| want("name").is_none_or(|n| r["name"] == n))
            .filter(|r| want("type").is_none_or(|t| r["type"] == t))
            .filter(|r| {
                comment.as_ref().is_none_or(|c| {
                    r["comment"].as_str().map(str::to_lowercase).as_ref() == Some(c)
                })
            })
            .cloned()
            .collect();
        return page(items, &q, (5, 5_000_000), 100);
    }
    let mut record = body.unwrap();
    if let Some(refused) = refuse_record(&record) {
        return refused;
    }
    api.next_id += 1;
    record["id"] = json!(format!("rec{}", api.next_id));
    record["zone_id"] = json!(zone);
    api.records.push(record.clone());
    envelope(record, None)
}

/// What Cloudflare refuses in a record to create, as its schema and plan limits say.
fn refuse_record(record: &Value) -> Option<Response> {
    if let Some(comment) = record.get("comment") {
        let Some(text) = comment.as_str() else {
            return Some(error(StatusCode::BAD_REQUEST, 1004, "DNS Validation Error"));
        };
        if text.chars().count() > 100 {
            return Some(error(
                StatusCode::BAD_REQUEST,
                9005,
                "Comment is too long: at most 100 characters on this zone's plan",
            ));
        }
        if text.contains(['\n', '\r']) {
            return Some(error(StatusCode::BAD_REQUEST, 1004, "DNS Validation Error"));
        }
    }
    // Cloudflare today refuses the old SRV form with service/proto/name in `data`.
    if record["type"] == "SRV" {
        let data = record["data"].as_object().cloned().unwrap_or_default();
        if data
            .keys()
            .any(|k| !["priority", "weight", "port", "target"].contains(&k.as_str()))
        {
            return Some(error(StatusCode::BAD_REQUEST, 1004, "DNS Validation Error"));
        }
    }
    if record["name"] == "exists.example.test" {
        return Some(error(
            StatusCode::BAD_REQUEST,
            81057,
            "Record already exists.",
        ));
    }
    None
}

/// The batch endpoint, as Cloudflare documents it: deletes, then posts (patches and puts
/// are not used by rigger and refused here), in one transaction: any failure applies
/// nothing and answers the first error; at most 200 changes (a Free zone's limit).
async fn batch(
    State(api): State<Shared>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/zones/{zone}/dns_records/batch");
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(r) = admit(
        &api,
        &Method::POST,
        &path,
        &[],
        &headers,
        Some(body.clone()),
    ) {
        return r;
    }
    let mut api = api.lock().unwrap();
    if api.refuse_batch {
        return error(StatusCode::NOT_FOUND, 7003, "No route for that URI");
    }
    let list = |k: &str| {
        body.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (deletes, posts) = (list("deletes"), list("posts"));
    if !list("patches").is_empty() || !list("puts").is_empty() {
        return error(StatusCode::BAD_REQUEST, 1004, "DNS Validation Error");
    }
    if deletes.len() + posts.len() > 200 {
        return error(
            StatusCode::BAD_REQUEST,
            81000,
            "Too many operations in the batch",
        );
    }
    for d in &deletes {
        let id = d["id"].as_str().unwrap_or_default();
        if !api
            .records
            .iter()
            .any(|r| r["zone_id"] == zone && r["id"] == id)
        {
            return error(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
        }
    }
    for p in &posts {
        if let Some(refused) = refuse_record(p) {
            return refused;
        }
    }
    let mut deleted = Vec::new();
    for d in &deletes {
        let id = d["id"].as_str().unwrap_or_default().to_string();
        api.records.retain(|r| r["id"] != id.as_str());
        deleted.push(json!({ "id": id }));
    }
    let mut posted = Vec::new();
    for p in posts {
        let mut record = p;
        api.next_id += 1;
        record["id"] = json!(format!("rec{}", api.next_id));
        record["zone_id"] = json!(zone);
        api.records.push(record.clone());
        posted.push(record);
    }
    envelope(json!({ "deletes": deleted, "posts": posted }), None)
}

async fn remove(
    State(api): State<Shared>,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = format!("/zones/{zone}/dns_records/{id}");
    if let Some(r) = admit(&api, &Method::DELETE, &path, &[], &headers, None) {
        return r;
    }
    let mut api = api.lock().unwrap();
    let before = api.records.len();
    api.records.retain(|r| r["id"] != id.as_str());
    if api.records.len() == before {
        return error(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
    }
    envelope(json!({ "id": id }), None)
}

/// Starts the stand-in on a loopback port; returns its base URL and state.
pub async fn stand_in() -> (String, Shared) {
    let api: Shared = Arc::new(Mutex::new(Api {
        zones: vec![("zone1".into(), "example.test".into())],
        ..Api::default()
    }));
    let app = Router::new()
        .route("/client/v4/zones", get(zones))
        .route(
            "/client/v4/zones/{zone}/dns_records",
            get(records).post(records),
        )
        .route(
            "/client/v4/zones/{zone}/dns_records/batch",
            axum::routing::post(batch),
        )
        .route("/client/v4/zones/{zone}/dns_records/{id}", delete(remove))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, api)
}

fn quick_retry() -> Retry {
    Retry {
        attempts: 4,
        first_wait: Duration::from_millis(10),
        max_wait: Duration::from_millis(50),
    }
}

fn srv(port: u16, target: &str) -> RecordSpec {
    RecordSpec {
        name: "_etcd-server-ssl._tcp.example.test".into(),
        ttl: 300,
        data: RecordData::SRV {
            priority: 0,
            weight: 0,
            port,
            target: target.into(),
        },
        cluster: None,
    }
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
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
                query: q(&[("name", "example.test"), ("per_page", "50"), ("page", "1")]),
                auth: bearer.clone(),
                body: None
            },
            Seen {
                method: "GET".into(),
                path: "/zones/zone1/dns_records".into(),
                query: q(&[
                    ("name", "_etcd-server-ssl._tcp.example.test"),
                    ("type", "SRV"),
                    ("per_page", "100"),
                    ("page", "1")
                ]),
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
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    assert_eq!(api.seen.iter().filter(|s| s.method == "POST").count(), 1);
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
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let (base, _api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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

    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
    let (base, api) = stand_in().await;
    let cf = ZoneApiDns::new(
        Cloudflare::new(&base, Auth::Token(TOKEN.into()), quick_retry(), vec![]).unwrap(),
    );
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
