//! What a run does on this machine itself: a cluster's certificates and the local files
//! scripts hand to nodes. A trait like the others, so a dry run can stand in for it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::base::error::Result;

/// A certificate and its key, as file paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    /// Where the leaf `name` lives in `dir`: `<name>.crt`, `<name>.key`.
    pub fn in_dir(dir: &Path, name: &str) -> Self {
        Self {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        }
    }
}

/// A certificate authority: its files and the folder its leaves are written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    pub name: String,
    pub dir: PathBuf,
    pub files: CertFiles,
}

impl CaFiles {
    pub fn at(name: &str, dir: &Path) -> Self {
        Self {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            files: CertFiles::in_dir(dir, "ca"),
        }
    }
}

/// What a leaf certificate is for and who it names.
#[derive(Debug, Clone, Default)]
pub struct LeafSpec {
    pub name: String,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub server: bool,
    pub client: bool,
}

pub trait Local: Send + Sync {
    /// The CA for `name`: where its files are, whether or not it exists yet.
    fn ca(&self, name: &str) -> CaFiles;
    /// Creates the CA if it does not exist; returns whether it was created now.
    fn ensure_ca(&self, ca: &CaFiles) -> Result<bool>;
    /// Issues a leaf signed by `ca`, written to the CA's folder.
    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> Result<CertFiles>;
    /// A local file's bytes.
    fn read(&self, path: &Path) -> Result<Vec<u8>>;
    /// Removes a file this run wrote; one already gone is fine.
    fn remove(&self, path: &Path) -> Result<()>;
}
