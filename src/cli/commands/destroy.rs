//! `rigger destroy` (and `rigger lab down`): remove everything the state dir names,
//! each resource through the provider that made it, then the lab itself; with
//! `--cluster`, also what the cluster's marks find (`lost.rs`).

use super::lost::Lost;
use crate::base::state_dir::StateDir;
use crate::base::writer::Writer;
use crate::cli::run::{EXIT_FAILED, EXIT_OK};
use crate::providers::lab::Lab;
use crate::world::inventory::Run;
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
        return EXIT_OK;
    }
    let _writer = match Writer::take(state) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
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
    let mut keep_lab = false;
    for journal in &journals {
        if scope == Scope::Lab && !journal.world().is_lab() {
            continue;
        }
        let (l, k) = take_down(state, journal);
        left += l;
        keep_lab |= k;
    }
    if let Some(lost) = lost {
        left += lost.destroy(state);
    }
    if keep_lab {
        tracing::error!("the lab stays up: what could not be reached is inside it");
    } else if let Err(e) = Lab::new(state).down() {
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

/// `rigger destroy --discovery-srv DOMAIN`: removes what the runs that made the cluster
/// of DOMAIN name, and nothing of other clusters; the lab goes too once nothing else is
/// in it. On a terminal it shows what it will remove and asks, unless `yes`; elsewhere
/// it removes nothing without `yes`.
pub fn destroy_cluster(state: &StateDir, domain: &str, yes: bool) -> u8 {
    let domain = match super::discovery_domain(domain) {
        Ok(d) => d,
        Err(status) => return status,
    };
    let _writer = match Writer::take(state) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
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
    let runs: Vec<Run> = journals.iter().map(|j| Run::of(j, state)).collect();
    let mine: Vec<usize> = (0..runs.len())
        .filter(|&i| runs[i].clusters.contains(&domain))
        .collect();
    if mine.is_empty() {
        let standing: Vec<Run> = runs
            .into_iter()
            .filter(|r| !r.resources.is_empty())
            .collect();
        return super::state::no_cluster(state, &domain, &standing);
    }
    if let Some(mixed) = mine
        .iter()
        .map(|&i| &runs[i])
        .find(|r| r.clusters.len() > 1)
    {
        let all: Vec<&str> = mixed.clusters.iter().map(String::as_str).collect();
        return super::fail(
            format!(
                "run {} made resources for {} together: removing only {domain}'s cannot be told apart",
                mixed.id,
                all.join(" and ")
            ),
            Some("`rigger destroy` (without --discovery-srv) removes everything".into()),
        );
    }
    let doomed: Vec<String> = mine
        .iter()
        .flat_map(|&i| runs[i].resources.iter().rev().map(|r| r.describe()))
        .collect();
    if !yes && !confirmed(&domain, &doomed) {
        return EXIT_FAILED;
    }
    let mut left = 0;
    for &i in &mine {
        left += take_down(state, &journals[i]).0;
    }
    if left > 0 {
        tracing::error!(
            "{left} resources could not be removed; run `rigger destroy --discovery-srv {domain}` again"
        );
        return EXIT_FAILED;
    }
    // The last cluster gone: the lab (its namespace, its DNS server) with it.
    let others = Journal::all(state).map_or(1, |j| j.iter().filter(|j| !j.is_empty()).count());
    if others == 0 {
        if let Err(e) = Lab::new(state).down() {
            return super::fail(format!("cannot take the lab down: {e}"), None);
        }
        state.prune();
    }
    tracing::info!("destroyed the cluster of {domain}");
    EXIT_OK
}

/// Whether the person at the terminal says yes to removing `doomed`. Not on a terminal,
/// nobody can: says how to go ahead instead.
fn confirmed(domain: &str, doomed: &[String]) -> bool {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        super::fail(
            format!(
                "destroy --discovery-srv {domain} would remove {} resources; not on a terminal, nobody can confirm it, so nothing was removed",
                doomed.len()
            ),
            Some("give --yes to remove them without asking".into()),
        );
        return false;
    }
    let mut text = format!(
        "The cluster of {domain}: {} resources will be removed:\n",
        doomed.len()
    );
    for d in doomed {
        text.push_str(&format!("  {d}\n"));
    }
    text.push_str("Remove them? [y/N] ");
    crate::base::output::to_stderr(&text);
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        crate::base::output::to_stderr("nothing removed\n");
    }
    yes
}

/// Takes down what one journal names, through the backends that made it; returns how
/// many resources are left, and whether the lab must stay up for them.
fn take_down(state: &StateDir, journal: &Journal) -> (usize, bool) {
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
