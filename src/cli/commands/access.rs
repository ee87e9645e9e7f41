//! How a client reaches a cluster rigger made, as `env` and `state show` print it: a
//! leaf both read, so that neither imports the other.

use serde::Serialize;

use crate::world::inventory::Access;

/// `ETCDCTL_*` as etcdctl reads them: every member's client URL, and the client
/// certificate (TLS clusters only).
#[derive(Serialize)]
pub struct Env<'a> {
    pub domain: &'a str,
    pub endpoints: &'a [String],
    pub cacert: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
}

impl<'a> Env<'a> {
    /// The access rigger keeps for the cluster of `domain`, as paths to show.
    pub fn of(domain: &'a str, access: &'a Access) -> Self {
        let path = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        Self {
            domain,
            endpoints: &access.endpoints,
            cacert: path(&access.cacert),
            cert: path(&access.cert),
            key: path(&access.key),
        }
    }
}
