//! `sleep`: a pause that Ctrl-C ends at once.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult};

use super::context::ScriptContext;
use super::{Doc, define};

const SLEEP_INT: Doc = Doc {
    name: "sleep",
    params: &["seconds: i64", "()"],
    text: "/// Pauses the script for `seconds`; Ctrl-C ends the pause at once.",
};

const SLEEP_FLOAT: Doc = Doc {
    name: "sleep",
    params: &["seconds: f64", "()"],
    text: "/// Pauses the script for `seconds` (fractions allowed, `sleep(0.5)`).",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    // Typed overloads: they must shadow Rhai's own `sleep(i64)` / `sleep(f64)`, which
    // block the thread and ignore Ctrl-C.
    let c = cx.clone();
    define(&SLEEP_INT).register_into_engine(engine, move |seconds: i64| sleep(&c, seconds.into()));
    let c = cx.clone();
    define(&SLEEP_FLOAT)
        .register_into_engine(engine, move |seconds: f64| sleep(&c, seconds.into()));
}

fn sleep(cx: &ScriptContext, seconds: Dynamic) -> Result<(), Box<EvalAltResult>> {
    let pause = super::seconds_arg("sleep", "seconds", &seconds)?;
    super::wait(cx, "sleep", pause + Duration::from_secs(1), async move {
        tokio::time::sleep(pause).await;
        Ok(())
    })
}
