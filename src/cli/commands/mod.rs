//! Commands other than `run`: each a function from parsed arguments to an exit status.

pub mod access;
pub mod certs;
pub mod definitions;
pub mod destroy;
pub mod destroy_cluster;
pub mod doctor;
pub mod endpoints;
pub mod env;
pub mod fns;
pub mod health;
pub mod lab;
pub mod lab_hosts;
pub mod lost;
pub mod man;
pub mod members;
pub mod scripts;
pub mod state;
pub mod table;

use crate::cli::diagnostic::{self, ScriptError};
use crate::cli::exit;

/// Prints an error the way every rigger error looks and returns the failure status.
pub fn fail(message: impl Into<String>, help: Option<String>) -> u8 {
    crate::base::output::to_stderr(&diagnostic::render(&ScriptError::plain(message, help)));
    exit::FAILED
}

/// `--discovery-srv-name NAME` checked: one DNS label, as etcd puts it after the service
/// label; else the failure status after saying why.
pub fn service_name(name: &str) -> Result<(), u8> {
    if crate::base::names::check_label(name).is_err() {
        return Err(fail(
            format!(
                "--discovery-srv-name {name:?} is not one DNS label (letters, digits, hyphens)"
            ),
            Some("etcd puts it after the service: _etcd-server-ssl-NAME._tcp.DOMAIN".into()),
        ));
    }
    Ok(())
}

/// The cluster `--discovery-srv DOMAIN [--discovery-srv-name NAME]` names, as the state
/// keys it: `DOMAIN`, or `DOMAIN/NAME`; else the failure status after saying why.
pub fn cluster_key(domain: &str, name: Option<&str>) -> Result<String, u8> {
    let domain = discovery_domain(domain)?;
    match name {
        Some(name) => {
            service_name(name)?;
            Ok(format!("{domain}/{name}"))
        }
        None => Ok(domain),
    }
}

/// The flags that name the cluster `key` (`DOMAIN` or `DOMAIN/NAME`) on a command line.
pub fn cluster_flags(key: &str) -> String {
    match crate::base::names::split_cluster(key) {
        (domain, Some(name)) => format!("--discovery-srv {domain} --discovery-srv-name {name}"),
        (domain, None) => format!("--discovery-srv {domain}"),
    }
}

/// How rigger's scripts are told the cluster `key`: `--set domain=D`, and `--set name=N`
/// for a named one.
pub fn script_flags(key: &str) -> String {
    match crate::base::names::split_cluster(key) {
        (domain, Some(name)) => format!("--set domain={domain} --set name={name}"),
        (domain, None) => format!("--set domain={domain}"),
    }
}

/// `--discovery-srv DOMAIN` as a checked domain, or the failure status after saying why.
pub fn discovery_domain(domain: &str) -> Result<String, u8> {
    crate::base::names::check_name(domain, false).map_err(|why| {
        fail(
            format!("--discovery-srv {domain:?} is not a valid domain: {why}"),
            None,
        )
    })
}

/// A value as every `--json` of rigger prints it: pretty, keys in the order the type
/// declares them (snake_case), one newline at the end.
pub fn json_text<T: serde::Serialize>(value: &T) -> String {
    format!(
        "{}\n",
        serde_json::to_string_pretty(value).expect("rigger's reports serialise")
    )
}
