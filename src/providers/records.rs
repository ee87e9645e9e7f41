//! DNS records as rigger handles them.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::base::names::{MARKER_PREFIX, check_name, check_srv_owner, cluster_name, in_zone};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum RecordData {
    A {
        content: Ipv4Addr,
    },
    AAAA {
        content: Ipv6Addr,
    },
    CNAME {
        content: String,
    },
    TXT {
        content: String,
    },
    SRV {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
}

impl RecordData {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::A { .. } => "A",
            Self::AAAA { .. } => "AAAA",
            Self::CNAME { .. } => "CNAME",
            Self::TXT { .. } => "TXT",
            Self::SRV { .. } => "SRV",
        }
    }

    /// The record's data as a zone file shows it.
    pub fn content(&self) -> String {
        match self {
            Self::A { content } => content.to_string(),
            Self::AAAA { content } => content.to_string(),
            Self::CNAME { content } => content.clone(),
            Self::TXT { content } => format!("{content:?}"),
            Self::SRV {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {target}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordSpec {
    /// Fully qualified, lowercase, without the trailing dot.
    pub name: String,
    pub ttl: u32,
    #[serde(flatten)]
    pub data: RecordData,
    /// The cluster (a domain) whose record this is, kept with the record where the
    /// provider can (`dns::marker`), so that a destroy without the state finds it. Absent
    /// from journals written before markers existed.
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub zone: String,
    #[serde(flatten)]
    pub spec: RecordSpec,
}

/// A record as a caller asks for one, checked on the way in whoever asks (a script, the
/// REPL): names as RFC 1035 has them, the fields its type needs, and the zone, when one
/// is named, holding the name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RecordFields")]
pub struct RecordRequest {
    pub spec: RecordSpec,
    /// The zone the caller says holds the name: then it is not looked for. A record read
    /// back carries its zone and goes back there; a planned one (a dry run's) has none.
    pub zone: Option<String>,
}

/// A record's fields as given, before they are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFields {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    content: Option<String>,
    ttl: Option<i64>,
    priority: Option<i64>,
    weight: Option<i64>,
    port: Option<i64>,
    target: Option<String>,
    #[serde(default, deserialize_with = "cluster_field")]
    cluster: Option<String>,
    #[serde(default, deserialize_with = "zone_field")]
    zone: Option<String>,
    /// A record read back has one; the request does not need it.
    #[serde(rename = "id")]
    _id: Option<serde::de::IgnoredAny>,
}

fn cluster_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextOrNone("a string (the cluster's domain) or ()"))
}

fn zone_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextOrNone("a string (a zone name) or ()"))
}

