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
