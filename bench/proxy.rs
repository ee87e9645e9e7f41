//! A reverse proxy that holds every request a fixed time before forwarding it, as a
//! network round trip to a real API would, and writes down every request it forwards:
//! its kind, when it arrived and when its answer went back. From that log it says how
//! many requests of each kind were made, how many were in flight at most, and the
//! longest chain of requests made strictly one after another.
//!
//! Shared by the benchmark's `latency-proxy` (bench/latency_proxy.rs) and the tests that
//! count a run's requests (tests/rigger/rounds.rs), so both count the same way.
//!
//! Only loopback: it listens on loopback addresses and forwards to loopback URLs, and
//! refuses anything else, so that nothing it carries can leave this machine.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One forwarded request. Times are seconds since the Unix epoch, so that the logs of
/// proxies in different processes can be put on one clock.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Which API (`cloudflare`, `ec2`, `route53`, ...) and which operation.
    pub kind: String,
    pub start: f64,
    pub end: f64,
    pub status: u16,
}

/// What every proxy of a process writes to.
#[derive(Default)]
pub struct Log {
    entries: Mutex<Vec<Entry>>,
}

impl Log {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn push(&self, entry: Entry) {
        self.entries.lock().expect("proxy log").push(entry);
    }

    /// The requests answered so far, in the order their answers went back.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().expect("proxy log").clone()
    }

    /// Forgets every request: the next phase of a benchmark counts from nothing.
    pub fn reset(&self) {
        self.entries.lock().expect("proxy log").clear();
    }

    pub fn stats(&self) -> Stats {
        Stats::of(self.entries())
    }
}

/// What a log says about the requests in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub requests: usize,
    pub by_kind: BTreeMap<String, usize>,
    /// A longest chain of sequential requests, in order (see [`longest_chain`]).
    pub chain: Vec<Entry>,
    pub max_in_flight: usize,
    /// From the first request's arrival to the last answer, in seconds.
    pub span: f64,
    pub entries: Vec<Entry>,
}

