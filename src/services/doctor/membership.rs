//! The records held against the live membership, when the cluster answers: etcd reads
//! the SRV records only at first boot and never updates them (etcd-io/etcd#10238), so a
//! member added or removed by hand leaves DNS saying the old cluster, which the next
//! member to join, and every client, believes. Each difference is a warning: the
//! cluster runs, and the records mislead whoever reads them next.

use crate::providers::discovery::{Finding, Severity};
use crate::providers::members::Drift;

use super::checks::finding;

/// The finding for each of `drift`, unless `found` already names its subject for the
/// same reason (the zone's own peer and client sets can show a phantom target too).
/// `cluster` is how rigger's scripts are told the cluster, for the fixes: `--set
/// domain=D`, with `--set name=N` for a named one (`ClusterAt::script_flags`).
pub fn findings(cluster: &str, drift: &[Drift], found: &[Finding]) -> Vec<Finding> {
    let said = |id: &str, subject: &str| found.iter().any(|f| f.id == id && f.subject == subject);
    let reconcile = format!(
        "`rigger run reconcile {cluster}` makes the records say the membership; or change them by hand"
    );
    drift
        .iter()
        .filter_map(|d| {
            let (id, same_as) = match d.kind {
                "missing_srv" => ("membership-missing-srv", "member-missing"),
                "learner_in_srv" => ("membership-learner-in-srv", ""),
                "not_a_member" => ("membership-not-a-member", "phantom-target"),
                "missing_a" => ("membership-missing-a", "target-no-address"),
                "wrong_a" => ("membership-wrong-a", ""),
                _ => ("membership-differs", ""),
            };
            if said(same_as, &d.subject) {
                return None;
            }
            Some(finding(
                id,
                Severity::Warning,
                d.subject.clone(),
                format!(
                    "{}: the cluster's membership (etcd member list) differs from the records, which etcd never updates (etcd-io/etcd#10238)",
                    d.text
                ),
                vec![format!("etcd member list, held against the records: {}", d.text)],
                reconcile.clone(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(kind: &'static str, subject: &str) -> Drift {
        Drift {
            kind,
            subject: subject.into(),
            text: format!("{subject} {kind}"),
        }
    }

    #[test]
    fn each_difference_is_a_warning_unless_the_zone_checks_said_it() {
        let phantom = finding(
            "phantom-target",
            Severity::Warning,
            "n4.d.test",
            String::new(),
            Vec::new(),
            String::new(),
        );
        let out = findings(
            "--set domain=d.test --set name=prod",
            &[
                drift("not_a_member", "n4.d.test"),
                drift("not_a_member", "n5.d.test"),
                drift("learner_in_srv", "n6.d.test"),
                drift("missing_srv", "n7.d.test"),
                drift("missing_a", "n8.d.test"),
                drift("wrong_a", "n9.d.test"),
            ],
            &[phantom],
        );
        let ids: Vec<(&str, &str)> = out.iter().map(|f| (f.id, f.subject.as_str())).collect();
        assert_eq!(
            ids,
            [
                ("membership-not-a-member", "n5.d.test"),
                ("membership-learner-in-srv", "n6.d.test"),
                ("membership-missing-srv", "n7.d.test"),
                ("membership-missing-a", "n8.d.test"),
                ("membership-wrong-a", "n9.d.test"),
            ]
        );
        assert!(out.iter().all(|f| f.severity == Severity::Warning));
        assert!(
            out[0]
                .fix
                .contains("rigger run reconcile --set domain=d.test --set name=prod`")
        );
    }
}
