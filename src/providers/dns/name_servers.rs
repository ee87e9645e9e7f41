//! The addresses of a zone's own name servers, from their names (Cloudflare's zone lists
//! them): what `wait_resolves` asks when no `--dns-server` is given, as lego and
//! cert-manager ask the authoritative servers rather than a caching resolver.
//!
//! `RIGGER_NAME_SERVERS=ns1.example.test=127.0.0.1:5353,...` maps names to addresses
//! instead (for tests, whose name servers are local stand-ins). With it set, even to
//! nothing, a name it does not map is an error and every address must be loopback: a
//! test can never send a question beyond this machine, not even one whose mapping came
//! out empty.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::base::error::{Error, Result};

pub const OVERRIDE: &str = "RIGGER_NAME_SERVERS";

#[derive(Debug, Clone, Default)]
pub struct NameServers {
    overrides: Option<HashMap<String, SocketAddr>>,
}

impl NameServers {
    pub fn from_env() -> Result<Self> {
        Self::from_setting(std::env::var(OVERRIDE).ok().as_deref())
    }

    /// As `from_env`, given the variable's value (None: not set).
    fn from_setting(value: Option<&str>) -> Result<Self> {
        match value {
            Some(text) => Self::parse(text),
            None => Ok(Self::default()),
        }
    }

    /// The override's text (`name=IP:PORT,...`), as the environment variable holds it.
    pub fn parse(text: &str) -> Result<Self> {
        let mut map = HashMap::new();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, address) = pair.split_once('=').ok_or_else(|| {
                Error::invalid(format!("{OVERRIDE}: {pair:?} is not name=IP:PORT"))
            })?;
            let address: SocketAddr = address.trim().parse().map_err(|e| {
                Error::invalid(format!("{OVERRIDE}: {address:?} is not IP:PORT: {e}"))
            })?;
            if !address.ip().is_loopback() {
                return Err(Error::invalid(format!(
                    "{OVERRIDE}: {address} is not a loopback address; the override is for local stand-ins only"
                )));
            }
            map.insert(
                name.trim().trim_end_matches('.').to_ascii_lowercase(),
                address,
            );
        }
        Ok(Self {
            overrides: Some(map),
        })
    }

    /// The addresses of `names` (port 53 unless overridden); fails when none resolves.
    pub async fn addresses(&self, zone: &str, names: &[String]) -> Result<Vec<SocketAddr>> {
        if names.is_empty() {
            return Err(Error::missing(format!(
                "no name servers are listed for {zone}, so there is no server to ask"
            ))
            .with_help("give one with --dns-server IP:PORT"));
        }
        let mut out = Vec::new();
        let mut failures = Vec::new();
        for name in names {
            let key = name.trim_end_matches('.').to_ascii_lowercase();
            match &self.overrides {
                Some(map) => match map.get(&key) {
                    Some(address) => out.push(*address),
                    None => failures.push(format!("{name}: not in {OVERRIDE}")),
                },
                None => match tokio::net::lookup_host((key.as_str(), 53)).await {
                    Ok(found) => out.extend(found),
                    Err(e) => failures.push(format!("{name}: {e}")),
                },
            }
        }
        if out.is_empty() {
            return Err(Error::failed(format!(
                "none of the name servers of {zone} could be found: {}",
                failures.join("; ")
            ))
            .with_help("give one with --dns-server IP:PORT"));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `ns` gives for the name server `name` of `example.test`, or why it gives
    /// nothing.
    fn addresses(ns: &NameServers, name: &str) -> std::result::Result<Vec<SocketAddr>, String> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(ns.addresses("example.test", &[name.into()]))
            .map_err(|e| e.message)
    }

    #[test]
    fn an_override_maps_names_to_loopback_only() {
        let ns = NameServers::parse("NS1.example.test.=127.0.0.1:5353").unwrap();
        assert_eq!(
            addresses(&ns, "ns1.example.test").unwrap(),
            vec!["127.0.0.1:5353".parse().unwrap()]
        );
        let missing = addresses(&ns, "ns2.example.test").unwrap_err();
        assert!(missing.contains("ns2.example.test: not in"), "{missing}");
        assert!(NameServers::parse("ns1.example.test=192.0.2.1:53").is_err());
    }

    #[test]
    fn an_empty_override_maps_nothing_rather_than_asking_the_systems_resolver() {
        let ns = NameServers::from_setting(Some("")).unwrap();
        let asked = addresses(&ns, "ns1.example.test").unwrap_err();
        assert!(
            asked.contains("ns1.example.test: not in RIGGER_NAME_SERVERS"),
            "{asked}"
        );
    }
}