impl Stats {
    pub fn of(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| a.start.total_cmp(&b.start));
        let mut by_kind = BTreeMap::new();
        for e in &entries {
            *by_kind.entry(e.kind.clone()).or_insert(0) += 1;
        }
        let span = match (
            entries.iter().map(|e| e.start).reduce(f64::min),
            entries.iter().map(|e| e.end).reduce(f64::max),
        ) {
            (Some(first), Some(last)) => last - first,
            _ => 0.0,
        };
        Self {
            requests: entries.len(),
            by_kind,
            chain: longest_chain(&entries),
            max_in_flight: max_in_flight(&entries),
            span,
            entries,
        }
    }

    /// The stats as JSON, times relative to the first request (the `start` field is kept
    /// absolute, as `t0`, so that two logs can be merged).
    pub fn to_json(&self) -> Value {
        let t0 = self.entries.first().map_or(0.0, |e| e.start);
        let entry = |e: &Entry| {
            json!({
                "kind": e.kind,
                "start": round_ms(e.start - t0),
                "end": round_ms(e.end - t0),
                "status": e.status,
            })
        };
        json!({
            "t0": t0,
            "requests": self.requests,
            "by_kind": self.by_kind,
            "chain": self.chain.len(),
            "chain_kinds": self.chain.iter().map(entry).collect::<Vec<_>>(),
            "max_in_flight": self.max_in_flight,
            "span": round_ms(self.span),
            "log": self.entries.iter().map(entry).collect::<Vec<_>>(),
        })
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// The longest chain of requests made strictly one after another: a sequence in which
/// each request arrived no earlier than the one before it was answered. No two requests
/// of a chain overlap in time, and any set of requests none of which overlaps another
/// can be put in such an order; so this is the largest set of pairwise disjoint
/// intervals, which taking the earliest-answered request that starts after the last one
/// picked finds (the classic interval-scheduling argument).
///
/// With every request held `S` seconds, a run whose longest chain is `k` spent at least
/// `k * S` in requests, whatever else it did: the chain is the run's sequential round
/// trips. Requests that depend on each other form a chain, but so do independent ones
/// that merely happened one after the other: a chain says what the run did, not what
/// it had to do.
pub fn longest_chain(entries: &[Entry]) -> Vec<Entry> {
    let mut by_end: Vec<&Entry> = entries.iter().collect();
    by_end.sort_by(|a, b| a.end.total_cmp(&b.end));
    let mut chain: Vec<Entry> = Vec::new();
    for e in by_end {
        if chain.last().is_none_or(|last| e.start >= last.end) {
            chain.push(e.clone());
        }
    }
    chain
}

/// The most requests in flight at one instant (an answer that goes back at the instant
/// another arrives does not overlap it, as in [`longest_chain`]).
pub fn max_in_flight(entries: &[Entry]) -> usize {
    // Ends sort before starts at the same instant.
    let mut events: Vec<(f64, i32)> = entries
        .iter()
        .flat_map(|e| [(e.start, 1), (e.end, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in events {
        now += step;
        most = most.max(now);
    }
    most as usize
}

/// The kind of a request: the API and its operation. AWS requests name their service in
/// the signature's credential scope (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`);
/// EC2 names the operation in its `Action` parameter, Route 53 by method and path;
/// anything else is its method and path with the IDs in it replaced by placeholders.
pub fn kind(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> String {
    let service = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .map(str::to_string);
    let template = template(path);
    if let Some(service) = service {
        let action = url::form_urlencoded::parse(body)
            .chain(url::form_urlencoded::parse(query.unwrap_or("").as_bytes()))
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.into_owned());
        if let Some(action) = action {
            return format!("{service} {action}");
        }
        if service == "route53"
            && let Some(op) = route53_operation(method, &template)
        {
            return format!("route53 {op}");
        }
        return format!("{service} {method} {template}");
    }
    if let Some(rest) = template.strip_prefix("/client/v4") {
        return format!("cloudflare {method} {rest}");
    }
    format!("{method} {template}")
}

/// `path` with its IDs replaced: the segment after `zones`, `dns_records`, `hostedzone`
/// or `change` (but not `batch`, which is an endpoint, not an ID).
fn template(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        let after = i.checked_sub(1).map(|j| segments[j]);
        let placeholder = match after {
            Some("zones") => Some("{zone}"),
            Some("dns_records") if *s != "batch" => Some("{id}"),
            Some("hostedzone") | Some("change") => Some("{id}"),
            _ => None,
        };
        out.push(match placeholder {
            Some(p) if !s.is_empty() => p,
            _ => s,
        });
    }
    out.join("/")
}

/// Route 53's REST operations, as its API reference maps them to methods and paths.
fn route53_operation(method: &Method, template: &str) -> Option<&'static str> {
    let path = template.trim_end_matches('/');
    Some(match (method.as_str(), path) {
        ("GET", "/2013-04-01/hostedzonesbyname") => "ListHostedZonesByName",
        ("GET", "/2013-04-01/hostedzone") => "ListHostedZones",
        ("POST", "/2013-04-01/hostedzone") => "CreateHostedZone",
        ("GET", "/2013-04-01/hostedzone/{id}") => "GetHostedZone",
        ("GET", "/2013-04-01/hostedzone/{id}/rrset") => "ListResourceRecordSets",
        ("POST", "/2013-04-01/hostedzone/{id}/rrset") => "ChangeResourceRecordSets",
        ("GET", "/2013-04-01/change/{id}") => "GetChange",
        _ => return None,
    })
}

/// Refuses an address that is not loopback.
pub fn loopback(addr: SocketAddr) -> Result<SocketAddr, String> {
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(format!(
            "{addr} is not a loopback address: the proxy never leaves this machine"
        ))
    }
}

/// `url` as an upstream: http:// to a loopback IP (a name could resolve anywhere).
pub fn upstream(url: &str) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "{url}: only http:// upstreams (local stand-ins) are proxied"
        ));
    }
    let ip: std::net::IpAddr = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.into(),
        Some(url::Host::Ipv6(ip)) => ip.into(),
        _ => {
            return Err(format!(
                "{url}: the upstream must be a loopback IP, not a name"
            ));
        }
    };
    if !ip.is_loopback() {
        return Err(format!("{url}: {ip} is not a loopback address"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

struct Forward {
    upstream: String,
    latency: Duration,
    client: reqwest::Client,
    log: Arc<Log>,
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and the
/// length, which the forwarded body sets again.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::CONNECTION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
}

/// `headers` without the hop-by-hop ones.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        if !hop_by_hop(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

async fn forward(State(fw): State<Arc<Forward>>, request: Request) -> Response {
    let start = now();
    let (parts, body) = request.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("proxy: unreadable body: {e}"),
            )
                .into_response();
        }
    };
    let path = parts.uri.path();
    let query = parts.uri.query();
    let kind = kind(&parts.method, path, query, &parts.headers, &body);
    // The round trip: the request reaches the API only after the hold.
    tokio::time::sleep(fw.latency).await;
    let url = match query {
        Some(q) => format!("{}{path}?{q}", fw.upstream),
        None => format!("{}{path}", fw.upstream),
    };
    let headers = end_to_end(&parts.headers);
    let sent = fw
        .client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(answer) => {
            let status = answer.status();
            let headers = end_to_end(answer.headers());
            match answer.bytes().await {
                Ok(bytes) => {
                    let mut r = Response::new(Body::from(bytes));
                    *r.status_mut() = status;
                    *r.headers_mut() = headers;
                    r
                }
                Err(e) => (StatusCode::BAD_GATEWAY, format!("proxy: {url}: {e}")).into_response(),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("proxy: {url}: {e}")).into_response(),
    };
    fw.log.push(Entry {
        kind,
        start,
        end: now(),
        status: response.status().as_u16(),
    });
    response
}

/// Serves a proxy to `upstream` on `listener` (which must be on loopback), holding each
/// request `latency`, writing to `log`; runs until the task is dropped.
pub async fn serve(
    listener: tokio::net::TcpListener,
    upstream_url: &str,
    latency: Duration,
    log: Arc<Log>,
) -> Result<(), String> {
    loopback(listener.local_addr().map_err(|e| e.to_string())?)?;
    let state = Arc::new(Forward {
        upstream: upstream(upstream_url)?,
        latency,
        // Never through a proxy of the environment's (HTTP_PROXY), never following a
        // redirect elsewhere: the answer goes back to the client as it came.
        client: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?,
        log,
    });
    let app = axum::Router::new().fallback(forward).with_state(state);
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

/// Starts a proxy to `upstream` on a free loopback port; returns its base URL.
pub async fn start(upstream_url: &str, latency: Duration, log: Arc<Log>) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let upstream_url = upstream(upstream_url)?;
    tokio::spawn(async move {
        if let Err(e) = serve(listener, &upstream_url, latency, log).await {
            eprintln!("proxy on {addr}: {e}");
        }
    });
    Ok(format!("http://{addr}"))
}
