//! `wait_tcp`: wait until something listens on a TCP address.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, FuncRegistration, Map};

use super::{Failure, Options};
use crate::host::Host;
use crate::services::wait;

const NAME: &str = "wait_tcp";

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    FuncRegistration::new(NAME)
        .with_params_info(["address: String", "options: Map", "()"])
        .with_comments(["/// Waits until `address` (`host:port`) accepts a TCP connection.\n/// Options: `timeout` (seconds, default 60), `interval` (seconds between tries, default 0.25).\n/// Fails after `timeout` with the last connection error seen."])
        .register_into_engine(engine, move |address: &str, options: Map| -> Result<(), Box<EvalAltResult>> {
            wait_tcp(&h, address, options)
        });
    let h = host.clone();
    FuncRegistration::new(NAME)
        .with_params_info(["address: String", "()"])
        .with_comments(["/// `wait_tcp(address, #{})`: waits up to 60 seconds."])
        .register_into_engine(
            engine,
            move |address: &str| -> Result<(), Box<EvalAltResult>> {
                wait_tcp(&h, address, Map::new())
            },
        );
}

fn wait_tcp(host: &Host, address: &str, options: Map) -> Result<(), Box<EvalAltResult>> {
    let options = Options::new(NAME, options, &["timeout", "interval"])?;
    let timeout = options.seconds("timeout", 60.0)?;
    let interval = options.seconds("interval", 0.25)?;
    let address = address.to_string();
    // The service keeps its own deadline so it can say what it saw last; the bridge's
    // limit is only a backstop.
    super::wait(host, NAME, timeout + Duration::from_secs(5), async move {
        wait::tcp(&address, timeout, interval)
            .await
            .map_err(|err| Failure::new(NAME, err.kind(), err.to_string()))
    })
}
