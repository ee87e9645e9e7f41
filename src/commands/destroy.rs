//! `rigger destroy` (and `rigger lab down`): remove everything the state dir names,
//! each resource through the provider that made it, then the lab itself.

use crate::providers::aws::Aws;
use crate::providers::lab::Lab;
use crate::runner::{EXIT_FAILED, EXIT_OK};
use crate::services::journal::{Journal, Resource};
use crate::state::StateDir;
use crate::world::{self, World, WorldConfig};

/// Which journals a destroy takes down.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything the state dir names (`rigger destroy`).
    All,
    /// Only what lab runs made, and the lab (`rigger lab down`).
    Lab,
}

pub fn destroy(state: &StateDir, aws_cluster_tag: Option<&str>, scope: Scope) -> u8 {
    let journals = match Journal::all(state) {
        Ok(j) => j,
        Err(e) => {
            return super::fail(
                format!(
                    "cannot read the journals in {}: {e}",
                    state.root().display()
                ),
                None,
            );
        }
    };
    let mut left = 0;
    for journal in &journals {
        if scope == Scope::Lab && journal.world().target != crate::world::Target::Lab {
            continue;
        }
        let config = WorldConfig {
            spec: journal.world().clone(),
            state: state.clone(),
            dry_run: false,
        };
        match World::existing(&config) {
            Ok(Some(world)) => {
                let failed = world::take_down(&world, journal);
                for (resource, e) in &failed {
                    tracing::error!("could not remove {}: {e}", resource.describe());
                }
                left += failed.len();
                let _ = journal.discard_if_empty();
            }
            // The lab is gone (after a reboot, say) and its hosts, records and processes
            // with it; the files rigger wrote (keys among them) are still here.
            Ok(None) => {
                for resource in journal.live_newest_first() {
                    if let Resource::File { path } = &resource {
                        match std::fs::remove_file(path) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                tracing::error!("could not remove {path}: {e}");
                                left += 1;
                                continue;
                            }
                            _ => tracing::info!("removed {}", resource.describe()),
                        }
                    }
                    let _ = journal.removed(&resource);
                }
                let _ = journal.discard_if_empty();
            }
            Err(e) => {
                tracing::error!(
                    "cannot reach the world of {}: {}",
                    journal.path().display(),
                    e.message
                );
                left += journal.live_newest_first().len();
            }
        }
    }
    if let Some(tag) = aws_cluster_tag {
        left += destroy_tagged(tag);
    }
    if let Err(e) = Lab::new(state).down() {
        return super::fail(format!("cannot take the lab down: {e}"), None);
    }
    if left > 0 {
        tracing::error!("{left} resources could not be removed; run `rigger destroy` again");
        return EXIT_FAILED;
    }
    state.prune();
    tracing::info!("destroyed everything in {}", state.root().display());
    EXIT_OK
}

/// Terminates the EC2 instances tagged `rigger:cluster=tag`; returns how many are left.
fn destroy_tagged(tag: &str) -> usize {
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        return 1;
    };
    runtime.block_on(async {
        let aws = match Aws::from_env("destroy").await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("{}", e.message);
                return 1;
            }
        };
        let found = match aws.find_tagged(tag).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("{}", e.message);
                return 1;
            }
        };
        let mut left = 0;
        for instance in found {
            let what = Resource::Instance(instance.clone()).describe();
            match crate::providers::Compute::terminate(&aws, &instance).await {
                Ok(()) => tracing::info!("removed {what} (by its tag)"),
                Err(e) => {
                    tracing::error!("could not remove {what}: {e}");
                    left += 1;
                }
            }
        }
        left
    })
}
