//! `rigger destroy` (and `rigger lab down`): remove everything the state dir names,
//! each resource through the provider that made it, then the lab itself; with
//! `--cluster`, also what the cluster's marks find (`lost.rs`).

use super::lost::Lost;
use crate::base::state_dir::StateDir;
use crate::base::writer::Writer;
use crate::cli::exit;
use crate::providers::compute::inventory::Inventory;
use crate::providers::lab::Lab;
use crate::world::journal::{Journal, Resource};
use crate::world::{self, World, WorldConfig};

/// Which journals a destroy takes down.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything the state dir names (`rigger destroy`).
    All,
    /// Only what lab runs made, and the lab (`rigger lab down`).
    Lab,
}

pub fn destroy(state: &StateDir, lost: Option<&Lost>, scope: Scope) -> u8 {
    if !state.root().exists() && lost.is_none() {
        tracing::info!(
            "nothing to destroy: {} does not exist",
            state.root().display()
        );
        return exit::OK;
    }
    let (_writer, journals) = match super::destroy::journals_to_take_down(state) {
        Ok(both) => both,
        Err(status) => return status,
    };
    let mut left = 0;
    let mut keep_lab = false;
    for journal in &journals {
        if scope == Scope::Lab && !of_the_lab(journal) {
            continue;
        }
        let (l, k) = take_down(state, journal);
        left += l;
        keep_lab |= k;
    }
    if let Some(lost) = lost {
        left += lost.destroy(state);
    }
    let lab = Lab::new(state);
    let own = lab.own_hosts().unwrap_or_default();
    // Only a lab that was up had machines to take down with it.
    let lab_was_up = lab.exists();
    if keep_lab {
        tracing::error!("the lab stays up: what could not be reached is inside it");
    } else if scope == Scope::All && !own.is_empty() {
        let names: Vec<&str> = own.iter().map(|h| h.name.as_str()).collect();
        tracing::info!(
            "the lab stays up for its machines made by `rigger lab hosts add` ({}); `rigger lab down` takes them down too",
            names.join(", ")
        );
    } else if let Err(e) = lab.down() {
        return super::fail(format!("cannot take the lab down: {e}"), None);
    } else if lab_was_up {
        // A lab machine a cluster could not reach to give back (stranded) is gone now.
        let in_lab = |c: &crate::providers::compute::hosts::Claim| {
            let ip = c
                .instance
                .public_ip
                .as_deref()
                .unwrap_or(&c.instance.private_ip);
            ip.parse()
                .is_ok_and(crate::providers::lab::netns::in_lab_range)
        };
        match crate::providers::compute::hosts::forget_claims(state, in_lab) {
            Ok(names) if !names.is_empty() => {
                tracing::info!("{} went with the lab", names.join(", "));
            }
            Ok(_) => {}
            Err(e) => tracing::error!("cannot update the inventory's claims: {e}"),
        }
    }
    if left > 0 {
        tracing::error!("{left} resources could not be removed; run `rigger destroy` again");
        return exit::FAILED;
    }
    state.prune();
    tracing::info!("destroyed everything in {}", state.root().display());
    exit::OK
}

/// Whether a journal's world is the lab's: a lab run, or a run on an inventory of lab
/// machines (`lab hosts add`), whose machines `lab down` takes with it.
fn of_the_lab(journal: &Journal) -> bool {
    use crate::providers::lab::netns::in_lab_range;
    let in_lab = |ip: &str| ip.parse().is_ok_and(in_lab_range);
    let world = journal.world();
    let inventory = world.inventory.as_deref().map(Inventory::read);
    world.is_lab()
        || inventory.is_some_and(|i| {
            i.is_ok_and(|i| i.hosts.iter().any(|h| in_lab(&h.address.to_string())))
        })
        || journal.live_newest_first().iter().any(
            |r| matches!(r, Resource::Instance(i) if i.public_ip.as_deref().is_some_and(in_lab)),
        )
}

/// Takes down what one journal names, through the backends that made it; returns how
/// many resources are left, and whether the lab must stay up for them.
pub fn take_down(state: &StateDir, journal: &Journal) -> (usize, bool) {
    let mut left = 0;
    let mut keep_lab = false;
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
                "cannot reach the world of {}: {}{}",
                journal.path().display(),
                e.message,
                e.help.map(|h| format!(" ({h})")).unwrap_or_default()
            );
            left += journal.live_newest_first().len();
            // What this run made in the lab may only be reachable from inside it (a
            // DNS server of the user's on a lab address): the lab stays until a
            // destroy that can reach it.
            keep_lab |= journal.world().is_lab();
        }
    }
    (left, keep_lab)
}

/// The state's writer lock and every journal in it, for a destroy; the exit status of a
/// failure, said, otherwise.
pub fn journals_to_take_down(state: &StateDir) -> Result<(Writer, Vec<Journal>), u8> {
    let writer = Writer::take(state).map_err(|e| super::fail(e.message, e.help))?;
    let journals = Journal::all(state).map_err(|e| {
        super::fail(
            format!(
                "cannot read the journals in {}: {e}",
                state.root().display()
            ),
            None,
        )
    })?;
    Ok((writer, journals))
}
