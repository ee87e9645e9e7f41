//! `sleep`: a pause that Ctrl-C ends at once.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult};

use super::call::{Call, primitive};
use super::context::ScriptContext;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    // Typed overloads: they must shadow Rhai's own `sleep(i64)` / `sleep(f64)`, which
    // block the thread and ignore Ctrl-C.
    primitive! { engine, cx,
        /// Pauses the script for `seconds`; Ctrl-C ends the pause at once.
        fn sleep(c, seconds: i64) { sleep(c, seconds.into()) }
    }
    primitive! { engine, cx,
        /// Pauses the script for `seconds` (fractions allowed, `sleep(0.5)`).
        fn sleep(c, seconds: f64) { sleep(c, seconds.into()) }
    }
}

fn sleep(c: &Call, seconds: Dynamic) -> Result<(), Box<EvalAltResult>> {
    let pause = c.seconds("seconds", &seconds)?;
    c.wait(pause + Duration::from_secs(1), async move {
        tokio::time::sleep(pause).await;
        Ok(())
    })
}
