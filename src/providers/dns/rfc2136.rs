//! DNS on a server of the operator's own (BIND, Knot, PowerDNS, Windows DNS), changed
//! with RFC 2136 dynamic updates signed with TSIG. The key comes from the environment
//! (`RIGGER_TSIG_KEY_FILE`, a `tsig-keygen` key file, or `RIGGER_TSIG_KEY`, its text),
//! never from the command line. Updates and questions go to `--dns-server`, or, without
//! it, to the zone's primary as its SOA names it, found through `--resolver` (or this
//! machine's resolver); `wait_resolves` then waits on the zone's NS set.

mod primary;
mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use self::wire::{Change, QueryError, Rcode, RecordKind, TsigKey, UpdateError};
use super::zone_api::{Api, Outcomes, Sets, ZoneApi};
use super::{Dns, Zone};
use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::opening::Opening;
use crate::providers::{Record, RecordData, RecordSpec};

pub struct Rfc2136 {
    /// Where updates are sent and questions asked.
    primary: Primary,
    key: TsigKey,
}

/// The server that takes a zone's updates.
enum Primary {
    /// `--dns-server`: for every zone.
    Given(SocketAddr),
    /// Each zone's own, from its SOA, asked of the resolver; by apex once found.
    Found {
        resolver: primary::Resolver,
        zones: Mutex<HashMap<String, primary::Primary>>,
    },
}

/// The RFC 2136 backend of a run (its row in the backend table).
pub fn open(opening: &Opening) -> Result<Arc<dyn Dns>> {
    let primary = match (opening.dns_servers.first(), opening.resolver) {
        (Some(&server), _) => Primary::Given(server),
        (None, resolver) => Primary::Found {
            resolver: match resolver {
                Some(at) => primary::Resolver(at),
                None => primary::Resolver::of_this_machine()?,
            },
            zones: Mutex::default(),
        },
    };
    Ok(Arc::new(Api::new(Rfc2136 {
        primary,
        key: key_from(|name| std::env::var(name).ok())?,
    })))
}

/// The TSIG key, from a key file named in the environment or the key file's text.
fn key_from(var: impl Fn(&str) -> Option<String>) -> Result<TsigKey> {
    let (text, from) = match (var("RIGGER_TSIG_KEY_FILE"), var("RIGGER_TSIG_KEY")) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "both RIGGER_TSIG_KEY_FILE and RIGGER_TSIG_KEY are set; rigger will not guess which to use",
            ));
        }
        (Some(path), None) => (
            crate::base::secret_file::read("RIGGER_TSIG_KEY_FILE", &path)?,
            path,
        ),
        (None, Some(text)) => (text, "RIGGER_TSIG_KEY".to_string()),
        (None, None) => {
            return Err(Error::missing("--dns rfc2136 needs a TSIG key").with_help(
                "set RIGGER_TSIG_KEY_FILE to a key file as `tsig-keygen -a hmac-sha256 NAME` writes it",
            ));
        }
    };
    wire::parse_key_file(&text).map_err(|e| Error::invalid(format!("{from}: {e}")))
}

fn update_error(e: UpdateError) -> Error {
    let kind = match e {
        UpdateError::Refused { .. } | UpdateError::Tsig { .. } => ErrorKind::Permission,
        UpdateError::Timeout { .. } => ErrorKind::Timeout,
        _ => ErrorKind::Failed,
    };
    let help = matches!(e, UpdateError::Refused { .. } | UpdateError::Tsig { .. }).then_some(
        "check the key (name, algorithm, secret) and that the zone's update-policy grants it",
    );
    let error = Error::new(kind, e.to_string());
    match help {
        Some(h) => error.with_help(h),
        None => error,
    }
}

fn query_error(e: QueryError) -> Error {
    match e {
        QueryError::Timeout { .. } => Error::timeout(e.to_string()),
        other => Error::failed(other.to_string()),
    }
}

fn kinds(rtype: Option<&str>) -> Vec<RecordKind> {
    let all = [
        RecordKind::A,
        RecordKind::AAAA,
        RecordKind::CNAME,
        RecordKind::TXT,
        RecordKind::SRV,
    ];
    all.into_iter()
        .filter(|k| rtype.is_none_or(|t| k.to_string() == t))
        .collect()
}

/// A record as the server holds it: named by its own data, which is what identifies it.
fn record(zone: &Zone, spec: RecordSpec) -> Record {
    Record {
        id: format!(
            "{} {} {}",
            spec.name,
            spec.data.type_name(),
            spec.data.content()
        ),
        zone: zone.name.clone(),
        spec,
    }
}

