//! `target`, `planning`: which world the script runs against, for the few choices that
//! differ.

use std::sync::Arc;

use rhai::Engine;

use super::context::ScriptContext;
use super::{Doc, define};

const TARGET: Doc = Doc {
    name: "target",
    params: &["String"],
    text: "\
/// The world this run acts on: \"lab\" or \"aws\" (`--target`). Scripts use it for
/// the few defaults that differ, such as how etcd is installed.",
};

const PLANNING: Doc = Doc {
    name: "planning",
    params: &["bool"],
    text: "\
/// True in a dry run (`--dry-run`): commands are written down, not run, so their
/// output is empty and a script must not judge by it.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let name = cx.target();
    define(&TARGET).register_into_engine(engine, move || -> String { name.clone() });
    let planning = cx.dry_run();
    define(&PLANNING).register_into_engine(engine, move || -> bool { planning });
}
