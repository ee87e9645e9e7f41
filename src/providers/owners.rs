//! The SRV owner names etcd and its clients read under a discovery domain, with etcd's
//! `--discovery-srv-name` after the service label when a cluster has one.

/// The four names etcd and its clients read: peers and clients, over TLS and not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owners {
    pub server_ssl: String,
    pub server: String,
    pub client_ssl: String,
    pub client: String,
}

impl Owners {
    /// As etcd builds them: `_etcd-server-ssl[-NAME]._tcp.DOMAIN`, ...
    pub fn new(domain: &str, service_name: Option<&str>) -> Self {
        let owner = |service: &str| format!("_{}._tcp.{domain}", label(service, service_name));
        Self {
            server_ssl: owner("etcd-server-ssl"),
            server: owner("etcd-server"),
            client_ssl: owner("etcd-client-ssl"),
            client: owner("etcd-client"),
        }
    }

    pub fn all(&self) -> [&str; 4] {
        [
            &self.server_ssl,
            &self.server,
            &self.client_ssl,
            &self.client,
        ]
    }

    pub fn is_server(&self, owner: &str) -> bool {
        owner == self.server_ssl || owner == self.server
    }
}

pub fn label(service: &str, service_name: Option<&str>) -> String {
    match service_name {
        Some(name) => format!("{service}-{name}"),
        None => service.to_string(),
    }
}