fn zone(apex: String) -> Zone {
    Zone {
        id: apex.clone(),
        name: apex,
    }
}

impl Rfc2136 {
    /// One UPDATE of `zone` on its primary, signed with the run's key.
    async fn update(&self, zone: &Zone, specs: &[RecordSpec], change: Change) -> Result<()> {
        let server = self.server_of(&zone.name).await?;
        wire::update(server, &zone.name, &self.key, specs, change)
            .await
            .map_err(|e| self.update_error(e, &zone.name))
    }

    /// An update's error for the zone `apex`, saying where its primary came from when
    /// rigger found it.
    fn update_error(&self, e: UpdateError, apex: &str) -> Error {
        let mut error = update_error(e);
        if let Primary::Found { zones, .. } = &self.primary {
            let zones = zones.lock().expect("primaries");
            if let Some(p) = zones.get(apex) {
                error.message = format!(
                    "{} (the primary {}, as the SOA of {} names it)",
                    error.message, p.name, p.apex
                );
            }
        }
        error
    }

    /// The server holding `apex`: the one given, or the zone's primary.
    async fn server_of(&self, apex: &str) -> Result<SocketAddr> {
        match &self.primary {
            Primary::Given(server) => Ok(*server),
            Primary::Found { zones, .. } => {
                if let Some(p) = zones.lock().expect("primaries").get(apex) {
                    return Ok(p.at);
                }
                match self.found(apex).await? {
                    Some(p) => Ok(p.at),
                    None => Err(Error::not_found(format!("there is no zone {apex}"))),
                }
            }
        }
    }

    /// The primary of the zone `name` is in, asked of the resolver and kept by apex.
    async fn found(&self, name: &str) -> Result<Option<primary::Primary>> {
        let Primary::Found { resolver, zones } = &self.primary else {
            return Ok(None);
        };
        let found = resolver.primary(name).await?;
        if let Some(p) = &found {
            tracing::debug!(
                "the primary of {} is {} at {}, as its SOA names it",
                p.apex,
                p.name,
                p.at
            );
            zones
                .lock()
                .expect("primaries")
                .insert(p.apex.clone(), p.clone());
        }
        Ok(found)
    }

    /// The apex of the zone the primary holds `name` in, if it holds one (see
    /// [`wire::zone_of`]).
    async fn apex_of(&self, name: &str) -> Result<Option<String>> {
        let server = match &self.primary {
            Primary::Given(server) => *server,
            Primary::Found { .. } => match self.found(name).await? {
                Some(p) => p.at,
                None => return Ok(None),
            },
        };
        let mut tries = 0;
        loop {
            tries += 1;
            match wire::zone_of(server, name).await {
                // SERVFAIL is the server failing, not an answer about the zone: asked
                // again, as a resolver would, before it is taken as the error it is.
                Err(QueryError::Rcode { rcode, .. }) if rcode == Rcode::SERVFAIL && tries < 4 => {
                    tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                }
                // A referral: the name is in a zone of other servers, below a cut.
                Err(QueryError::NotAuthoritative { .. }) => {
                    return Err(Error::not_found(format!(
                        "{server} does not hold the zone of {name}: it answers for it without \
                         authority (delegated to other servers)"
                    ))
                    .with_help(self.zone_help()));
                }
                other => return other.map_err(query_error),
            }
        }
    }

    /// `spec` as the server holds it after an update that said NOERROR: a server
    /// ignores a CNAME beside other data (RFC 2136 §3.4.2.2) and still says NOERROR.
    async fn added(&self, zone: &Zone, spec: &RecordSpec) -> Result<Record> {
        if let RecordData::CNAME { .. } = spec.data {
            let now = self.records(zone, &spec.name, Some("CNAME")).await?;
            if !now.iter().any(|r| r.spec.data == spec.data) {
                return Err(Error::conflict(format!(
                    "{} at {} was not added: a CNAME cannot sit beside other records",
                    spec.name,
                    self.server_of(&zone.name).await?
                )));
            }
        }
        Ok(record(zone, spec.clone()))
    }
}

