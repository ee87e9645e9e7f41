//! DNS on a server of the operator's own (BIND, Knot, PowerDNS, Windows DNS), changed
//! with RFC 2136 dynamic updates signed with TSIG. The key comes from the environment
//! (`RIGGER_TSIG_KEY_FILE`, a `tsig-keygen` key file, or `RIGGER_TSIG_KEY`, its text),
//! never from the command line; updates and questions go to `--dns-server`.

mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
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
    /// The zone's primary: where updates are sent and questions asked.
    server: SocketAddr,
    key: TsigKey,
}

/// The RFC 2136 backend of a run (its row in the backend table).
pub fn open(opening: &Opening) -> Result<Arc<dyn Dns>> {
    let server = *opening.dns_servers.first().ok_or_else(|| {
        Error::missing("--dns rfc2136 needs --dns-server IP:PORT, the zone's primary server")
            .with_help("finding the primary from the zone's SOA record is not built yet")
    })?;
    Ok(Arc::new(Api::new(Rfc2136 {
        server,
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
    /// One UPDATE of `zone` on the server, signed with the run's key.
    async fn update(
        &self,
        zone: &Zone,
        specs: &[RecordSpec],
        change: Change,
    ) -> std::result::Result<(), UpdateError> {
        wire::update(self.server, &zone.name, &self.key, specs, change).await
    }

    /// The apex of the zone the server holds `name` in, if it holds one (see
    /// [`wire::zone_of`]).
    async fn apex_of(&self, name: &str) -> Result<Option<String>> {
        let mut tries = 0;
        loop {
            tries += 1;
            match wire::zone_of(self.server, name).await {
                // SERVFAIL is the server failing, not an answer about the zone: asked
                // again, as a resolver would, before it is taken as the error it is.
                Err(QueryError::Rcode { rcode, .. }) if rcode == Rcode::SERVFAIL && tries < 4 => {
                    tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                }
                // A referral: the name is in a zone of other servers, below a cut.
                Err(QueryError::NotAuthoritative { .. }) => {
                    return Err(Error::not_found(format!(
                        "{} does not hold the zone of {name}: it answers for it without \
                         authority (delegated to other servers)",
                        self.server
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
                    spec.name, self.server
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
        let answers = join_all(
            kinds(rtype)
                .into_iter()
                .map(|kind| wire::query(self.server, name, kind)),
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
            .await
            .map_err(update_error)?;
        self.added(zone, spec).await
    }

    /// One UPDATE message for all of them, which the server applies whole.
    async fn add_all(&self, zone: &Zone, specs: &[RecordSpec], _existing: &Sets) -> Outcomes {
        if let Err(e) = self.update(zone, specs, Change::Add).await {
            let e = update_error(e);
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
        match self.update(zone, specs, Change::AddNew).await {
            Err(e) if e.is_yxrrset() => None,
            Err(e) => {
                let e = update_error(e);
                Some(specs.iter().map(|_| Err(e.clone())).collect())
            }
            Ok(()) => Some(join_all(specs.iter().map(|spec| self.added(zone, spec))).await),
        }
    }

    async fn remove(&self, zone: &Zone, record: &Record) -> Result<()> {
        self.update(zone, std::slice::from_ref(&record.spec), Change::Delete)
            .await
            .map_err(update_error)
    }

    /// One UPDATE message for all of them; deleting an RR that is not there succeeds.
    async fn remove_all(&self, zone: &Zone, records: &[Record]) -> Vec<Result<()>> {
        let specs: Vec<RecordSpec> = records.iter().map(|r| r.spec.clone()).collect();
        let outcome = self
            .update(zone, &specs, Change::Delete)
            .await
            .map_err(update_error);
        records.iter().map(|_| outcome.clone()).collect()
    }

    /// Updates and questions go to the one server given (`--dns-server`).
    fn given_servers(&self) -> &[SocketAddr] {
        std::slice::from_ref(&self.server)
    }

    async fn servers(&self, _zone: &Zone) -> Result<Vec<SocketAddr>> {
        Ok(vec![self.server])
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
