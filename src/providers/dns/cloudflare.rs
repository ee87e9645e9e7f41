//! Cloudflare DNS through its v4 API (reqwest). Credentials come from the environment,
//! never the command line, and never reach a log, the output or the state files.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Dns;
use super::Zone;
use super::marker;
use super::name_servers::NameServers;
use super::zone_api::{Api, Outcomes, Sets, ZoneApi};
use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::opening::Opening;
use crate::providers::{Record, RecordData, RecordSpec};

pub const DEFAULT_BASE: &str = "https://api.cloudflare.com/client/v4";

/// How rigger authenticates. `Debug` never shows the secret.
#[derive(Clone)]
pub enum Auth {
    /// A scoped API token (Zone:Read and DNS:Edit on the zone): preferred.
    Token(String),
    /// The legacy global API key with the account's e-mail.
    Key { email: String, key: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Auth::Token(<redacted>)"),
            Self::Key { email, .. } => {
                write!(f, "Auth::Key {{ email: {email:?}, key: <redacted> }}")
            }
        }
    }
}

impl Auth {
    /// From `CLOUDFLARE_API_TOKEN` (or `CLOUDFLARE_API_TOKEN_FILE`, a file holding it),
    /// or `CLOUDFLARE_API_KEY` with `CLOUDFLARE_EMAIL`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let token = crate::base::secret_file::from_env("CLOUDFLARE_API_TOKEN", &var)?;
        let key = set("CLOUDFLARE_API_KEY");
        let email = set("CLOUDFLARE_EMAIL");
        match (token, key, email) {
            (Some(_), Some(_), _) => Err(Error::invalid(
                "both a CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_KEY are set; rigger will not guess which to use",
            )
            .with_help("unset one of them (a scoped API token is preferred)")),
            (Some(token), None, _) => Ok(Self::Token(token.trim().to_string())),
            (None, Some(key), Some(email)) => Ok(Self::Key {
                email: email.trim().to_string(),
                key: key.trim().to_string(),
            }),
            (None, Some(_), None) => Err(Error::invalid(
                "CLOUDFLARE_API_KEY is set without CLOUDFLARE_EMAIL",
            )
            .with_help("the legacy key needs the account's e-mail in CLOUDFLARE_EMAIL; a scoped CLOUDFLARE_API_TOKEN needs nothing else")),
            (None, None, _) => Err(Error::new(ErrorKind::Missing, "no Cloudflare credentials").with_help(
                "set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_TOKEN_FILE, a file holding it) to an API \
                 token with Zone:Read and DNS:Edit on the zone (or CLOUDFLARE_API_KEY with CLOUDFLARE_EMAIL)",
            )),
        }
    }
}

/// Retries for 429 and 5xx: Cloudflare allows 1,200 requests per 5 minutes per user.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_wait: Duration,
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 5,
            first_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

pub struct Cloudflare {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    retry: Retry,
    /// Where `wait_resolves` asks; the zone's own Cloudflare name servers when empty.
    resolvers: Vec<SocketAddr>,
    /// Zone name -> the name servers Cloudflare lists for it, from every zone object
    /// read. Which zones exist is [`Api`]'s to remember.
    name_servers: Mutex<HashMap<String, Vec<String>>>,
    /// How those names become addresses.
    lookup: NameServers,
    /// Requests in flight at once, whatever asks: a 25-member cluster's lookups never
    /// become 25 requests at the same instant (1,200 per 5 minutes is the account's).
    in_flight: tokio::sync::Semaphore,
    /// The first page of `/zones`, asked once: when it holds every zone the token sees,
    /// each later lookup is answered without a call.
    listing: tokio::sync::OnceCell<Listing>,
    /// The account answered that it has no batch endpoint: single calls from then on.
    no_batch: AtomicBool,
}

/// Page sizes as Cloudflare's published schema bounds them: `/zones` takes 5 to 50,
/// `/zones/{id}/dns_records` 5 to 5,000,000 (100 is its default).
const ZONES_PER_PAGE: usize = 50;
/// The most changes one batch may carry on a Free zone (paid plans take 3,500).
const BATCH_LIMIT: usize = 200;
/// Single calls in flight at once when there is no batch: well inside Cloudflare's
/// 1,200 requests per 5 minutes for a cluster's records.
const SINGLE_CALLS: usize = 8;
/// Requests of one run in flight at once, of any kind.
const IN_FLIGHT: usize = 16;