#[async_trait]
impl ZoneApi for Rfc2136 {
    fn service(&self) -> &'static str {
        "the RFC 2136 server"
    }

    fn zone_help(&self) -> &'static str {
        "the server must be the zone's primary and hold the zone (its SOA)"
    }

    async fn lookup_zone(&self, name: &str) -> Result<Option<Zone>> {
        let apex = self.apex_of(name).await?;
        let name = name.trim_end_matches('.');
        Ok(apex.filter(|a| a.eq_ignore_ascii_case(name)).map(zone))
    }

    /// One question, whatever the name's depth: the server names the zone in the SOA it
    /// answers with.
    async fn zone_holding(&self, name: &str) -> Option<Result<Option<Zone>>> {
        Some(self.apex_of(name).await.map(|apex| apex.map(zone)))
    }

    async fn records(&self, zone: &Zone, name: &str, rtype: Option<&str>) -> Result<Vec<Record>> {
        // Each type its own question, all at once: one round trip, not five.
        let server = self.server_of(&zone.name).await?;
        let answers = join_all(
            kinds(rtype)
                .into_iter()
                .map(|kind| wire::query(server, name, kind)),
        )
        .await;
        let mut out = Vec::new();
        for found in answers {
            let found = found.map_err(query_error)?;
            out.extend(found.into_iter().map(|spec| record(zone, spec)));
        }
        Ok(out)
    }

    async fn add(&self, zone: &Zone, spec: &RecordSpec, _existing: &[Record]) -> Result<Record> {
        self.update(zone, std::slice::from_ref(spec), Change::Add)
            .await?;
        self.added(zone, spec).await
    }

    /// One UPDATE message for all of them, which the server applies whole.
    async fn add_all(&self, zone: &Zone, specs: &[RecordSpec], _existing: &Sets) -> Outcomes {
        if let Err(e) = self.update(zone, specs, Change::Add).await {
            return specs.iter().map(|_| Err(e.clone())).collect();
        }
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            out.push(self.added(zone, spec).await);
        }
        out
    }

    /// One UPDATE on the condition that none of their RRsets exists yet: a new cluster's
    /// records go in without reading first; when one set exists (a retried run, a
    /// shared name), the server changes nothing and the names are read.
    async fn add_all_unread(&self, zone: &Zone, specs: &[RecordSpec]) -> Option<Outcomes> {
        let server = match self.server_of(&zone.name).await {
            Ok(s) => s,
            Err(e) => return Some(specs.iter().map(|_| Err(e.clone())).collect()),
        };
        match wire::update(server, &zone.name, &self.key, specs, Change::AddNew).await {
            Err(e) if e.is_yxrrset() => None,
            Err(e) => {
                let e = self.update_error(e, &zone.name);
                Some(specs.iter().map(|_| Err(e.clone())).collect())
            }
            Ok(()) => Some(join_all(specs.iter().map(|spec| self.added(zone, spec))).await),
        }
    }

    async fn remove(&self, zone: &Zone, record: &Record) -> Result<()> {
        self.update(zone, std::slice::from_ref(&record.spec), Change::Delete)
            .await
    }

    /// One UPDATE message for all of them; deleting an RR that is not there succeeds.
    async fn remove_all(&self, zone: &Zone, records: &[Record]) -> Vec<Result<()>> {
        let specs: Vec<RecordSpec> = records.iter().map(|r| r.spec.clone()).collect();
        let outcome = self.update(zone, &specs, Change::Delete).await;
        records.iter().map(|_| outcome.clone()).collect()
    }

    /// Updates and questions go to the one server given (`--dns-server`); without it,
    /// the zone's NS set is asked.
    fn given_servers(&self) -> &[SocketAddr] {
        match &self.primary {
            Primary::Given(server) => std::slice::from_ref(server),
            Primary::Found { .. } => &[],
        }
    }

    async fn servers(&self, zone: &Zone) -> Result<Vec<SocketAddr>> {
        match &self.primary {
            Primary::Given(server) => Ok(vec![*server]),
            Primary::Found { resolver, .. } => resolver.name_servers(&zone.name).await,
        }
    }

    /// Records on a server of the user's carry no marker: finding markers again would
    /// take a zone transfer (AXFR), which rigger does not do.
    async fn marked(&self, zone: &Zone, _cluster: &str) -> Result<Vec<Record>> {
        Err(Error::invalid(format!(
            "records rigger publishes on an RFC 2136 server carry no ownership marker, so those in {} can only be found through the state dir",
            zone.name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_one_place_and_its_secret_is_never_shown() {
        let text = "key \"k\" { algorithm hmac-sha256; secret \"c2VjcmV0c2VjcmV0\"; };";
        let key = key_from(|n| (n == "RIGGER_TSIG_KEY").then(|| text.to_string())).unwrap();
        assert!(!format!("{key:?}").contains("c2VjcmV0c2VjcmV0"));
        let both = key_from(|_| Some(text.to_string())).unwrap_err();
        assert!(both.message.contains("both"), "{}", both.message);
        assert_eq!(key_from(|_| None).unwrap_err().kind, ErrorKind::Missing);
    }
}
