//! `rigger run`: evaluates a script on its own thread while the async runtime serves
//! the primitives, and turns Ctrl-C into a prompt, orderly stop.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::diagnostic::{self, Context, ScriptError};
use super::signals::{self, Stops};
use crate::base::state_dir::StateDir;
use crate::cli::exit;
use crate::primitives::bridge::{Bridge, Interrupt};
use crate::primitives::context::ScriptContext;
use crate::primitives::params::Params;
use crate::script::{Limits, Script, Sources, engine};
use crate::world::{Ending, WorldConfig, inventory};

/// How long a script gets to wind down after Ctrl-C before rigger stops waiting.
const GRACE: Duration = Duration::from_secs(5);

pub struct RunRequest {
    pub script: String,
    pub params: Params,
    pub limits: Limits,
    pub world: Option<WorldConfig>,
    /// Leave what a failed run created in place (for inspection) instead of rolling back.
    pub keep_on_error: bool,
}

pub fn run(request: RunRequest) -> u8 {
    let script = match Script::find(&request.script) {
        Ok(s) => s,
        Err(e) => return fail(&ScriptError::plain(e.message, e.help), exit::FAILED),
    };
    // Before anything runs, so before anything is made.
    if let Err((err, status)) =
        super::commands::scripts::check_sets(&request.script, &script, &request.params)
    {
        return fail(&err, status);
    }
    if let Some(world) = request.world.as_ref().filter(|w| !w.dry_run)
        && let Err(err) = check_setup(&world.spec)
    {
        return fail(&err, exit::FAILED);
    }
    let mut stopped_by = None;
    match prepare_and_run(script, request, &mut stopped_by) {
        Ok(()) => exit::OK,
        Err(err) => {
            crate::base::output::to_stderr(&diagnostic::render(&err));
            match stopped_by {
                Some(signal) => signals::exit_status(signal),
                None if err.interrupted() => exit::INTERRUPTED,
                None => exit::FAILED,
            }
        }
    }
}

/// What the world's backends need from the environment, asked before the script starts,
/// so that it is said as the setup problem it is, not as a failure at some line.
fn check_setup(spec: &crate::world::WorldSpec) -> Result<(), ScriptError> {
    let Some(flag) = crate::providers::backends::uses_aws(&spec.target, &spec.dns) else {
        return Ok(());
    };
    crate::base::runtime::block_on(crate::providers::aws::check_setup()).map_err(|e| {
        ScriptError::plain(format!("{flag} needs AWS settings: {}", e.message), e.help)
    })
}

fn fail(err: &ScriptError, status: u8) -> u8 {
    crate::base::output::to_stderr(&diagnostic::render(err));
    status
}

fn prepare_and_run(
    script: Script,
    request: RunRequest,
    stopped_by: &mut Option<Signal>,
) -> Result<(), ScriptError> {
    let state = request.world.as_ref().map(|w| w.state.clone());
    let dry_run = request.world.as_ref().is_some_and(|w| w.dry_run);
    let lab = request.world.as_ref().is_some_and(|w| w.spec.is_lab());
    let runtime = crate::base::runtime::handle();
    // Listening from the start: a SIGTERM that comes while the lab comes up must roll
    // it back too, not kill rigger half way.
    let mut stops = {
        let _entered = runtime.enter();
        Stops::listen()
            .map_err(|e| ScriptError::plain(format!("cannot listen for signals: {e}"), None))?
    };
    let interrupt = Interrupt::new();
    let cx = ScriptContext::with_world(
        Bridge::new(runtime.clone(), interrupt.clone()),
        request.params,
        request.world,
    );
    let sources = Sources::default();
    sources.add(&script.name, script.text.as_str());
    let options = engine::Options {
        limits: request.limits.clone(),
        base_dir: script.dir.clone(),
    };

    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread_cx = cx.clone();
    let limits = request.limits;
    // The engine never runs on a tokio worker: primitives block this thread, not the runtime.
    std::thread::Builder::new()
        .name("rigger-script".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let engine = engine::build(&options, &thread_cx, &sources);
            let context = Context {
                sources: &sources,
                engine: Some(&engine),
                limits: &limits,
            };
            let outcome = engine
                .compile(&script.text)
                .map_err(|e| context.script_error(e.into(), &script.name))
                .and_then(|mut ast| {
                    ast.set_source(script.name.as_str());
                    engine
                        .run_ast(&ast)
                        .map_err(|e| context.script_error(*e, &script.name))
                });
            let _ = done_tx.send(outcome);
        })
        .map_err(|e| ScriptError::plain(format!("cannot start the script thread: {e}"), None))?;

    let ended = runtime.block_on(wait_for_script(done_rx, interrupt, &mut stops));
    *stopped_by = ended.signal;
    let outcome = ended.outcome;
    // The script is done with its nodes: their lines go before the rollback says its part.
    crate::base::phase::end();
    // Only a script that ran to its end has asked for every parameter it will ask for.
    for key in cx.params.unused().into_iter().filter(|_| outcome.is_ok()) {
        tracing::warn!("--set {key} was given, but the script never asked for param({key:?})");
    }
    if ended.abandon {
        // Asked twice: quit now, and say what stays.
        crate::base::runtime::quit();
        tracing::warn!("quit without rolling back; `rigger destroy` removes what the run made");
        return outcome;
    }
    // Taken out of the session, so that the world (and its writer lock) goes at the end
    // of this block, not whenever the script thread lets go of the session: the process
    // may exit first, leaving the lock file behind.
    if let Some(world) = cx.take_world() {
        let made = match (&outcome, &state) {
            (Ok(()), Some(state)) if !dry_run => {
                inventory::clusters_of(&world.journal().live_newest_first(), state)
            }
            _ => Default::default(),
        };
        // A signal during the rollback ends it: the journal keeps what is left.
        runtime.spawn(async move {
            let signal = stops.next().await;
            crate::base::runtime::quit();
            crate::base::output::to_stderr(&format!(
                "rigger: {} again; the rollback stopped: `rigger destroy` removes the rest\n",
                signals::describe(signal)
            ));
            std::process::exit(signals::exit_status(signal).into());
        });
        world.close(Ending {
            failed: outcome.is_err(),
            interrupted: outcome.as_ref().err().is_some_and(ScriptError::interrupted),
            keep: request.keep_on_error,
        });
        if let Some(state) = &state {
            for domain in &made {
                tracing::info!("{}", how_to_reach(domain, state, lab));
            }
        }
    }
    // A run that failed before it made anything (or rolled all of it back) leaves no
    // empty folders or lock files of its own either.
    if outcome.is_err()
        && let Some(state) = state
    {
        state.prune();
    }
    outcome
}