/// The zones of the first page of `/zones`.
struct Listing {
    zones: HashMap<String, Zone>,
    /// Whether they are all the zones the token sees.
    complete: bool,
}

/// A call's failure: the error as everyone else reads it, and, when Cloudflare answered
/// with its envelope, the HTTP status and the envelope's error codes, which callers
/// decide on (never the words).
struct CallError {
    error: Error,
    refused: Option<(StatusCode, Vec<u64>)>,
}

/// What a call gives, or why it failed.
type Called<T> = std::result::Result<T, CallError>;

impl From<Error> for CallError {
    fn from(error: Error) -> Self {
        Self {
            error,
            refused: None,
        }
    }
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        e.error
    }
}

impl CallError {
    /// Whether Cloudflare refused a record that is there already (81057: a record of
    /// that name and type that cannot have another; 81058: an identical one).
    fn already_there(&self) -> bool {
        self.refused
            .as_ref()
            .is_some_and(|(_, codes)| codes.iter().any(|c| [81057, 81058].contains(c)))
    }

    /// Whether the account has no batch endpoint (rather than refusing what was in the
    /// batch).
    fn batch_refused(&self) -> bool {
        self.refused.as_ref().is_some_and(|(status, _)| {
            [
                StatusCode::NOT_FOUND,
                StatusCode::METHOD_NOT_ALLOWED,
                StatusCode::NOT_IMPLEMENTED,
            ]
            .contains(status)
        })
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}
const RECORDS_PER_PAGE: usize = 100;

/// The longest `comment` every zone takes. The published schema sets no bound, but
/// Cloudflare's plans do: 100 characters on Free, 500 on the paid plans. rigger cannot
/// tell a zone's plan without asking for more than DNS rights, so it keeps to Free's.
pub const COMMENT_MAX: usize = 100;

impl Cloudflare {
    pub fn new(base: &str, auth: Auth, retry: Retry, resolvers: Vec<SocketAddr>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("rigger/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            retry,
            resolvers,
            name_servers: Mutex::default(),
            lookup: NameServers::default(),
            in_flight: tokio::sync::Semaphore::new(IN_FLIGHT),
            listing: tokio::sync::OnceCell::new(),
            no_batch: AtomicBool::new(false),
        })
    }

    /// Name servers' addresses found through `lookup` (an override, for tests).
    pub fn with_lookup(mut self, lookup: NameServers) -> Self {
        self.lookup = lookup;
        self
    }

    /// From the environment: credentials, and `CLOUDFLARE_API_BASE_URL` for a stand-in.
    pub fn from_env(resolvers: Vec<SocketAddr>) -> Result<Self> {
        let var = |n: &str| std::env::var(n).ok();
        let base = var("CLOUDFLARE_API_BASE_URL").unwrap_or_else(|| DEFAULT_BASE.to_string());
        Ok(
            Self::new(&base, Auth::from_env(var)?, Retry::default(), resolvers)?
                .with_lookup(NameServers::from_env()?),
        )
    }

