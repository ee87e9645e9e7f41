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
