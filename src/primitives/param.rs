//! `param`: the values given with `--set`, as scripts read them.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult};

use super::context::ScriptContext;
use super::{Doc, Failure, define};
use crate::base::error::Error;

const PARAM: Doc = Doc {
    name: "param",
    params: &["name: String", "Dynamic"],
    text: "\
/// The value given with `--set name=VALUE`.
/// Fails, naming the `--set` that would supply it, when none was given.",
};

const PARAM_OR: Doc = Doc {
    name: "param",
    params: &["name: String", "default: Dynamic", "Dynamic"],
    text: "/// The value given with `--set name=VALUE`, or `default` when none was given.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let c = cx.clone();
    define(&PARAM).register_into_engine(
        engine,
        move |name: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            c.params.get(name).ok_or_else(|| {
                Failure::new(
                    PARAM.name,
                    Error::missing(format!("no value for {name:?}"))
                        .with_help(format!("give one on the command line: --set {name}=VALUE")),
                )
                .into()
            })
        },
    );
    let c = cx.clone();
    define(&PARAM_OR).register_into_engine(engine, move |name: &str, default: Dynamic| {
        c.params.get(name).unwrap_or(default)
    });
}
