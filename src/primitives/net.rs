//! `wait_tcp`: wait until something listens on a TCP address.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::{Doc, Options, define, on_world, wait};
use crate::services::probe::is_loopback;

const WAIT_TCP: Doc = Doc {
    name: "wait_tcp",
    params: &["address: String", "options: Map", "()"],
    text: "\
/// Waits until `address` (`host:port`) accepts a TCP connection.
/// Options: `timeout` (seconds, default 60), `interval` (seconds between tries, default 0.25).
/// Fails after `timeout` with the last connection error seen.",
};

const WAIT_TCP_DEFAULT: Doc = Doc {
    name: "wait_tcp",
    params: &["address: String", "()"],
    text: "/// `wait_tcp(address, #{})`: waits up to 60 seconds.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let c = cx.clone();
    define(&WAIT_TCP).register_into_engine(engine, move |address: &str, options: Map| {
        wait_tcp(&c, address, options)
    });
    let c = cx.clone();
    define(&WAIT_TCP_DEFAULT).register_into_engine(engine, move |address: &str| {
        wait_tcp(&c, address, Map::new())
    });
}

fn wait_tcp(cx: &ScriptContext, address: &str, options: Map) -> Result<(), Box<EvalAltResult>> {
    let options = Options::new(WAIT_TCP.name, options, &["timeout", "interval"])?;
    let timeout = options.seconds("timeout", 60.0)?;
    let interval = options.seconds("interval", 0.25)?;
    let address = address.to_string();
    // The bridge's backstop: the probe keeps its own deadline so it can say what it saw.
    let limit = timeout + Duration::from_secs(5);
    // This machine's own ports are not the world's: asking them brings no lab up.
    if is_loopback(&address)
        && let Some(probe) = cx.machine_probe()
    {
        return wait(cx, WAIT_TCP.name, limit, async move {
            probe.wait_tcp(&address, timeout, interval).await
        });
    }
    on_world(cx, WAIT_TCP.name, limit, move |world| async move {
        world
            .backends
            .probe
            .wait_tcp(&address, timeout, interval)
            .await
    })
}
