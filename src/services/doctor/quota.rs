//! How full each member's database is against its quota: past 80 % a warning, before
//! etcd raises NOSPACE at 100 % and takes no more writes; and the alarms raised.

use crate::providers::discovery::{Finding, Severity};
use crate::providers::etcd_api::{Alarm, Member};

use super::checks::finding;

/// The share of its quota past which a member is warned about.
const NEAR: f64 = 0.8;

/// A finding for each of `members` (each with its quota in bytes) whose database file
/// is past 80 % of it.
/// `cluster` is how rigger's scripts are told the cluster, for the fixes: `--set
/// domain=D`, with `--set name=N` for a named one (`ClusterAt::script_flags`).
pub fn findings(cluster: &str, members: &[(Member, u64)]) -> Vec<Finding> {
    members
        .iter()
        .filter_map(|(m, quota)| {
            let size = m.db_size?;
            let share = size as f64 / *quota as f64;
            (*quota > 0 && share > NEAR).then(|| {
                finding(
                    "member-near-quota",
                    Severity::Warning,
                    m.endpoint.clone(),
                    format!(
                        "its database is {size} bytes, {:.0} % of its quota of {quota} bytes: at 100 % etcd raises NOSPACE and takes no more writes",
                        share * 100.0
                    ),
                    vec![
                        format!("{}/v3/maintenance/status: dbSize {size}", m.endpoint),
                        format!("{}/metrics: etcd_server_quota_backend_bytes {quota}", m.endpoint),
                    ],
                    format!(
                        "compaction frees space inside the file and `rigger run defrag {cluster}` gives it back; a cluster built with --set quota=... has room for more"
                    ),
                )
            })
        })
        .collect()
}

/// An error for each alarm the cluster raised: no writes until it is cleared.
/// `cluster` is how rigger's scripts are told the cluster, for the fixes: `--set
/// domain=D`, with `--set name=N` for a named one (`ClusterAt::script_flags`).
pub fn alarm_findings(cluster: &str, alarms: &[Alarm]) -> Vec<Finding> {
    alarms
        .iter()
        .map(|a| {
            let fix = match a.alarm.as_str() {
                "NOSPACE" => format!(
                    "`rigger run defrag {cluster} --set compact=true` compacts, defragments every member and clears the alarm"
                ),
                _ => "etcd's members disagree about the data: restore from a backup (`rigger run restore`)".to_string(),
            };
            finding(
                "cluster-alarm",
                Severity::Error,
                format!("member {}", a.member),
                format!("etcd raised {}: the cluster takes no writes until it is cleared", a.alarm),
                vec![format!("/v3/maintenance/alarm: {} on member {}", a.alarm, a.member)],
                fix,
            )
        })
        .collect()
}
