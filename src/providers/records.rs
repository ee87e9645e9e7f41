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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub zone: String,
    #[serde(flatten)]
    pub spec: RecordSpec,
}
