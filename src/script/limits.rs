//! Explicit bounds on what a script may consume. Rhai's own defaults are "unlimited";
//! a tool that runs other people's scripts next to cloud credentials should not be.

use rhai::Engine;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Rhai operations per run: stops an endless loop. Time spent waiting inside a
    /// primitive does not count.
    pub operations: u64,
    pub call_levels: usize,
    pub expr_depth: usize,
    pub fn_expr_depth: usize,
    pub string_size: usize,
    pub array_size: usize,
    pub map_size: usize,
    pub modules: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            operations: 50_000_000,
            call_levels: 64,
            expr_depth: 64,
            fn_expr_depth: 32,
            string_size: 4 << 20,
            array_size: 100_000,
            map_size: 10_000,
            modules: 64,
        }
    }
}

impl Limits {
    pub fn apply(&self, engine: &mut Engine) {
        engine
            .set_max_operations(self.operations)
            .set_max_call_levels(self.call_levels)
            .set_max_expr_depths(self.expr_depth, self.fn_expr_depth)
            .set_max_string_size(self.string_size)
            .set_max_array_size(self.array_size)
            .set_max_map_size(self.map_size)
            .set_max_modules(self.modules);
    }
}

/// Rhai checks a map's or array's size when the value is next used (passed, returned,
/// printed), not when `m[key] = v` adds a key: a script could build a map far past the
/// limit and never touch it again. A debugger stepping statement by statement checks
/// the variables in scope as they grow, the top level at every statement and the whole
/// of each value every few hundred.
pub fn watch_sizes(engine: &mut Engine, limits: &Limits) {
    use rhai::debugger::DebuggerCommand;
    let (arrays, maps) = (limits.array_size, limits.map_size);
    let steps = std::sync::atomic::AtomicU64::new(0);
    #[allow(deprecated)] // Marked volatile, not deprecated.
    engine.register_debugger(
        // The first call (the script's start) answers Next: from then on, every statement.
        |_, debugger| debugger,
        move |context, _event, node, _source, pos| {
            // `m[k] = v` is the growth Rhai does not check; calls check their own.
            if !matches!(node, rhai::ASTNode::Stmt(rhai::Stmt::Assignment(..))) {
                return Ok(DebuggerCommand::StepInto);
            }
            let step = steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let deep = step.is_multiple_of(256);
            for (_, _, value) in context.scope().iter_raw() {
                if let Some(what) = too_large(value, arrays, maps, deep) {
                    return Err(rhai::EvalAltResult::ErrorDataTooLarge(what.into(), pos).into());
                }
            }
            Ok(DebuggerCommand::StepInto)
        },
    );
}

/// Which limit `value` breaks, if any; `deep` looks inside it too.
fn too_large(
    value: &rhai::Dynamic,
    arrays: usize,
    maps: usize,
    deep: bool,
) -> Option<&'static str> {
    if let Some(map) = value.read_lock::<rhai::Map>() {
        if map.len() > maps {
            return Some("Size of object map");
        }
        if deep {
            return map.values().find_map(|v| too_large(v, arrays, maps, true));
        }
    } else if let Some(array) = value.read_lock::<rhai::Array>() {
        if array.len() > arrays {
            return Some("Size of array");
        }
        if deep {
            return array.iter().find_map(|v| too_large(v, arrays, maps, true));
        }
    }
    None
}
