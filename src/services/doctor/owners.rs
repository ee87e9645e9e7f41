//! The SRV owner names etcd looks up under a discovery domain, and the misspellings of
//! them that people publish instead (etcd-io/etcd#13691): DNS cannot be listed, so the
//! doctor asks for each likely one by name.

pub use crate::providers::owners::Owners;
use crate::providers::owners::label;

/// A name that is not one etcd reads, but one it was most likely meant to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misspelt {
    pub owner: String,
    /// The name etcd reads.
    pub meant: String,
    /// How the two differ, as a clause: "has an underscore where etcd has a hyphen".
    pub how: &'static str,
}

/// The likely misspellings of each of the four names.
pub fn misspellings(domain: &str, service_name: Option<&str>) -> Vec<Misspelt> {
    let owners = Owners::new(domain, service_name);
    let mut out = Vec::new();
    for (service, meant) in [
        ("etcd-server-ssl", &owners.server_ssl),
        ("etcd-server", &owners.server),
        ("etcd-client-ssl", &owners.client_ssl),
        ("etcd-client", &owners.client),
    ] {
        let full = label(service, service_name);
        let mut push = |owner: String, how| {
            out.push(Misspelt {
                owner,
                meant: meant.clone(),
                how,
            });
        };
        // Every way of writing the hyphens of etcd's own part as underscores.
        let hyphens: Vec<usize> = service.match_indices('-').map(|(i, _)| i).collect();
        for mask in 1..(1u32 << hyphens.len()) {
            let mut bytes = full.clone().into_bytes();
            for (bit, &at) in hyphens.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    bytes[at] = b'_';
                }
            }
            let spelt = String::from_utf8(bytes).expect("ASCII in, ASCII out");
            push(
                format!("_{spelt}._tcp.{domain}"),
                "has an underscore where etcd's name has a hyphen",
            );
        }
        push(format!("_{full}.{domain}"), "has no _tcp label");
        push(
            format!("_{full}._udp.{domain}"),
            "says _udp where etcd's says _tcp",
        );
        push(
            format!("{full}._tcp.{domain}"),
            "lacks the leading underscore",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_s_names_take_the_service_name_suffix() {
        let o = Owners::new("d.test", Some("blue"));
        assert_eq!(o.server_ssl, "_etcd-server-ssl-blue._tcp.d.test");
        assert_eq!(o.client, "_etcd-client-blue._tcp.d.test");
        assert!(o.is_server("_etcd-server-blue._tcp.d.test"));
        assert!(!o.is_server(&o.client_ssl));
    }

    #[test]
    fn the_misspellings_people_publish_are_asked_for() {
        let all = misspellings("d.test", None);
        let owners: Vec<&str> = all.iter().map(|m| m.owner.as_str()).collect();
        for seen in [
            // etcd-io/etcd#13691
            "_etcd_client._tcp.d.test",
            "_etcd_server-ssl._tcp.d.test",
            "_etcd_server_ssl._tcp.d.test",
            "_etcd-server-ssl.d.test",
            "_etcd-server._udp.d.test",
            "etcd-client-ssl._tcp.d.test",
        ] {
            assert!(owners.contains(&seen), "{seen} in {owners:?}");
        }
        let meant = all
            .iter()
            .find(|m| m.owner == "_etcd_client-ssl._tcp.d.test");
        assert_eq!(meant.unwrap().meant, "_etcd-client-ssl._tcp.d.test");
        // None of them is a name etcd reads.
        let right = Owners::new("d.test", None);
        assert!(owners.iter().all(|o| !right.all().contains(o)));
        // A suffix's own hyphens are the user's, not misspellings.
        let named = misspellings("d.test", Some("a-b"));
        assert!(named.iter().all(|m| m.owner.contains("a-b")));
    }
}
