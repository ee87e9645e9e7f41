//! `rigger run`: evaluates a script on its own thread while the async runtime serves
//! the primitives, and turns Ctrl-C into a prompt, orderly stop.

use std::sync::Arc;
use std::time::Duration;

use super::diagnostic::{self, Context, ScriptError};
use crate::primitives::bridge::{Bridge, Interrupt};
use crate::primitives::context::ScriptContext;
use crate::primitives::params::Params;
use crate::script::{Limits, Script, Sources, engine};
use crate::world::{Ending, WorldConfig};

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
    let script =
        Script::find(&request.script).map_err(|e| ScriptError::plain(e.message, e.help))?;
    let runtime = crate::base::runtime::handle();
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

    let outcome = runtime.block_on(wait_for_script(done_rx, interrupt));
    for key in cx.params.unused() {
        tracing::warn!("--set {key} was given, but the script never asked for param({key:?})");
    }
    if let Some(world) = cx.world_if_open() {
        world.close(Ending {
            failed: outcome.is_err(),
            interrupted: outcome.as_ref().err().is_some_and(ScriptError::interrupted),
            keep: request.keep_on_error,
        });
    }
    outcome
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

/// For commands that only need a context to build an engine (`fns`, tests).
pub fn idle_context() -> Arc<ScriptContext> {
    ScriptContext::new(
        Bridge::new(crate::base::runtime::handle(), Interrupt::new()),
        Params::default(),
    )
}
