//! The members' releases, when the cluster answers: a member on a line past its end
//! of life, or on a patch with a known bug, is a warning. The cluster runs; `rigger run
//! upgrade` moves it on.

use crate::providers::discovery::{Finding, Severity};
use crate::providers::etcd_api::Member;
use crate::providers::release::{Concern, Version};

use super::checks::finding;

/// A finding for each member of `members` whose release is a concern.
/// `cluster` is how rigger's scripts are told the cluster, for the fixes: `--set
/// domain=D`, with `--set name=N` for a named one (`ClusterAt::script_flags`).
pub fn findings(cluster: &str, members: &[Member]) -> Vec<Finding> {
    members
        .iter()
        .filter_map(|m| {
            let version = Version::parse(m.version.as_deref()?)?;
            let concern = version.concern()?;
            let id = match concern {
                Concern::EndOfLife => "member-end-of-life",
                Concern::KnownBadPatch => "member-known-bad-patch",
            };
            let next = match concern {
                Concern::EndOfLife => "3.5.30 (then 3.5.32 and 3.6, one line at a time)",
                Concern::KnownBadPatch => "3.5.26 or later",
            };
            Some(finding(
                id,
                Severity::Warning,
                m.endpoint.clone(),
                concern.text(version),
                vec![format!("{}/version: etcdserver {version}", m.endpoint)],
                format!("`rigger run upgrade {cluster} --set etcd_version=...` moves every member to {next}, one at a time"),
            ))
        })
        .collect()
}
