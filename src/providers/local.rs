//! What a run does on this machine itself: a cluster's certificates and the local files
//! scripts hand to nodes. A trait like the others, so a dry run can stand in for it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::base::error::Result;
use crate::base::names::check_name;

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

/// What a leaf certificate is for and who it names. Read from a script's spec, it is
/// checked as it is read: a name that is one label and never the CA's own (it becomes
/// a file name), SANs that are DNS names and addresses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "LeafRequest")]
pub struct LeafSpec {
    pub name: String,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub server: bool,
    pub client: bool,
    /// How many days it is valid from its issue; None for a year, to the same date
    /// (capped at its CA's end either way).
    pub days: Option<u32>,
    /// Its subject's common name, when it is not `name`: etcd takes a client's user
    /// from it once auth is on.
    pub cn: Option<String>,
}

/// A leaf's life unless told, in years: one, as kubeadm's and etcdadm's.
pub const LEAF_YEARS: i32 = 1;
/// A CA's life unless told, in years: ten, as kubeadm's.
pub const CA_YEARS: i32 = 10;
/// The longest a leaf may be made to live: ten years.
pub const MAX_LEAF_DAYS: u32 = 3650;
/// The longest a CA may be made to live: a hundred years.
pub const MAX_CA_DAYS: u32 = 36500;

/// A leaf spec as a script writes it; `server` and `client` (extended key usages) are
/// both on unless turned off, as etcd peers need both.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeafRequest {
    name: Option<String>,
    #[serde(default)]
    dns: Vec<String>,
    #[serde(default)]
    ips: Vec<String>,
    #[serde(default = "on")]
    server: bool,
    #[serde(default = "on")]
    client: bool,
    days: Option<i64>,
    cn: Option<String>,
}

fn on() -> bool {
    true
}

impl TryFrom<LeafRequest> for LeafSpec {
    /// Led by the field it is about (`name`, `dns`, `ips`).
    type Error = String;

    fn try_from(r: LeafRequest) -> std::result::Result<Self, String> {
        let name = r.name.ok_or("name (a string) is required")?;
        if check_name(&name, false).is_err() || name.contains('.') || name == "ca" {
            return Err(format!(
                "name {name:?} must be one label (letters, digits, hyphens), not \"ca\""
            ));
        }
        let mut dns = Vec::with_capacity(r.dns.len());
        for d in r.dns {
            let why = |why| format!("dns {d:?} is not a valid DNS SAN: {why}");
            dns.push(check_name(&d, false).map_err(why)?);
        }
        let mut ips = Vec::with_capacity(r.ips.len());
        for i in r.ips {
            ips.push(
                i.parse()
                    .map_err(|_| format!("ips {i:?} is not an IP address"))?,
            );
        }
        let days = match r.days {
            None => None,
            Some(d) if (1..=i64::from(MAX_LEAF_DAYS)).contains(&d) => Some(d as u32),
            Some(d) => {
                return Err(format!(
                    "days {d} is not a leaf's life: 1 to {MAX_LEAF_DAYS} days"
                ));
            }
        };
        if let Some(cn) = &r.cn
            && (cn.is_empty() || cn.len() > 64 || cn.chars().any(|c| c.is_control()))
        {
            return Err(format!(
                "cn {cn:?} is not a common name: 1 to 64 characters, none a control character"
            ));
        }
        Ok(Self {
            name,
            dns,
            ips,
            server: r.server,
            client: r.client,
            days,
            cn: r.cn,
        })
    }
}

pub trait Local: Send + Sync {
    /// The CA for `name`: where its files are, whether or not it exists yet.
    fn ca(&self, name: &str) -> CaFiles;
    /// Creates the CA if it does not exist, valid `days` from now (None: ten years, to
    /// the same date); returns whether it was created now.
    fn ensure_ca(&self, ca: &CaFiles, days: Option<u32>) -> Result<bool>;
    /// Issues a leaf signed by `ca`, written to the CA's folder.
    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> Result<CertFiles>;
    /// The CA that is to follow `ca` (`ca-next.crt`, `ca-next.key` beside it), made valid
    /// `days` (None: ten years) unless one is there already, which is kept.
    fn next_ca(&self, ca: &CaFiles, days: Option<u32>) -> Result<CaFiles>;
    /// Rewrites `ca`'s certificate file as the bundle rigger and the members trust: the
    /// CA that signs (its first certificate) followed by those of the files `also`.
    fn trust(&self, ca: &CaFiles, also: &[PathBuf]) -> Result<()>;
    /// Makes `next` the CA that signs: its certificate first in `ca`'s bundle (the old
    /// ones kept after it), its key `ca`'s key; its own files then go.
    fn promote(&self, ca: &CaFiles, next: &CaFiles) -> Result<()>;
    /// A local file's bytes.
    fn read(&self, path: &Path) -> Result<Vec<u8>>;
    /// Removes a file this run wrote; one already gone is fine.
    fn remove(&self, path: &Path) -> Result<()>;
}
