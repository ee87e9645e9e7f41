//! `wait_tcp`: wait until something listens on a TCP address; `is_ip`.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::typed::Seconds;
use crate::services::probe::is_loopback;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Whether `text` is an IPv4 or IPv6 address (`198.18.1.1`, `2001:db8::1`).
        fn is_ip(_c, text: &str) -> bool { Ok(text.parse::<std::net::IpAddr>().is_ok()) }
    }
    primitive! { engine, cx,
        /// Waits until `address` (`host:port`) accepts a TCP connection.
        /// Options: `timeout` (seconds, default 60), `interval` (seconds between tries, default 0.25).
        /// Fails after `timeout` with the last connection error seen.
        fn wait_tcp(c, address: &str, options: Map) { wait_tcp(c, address, options) }
    }
    primitive! { engine, cx,
        /// `wait_tcp(address, #{})`: waits up to 60 seconds.
        fn wait_tcp(c, address: &str) { wait_tcp(c, address, Map::new()) }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitOptions {
    timeout: Option<Seconds>,
    interval: Option<Seconds>,
}

fn wait_tcp(c: &Call, address: &str, options: Map) -> Result<(), Box<EvalAltResult>> {
    let options: WaitOptions = c.options_as(options)?;
    let timeout = Seconds::or(options.timeout, 60.0);
    let interval = Seconds::or(options.interval, 0.25);
    // Nothing ever listens on port 0: a wait for it is a mistake, said now.
    let port = address.rsplit_once(':').map(|(_, p)| p.parse::<u16>());
    if !matches!(port, Some(Ok(p)) if p > 0) {
        let why = format!("{address:?} is not host:port with a port from 1 to 65535");
        return Err(c.invalid(why).into());
    }
    let address = address.to_string();
    // The bridge's backstop: the probe keeps its own deadline so it can say what it saw.
    let limit = timeout + Duration::from_secs(5);
    // This machine's own ports are not the world's: asking them brings no lab up.
    if is_loopback(&address)
        && let Some(probe) = c.machine_probe()
    {
        return c.wait(limit, async move {
            probe.wait_tcp(&address, timeout, interval).await
        });
    }
    c.on_world(limit, move |world| async move {
        world
            .backends
            .probe
            .wait_tcp(&address, timeout, interval)
            .await
    })
}
