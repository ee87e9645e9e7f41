//! `rigger state list` and `rigger state show DOMAIN`: what rigger manages, read from
//! the journals in the state dir (as `terraform state list/show` reads its state).

use serde::Serialize;
use serde_json::Value;

use crate::base::state_dir::StateDir;
use crate::cli::exit;
use crate::world::inventory::{self, Run};

/// A run as `--json` shows it.
#[derive(Serialize)]
struct RunView {
    run: String,
    target: String,
    dns: String,
    transport: String,
    clusters: Vec<String>,
    /// Each resource's fields as the journal keeps them (`kind` first), and `text`, the
    /// line `state list` prints for it.
    resources: Vec<Value>,
}

impl From<&Run> for RunView {
    fn from(run: &Run) -> Self {
        let resources = run.resources.iter().map(|r| {
            let mut value = serde_json::to_value(r).expect("resources serialise");
            if let Value::Object(map) = &mut value {
                map.insert("text".into(), Value::String(r.describe()));
            }
            value
        });
        Self {
            run: run.id.clone(),
            target: run.world.target.clone(),
            dns: run.world.dns.clone(),
            transport: run.world.transport.clone(),
            clusters: run.clusters.iter().cloned().collect(),
            resources: resources.collect(),
        }
    }
}

#[derive(Serialize)]
struct ClusterView<'a> {
    #[serde(flatten)]
    access: super::access::Env<'a>,
    runs: Vec<RunView>,
}

/// The runs in the state dir, or the failure status after saying why not.
pub fn read_runs(state: &StateDir) -> Result<Vec<Run>, u8> {
    inventory::runs(state).map_err(|e| {
        super::fail(
            format!(
                "cannot read the journals in {}: {e}",
                state.root().display()
            ),
            None,
        )
    })
}

/// Says that the state dir has no cluster of `domain`, and which it has; the status.
pub fn no_cluster(state: &StateDir, domain: &str, runs: &[Run]) -> u8 {
    let known: std::collections::BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.clusters.iter().map(String::as_str))
        .collect();
    let help = if known.is_empty() {
        "rigger made no cluster here; `rigger run cluster --set domain=...` makes one".to_string()
    } else {
        format!(
            "clusters here: {}",
            known.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    super::fail(
        format!("no cluster of {domain} in {}", state.root().display()),
        Some(help),
    )
}

fn run_text(run: &Run, indent: &str) -> String {
    let clusters = if run.clusters.is_empty() {
        "no cluster".to_string()
    } else {
        run.clusters.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let mut out = format!(
        "{indent}run {} (target {}, dns {}): {clusters}\n",
        run.id, run.world.target, run.world.dns
    );
    for r in &run.resources {
        out.push_str(&format!("{indent}  {}\n", r.describe()));
    }
    out
}

pub fn list(state: &StateDir, json: bool) -> u8 {
    let runs = match read_runs(state) {
        Ok(r) => r,
        Err(status) => return status,
    };
    if json {
        let views: Vec<RunView> = runs.iter().map(RunView::from).collect();
        crate::base::output::data(&super::json_text(&views));
        return exit::OK;
    }
    if runs.is_empty() {
        crate::base::output::data(&format!(
            "rigger manages nothing in {}\n",
            state.root().display()
        ));
    }
    for run in &runs {
        crate::base::output::data(&run_text(run, ""));
    }
    exit::OK
}

pub fn show(state: &StateDir, domain: &str, json: bool) -> u8 {
    // `DOMAIN`, or `DOMAIN/NAME` for a cluster with a --discovery-srv-name.
    let (domain, name) = crate::base::names::split_cluster(domain);
    let domain = match super::cluster_key(domain, name) {
        Ok(d) => d,
        Err(status) => return status,
    };
    let runs = match read_runs(state) {
        Ok(r) => r,
        Err(status) => return status,
    };
    let mine = inventory::of_cluster(&runs, &domain);
    if mine.is_empty() {
        return no_cluster(state, &domain, &runs);
    }
    let access = inventory::access(&domain, &mine, state);
    let view = ClusterView {
        access: super::access::Env::of(&domain, &access),
        runs: mine.iter().map(|r| RunView::from(*r)).collect(),
    };
    if json {
        crate::base::output::data(&super::json_text(&view));
        return exit::OK;
    }
    let mut out = format!("cluster {domain}\n");
    let none = || "-".to_string();
    out.push_str(&format!(
        "  endpoints  {}\n",
        view.access.endpoints.join(", ")
    ));
    out.push_str(&format!(
        "  cacert     {}\n",
        view.access.cacert.clone().unwrap_or_else(none)
    ));
    out.push_str(&format!(
        "  cert       {}\n",
        view.access.cert.clone().unwrap_or_else(none)
    ));
    out.push_str(&format!(
        "  key        {}\n",
        view.access.key.clone().unwrap_or_else(none)
    ));
    for run in &mine {
        out.push_str(&run_text(run, "  "));
    }
    crate::base::output::data(&out);
    tracing::info!(
        "`eval \"$(rigger env {})\"` points etcdctl at it",
        super::cluster_flags(&domain)
    );
    exit::OK
}
