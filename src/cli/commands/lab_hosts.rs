//! `rigger lab hosts add | list | remove`: lab machines made outside any run, standing
//! for machines of your own (`--target hosts`), and the inventory that lists them.

use std::net::SocketAddr;

use crate::base::state_dir::StateDir;
use crate::base::writer::Writer;
use crate::cli::exit;
use crate::providers::lab::{Lab, netns, own};

/// Makes `count` booted machines and prints their inventory (TOML).
pub fn add(state: &StateDir, prefix: &str, count: usize, resolver: Option<SocketAddr>) -> u8 {
    if let Err(why) = crate::base::names::check_label(prefix) {
        return super::fail(format!("--prefix {prefix:?}: {why}"), None);
    }
    // The machines' resolv.conf names an address, port 53, inside the lab.
    let nameserver = match resolver {
        None => None,
        Some(SocketAddr::V4(v4)) if v4.port() == 53 && netns::in_lab_range(*v4.ip()) => {
            Some(*v4.ip())
        }
        Some(other) => {
            return super::fail(
                format!(
                    "--resolver {other}: lab machines can only ask a DNS server on port 53 of a lab address (198.18.0.0/15)"
                ),
                Some(
                    "etcd's resolver asks port 53 only, and the lab has no route to anything else"
                        .into(),
                ),
            );
        }
    };
    let _writer = match Writer::take(state) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
    let lab = Lab::new(state);
    match lab.add_own(prefix, count, nameserver) {
        Ok(_) => list_locked(&lab),
        Err(e) => super::fail(format!("lab hosts add: {}", e.message), e.help),
    }
}

/// Prints the inventory of every machine made by `add`.
pub fn list(state: &StateDir) -> u8 {
    list_locked(&Lab::new(state))
}

fn list_locked(lab: &Lab) -> u8 {
    match lab.own_hosts() {
        Ok(hosts) if hosts.is_empty() => super::fail(
            "the lab has no machines made by `rigger lab hosts add`",
            Some("rigger lab hosts add --count 3".into()),
        ),
        Ok(hosts) => {
            crate::base::output::data(&own::inventory(lab.dir(), &hosts));
            exit::OK
        }
        Err(e) => super::fail(format!("lab hosts: {}", e.message), e.help),
    }
}

/// Takes down the machines named (every one made by `add` when none is).
pub fn remove(state: &StateDir, names: &[String]) -> u8 {
    let _writer = match Writer::take(state) {
        Ok(w) => w,
        Err(e) => return super::fail(e.message, e.help),
    };
    // A machine a cluster holds goes with that cluster's destroy, which gives it back.
    let lab = Lab::new(state);
    let held = crate::providers::compute::hosts::read_claims(state).unwrap_or_default();
    let own = lab.own_hosts().unwrap_or_default();
    let taken: Vec<String> = own
        .iter()
        .filter(|h| names.is_empty() || names.contains(&h.name))
        .filter(|h| {
            // A stranded machine (its cluster let it go, unreachable) is held by nobody.
            held.values().any(|c| {
                c.stranded.is_none() && c.instance.public_ip.as_deref() == Some(h.ip.as_str())
            })
        })
        .map(|h| h.name.clone())
        .collect();
    if !taken.is_empty() {
        return super::fail(
            format!("lab hosts remove: {} held by a cluster", taken.join(", ")),
            Some("`rigger destroy` (or `destroy --discovery-srv DOMAIN`) gives them back first; `rigger lab down` takes everything".into()),
        );
    }
    match lab.remove_own(names) {
        Ok(gone) => {
            let ips: Vec<String> = own
                .iter()
                .filter(|h| gone.contains(&h.name))
                .map(|h| h.ip.clone())
                .collect();
            let was = |c: &crate::providers::compute::hosts::Claim| {
                c.instance
                    .public_ip
                    .as_ref()
                    .is_some_and(|ip| ips.contains(ip))
            };
            if let Err(e) = crate::providers::compute::hosts::forget_claims(state, was) {
                tracing::error!("cannot update the inventory's claims: {e}");
            }
            for name in gone {
                tracing::info!("{name}: taken down");
            }
            exit::OK
        }
        Err(e) => super::fail(format!("lab hosts remove: {}", e.message), e.help),
    }
}
