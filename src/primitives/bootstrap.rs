//! `bootstrap_parallel`: run a script closure for every node at the same time, so the
//! wall time is the slowest node's, not the sum.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};

use super::call::primitive;
use super::context::ScriptContext;
use super::failure::Failure;
use super::options::Options;
use crate::base::error::Error;

const NAME: &str = "bootstrap_parallel";

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Calls `f(item)` for every item at once (launching machines, say; up to 32 run
        /// together, the rest as threads come free) and returns the results in order; fails
        /// naming every item that failed. `bootstrap_parallel` is the same for nodes.
        fn parallel(c, ctx: NativeCallContext, items: Array, f: FnPtr) -> Array {
            parallel(&ctx, c.name, items, f, Map::new())
        }
    }
    primitive! { engine, cx,
        /// Calls `f(node)` for every node at once (up to 32 together), and returns their
        /// results in node order. If any fail, fails naming every failed node and its error.
        fn bootstrap_parallel(c, ctx: NativeCallContext, nodes: Array, f: FnPtr) -> Array {
            parallel(&ctx, c.name, nodes, f, Map::new())
        }
    }
    primitive! { engine, cx,
        /// `bootstrap_parallel` with options: `stagger` (seconds between starts, default 0).
        /// etcd members started at the same instant split their first vote; a stagger of
        /// 0.05 s lets the cluster elect a leader several times sooner.
        fn bootstrap_parallel(c, ctx: NativeCallContext, nodes: Array, options: Map, f: FnPtr)
            -> Array
        {
            parallel(&ctx, c.name, nodes, f, options)
        }
    }
}

fn named(node: &Dynamic) -> Option<String> {
    if node.is_string() {
        return Some(node.to_string());
    }
    node.read_lock::<Map>()
        .and_then(|m| m.get("name").map(|n| n.to_string()))
}

/// How a failed item is named: its name, else its place.
fn node_name(node: &Dynamic, index: usize) -> String {
    named(node).unwrap_or_else(|| format!("item #{index}"))
}

/// Runs `work` on `node` under its line of the live view: a named item's is its node's
/// line (which says the node's phase and outlives this primitive), another's a line
/// under the primitive's own.
fn on_line<R>(step: &tracing::Span, node: &Dynamic, index: usize, work: impl FnOnce() -> R) -> R {
    let Some(name) = named(node) else {
        let item = crate::base::progress::step_under(step, &node_name(node, index));
        return item.in_scope(work);
    };
    let outcome = crate::base::phase::line(&name).in_scope(work);
    crate::base::phase::release(&name);
    outcome
}

/// At most this many items run at once: enough for any cluster rigger makes.
const WORKERS: usize = 32;

type Outcome = Result<Dynamic, Box<EvalAltResult>>;

#[allow(deprecated)] // NativeCallContextStore is marked volatile, not deprecated.
fn parallel(
    ctx: &NativeCallContext,
    primitive: &'static str,
    nodes: Array,
    f: FnPtr,
    options: Map,
) -> Result<Array, Box<EvalAltResult>> {
    if primitive == NAME
        && let Some((i, bad)) = nodes.iter().enumerate().find(|(_, n)| {
            !n.read_lock::<Map>()
                .is_some_and(|m| m.get("name").is_some_and(Dynamic::is_string))
        })
    {
        return Err(Failure::invalid(
            primitive,
            format!("item #{i} ({bad}) is not a node: nodes are the maps launch_instance returns"),
        )
        .with_help("parallel(items, f) takes items of any kind")
        .into());
    }
    let options = Options::new(primitive, options, &["stagger"])?;
    let stagger = options.seconds("stagger", 0.0)?;
    if stagger > Duration::from_secs(10) {
        return Err(Failure::invalid(
            primitive,
            "stagger above 10 s would outlast etcd's wait for its peers",
        )
        .into());
    }
    let engine = ctx.engine();
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Outcome>>> =
        nodes.iter().map(|_| std::sync::Mutex::new(None)).collect();
    // A bounded pool: past WORKERS items wait for a free thread instead of each getting
    // one of its own (a thousand items would be a thousand threads and their stacks).
    let workers = nodes.len().min(WORKERS);
    // Each item a line of its own on a terminal (a node's says its phase).
    let step = crate::base::progress::step(primitive);
    let _shown = step.clone().entered();
    std::thread::scope(|scope| -> Result<(), Box<EvalAltResult>> {
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            // Each thread gets its own copy of the caller's state (imports, functions).
            let store = ctx.store_data();
            let (f, next, slots, nodes, step) = (&f, &next, &slots, &nodes, &step);
            let spawned = std::thread::Builder::new()
                .name(format!("rigger-node-{w}"))
                .stack_size(16 << 20)
                .spawn_scoped(scope, move || {
                    let ctx = NativeCallContext::from_stored_data(engine, &store);
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(node) = nodes.get(i) else { break };
                        let due = stagger * i as u32;
                        if let Some(pause) = due.checked_sub(started.elapsed()) {
                            std::thread::sleep(pause);
                        }
                        let outcome =
                            on_line(step, node, i, || f.call_raw(&ctx, None, [node.clone()]));
                        *slots[i].lock().expect("result slot") = Some(outcome);
                    }
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                // Fewer threads than asked for still do all the work, only slower.
                Err(e) if !handles.is_empty() => {
                    tracing::debug!("{primitive}: {} threads, not {workers}: {e}", handles.len());
                    break;
                }
                Err(e) => {
                    return Err(Failure::new(
                        primitive,
                        Error::failed(format!("cannot start a thread: {e}")),
                    )
                    .into());
                }
            }
        }
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Ok(())
    })?;
    let outcomes: Vec<Outcome> = slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .expect("result slot")
                .expect("every item ran")
        })
        .collect();
    let mut results = Array::new();
    let mut failed = Vec::new();
    let mut helps: Vec<String> = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(v) => results.push(v),
            Err(e)
                if crate::base::eval_error::is_interrupt(&e)
                    || matches!(*e, EvalAltResult::ErrorTooManyOperations(..)) =>
            {
                return Err(e);
            }
            Err(e) => {
                let (text, help) = crate::base::eval_error::describe_chain(*e);
                failed.push(format!("{}: {text}", node_name(&nodes[i], i)));
                if let Some(help) = help.filter(|h| !helps.contains(h)) {
                    helps.push(help);
                }
            }
        }
    }
    if failed.is_empty() {
        return Ok(results);
    }
    let mut failure = Failure::new(
        primitive,
        Error::failed(format!(
            "{} of {} nodes failed:\n  {}",
            failed.len(),
            nodes.len(),
            failed.join("\n  ")
        )),
    );
    if !helps.is_empty() {
        failure = failure.with_help(helps.join("\n"));
    }
    Err(failure.into())
}
