//! The rules DNS names must satisfy before anything is sent anywhere.

/// Checks a host name (RFC 1035 labels: letters, digits, hyphens, not at either end,
/// 1-63 characters; at most 253 in all) and returns it lowercase without a final dot.
/// `underscore_ok` admits `_service._proto` labels (SRV owners and TXT names).
pub fn check_name(name: &str, underscore_ok: bool) -> Result<String, String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("the name is empty".into());
    }
    if trimmed.len() > 253 {
        return Err(format!(
            "{} characters is longer than the 253 a DNS name may have",
            trimmed.len()
        ));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!("the label {label:?} is longer than 63 characters"));
        }
        let body = if underscore_ok {
            label.strip_prefix('_').unwrap_or(label)
        } else {
            label
        };
        if let Some(bad) = body
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "the label {label:?} has {bad:?}; labels hold letters, digits and hyphens{}",
                if underscore_ok {
                    " (and may start with '_')"
                } else {
                    ""
                }
            ));
        }
        if body.starts_with('-') || body.ends_with('-') {
            return Err(format!("the label {label:?} starts or ends with a hyphen"));
        }
    }
    Ok(trimmed.to_ascii_lowercase())
}

/// Checks a name that becomes a file name (a process's `<name>.log`): 1 to 64 letters,
/// digits, '.', '_' or '-', not starting with '.', so it can never leave its folder.
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 64 {
        return Err(format!("{} characters is more than 64", name.len()));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "it has {bad:?}; use letters, digits, '.', '_' and '-'"
        ));
    }
    if name.starts_with('.') {
        return Err("it starts with '.'".into());
    }
    Ok(())
}

/// The first label's prefix of rigger's ownership markers (TXT records that say whose
/// a record is): no name etcd or anyone reads starts so (etcd's own start with `_etcd-`,
/// host names with a letter or digit), and a record of a script's own may not take it.
pub const MARKER_PREFIX: &str = "_rigger-";

/// SRV owners are `_service._proto.domain` (RFC 2782).
pub fn check_srv_owner(name: &str) -> Result<String, String> {
    let name = check_name(name, true)?;
    let mut labels = name.split('.');
    let service = labels.next().unwrap_or_default();
    let proto = labels.next().unwrap_or_default();
    if !service.starts_with('_') || !proto.starts_with('_') || labels.next().is_none() {
        return Err(format!(
            "an SRV record's name is _service._proto.domain (e.g. _etcd-server-ssl._tcp.example.com), not {name:?}"
        ));
    }
    if service.contains('_') && service[1..].contains('_') {
        return Err(format!(
            "the service label {service:?} has an underscore inside; etcd's are spelt with hyphens (_etcd-client-ssl)"
        ));
    }
    Ok(name)
}

/// `name` as a cluster's `--discovery-srv-name`: one label (etcd puts it after the
/// service label, `_etcd-server-ssl-NAME._tcp`), returned lowercase.
pub fn check_label(name: &str) -> Result<String, String> {
    if name.contains('.') {
        return Err(format!("{name:?} is not one DNS label"));
    }
    check_name(name, false)
}

/// A cluster's key as the state writes it, `DOMAIN` or `DOMAIN/NAME`, split into its
/// domain and its `--discovery-srv-name`.
pub fn split_cluster(key: &str) -> (&str, Option<&str>) {
    match key.split_once('/') {
        Some((domain, name)) => (domain, Some(name)),
        None => (key, None),
    }
}

/// A cluster as scripts, the state and the command line name it: the discovery domain
/// its SRV records go under and, for one of several clusters sharing that domain, its
/// `--discovery-srv-name`. Written `DOMAIN` or `DOMAIN/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterKey {
    pub domain: String,
    pub name: Option<String>,
}

impl ClusterKey {
    /// `DOMAIN` or `DOMAIN/NAME` checked: the domain a host name, the name one label.
    pub fn parse(key: &str) -> Result<Self, String> {
        let (domain, name) = split_cluster(key);
        let domain = check_name(domain, false)?;
        let name = name
            .map(|n| check_label(n).map_err(|why| format!("its name after '/': {why}")))
            .transpose()?;
        Ok(Self { domain, name })
    }

