//! The client certificate rigger presents to an etcd cluster.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The client certificate a health check presents (paths only: a journal may keep
/// them, to remove a member it added).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}
