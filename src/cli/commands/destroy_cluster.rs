//! `rigger destroy --discovery-srv DOMAIN`: one cluster's runs taken down, the other
//! clusters left standing; asked for at a terminal, refused without `--yes` elsewhere.

use super::destroy::take_down;
use crate::base::state_dir::StateDir;
use crate::cli::exit;
use crate::providers::lab::Lab;
use crate::world::inventory::Run;
use crate::world::journal::Journal;

/// `rigger destroy --discovery-srv DOMAIN`: removes what the runs that made the cluster
/// of DOMAIN name, and nothing of other clusters; the lab goes too once nothing else is
/// in it. On a terminal it shows what it will remove and asks, unless `yes`; elsewhere
/// it removes nothing without `yes`.
pub fn destroy_cluster(state: &StateDir, domain: &str, yes: bool) -> u8 {
    // The cluster's key, checked (`super::cluster_key`): `DOMAIN` or `DOMAIN/NAME`.
    let domain = domain.to_string();
    let (_writer, journals) = match super::destroy::journals_to_take_down(state) {
        Ok(both) => both,
        Err(status) => return status,
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
        return exit::FAILED;
    }
    let mut left = 0;
    for &i in &mine {
        left += take_down(state, &journals[i]).0;
    }
    if left > 0 {
        tracing::error!(
            "{left} resources could not be removed; run `rigger destroy --discovery-srv {domain}` again"
        );
        return exit::FAILED;
    }
    // The last cluster gone: the lab (its namespace, its DNS server) with it.
    let others = Journal::all(state).map_or(1, |j| j.iter().filter(|j| !j.is_empty()).count());
    // A lab holding machines made outside any run (`lab hosts add`) stays for them.
    let lab = Lab::new(state);
    if others == 0 && lab.own_hosts().unwrap_or_default().is_empty() {
        if let Err(e) = lab.down() {
            return super::fail(format!("cannot take the lab down: {e}"), None);
        }
        state.prune();
    }
    tracing::info!("destroyed the cluster of {domain}");
    exit::OK
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