/// What the end of a run that made a cluster says: how etcdctl reaches it.
fn how_to_reach(domain: &str, state: &crate::base::state_dir::StateDir, lab: bool) -> String {
    // The state dir as the user chose it, when not the default, so the command works
    // as printed.
    let dir = if StateDir::locate(None).root() == state.root() {
        String::new()
    } else {
        format!(" --state-dir {}", state.root().display())
    };
    let flags = super::commands::cluster_flags(domain);
    let mut text = format!(
        "cluster {domain} is up: `eval \"$(rigger env {flags}{dir})\"` sets etcdctl's ETCDCTL_* variables"
    );
    if lab {
        text.push_str(", then `rigger lab exec HOST -- etcdctl member list` (lab names resolve inside the lab)");
    }
    text.push_str(&format!(
        "; `rigger state show {domain}{dir}` lists what makes it up"
    ));
    text
}

/// How waiting for the script ended.
struct Ended {
    outcome: Result<(), ScriptError>,
    /// The signal that stopped the run, if one did.
    signal: Option<Signal>,
    /// A second signal: leave at once, no rollback.
    abandon: bool,
}

async fn wait_for_script(
    mut done: tokio::sync::oneshot::Receiver<Result<(), ScriptError>>,
    interrupt: Interrupt,
    stops: &mut Stops,
) -> Ended {
    let lost = || {
        Err(ScriptError::plain(
            "the script thread ended without a result",
            None,
        ))
    };
    let signal = tokio::select! {
        outcome = &mut done => return Ended {
            outcome: outcome.unwrap_or_else(|_| lost()),
            signal: None,
            abandon: false,
        },
        signal = stops.next() => signal,
    };
    tracing::warn!(
        "{}; stopping the script and rolling back (Ctrl-C again to quit at once)",
        signals::describe(signal)
    );
    interrupt.raise();
    crate::base::hook::point("stopping");
    let (outcome, abandon) = tokio::select! {
        outcome = &mut done => (outcome.unwrap_or_else(|_| lost()), false),
        again = stops.next() => (Err(stopped_hard(again, "at once")), true),
        _ = tokio::time::sleep(GRACE) => (Err(stopped_hard(signal, "before the script stopped")), false),
    };
    Ended {
        outcome: outcome.map_err(|mut e| {
            e.mark_interrupted();
            e
        }),
        signal: Some(signal),
        abandon,
    }
}

fn stopped_hard(signal: Signal, when: &str) -> ScriptError {
    let mut err = ScriptError::plain(
        format!("{}; rigger quit {when}", signals::describe(signal)),
        None,
    );
    err.mark_interrupted();
    err
}

/// For commands that only need a context to build an engine (`fns`, tests).
pub fn idle_context() -> Arc<ScriptContext> {
    ScriptContext::new(
        Bridge::new(crate::base::runtime::handle(), Interrupt::new()),
        Params::default(),
    )
}
