//! The one factory for every `Engine` rigger builds: `run`, the REPL, `fns` and tests.

use std::path::PathBuf;
use std::sync::Arc;

use rhai::Engine;

use super::{Limits, Sources, modules};
use crate::base::output;
use crate::primitives::context::ScriptContext;

/// How an engine is built; everything else comes from the script context.
#[derive(Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Folder that relative imports resolve against when the importer has no file.
    pub base_dir: PathBuf,
}

/// Builds the engine with limits, strict variables, the module resolver, output routing,
/// the interrupt hook and every primitive. The caller keeps it immutable from then on.
pub fn build(options: &Options, cx: &Arc<ScriptContext>, sources: &Sources) -> Engine {
    let mut engine = Engine::new();
    options.limits.apply(&mut engine);
    super::limits::watch_sizes(&mut engine, &options.limits);
    engine
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_module_resolver(modules::Resolver::new(
            options.base_dir.clone(),
            sources.clone(),
        ));

    engine.on_print(output::data_line);
    engine.on_debug(output::debug_line);

    let interrupt = cx.bridge.interrupt().clone();
    engine.on_progress(move |_| {
        interrupt
            .is_raised()
            .then(|| crate::base::eval_error::INTERRUPTED.into())
    });

    crate::primitives::register(&mut engine, cx);
    engine
}
