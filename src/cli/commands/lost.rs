//! `rigger destroy --cluster DOMAIN` (and `--aws-cluster-tag`): with the state dir lost,
//! what rigger made for a cluster is found by what it carries instead of by a journal:
//! records by their ownership marker (`providers::dns::marker`), instances by their
//! `rigger:cluster` tag. Only what names exactly that cluster is touched; a record
//! without a marker, or with another cluster's, is never removed.

use crate::base::names::cluster_name;
use crate::base::state_dir::StateDir;
use crate::providers::backends;
use crate::providers::opening::Opening;
use crate::world::journal::Resource;
use crate::world::{World, WorldConfig, WorldSpec};

/// What a destroy without the state searches, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    pub cluster: String,
    /// Where the cluster's records are (a DNS provider that marks them).
    pub dns: Option<&'static str>,
    /// Whether to terminate the EC2 instances tagged with the cluster.
    pub instances: bool,
}

impl Lost {
    /// The search `--cluster`, `--target`, `--dns` and `--aws-cluster-tag` ask for, or
    /// why they cannot go together. `--target` and `--dns` default as `run`'s do: a
    /// destroy given the run's own flags finds what that run made.
    pub fn from_flags(
        cluster: Option<&str>,
        target: Option<&str>,
        dns: Option<&str>,
        aws_cluster_tag: Option<&str>,
    ) -> Result<Option<Self>, String> {
        if let Some(tag) = aws_cluster_tag {
            // The older form: instances only, the tag taken as it is.
            return Ok(Some(Self {
                cluster: tag.to_string(),
                dns: None,
                instances: true,
            }));
        }
        let Some(cluster) = cluster else {
            return Ok(None);
        };
        if target.is_none() && dns.is_none() {
            return Err(format!(
                "--cluster {cluster} needs to know where to look: --dns cloudflare or --dns route53 for its records, --target aws for its instances (or both, as the run was given them)"
            ));
        }
        let target = target
            .map(backends::target)
            .transpose()
            .map_err(|e| e.message)?;
        if let Some(why) = target.and_then(|t| t.untagged) {
            return Err(format!("--cluster cannot search --target lab: {why}"));
        }
        let dns = match dns {
            Some(name) => Some(backends::dns(name).map_err(|e| e.message)?),
            None => target
                .map(|t| backends::dns(t.dns).map_err(|e| e.message))
                .transpose()?,
        };
        if let Some(row) = dns
            && let Some(why) = row.unmarked
        {
            return Err(format!("--cluster cannot search --dns {}: {why}", row.name));
        }
        Ok(Some(Self {
            cluster: cluster.to_string(),
            dns: dns.map(|row| row.name),
            instances: target.is_some(),
        }))
    }

    /// Removes what the search finds, records first (they were made after the
    /// machines); returns how many could not be removed.
    pub fn destroy(&self, state: &StateDir) -> usize {
        let mut left = 0;
        if let Some(dns) = self.dns {
            left += destroy_marked(state, &self.cluster, dns);
        }
        if self.instances {
            left += destroy_tagged(state, &self.cluster);
        }
        left
    }
}

/// `--cluster` as clap reads it: a domain, as rigger writes them.
pub fn parse_cluster(arg: &str) -> Result<String, String> {
    cluster_name(arg).map_err(|why| format!("{arg:?} is not a cluster's domain: {why}"))
}

/// Removes the records in the zone holding `cluster` whose marker names it; returns how
/// many are left.
fn destroy_marked(state: &StateDir, cluster: &str, dns: &'static str) -> usize {
    let row = match backends::dns(dns) {
        Ok(row) => row,
        Err(e) => {
            tracing::error!("{}", e.message);
            return 1;
        }
    };
    // Only the DNS backend is opened: records need no machines, nor their credentials.
    let transport = backends::target(row.targets[0]).map_or("", |t| t.transport);
    let opening = Opening::new(row.targets[0], row.name, transport, state.clone());
    let dns = match (row.open)(&opening) {
        Ok(dns) => dns,
        Err(e) => {
            tracing::error!(
                "cannot search {} for the records of {cluster}: {}{}",
                row.name,
                e.message,
                e.help.map(|h| format!(" ({h})")).unwrap_or_default()
            );
            return 1;
        }
    };
    let cluster = cluster.to_string();
    crate::base::runtime::block_on(async move {
        // A named cluster's records are in the zone of its domain.
        let domain = crate::base::names::split_cluster(&cluster).0.to_string();
        let found = match dns.marked(&domain, &cluster).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!("cannot find the records of {cluster}: {}", e.message);
                return 1;
            }
        };
        if found.is_empty() {
            tracing::info!("no records marked as {cluster}'s");
        }
        let mut removed = Vec::new();
        for record in found {
            removed.push((
                Resource::DnsRecord(record.clone()),
                dns.delete(&record).await,
            ));
        }
        left(removed, "by its marker")
    })
}

