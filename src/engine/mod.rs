//! The one factory for every `Engine` rigger builds: `run`, the REPL, `fns` and tests.

mod limits;
mod modules;
mod sources;

use std::path::PathBuf;
use std::sync::Arc;

use rhai::Engine;

pub use limits::Limits;
pub use sources::Sources;

use crate::host::Host;
use crate::output;

/// How an engine is built; everything else comes from the host.
#[derive(Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Folder that relative imports resolve against when the importer has no file.
    pub base_dir: PathBuf,
}

/// Builds the engine with limits, strict variables, the module resolver, output routing,
/// the interrupt hook and every primitive. The caller keeps it immutable from then on.
pub fn build(options: &Options, host: &Arc<Host>, sources: &Sources) -> Engine {
    let mut engine = Engine::new();
    options.limits.apply(&mut engine);
    engine
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true)
        .set_module_resolver(modules::Resolver::new(
            options.base_dir.clone(),
            sources.clone(),
        ));

    engine.on_print(output::data_line);
    engine.on_debug(output::debug_line);

    let interrupt = host.bridge.interrupt().clone();
    engine.on_progress(move |_| {
        interrupt
            .is_raised()
            .then(|| crate::primitives::INTERRUPTED.into())
    });

    crate::primitives::register(&mut engine, host);
    engine
}
