//! `param`: values given on the command line with `--set`.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, FuncRegistration};

use super::Failure;
use crate::host::Host;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    FuncRegistration::new("param")
        .with_params_info(["name: String", "Dynamic"])
        .with_comments(["/// The value given with `--set name=VALUE`.\n/// Fails, naming the `--set` that would supply it, when none was given."])
        .register_into_engine(engine, move |name: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            h.params.get(name).ok_or_else(|| {
                Failure::new("param", "missing", format!("no value for {name:?}"))
                    .with_help(format!("give one on the command line: --set {name}=VALUE"))
                    .into()
            })
        });
    let h = host.clone();
    FuncRegistration::new("param")
        .with_params_info(["name: String", "default: Dynamic", "Dynamic"])
        .with_comments([
            "/// The value given with `--set name=VALUE`, or `default` when none was given.",
        ])
        .register_into_engine(engine, move |name: &str, default: Dynamic| -> Dynamic {
            h.params.get(name).unwrap_or(default)
        });
}
