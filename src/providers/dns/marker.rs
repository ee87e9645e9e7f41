//! Ownership markers: how a record says which cluster it belongs to, so that a destroy
//! whose state is lost finds it as `--aws-cluster-tag` finds instances.
//!
//! The text is external-dns's convention with rigger's names,
//! `heritage=rigger,rigger/cluster=<domain>`. Cloudflare keeps it in the record's
//! `comment`. Route 53 has nowhere on a record to keep it, so it goes in a TXT record
//! of its own at a name made from the marked value (see [`txt_name`]): one marker per
//! value, since one Route 53 set holds values of several owners.
//!
//! What follows is read back from zones that rigger wrote long ago: the text, the
//! name's shape and the digest must never change.

use uuid::Uuid;

use crate::base::names::MARKER_PREFIX;
use crate::providers::{RecordData, RecordSpec};

const HERITAGE: &str = "heritage=rigger,rigger/cluster=";

/// Hex digits of the value's digest in a marker's name: 48 bits, for the few values
/// of one name and type.
const DIGEST_HEX: usize = 12;

/// A fixed namespace for the digest (UUID v5 is SHA-1 under a namespace, stable by RFC).
const NAMESPACE: Uuid = Uuid::from_u128(0x5d3c_7a2e_91b4_4f0e_8c61_2b7d_e0a9_3f14);

/// The marker of `cluster`.
pub fn text(cluster: &str) -> String {
    format!("{HERITAGE}{cluster}")
}

/// The cluster a marker names; `None` for any other text (a comment of the user's).
pub fn cluster_of(text: &str) -> Option<&str> {
    text.strip_prefix(HERITAGE).filter(|c| !c.is_empty())
}

/// The value as the digest reads it: type and data, in one fixed form that no display
/// function may change.
fn canonical(data: &RecordData) -> String {
    match data {
        RecordData::A { content } => format!("A {content}"),
        RecordData::AAAA { content } => format!("AAAA {content}"),
        RecordData::CNAME { content } => format!("CNAME {content}"),
        RecordData::TXT { content } => format!("TXT {content}"),
        RecordData::SRV {
            priority,
            weight,
            port,
            target,
        } => format!("SRV {priority} {weight} {port} {target}"),
    }
}

fn digest(name: &str, data: &RecordData) -> String {
    let input = format!("{name} {}", canonical(data));
    Uuid::new_v5(&NAMESPACE, input.as_bytes())
        .simple()
        .to_string()[..DIGEST_HEX]
        .to_string()
}

/// Where the TXT marker of `spec`'s value lives: a child of its name,
/// `_rigger-<type>-<digest>.<name>` (a child, not a sibling, so that a CNAME's marker
/// does not sit beside it, and no label grows past 63). Longer than the 253
/// characters a name may have, it is no name: `Err` says how long it would be.
pub fn txt_name(spec: &RecordSpec) -> Result<String, usize> {
    let name = format!(
        "{MARKER_PREFIX}{}-{}.{}",
        spec.data.type_name().to_ascii_lowercase(),
        digest(&spec.name, &spec.data),
        spec.name
    );
    if name.len() > 253 {
        return Err(name.len());
    }
    Ok(name)
}

/// What a TXT marker's name says: the marked name, its type, and the value's digest.
pub struct MarkedName<'a> {
    pub name: &'a str,
    pub rtype: String,
    digest: &'a str,
}

impl MarkedName<'_> {
    /// Whether `data` at this name is the value the marker names.
    pub fn marks(&self, data: &RecordData) -> bool {
        data.type_name() == self.rtype && digest(self.name, data) == self.digest
    }
}

/// Reads a name made by [`txt_name`]; `None` for every other name.
pub fn parse_txt_name(name: &str) -> Option<MarkedName<'_>> {
    let (label, rest) = name.split_once('.')?;
    let (rtype, digest) = label.strip_prefix(MARKER_PREFIX)?.split_once('-')?;
    let known = ["a", "aaaa", "cname", "txt", "srv"];
    (known.contains(&rtype)
        && digest.len() == DIGEST_HEX
        && digest.bytes().all(|b| b.is_ascii_hexdigit()))
    .then(|| MarkedName {
        name: rest,
        rtype: rtype.to_ascii_uppercase(),
        digest,
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A peer record of `example.com`'s cluster, to `target`.
    pub fn srv(target: &str) -> RecordSpec {
        RecordSpec {
            name: "_etcd-server-ssl._tcp.example.com".into(),
            ttl: 300,
            data: RecordData::SRV {
                priority: 0,
                weight: 0,
                port: 2380,
                target: target.into(),
            },
            cluster: Some("example.com".into()),
        }
    }

    #[test]
    fn a_marker_names_its_cluster_and_nothing_else_is_one() {
        assert_eq!(
            text("example.com"),
            "heritage=rigger,rigger/cluster=example.com"
        );
        assert_eq!(cluster_of(&text("example.com")), Some("example.com"));
        assert_eq!(cluster_of("heritage=rigger,rigger/cluster="), None);
        assert_eq!(cluster_of("managed by hand"), None);
        assert_eq!(
            cluster_of("heritage=external-dns,external-dns/owner=default"),
            None
        );
    }

    /// The digest is part of names already in zones: this pins it (UUID v5 of the
    /// canonical form, as Python's `uuid.uuid5` computes it too).
    #[test]
    fn marker_names_are_stable_children_of_the_marked_name() {
        let name = txt_name(&srv("etcd-1.example.com")).unwrap();
        assert_eq!(
            name,
            "_rigger-srv-815573a49bac._etcd-server-ssl._tcp.example.com"
        );
        let parsed = parse_txt_name(&name).unwrap();
        assert_eq!(parsed.name, "_etcd-server-ssl._tcp.example.com");
        assert!(parsed.marks(&srv("etcd-1.example.com").data));
        assert!(!parsed.marks(&srv("etcd-2.example.com").data));
        // Two values of one set have markers of their own.
        assert_ne!(name, txt_name(&srv("etcd-2.example.com")).unwrap());
    }

    #[test]
    fn only_marker_names_parse_as_markers() {
        for name in [
            "_etcd-server-ssl._tcp.example.com",
            "etcd-1.example.com",
            "_rigger-srv.example.com",
            "_rigger-srv-0123456789ab",
            "_rigger-mx-0123456789ab.example.com",
            "_rigger-a-0123456789zz.example.com",
        ] {
            assert!(parse_txt_name(name).is_none(), "{name}");
        }
    }

    #[test]
    fn a_name_too_long_for_its_marker_has_none() {
        let long = format!(
            "{}.{}.example.com",
            vec!["a".repeat(60); 3].join("."),
            "b".repeat(39)
        );
        let spec = RecordSpec {
            name: long,
            ttl: 60,
            data: RecordData::A {
                content: "10.0.0.5".parse().unwrap(),
            },
            cluster: Some("example.com".into()),
        };
        assert!(spec.name.len() <= 253 && spec.name.len() + 23 > 253);
        assert_eq!(txt_name(&spec), Err(spec.name.len() + 23));
    }
}