    /// Its folder under a state dir's `pki/` or `snapshots/`: `DOMAIN`, `DOMAIN/NAME`.
    pub fn folder(&self) -> std::path::PathBuf {
        let domain = std::path::PathBuf::from(&self.domain);
        match &self.name {
            Some(name) => domain.join(name),
            None => domain,
        }
    }
}

impl std::fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{name}", self.domain),
            None => f.write_str(&self.domain),
        }
    }
}

/// `name` as a cluster's name in ownership markers and `destroy --cluster`: a domain as
/// rigger writes them, of two labels or more (the zone that holds it is searched, and a
/// bare top-level domain is no zone of anybody's); for a cluster with etcd's
/// `--discovery-srv-name`, `DOMAIN/NAME`, NAME one label.
pub fn cluster_name(name: &str) -> Result<String, String> {
    if let (domain, Some(service)) = split_cluster(name) {
        return Ok(format!(
            "{}/{}",
            cluster_name(domain)?,
            check_label(service)?
        ));
    }
    let name = check_name(name, false)?;
    if !name.contains('.') {
        return Err(format!(
            "{name} is a bare top-level domain; a cluster's domain is one below it (example.com)"
        ));
    }
    Ok(name)
}

/// The zones that could hold `name`, longest first: every suffix of two or more labels
/// that is not a `_service` / `_proto` label (those never start a zone).
pub fn zone_candidates(name: &str) -> Vec<String> {
    let labels: Vec<&str> = name.split('.').collect();
    (0..labels.len().saturating_sub(1))
        .filter(|&start| !labels[start].starts_with('_'))
        .map(|start| labels[start..].join("."))
        .collect()
}

/// Whether `name` is `zone` or inside it.
pub fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_key_is_a_domain_and_maybe_a_name() {
        let key = ClusterKey::parse("Example.TEST/prod").unwrap();
        assert_eq!(key.domain, "example.test");
        assert_eq!(key.name.as_deref(), Some("prod"));
        assert_eq!(key.to_string(), "example.test/prod");
        let plain = ClusterKey::parse("example.test").unwrap();
        assert_eq!((plain.name, plain.domain.as_str()), (None, "example.test"));
        let why = ClusterKey::parse("example.test/a.b").unwrap_err();
        assert!(why.contains("its name after '/'"), "{why}");
        assert!(ClusterKey::parse("example.test/").is_err());
        assert!(ClusterKey::parse("bad_domain/prod").is_err());
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(
            check_name("Etcd-1.Example.TEST.", false).unwrap(),
            "etcd-1.example.test"
        );
    }

    #[test]
    fn bad_names_are_rejected_with_the_reason() {
        assert!(
            check_name("bad_name.example.test", false)
                .unwrap_err()
                .contains("'_'")
        );
        assert!(
            check_name("-x.example.test", false)
                .unwrap_err()
                .contains("hyphen")
        );
        assert!(
            check_name("a..b", false)
                .unwrap_err()
                .contains("empty label")
        );
        assert!(
            check_name(&"a".repeat(64), false)
                .unwrap_err()
                .contains("63")
        );
        let long = vec!["abcdefghi"; 30].join(".");
        assert!(check_name(&long, false).unwrap_err().contains("253"));
        assert!(check_name("", false).is_err());
    }

    #[test]
    fn srv_owners_need_service_and_proto_labels() {
        assert_eq!(
            check_srv_owner("_etcd-server-ssl._tcp.example.test").unwrap(),
            "_etcd-server-ssl._tcp.example.test"
        );
        assert!(check_srv_owner("etcd.example.test").is_err());
        assert!(
            check_srv_owner("_etcd_client._tcp.example.test")
                .unwrap_err()
                .contains("hyphens")
        );
    }

    #[test]
    fn zone_candidates_skip_service_labels() {
        assert_eq!(
            zone_candidates("_etcd-server-ssl._tcp.a.example.test"),
            ["a.example.test", "example.test"]
        );
        assert!(zone_candidates("test").is_empty());
    }

    #[test]
    fn zone_membership_is_by_whole_labels() {
        assert!(in_zone("a.example.test", "example.test"));
        assert!(in_zone("example.test", "example.test"));
        assert!(!in_zone("aexample.test", "example.test"));
    }
}
