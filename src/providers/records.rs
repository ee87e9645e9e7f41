//! DNS records as rigger handles them.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

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
