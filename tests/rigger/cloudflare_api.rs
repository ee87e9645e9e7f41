//! A local stand-in for Cloudflare's v4 API: stateful enough to list what was created,
//! strict about the request forms Cloudflare takes today, and able to answer 429 / 5xx on
//! demand. It keeps every request it receives, for tests to assert on.
//!
//! Its zone is on the Free plan: a record's `comment` (which the published schema leaves
//! unbounded) holds at most 100 characters, as Cloudflare's plan table says, and never a
//! newline or carriage return, as its record-attributes page says.
//!
//! Shared by the tests (tests/rigger/cloudflare.rs and the cloud runs) and the
//! benchmark's `stand-ins` (bench/stand_ins.rs), which includes this file by path.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token-0123456789";

/// One request as the stand-in received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub auth: String,
    pub body: Option<Value>,
}

#[derive(Default)]
pub struct Api {
    /// (id, name) of each zone of the account.
    pub zones: Vec<(String, String)>,
    pub records: Vec<Value>,
    pub seen: Vec<Seen>,
    /// Statuses (with Retry-After seconds) to answer before serving normally.
    pub failures: VecDeque<(StatusCode, Option<u64>)>,
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
    if let Some(refused) =
        refuse_record(&record).or_else(|| refuse_identical(&api.records, &zone, &record))
    {
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

/// Cloudflare refuses a record identical to one the zone has (same type, name and
/// value; the TTL and comment do not count).
fn refuse_identical(records: &[Value], zone: &str, record: &Value) -> Option<Response> {
    let same = |r: &&Value| {
        r["zone_id"] == zone
            && ["type", "name", "content", "data"]
                .iter()
                .all(|k| r[*k] == record[*k])
    };
    records.iter().find(same).map(|_| {
        error(
            StatusCode::BAD_REQUEST,
            81058,
            "An identical record already exists.",
        )
    })
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
    // Posts come after the deletes, and each after the posts before it.
    let mut after: Vec<Value> = api
        .records
        .iter()
        .filter(|r| !deletes.iter().any(|d| d["id"] == r["id"]))
        .cloned()
        .collect();
    for p in &posts {
        let mut p = p.clone();
        p["zone_id"] = json!(zone);
        if let Some(refused) = refuse_record(&p).or_else(|| refuse_identical(&after, &zone, &p)) {
            return refused;
        }
        after.push(p);
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
