//! `target`: which world the script runs against, for the few choices that differ.

use std::sync::Arc;

use rhai::{Engine, FuncRegistration};

use crate::host::Host;
use crate::world::Target;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let name = match host.target() {
        Some(Target::Lab) | None => "lab",
        Some(Target::Aws) => "aws",
    };
    FuncRegistration::new("target")
        .with_params_info(["String"])
        .with_comments(["/// The world this run acts on: \"lab\" or \"aws\" (`--target`). Scripts use it for\n/// the few defaults that differ, such as how etcd is installed."])
        .register_into_engine(engine, move || -> String { name.to_string() });
    let planning = host.dry_run();
    FuncRegistration::new("planning")
        .with_params_info(["bool"])
        .with_comments([
            "/// True in a dry run (`--dry-run`): commands are written down, not run, so their
/// output is empty and a script must not judge by it.",
        ])
        .register_into_engine(engine, move || -> bool { planning });
}
