//! `sleep`: a pause that Ctrl-C ends at once.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, FuncRegistration};

use crate::host::Host;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    // Typed overloads: they must shadow Rhai's own `sleep(i64)` / `sleep(f64)`, which
    // block the thread and ignore Ctrl-C.
    let h = host.clone();
    FuncRegistration::new("sleep")
        .with_params_info(["seconds: i64", "()"])
        .with_comments(["/// Pauses the script for `seconds`; Ctrl-C ends the pause at once."])
        .register_into_engine(engine, move |seconds: i64| sleep(&h, seconds.into()));
    let h = host.clone();
    FuncRegistration::new("sleep")
        .with_params_info(["seconds: f64", "()"])
        .with_comments(["/// Pauses the script for `seconds` (fractions allowed, `sleep(0.5)`)."])
        .register_into_engine(engine, move |seconds: f64| sleep(&h, seconds.into()));
}

fn sleep(host: &Host, seconds: Dynamic) -> Result<(), Box<EvalAltResult>> {
    let pause = super::seconds_arg("sleep", "seconds", &seconds)?;
    super::wait(host, "sleep", pause + Duration::from_secs(1), async move {
        tokio::time::sleep(pause).await;
        Ok(())
    })
}
