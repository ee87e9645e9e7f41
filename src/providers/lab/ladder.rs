//! The lab's version ladder: etcd releases installed side by side by setup.sh, one
//! folder each under `<cache dir>/etcd/<version>/` (never on PATH), which lab machines
//! run without a download.

use std::path::{Path, PathBuf};

use super::image::cache_dir;
use crate::providers::release::{Release, Version};

/// The ladder's folder.
pub fn dir() -> PathBuf {
    cache_dir().join("etcd")
}

/// Every release on the ladder, oldest first: a folder named as a version holding an
/// executable `etcd` and `etcdctl`. A folder that is half there (an interrupted setup)
/// is not a release.
pub fn installed() -> Vec<Release> {
    installed_in(&dir())
}

fn installed_in(ladder: &Path) -> Vec<Release> {
    let Ok(entries) = std::fs::read_dir(ladder) else {
        return Vec::new();
    };
    let mut found: Vec<Release> = entries
        .flatten()
        .filter_map(|e| {
            let version = Version::parse(e.file_name().to_str()?)?;
            let dir = e.path();
            let tool = |name: &str| {
                let path = dir.join(name);
                executable(&path).then(|| path.display().to_string())
            };
            Some(Release {
                version,
                etcd: tool("etcd")?,
                etcdctl: tool("etcdctl")?,
                etcdutl: tool("etcdutl"),
                dir: dir.display().to_string(),
            })
        })
        .collect();
    found.sort_by_key(|r| r.version);
    found
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_is_every_complete_version_folder_oldest_first() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let make = |name: &str, tools: &[&str]| {
            let d = tmp.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            for t in tools {
                let p = d.join(t);
                std::fs::write(&p, "#!/bin/sh\n").unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        };
        make("3.5.30", &["etcd", "etcdctl", "etcdutl"]);
        make("3.4.23", &["etcd", "etcdctl"]);
        make("3.5.16.new", &["etcd", "etcdctl"]);
        make("3.6.0", &["etcd"]);
        make("latest", &["etcd", "etcdctl"]);
        let found = installed_in(tmp.path());
        let versions: Vec<String> = found.iter().map(|r| r.version.to_string()).collect();
        assert_eq!(versions, ["3.4.23", "3.5.30"]);
        assert!(found[0].etcdutl.is_none());
        assert!(
            found[1]
                .etcdutl
                .as_deref()
                .unwrap()
                .ends_with("/3.5.30/etcdutl")
        );
    }
}
