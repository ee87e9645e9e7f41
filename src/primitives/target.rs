//! `target`, `planning`: which world the script runs against, for the few choices that
//! differ.

use std::sync::Arc;

use rhai::Engine;

use super::call::primitive;
use super::context::ScriptContext;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// The world this run acts on: "lab" or "aws" (`--target`). Scripts use it for
        /// the few defaults that differ, such as how etcd is installed.
        fn target(c) -> String { Ok(c.target()) }
    }
    primitive! { engine, cx,
        /// True in a dry run (`--dry-run`): commands are written down, not run, so their
        /// output is empty and a script must not judge by it.
        fn planning(c) -> bool { Ok(c.dry_run()) }
    }
}
