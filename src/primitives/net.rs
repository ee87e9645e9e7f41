//! `wait_tcp`: wait until something listens on a TCP address.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, FuncRegistration, Map};

use super::{Failure, Options};
use crate::host::Host;
use crate::services::wait;
use crate::world::Target;

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
    if host.dry_run() {
        // Nothing is dialled in a dry run; the plan says what would be waited for.
        let address = address.to_string();
        return super::on_world(host, NAME, limit_of(timeout), move |world| async move {
            if let Some(plan) = &world.plan {
                plan.record(format!("wait until {address} accepts TCP connections"));
            }
            Ok(())
        });
    }
    // In the lab, anything but this machine's loopback is a lab address: it is dialled
    // from inside the lab (which has no route out), never from this machine's network.
    // Lab names are not looked up here: the system resolver would ask outside the lab.
    let inside_lab = host.target() == Some(Target::Lab) && !is_loopback(address);
    if inside_lab && !is_ip_address(address) {
        return Err(Failure::invalid(NAME, format!("{address:?}: in the lab, give an address, not a name"))
            .with_help("names resolve through the lab's DNS: wait_resolves(name, ip) first, then wait_tcp(`${ip}:port`)")
            .into());
    }
    let address = address.to_string();
    let limit = limit_of(timeout);
    let work = async move {
        wait::tcp(&address, timeout, interval)
            .await
            .map_err(|err| Failure::new(NAME, err.kind(), err.to_string()))
    };
    if inside_lab {
        super::on_world(host, NAME, limit, move |_| work)
    } else {
        super::wait(host, NAME, limit, work)
    }
}

/// The bridge's backstop: the service keeps its own deadline so it can say what it saw.
fn limit_of(timeout: Duration) -> Duration {
    timeout + Duration::from_secs(5)
}

/// `198.18.1.1:2379`, `[fd00::1]:22`: an IP, not a name.
fn is_ip_address(address: &str) -> bool {
    address.parse::<std::net::SocketAddr>().is_ok()
}

/// `127.0.0.1:2379`, `[::1]:22`, `localhost:80`.
fn is_loopback(address: &str) -> bool {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_addresses_are_recognised() {
        assert!(is_loopback("127.0.0.1:2379"));
        assert!(is_loopback("127.5.5.5:1"));
        assert!(is_loopback("[::1]:22"));
        assert!(is_loopback("localhost:80"));
        assert!(!is_loopback("198.18.1.1:2379"));
        assert!(!is_loopback("etcd-1.example.test:2379"));
    }
}