/// A text field that may be left out or `()`; anything else is refused saying what the
/// field is for.
struct TextOrNone(&'static str);

impl<'de> serde::de::Visitor<'de> for TextOrNone {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl TryFrom<RecordFields> for RecordRequest {
    type Error = String;

    fn try_from(f: RecordFields) -> Result<Self, String> {
        let kind = required("type", &f.kind)?.to_ascii_uppercase();
        let raw = required("name", &f.name)?;
        let name = match kind.as_str() {
            "SRV" => check_srv_owner(&raw),
            "TXT" => check_name(&raw, true),
            _ => check_name(&raw, false),
        }
        .map_err(|why| format!("{raw:?} is not a valid {kind} record name: {why}"))?;
        if name.starts_with(MARKER_PREFIX) {
            return Err(format!(
                "{name} starts with `{MARKER_PREFIX}`, which names rigger's ownership markers"
            ));
        }
        let cluster = f
            .cluster
            .as_ref()
            .map(|c| {
                cluster_name(c).map_err(|why| format!("`cluster` {c:?} is not a domain: {why}"))
            })
            .transpose()?;
        let ttl = f.ttl.unwrap_or(300);
        let ttl = u32::try_from(ttl)
            .ok()
            .filter(|t| *t >= 1)
            .ok_or_else(|| format!("`ttl` must be a positive number of seconds, got {ttl}"))?;
        let data = record_data(&kind, &f)?;
        let zone = match f.zone.as_ref().filter(|z| !z.is_empty()) {
            None => None,
            Some(zone) => {
                let zone = check_name(zone, false)
                    .map_err(|why| format!("`zone` {zone:?} is not a valid zone name: {why}"))?;
                if !in_zone(&name, &zone) {
                    return Err(format!(
                        "{name} is not in the zone {zone} the record names; a record's `zone` is the zone its name is in (or leave it out)"
                    ));
                }
                Some(zone)
            }
        };
        let spec = RecordSpec {
            name,
            ttl,
            data,
            cluster,
        };
        Ok(Self { spec, zone })
    }
}

/// A text field the record cannot do without.
fn required(key: &str, v: &Option<String>) -> Result<String, String> {
    v.clone()
        .ok_or_else(|| format!("`{key}` (a string) is required"))
}

/// The fields `kind` needs, each checked.
fn record_data(kind: &str, f: &RecordFields) -> Result<RecordData, String> {
    let host = |key: &str, v: &Option<String>| {
        let v = required(key, v)?;
        check_name(&v, false)
            .map_err(|why| format!("`{key}` {v:?} is not a valid host name: {why}"))
    };
    let port = |key: &str, v: Option<i64>| {
        let n = v.ok_or_else(|| format!("`{key}` (an integer) is required for this type"))?;
        u16::try_from(n).map_err(|_| format!("`{key}` must be 0..65535, got {n}"))
    };
    Ok(match kind {
        "A" => {
            let c = required("content", &f.content)?;
            let ip = c.parse();
            RecordData::A {
                content: ip.map_err(|_| format!("`content` {c:?} is not an IPv4 address"))?,
            }
        }
        "AAAA" => {
            let c = required("content", &f.content)?;
            let ip = c.parse();
            RecordData::AAAA {
                content: ip.map_err(|_| format!("`content` {c:?} is not an IPv6 address"))?,
            }
        }
        "CNAME" => RecordData::CNAME {
            content: host("content", &f.content)?,
        },
        "TXT" => RecordData::TXT {
            content: required("content", &f.content)?,
        },
        "SRV" => RecordData::SRV {
            priority: port("priority", Some(f.priority.unwrap_or(0)))?,
            weight: port("weight", Some(f.weight.unwrap_or(0)))?,
            port: port("port", f.port)?,
            target: host("target", &f.target)?,
        },
        other => {
            return Err(format!(
                "record type {other:?} is not supported (types: A, AAAA, CNAME, TXT, SRV)"
            ));
        }
    })
}

/// Why `new` cannot join `existing` at its name: a CNAME must be alone there
/// (RFC 1034 §3.6.2), and a zone's apex holds its SOA and NS, so it never has one.
pub fn cname_conflict<'a>(
    existing: impl IntoIterator<Item = &'a RecordSpec>,
    new: &RecordSpec,
    zone: &str,
) -> Option<String> {
    let is_cname = matches!(new.data, RecordData::CNAME { .. });
    if is_cname && new.name == zone {
        return Some(format!(
            "{} is the zone's apex, which holds its SOA and NS records; a CNAME cannot be there (RFC 1034 §3.6.2)",
            new.name
        ));
    }
    let other = existing
        .into_iter()
        .find(|r| r.name == new.name && (is_cname || matches!(r.data, RecordData::CNAME { .. })))?;
    Some(format!(
        "{} already has a{} {} record; a CNAME must be the only record at its name (RFC 1034 §3.6.2)",
        new.name,
        if other.data.type_name() == "A" || other.data.type_name() == "AAAA" {
            "n"
        } else {
            ""
        },
        other.data.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, data: RecordData) -> RecordSpec {
        RecordSpec {
            name: name.into(),
            ttl: 60,
            data,
            cluster: None,
        }
    }

    fn request(fields: serde_json::Value) -> Result<RecordRequest, String> {
        serde_json::from_value(fields).map_err(|e| e.to_string())
    }

    #[test]
    fn a_request_is_checked_and_given_its_defaults() {
        let asked = request(serde_json::json!({
            "name": "X.T.test.", "type": "a", "content": "198.18.0.9", "zone": "t.test"
        }))
        .unwrap();
        assert_eq!(asked.spec.name, "x.t.test");
        assert_eq!(asked.spec.ttl, 300);
        assert_eq!(asked.spec.data.type_name(), "A");
        assert_eq!(asked.zone.as_deref(), Some("t.test"));
        // A record read back (with its id, and no mark) asks for itself again.
        let back = request(serde_json::json!({
            "id": "r1", "name": "x.t.test", "type": "A", "content": "198.18.0.9",
            "ttl": 60, "cluster": null, "zone": ""
        }))
        .unwrap();
        assert_eq!((back.spec.ttl, back.zone), (60, None));
    }

    #[test]
    fn a_bad_request_says_which_field_and_why() {
        let srv = |extra: serde_json::Value| {
            let mut fields = serde_json::json!({
                "name": "_etcd-server-ssl._tcp.t.test", "type": "SRV", "target": "x.t.test"
            });
            fields
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            request(fields).unwrap_err()
        };
        assert!(srv(serde_json::json!({})).contains("`port` (an integer) is required"));
        assert!(
            request(serde_json::json!({"type": "A"}))
                .unwrap_err()
                .contains("`name` (a string) is required")
        );
        assert!(
            srv(serde_json::json!({"port": 70000})).contains("`port` must be 0..65535, got 70000")
        );
        assert!(srv(serde_json::json!({"port": 1, "bogus": 1})).contains("bogus"));
        assert!(
            srv(serde_json::json!({"port": 1, "zone": 5})).contains("a string (a zone name) or ()")
        );
        let a = |name: &str, extra: &str| {
            let fields =
                format!(r#"{{"name": "{name}", "type": "A", "content": "198.18.0.9"{extra}}}"#);
            serde_json::from_str::<RecordRequest>(&fields)
                .unwrap_err()
                .to_string()
        };
        let marker = serde_json::json!({"name": "_rigger-a-0123.x.t.test", "type": "TXT", "content": "mine"});
        assert!(request(marker).unwrap_err().contains("ownership markers"));
        assert!(
            a("x.t.test", r#", "zone": "other.test""#)
                .contains("x.t.test is not in the zone other.test")
        );
        assert!(a("x.t.test", r#", "ttl": 0"#).contains("`ttl` must be a positive number"));
        assert!(
            a("x.t.test", r#", "cluster": "test""#).contains("`cluster` \"test\" is not a domain")
        );
    }

    /// Journals written before markers existed have no `cluster`: they still read.
    #[test]
    fn a_spec_without_a_cluster_reads_as_unmarked() {
        let old = r#"{"name":"x.test","ttl":60,"type":"A","content":"198.18.1.1"}"#;
        let spec: RecordSpec = serde_json::from_str(old).unwrap();
        assert_eq!(spec.cluster, None);
        assert_eq!(spec.data.type_name(), "A");
    }

    #[test]
    fn a_cname_is_alone_at_its_name() {
        let a = spec(
            "x.test",
            RecordData::A {
                content: Ipv4Addr::LOCALHOST,
            },
        );
        let cname = spec(
            "x.test",
            RecordData::CNAME {
                content: "y.test".into(),
            },
        );
        let other = spec(
            "z.test",
            RecordData::CNAME {
                content: "y.test".into(),
            },
        );
        assert!(
            cname_conflict([&a], &cname, "test")
                .unwrap()
                .contains("an A record")
        );
        assert!(
            cname_conflict([&cname], &a, "test")
                .unwrap()
                .contains("CNAME")
        );
        assert!(cname_conflict([&a], &other, "test").is_none());
        assert!(
            cname_conflict(
                [],
                &spec(
                    "test",
                    RecordData::CNAME {
                        content: "y.test".into()
                    }
                ),
                "test"
            )
            .is_some()
        );
    }
}
