//! etcd releases as rigger names them: a version of three numbers (3.5.30), and a
//! release a world has at hand without a download (the lab's ladder, installed side by
//! side by setup.sh).

use std::fmt;

use serde::Serialize;

/// An etcd release version, `major.minor.patch`, ordered as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// `3.5.30` (a leading `v` allowed, as tags have it); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let mut parts = text.split('.').map(|p| {
            (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
        });
        let v = Self {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(v)
    }
}

/// Why a member running a release needs looking after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// Its minor line is past its end of life (3.4's last release, 3.4.45, came out on
    /// 2026-06-01): no fix reaches it.
    EndOfLife,
    /// A 3.5 below 3.5.26: a cluster once restored from a 3.4 snapshot can keep members
    /// that were removed (zombie members, etcd-io/etcd#20967).
    KnownBadPatch,
}

impl Concern {
    /// What is wrong, said of `version`.
    pub fn text(self, version: Version) -> String {
        match self {
            Concern::EndOfLife => format!(
                "etcd {version} is past its end of life (the {}.{} line's last release, 3.4.45, came out on 2026-06-01): no fix reaches it",
                version.major, version.minor
            ),
            Concern::KnownBadPatch => format!(
                "etcd {version} is below 3.5.26: a cluster once restored from a 3.4 snapshot can keep removed members (zombie members, etcd-io/etcd#20967)"
            ),
        }
    }
}

impl Version {
    /// Why a member running this release needs looking after, if it does.
    pub fn concern(self) -> Option<Concern> {
        if (self.major, self.minor) < (3, 5) {
            Some(Concern::EndOfLife)
        } else if (self.major, self.minor) == (3, 5) && self.patch < 26 {
            Some(Concern::KnownBadPatch)
        } else {
            None
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A release installed where a world's machines run it without a download: its
/// version and the paths of its tools.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    pub version: Version,
    pub dir: String,
    pub etcd: String,
    pub etcdctl: String,
    /// Only from 3.5 on (snapshot restore and status moved there).
    pub etcdutl: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_three_numbers_and_order_as_numbers() {
        let v = |t| Version::parse(t).unwrap();
        assert_eq!(v("v3.5.30").to_string(), "3.5.30");
        assert!(v("3.5.9") < v("3.5.30"));
        assert!(v("3.4.45") < v("3.5.0"));
        for bad in [
            "3.5",
            "3.5.30.1",
            "3..1",
            "3.5.x",
            "",
            "v",
            "3.5.-1",
            "3.5.99999",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }
}