    /// One API call with retries; returns the envelope's `result` and `result_info`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Called<(Value, Value)> {
        let what = format!("{method} {path}");
        let mut wait = self.retry.first_wait;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .query(query);
            request = match &self.auth {
                Auth::Token(token) => request.bearer_auth(token),
                Auth::Key { email, key } => request
                    .header("X-Auth-Email", email)
                    .header("X-Auth-Key", key),
            };
            if let Some(body) = &body {
                request = request.json(body);
            }
            tracing::debug!("cloudflare: {what}");
            let permit = self.in_flight.acquire().await;
            let sent = request.send().await;
            drop(permit);
            let response = match sent {
                Ok(r) => r,
                // A request that never connected can be sent again; one that timed out may
                // have been carried out, so only reads and deletes are repeated then.
                Err(e)
                    if attempt < self.retry.attempts
                        && (e.is_connect() || (e.is_timeout() && method != Method::POST)) =>
                {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.retry.max_wait);
                    continue;
                }
                Err(e) => {
                    return Err(Error::failed(format!(
                        "cloudflare: {what}: {}",
                        crate::base::human::root_cause(&e)
                    ))
                    .into());
                }
            };
            let status = response.status();
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt < self.retry.attempts
            {
                let after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let pause = after.unwrap_or(wait).min(self.retry.max_wait);
                tracing::warn!(
                    "cloudflare: {what} answered {status}; retrying in {}",
                    crate::base::human::duration(pause)
                );
                tokio::time::sleep(pause).await;
                wait = (wait * 2).min(self.retry.max_wait);
                continue;
            }
            let text = response
                .text()
                .await
                .map_err(|e| Error::failed(format!("cloudflare: {what}: {e}")))?;
            let envelope: Value = serde_json::from_str(&text).map_err(|_| {
                Error::failed(format!(
                    "cloudflare: {what} answered {status} with something that is not JSON"
                ))
            })?;
            if envelope.get("success").and_then(Value::as_bool) != Some(true) {
                let errors: Vec<String> = envelope
                    .get("errors")
                    .and_then(Value::as_array)
                    .map(|errs| {
                        errs.iter()
                            .map(|e| {
                                format!(
                                    "{} {}",
                                    e.get("code").map_or(String::new(), |c| c.to_string()),
                                    e.get("message").and_then(Value::as_str).unwrap_or("")
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let codes = envelope
                    .get("errors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get("code").and_then(Value::as_u64))
                    .collect();
                let kind = match status {
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::Permission,
                    StatusCode::NOT_FOUND => ErrorKind::NotFound,
                    _ => ErrorKind::Failed,
                };
                let error = Error::new(
                    kind,
                    format!(
                        "cloudflare: {what} failed ({status}): {}",
                        if errors.is_empty() {
                            "no error given".to_string()
                        } else {
                            errors.join("; ")
                        }
                    ),
                );
                return Err(CallError {
                    error,
                    refused: Some((status, codes)),
                });
            }
            return Ok((
                envelope.get("result").cloned().unwrap_or(Value::Null),
                envelope.get("result_info").cloned().unwrap_or(Value::Null),
            ));
        }
    }

    /// Every page of a list call, paged as the schema's `result_info` says: `count` on
    /// this page, `total_count` in all. A short or empty page is the last one.
    async fn list_all(
        &self,
        path: &str,
        query: &[(&str, String)],
        per_page: usize,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let mut q = query.to_vec();
            q.push(("per_page", per_page.to_string()));
            q.push(("page", page.to_string()));
            let (result, info) = self.call(Method::GET, path, &q, None).await?;
            let items = result.as_array().cloned().unwrap_or_default();
            let count = info
                .get("count")
                .and_then(Value::as_u64)
                .map_or(items.len(), |c| c as usize);
            out.extend(items);
            let total = info.get("total_count").and_then(Value::as_u64);
            let all_seen = total.is_some_and(|t| out.len() as u64 >= t);
            if count == 0 || count < per_page || all_seen {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// A zone object of the API as a zone, keeping the name servers it lists.
    fn remember(&self, z: &Value) -> Option<Zone> {
        let zone = Zone {
            id: z.get("id")?.as_str()?.to_string(),
            name: z.get("name")?.as_str()?.to_string(),
        };
        let names: Vec<String> = z
            .get("name_servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        self.name_servers
            .lock()
            .expect("name servers lock")
            .insert(zone.name.clone(), names);
        Some(zone)
    }

    /// Reads the account's zones in one call, the first time: if they all fit in it,
    /// every lookup of the run is answered from it. A member's name is a candidate zone
    /// of its own (`etcd-<id>.<domain>` could be delegated), so without this each
    /// member's first record cost a lookup before the batch. An account with more zones
    /// than a page is asked name by name.
    /// A token that cannot list zones cannot look one up by name either (the same call),
    /// so a refusal is the lookup's answer.
    async fn zones_listed(&self) -> Result<&Listing> {
        self.listing
            .get_or_try_init(|| async {
                let query = [("per_page", ZONES_PER_PAGE.to_string())];
                let (result, info) = self.call(Method::GET, "/zones", &query, None).await?;
                let items = result.as_array().cloned().unwrap_or_default();
                let zones = items
                    .iter()
                    .filter_map(|z| self.remember(z))
                    .map(|z| (z.name.clone(), z))
                    .collect();
                let total = info.get("total_count").and_then(Value::as_u64);
                Ok(Listing {
                    zones,
                    complete: total.is_some_and(|t| t <= items.len() as u64),
                })
            })
            .await
    }

    async fn fetch_zone(&self, name: &str) -> Result<Option<Zone>> {
        let listing = self.zones_listed().await?;
        if let Some(zone) = listing.zones.get(name) {
            return Ok(Some(zone.clone()));
        }
        if listing.complete {
            return Ok(None);
        }
        let found = self
            .list_all("/zones", &[("name", name.to_string())], ZONES_PER_PAGE)
            .await?;
        Ok(found.first().and_then(|z| self.remember(z)))
    }

    /// One `POST .../dns_records/batch` of `posts`: an outcome for each, or the call's
    /// error (Cloudflare applies a batch whole or not at all).
    async fn post_batch(&self, zone: &Zone, posts: &[Value]) -> Called<Outcomes> {
        let (result, _) = self
            .call(
                Method::POST,
                &format!("/zones/{}/dns_records/batch", zone.id),
                &[],
                Some(json!({ "posts": posts })),
            )
            .await?;
        let made = result.get("posts").and_then(Value::as_array);
        let Some(made) = made.filter(|m| m.len() == posts.len()) else {
            let e = Error::failed(
                "cloudflare: the batch answered another number of records than it was sent",
            );
            return Ok(posts.iter().map(|_| Err(e.clone())).collect());
        };
        Ok(made
            .iter()
            .map(|v| {
                parse_record(zone, v).ok_or_else(|| {
                    Error::failed(
                        "cloudflare: a created record came back in a form rigger cannot read",
                    )
                })
            })
            .collect())
    }

    /// One `POST .../dns_records` of `spec`.
    async fn post_record(&self, zone: &Zone, spec: &RecordSpec) -> Called<Record> {
        let (result, _) = self
            .call(
                Method::POST,
                &format!("/zones/{}/dns_records", zone.id),
                &[],
                Some(record_body(spec)?),
            )
            .await?;
        parse_record(zone, &result).ok_or_else(|| {
            Error::failed("cloudflare: the created record came back in a form rigger cannot read")
                .into()
        })
    }

    async fn fetch_records(
        &self,
        zone: &Zone,
        name: &str,
        rtype: Option<&str>,
    ) -> Result<Vec<Record>> {
        let mut query = vec![("name", name.to_string())];
        if let Some(t) = rtype {
            query.push(("type", t.to_string()));
        }
        let items = self
            .list_all(
                &format!("/zones/{}/dns_records", zone.id),
                &query,
                RECORDS_PER_PAGE,
            )
            .await?;
        Ok(items.iter().filter_map(|v| parse_record(zone, v)).collect())
    }

    /// The zone's records whose comment is `cluster`'s marker. The API filters by the
    /// comment, but case-insensitively, so each is checked again, exactly.
    async fn fetch_marked(&self, zone: &Zone, cluster: &str) -> Result<Vec<Record>> {
        let items = self
            .list_all(
                &format!("/zones/{}/dns_records", zone.id),
                &[("comment.exact", marker::text(cluster))],
                RECORDS_PER_PAGE,
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|v| parse_record(zone, v))
            .filter(|r| r.spec.cluster.as_deref() == Some(cluster))
            .collect())
    }
}

/// The comment that marks `spec` as its cluster's, checked against what every plan
/// takes; `None` for a record without a cluster.
fn comment(spec: &RecordSpec) -> Result<Option<String>> {
    let Some(cluster) = &spec.cluster else {
        return Ok(None);
    };
    let text = marker::text(cluster);
    if text.chars().count() > COMMENT_MAX {
        return Err(Error::invalid(format!(
            "cloudflare: the ownership marker of {} ({text:?}) has {} characters, and a record's comment takes at most {COMMENT_MAX} on the Free plan",
            spec.name,
            text.chars().count()
        ))
        .with_help(format!(
            "give `cluster` a domain of at most {} characters, or none (the record is then found only through the state dir)",
            COMMENT_MAX - marker::text("").len()
        )));
    }
    Ok(Some(text))
}

/// The request body Cloudflare takes today: SRV as name `_service._proto.domain` with
/// only priority, weight, port and target in `data`; the marker, if any, as `comment`.
pub fn record_body(spec: &RecordSpec) -> Result<Value> {
    let mut body = json!({ "type": spec.data.type_name(), "name": spec.name, "ttl": spec.ttl });
    if let Some(comment) = comment(spec)? {
        body["comment"] = json!(comment);
    }
    match &spec.data {
        RecordData::SRV {
            priority,
            weight,
            port,
            target,
        } => {
            body["data"] =
                json!({ "priority": priority, "weight": weight, "port": port, "target": target });
        }
        RecordData::TXT { content } | RecordData::CNAME { content } => {
            body["content"] = json!(content)
        }
        RecordData::A { content } => body["content"] = json!(content.to_string()),
        RecordData::AAAA { content } => body["content"] = json!(content.to_string()),
    }
    Ok(body)
}

fn parse_record(zone: &Zone, v: &Value) -> Option<Record> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let content = || text("content").map(|c| c.trim_matches('"').to_string());
    let name = text("name")?.trim_end_matches('.').to_ascii_lowercase();
    let data = match text("type")?.as_str() {
        "A" => RecordData::A {
            content: content()?.parse().ok()?,
        },
        "AAAA" => RecordData::AAAA {
            content: content()?.parse().ok()?,
        },
        "CNAME" => RecordData::CNAME {
            content: content()?.trim_end_matches('.').to_ascii_lowercase(),
        },
        "TXT" => RecordData::TXT {
            content: content()?,
        },
        "SRV" => {
            let d = v.get("data")?;
            let n = |k: &str| {
                d.get(k)
                    .and_then(Value::as_u64)
                    .and_then(|x| u16::try_from(x).ok())
            };
            RecordData::SRV {
                priority: n("priority").or_else(|| {
                    v.get("priority")
                        .and_then(Value::as_u64)
                        .and_then(|x| u16::try_from(x).ok())
                })?,
                weight: n("weight")?,
                port: n("port")?,
                target: d
                    .get("target")?
                    .as_str()?
                    .trim_end_matches('.')
                    .to_ascii_lowercase(),
            }
        }
        _ => return None,
    };
    Some(Record {
        id: text("id")?,
        zone: zone.name.clone(),
        spec: RecordSpec {
            name,
            ttl: v
                .get("ttl")
                .and_then(Value::as_u64)
                .and_then(|t| u32::try_from(t).ok())
                .unwrap_or(1),
            data,
            cluster: v
                .get("comment")
                .and_then(Value::as_str)
                .and_then(marker::cluster_of)
                .map(str::to_string),
        },
    })
}

/// The Cloudflare backend of a run (its row in the backend table).
pub fn open(opening: &Opening) -> Result<Arc<dyn Dns>> {
    Ok(Arc::new(Api::new(Cloudflare::from_env(
        opening.dns_servers.clone(),
    )?)))
}

#[async_trait]
impl ZoneApi for Cloudflare {
    fn service(&self) -> &'static str {
        "this Cloudflare account"
    }

    fn zone_help(&self) -> &'static str {
        "rigger does not create Cloudflare zones: add the zone in the dashboard, or check that \
         the token can read it (Zone:Read)"
    }

    async fn lookup_zone(&self, name: &str) -> Result<Option<Zone>> {
        self.fetch_zone(name).await
    }

    async fn records(&self, zone: &Zone, name: &str, rtype: Option<&str>) -> Result<Vec<Record>> {
        self.fetch_records(zone, name, rtype).await
    }

    async fn add(&self, zone: &Zone, spec: &RecordSpec, _existing: &[Record]) -> Result<Record> {
        Ok(self.post_record(zone, spec).await?)
    }

    /// One `POST /zones/{id}/dns_records/batch` per 200 records (a Free zone's limit;
    /// Cloudflare applies a batch whole or not at all). An account without the batch
    /// endpoint gets the records one call each, a few at a time.
    async fn add_all(&self, zone: &Zone, specs: &[RecordSpec], _existing: &Sets) -> Outcomes {
        if specs.len() < 2 || self.no_batch.load(Ordering::Relaxed) {
            let calls: Vec<_> = specs.iter().map(|s| self.add(zone, s, &[])).collect();
            return futures::stream::iter(calls)
                .buffered(SINGLE_CALLS)
                .collect()
                .await;
        }
        let mut out = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(BATCH_LIMIT) {
            let bodies: Vec<Result<Value>> = chunk.iter().map(record_body).collect();
            // A record Cloudflare would refuse anyway is said alone; the rest go.
            let good: Vec<Value> = bodies
                .iter()
                .filter_map(|b| b.as_ref().ok().cloned())
                .collect();
            let made: Outcomes = match self.post_batch(zone, &good).await {
                Ok(made) => made,
                Err(e) if e.batch_refused() => {
                    tracing::debug!("cloudflare: no batch endpoint ({e}); one call per record");
                    self.no_batch.store(true, Ordering::Relaxed);
                    let specs: Vec<&RecordSpec> = chunk
                        .iter()
                        .zip(&bodies)
                        .filter(|(_, b)| b.is_ok())
                        .map(|(s, _)| s)
                        .collect();
                    let calls: Vec<_> = specs.into_iter().map(|s| self.add(zone, s, &[])).collect();
                    futures::stream::iter(calls)
                        .buffered(SINGLE_CALLS)
                        .collect()
                        .await
                }
                Err(e) => good.iter().map(|_| Err(e.error.clone())).collect(),
            };
            let mut made = made.into_iter();
            for body in bodies {
                out.push(match body {
                    Ok(_) => made.next().unwrap_or_else(|| {
                        Err(Error::failed(
                            "cloudflare: a record of the batch had no outcome",
                        ))
                    }),
                    Err(e) => Err(e),
                });
            }
        }
        out
    }

    /// Unread, in one call when they fit in one: Cloudflare refuses a record identical to
    /// one it has (and a batch whole, when one of its records is refused), so a retried
    /// run's records are refused, read and adopted, and a new cluster's go in at once.
    async fn add_all_unread(&self, zone: &Zone, specs: &[RecordSpec]) -> Option<Outcomes> {
        let bodies: Vec<Value> = specs.iter().map(record_body).collect::<Result<_>>().ok()?;
        // A record Cloudflare would refuse anyway goes the read way, and is said alone;
        // so do more records than one batch takes, or an account without batches (single
        // calls do not fail together, and one refused must not leave the others adopted).
        let outcome = match bodies.as_slice() {
            [_] => match self.post_record(zone, &specs[0]).await {
                Err(e) if e.already_there() => return None,
                added => return Some(vec![added.map_err(Error::from)]),
            },
            _ if bodies.len() > BATCH_LIMIT || self.no_batch.load(Ordering::Relaxed) => {
                return None;
            }
            _ => self.post_batch(zone, &bodies).await,
        };
        match outcome {
            Ok(made) => Some(made),
            Err(e) if e.already_there() => None,
            Err(e) if e.batch_refused() => {
                tracing::debug!("cloudflare: no batch endpoint ({e}); one call per record");
                self.no_batch.store(true, Ordering::Relaxed);
                None
            }
            Err(e) => Some(specs.iter().map(|_| Err(e.error.clone())).collect()),
        }
    }

    /// One batch of deletes per 200 records. A batch fails whole when one record is
    /// already gone: then each is deleted alone, and a gone one is done.
    async fn remove_all(&self, zone: &Zone, records: &[Record]) -> Vec<Result<()>> {
        if records.len() < 2 {
            return join_all(records.iter().map(|r| self.remove(zone, r))).await;
        }
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(BATCH_LIMIT) {
            let deletes: Vec<Value> = chunk
                .iter()
                .map(|r| serde_json::json!({ "id": r.id }))
                .collect();
            match self
                .call(
                    Method::POST,
                    &format!("/zones/{}/dns_records/batch", zone.id),
                    &[],
                    Some(serde_json::json!({ "deletes": deletes })),
                )
                .await
            {
                Ok(_) => out.extend(chunk.iter().map(|_| Ok(()))),
                Err(e) => {
                    tracing::debug!(
                        "cloudflare: the batch delete failed ({e}); one call per record"
                    );
                    let calls: Vec<_> = chunk.iter().map(|r| self.remove(zone, r)).collect();
                    let each: Vec<Result<()>> = futures::stream::iter(calls)
                        .buffered(SINGLE_CALLS)
                        .collect()
                        .await;
                    out.extend(each);
                }
            }
        }
        out
    }

    async fn remove(&self, zone: &Zone, record: &Record) -> Result<()> {
        self.call(
            Method::DELETE,
            &format!("/zones/{}/dns_records/{}", zone.id, record.id),
            &[],
            None,
        )
        .await?;
        Ok(())
    }

    /// `--dns-server` when given, else the zone's own name servers, as Cloudflare's zone
    /// object lists them, asked directly.
    fn given_servers(&self) -> &[SocketAddr] {
        &self.resolvers
    }

    async fn servers(&self, zone: &Zone) -> Result<Vec<SocketAddr>> {
        let names = self
            .name_servers
            .lock()
            .expect("name servers lock")
            .get(&zone.name)
            .cloned()
            .unwrap_or_default();
        self.lookup.addresses(&zone.name, &names).await
    }

    async fn marked(&self, zone: &Zone, cluster: &str) -> Result<Vec<Record>> {
        self.fetch_marked(zone, cluster).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_token_is_preferred_and_both_at_once_is_an_error() {
        assert!(
            matches!(Auth::from_env(env(&[("CLOUDFLARE_API_TOKEN", "t")])), Ok(Auth::Token(t)) if t == "t")
        );
        let both = Auth::from_env(env(&[
            ("CLOUDFLARE_API_TOKEN", "t"),
            ("CLOUDFLARE_API_KEY", "k"),
            ("CLOUDFLARE_EMAIL", "e"),
        ]));
        assert!(both.unwrap_err().message.contains("both"));
        assert!(
            Auth::from_env(env(&[("CLOUDFLARE_API_KEY", "k")]))
                .unwrap_err()
                .message
                .contains("without CLOUDFLARE_EMAIL")
        );
        assert_eq!(
            Auth::from_env(env(&[])).unwrap_err().kind,
            ErrorKind::Missing
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let shown = format!(
            "{:?} {:?}",
            Auth::Token("s3cret".into()),
            Auth::Key {
                email: "a@b".into(),
                key: "s3cret".into()
            }
        );
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn srv_bodies_use_the_current_api_form() {
        let spec = RecordSpec {
            cluster: None,
            ..marker::tests::srv("etcd-1.example.com")
        };
        assert_eq!(
            record_body(&spec).unwrap(),
            json!({
                "type": "SRV", "name": "_etcd-server-ssl._tcp.example.com", "ttl": 300,
                "data": { "priority": 0, "weight": 0, "port": 2380, "target": "etcd-1.example.com" }
            })
        );
    }

    #[test]
    fn the_marker_goes_in_the_comment_and_an_over_long_one_is_refused() {
        let mut spec = RecordSpec {
            name: "etcd-1.example.com".into(),
            ttl: 60,
            data: RecordData::A {
                content: "10.0.0.5".parse().unwrap(),
            },
            cluster: Some("example.com".into()),
        };
        assert_eq!(
            record_body(&spec).unwrap()["comment"],
            "heritage=rigger,rigger/cluster=example.com"
        );
        // 31 characters of marker, then the domain: 69 fit in 100.
        spec.cluster = Some(format!("{}.com", "a".repeat(65)));
        assert!(record_body(&spec).is_ok());
        spec.cluster = Some(format!("{}.com", "a".repeat(66)));
        let err = record_body(&spec).unwrap_err();
        assert!(err.message.contains("101 characters"), "{}", err.message);
        assert!(err.help.unwrap().contains("at most 69 characters"));
    }
}
