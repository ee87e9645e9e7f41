//! `rigger run`: evaluates a script on its own thread while the async runtime serves
//! the primitives, and turns Ctrl-C into a prompt, orderly stop.

use std::sync::Arc;
use std::time::Duration;

use crate::bridge::{Bridge, Interrupt};
use crate::diagnostic::{self, Context, ScriptError};
use crate::engine::{self, Limits, Sources};
use crate::host::Host;
use crate::params::Params;
use crate::script::Script;
use crate::world::{self, WorldConfig};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
/// 128 + SIGINT, what shells report for a command stopped by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

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
    match prepare_and_run(request) {
        Ok(()) => EXIT_OK,
        Err(err) => {
            eprint!("{}", diagnostic::render(&err));
            if err.interrupted() {
                EXIT_INTERRUPTED
            } else {
                EXIT_FAILED
            }
        }
    }
}

fn prepare_and_run(request: RunRequest) -> Result<(), ScriptError> {
    let script = Script::find(&request.script)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rigger-io")
        .build()
        .map_err(|e| ScriptError::plain(format!("cannot start the async runtime: {e}"), None))?;
    let interrupt = Interrupt::new();
    let host = Host::with_world(
        Bridge::new(runtime.handle().clone(), interrupt.clone()),
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
    let thread_host = host.clone();
    let limits = request.limits;
    // The engine never runs on a tokio worker: primitives block this thread, not the runtime.
    std::thread::Builder::new()
        .name("rigger-script".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let engine = engine::build(&options, &thread_host, &sources);
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

    let outcome = runtime.block_on(wait_for_script(done_rx, interrupt));
    for key in host.params.unused() {
        tracing::warn!("--set {key} was given, but the script never asked for param({key:?})");
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    if let Some(plan) = host.world_if_open().and_then(|w| w.plan.clone()) {
        // A dry run created nothing, so there is nothing to roll back: show the plan.
        print_plan(&plan.actions());
        return outcome;
    }
    if let Some(world) = host.world_if_open() {
        if outcome.is_err() && !request.keep_on_error {
            roll_back(
                &world,
                outcome.as_ref().err().is_some_and(ScriptError::interrupted),
            );
        } else if outcome.is_err() {
            tracing::warn!(
                "kept what the failed run created (--keep-on-error); `rigger destroy` removes it"
            );
        }
        let _ = world.journal.discard_if_empty();
    }
    outcome
}

fn print_plan(actions: &[String]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "dry run: {} actions, none taken", actions.len());
    for (i, action) in actions.iter().enumerate() {
        // Multi-line commands stay readable under their number.
        let _ = writeln!(out, "{:>4}. {}", i + 1, action.replace('\n', "\n      "));
    }
}

/// Undoes what the failed run created, newest first, and says what could not be undone.
pub fn roll_back(world: &world::World, interrupted: bool) {
    let standing = world.journal.live_newest_first().len();
    if standing == 0 {
        return;
    }
    let why = if interrupted {
        "was interrupted"
    } else {
        "failed"
    };
    tracing::warn!("the run {why}; rolling back the {standing} resources it created");
    let failed = world::take_down(world, &world.journal);
    for (resource, e) in &failed {
        tracing::error!("could not remove {}: {e}", resource.describe());
    }
    if !failed.is_empty() {
        tracing::error!(
            "{} resources are left; `rigger destroy` retries them",
            failed.len()
        );
        return;
    }
    let _ = world.journal.discard_if_empty();
    // A lab that holds nothing any more (this run built it) goes too: a failed run
    // leaves no namespace or daemon behind.
    if let Some(lab) = &world.lab
        && lab.is_empty()
    {
        match lab.down() {
            Ok(()) => world.state.prune(),
            Err(e) => tracing::error!("could not take the empty lab down: {e}"),
        }
    }
}

async fn wait_for_script(
    mut done: tokio::sync::oneshot::Receiver<Result<(), ScriptError>>,
    interrupt: Interrupt,
) -> Result<(), ScriptError> {
    let lost = || {
        Err(ScriptError::plain(
            "the script thread ended without a result",
            None,
        ))
    };
    tokio::select! {
        outcome = &mut done => return outcome.unwrap_or_else(|_| lost()),
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::warn!("interrupted; stopping the script (Ctrl-C again to quit at once)");
    interrupt.raise();
    tokio::select! {
        outcome = &mut done => outcome.unwrap_or_else(|_| lost()),
        _ = tokio::signal::ctrl_c() => Err(stopped_hard("at once")),
        _ = tokio::time::sleep(GRACE) => Err(stopped_hard("before the script stopped")),
    }
}

fn stopped_hard(when: &str) -> ScriptError {
    let mut err = ScriptError::plain(format!("interrupted; rigger quit {when}"), None);
    err.mark_interrupted();
    err
}

/// Shared by commands that only need an `Arc<Host>` to build an engine (`fns`, tests).
pub fn idle_host(runtime: &tokio::runtime::Runtime) -> Arc<Host> {
    Host::new(
        Bridge::new(runtime.handle().clone(), Interrupt::new()),
        Params::default(),
    )
}