/// Says how each removal went (`how` the resource was known for this cluster's);
/// returns how many are left.
fn left(removed: Vec<(Resource, crate::base::error::Result<()>)>, how: &str) -> usize {
    let mut left = 0;
    for (resource, outcome) in removed {
        let what = resource.describe();
        match outcome {
            Ok(()) => tracing::info!("removed {what} ({how})"),
            Err(e) => {
                tracing::error!("could not remove {what}: {e}");
                left += 1;
            }
        }
    }
    left
}

/// Terminates the EC2 instances tagged `rigger:cluster=tag`; returns how many are left.
fn destroy_tagged(state: &StateDir, tag: &str) -> usize {
    let config = WorldConfig {
        // Only EC2 is asked; Route 53 needs no more credentials than EC2 does.
        spec: WorldSpec {
            target: "aws".into(),
            dns: "route53".into(),
            transport: "ssh".into(),
            ..WorldSpec::default()
        },
        state: state.clone(),
        dry_run: false,
    };
    let world = match World::existing(&config) {
        Ok(Some(w)) => w,
        Ok(None) => return 0,
        Err(e) => {
            tracing::error!("{}", e.message);
            return 1;
        }
    };
    let compute = world.backends.compute.clone();
    let tag = tag.to_string();
    world.block_on(async move {
        let found = match compute.tagged(&tag).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("{}", e.message);
                return 1;
            }
        };
        let mut removed = Vec::new();
        for instance in found {
            let outcome = compute.terminate(&instance).await;
            removed.push((Resource::Instance(instance), outcome));
        }
        left(removed, "by its tag")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(
        cluster: Option<&str>,
        target: Option<&str>,
        dns: Option<&str>,
    ) -> Result<Option<Lost>, String> {
        Lost::from_flags(cluster, target, dns, None)
    }

    #[test]
    fn the_flags_default_as_runs_do() {
        let both = lost(Some("example.com"), Some("aws"), None)
            .unwrap()
            .unwrap();
        assert_eq!((both.dns, both.instances), (Some("cloudflare"), true));
        let records = lost(Some("example.com"), None, Some("route53"))
            .unwrap()
            .unwrap();
        assert_eq!((records.dns, records.instances), (Some("route53"), false));
        assert_eq!(lost(None, None, None).unwrap(), None);
    }

    #[test]
    fn the_old_tag_flag_means_instances_only() {
        let old = Lost::from_flags(None, None, None, Some("example.com"))
            .unwrap()
            .unwrap();
        assert_eq!((old.dns, old.instances), (None, true));
    }

    #[test]
    fn what_keeps_no_marks_is_refused_with_the_reason() {
        let nowhere = lost(Some("example.com"), None, None).unwrap_err();
        assert!(nowhere.contains("--dns cloudflare"), "{nowhere}");
        let lab = lost(Some("example.com"), Some("lab"), None).unwrap_err();
        assert!(lab.contains("state dir"), "{lab}");
        let rfc = lost(Some("example.com"), None, Some("rfc2136")).unwrap_err();
        assert!(rfc.contains("zone transfer"), "{rfc}");
        let lab_dns = lost(Some("example.com"), Some("aws"), Some("lab")).unwrap_err();
        assert!(lab_dns.contains("--dns lab"), "{lab_dns}");
    }

    #[test]
    fn a_cluster_is_a_domain_as_rigger_writes_them() {
        assert_eq!(parse_cluster("Example.COM.").unwrap(), "example.com");
        assert!(parse_cluster("com").unwrap_err().contains("top-level"));
        assert!(parse_cluster("a b.com").is_err());
        assert!(parse_cluster("").is_err());
    }
}
