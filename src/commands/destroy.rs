//! `rigger destroy` (and `rigger lab down`): remove everything the state dir names.

use crate::providers::lab::Lab;
use crate::runner::{EXIT_FAILED, EXIT_OK};
use crate::services::journal::Journal;
use crate::world::{self, Target, World, WorldConfig};

pub fn destroy(config: &WorldConfig) -> u8 {
    let journals = match Journal::all(&config.state) {
        Ok(j) => j,
        Err(e) => {
            return super::fail(
                format!(
                    "cannot read the journals in {}: {e}",
                    config.state.root().display()
                ),
                None,
            );
        }
    };
    let world = match World::existing(config) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
    let mut left = 0;
    if let Some(world) = &world {
        for journal in &journals {
            let failed = world.handle().block_on(world::take_down(world, journal));
            for (resource, e) in &failed {
                tracing::error!("could not remove {}: {e}", resource.describe());
            }
            left += failed.len();
            let _ = journal.discard_if_empty();
        }
    } else {
        // No lab: whatever the journals named went with it.
        for journal in &journals {
            let _ = std::fs::remove_file(journal.path());
        }
    }
    drop(world);
    if config.target == Target::Lab
        && let Err(e) = Lab::new(&config.state).down()
    {
        return super::fail(format!("cannot take the lab down: {e}"), None);
    }
    if left > 0 {
        tracing::error!("{left} resources could not be removed; run `rigger destroy` again");
        return EXIT_FAILED;
    }
    config.state.prune();
    tracing::info!("destroyed everything in {}", config.state.root().display());
    EXIT_OK
}
