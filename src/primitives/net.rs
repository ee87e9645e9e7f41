//! `wait_tcp`: wait until something listens on a TCP address; `is_ip`.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::{Doc, Failure, Options, define, on_world, wait};
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

const IS_IP: Doc = Doc {
    name: "is_ip",
    params: &["text: String", "bool"],
    text: "/// Whether `text` is an IPv4 or IPv6 address (`198.18.1.1`, `2001:db8::1`).",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    define(&IS_IP).register_into_engine(engine, |text: &str| {
        text.parse::<std::net::IpAddr>().is_ok()
    });
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
    // Nothing ever listens on port 0: a wait for it is a mistake, said now.
    let port = address.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
    if !matches!(port, Some(Ok(p)) if p > 0) {
        return Err(Failure::invalid(
            WAIT_TCP.name,
            format!("{address:?} is not host:port with a port from 1 to 65535"),
        )
        .into());
    }
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
