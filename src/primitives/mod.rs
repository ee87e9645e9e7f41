//! Script-facing functions, one file per family. Each converts Rhai values to a typed
//! request, asks the layer below, and converts the answer back; no logic of its own.

mod ids;
mod net;
mod options;
mod params;
mod time;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, Map, Position};

use crate::bridge::CallError;
use crate::host::Host;

pub use options::Options;

/// The value carried by `ErrorTerminated` when the user interrupts a run.
pub const INTERRUPTED: &str = "interrupted";

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    params::register(engine, host);
    time::register(engine, host);
    net::register(engine, host);
    ids::register(engine);
}

/// A primitive's error as a script sees it: a map `#{kind, primitive, message, help}`
/// that `try`/`catch` can inspect and the diagnostic renderer decodes.
#[derive(Debug, Clone)]
pub struct Failure {
    pub primitive: &'static str,
    pub kind: &'static str,
    pub message: String,
    pub help: Option<String>,
}

impl Failure {
    pub fn new(primitive: &'static str, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            primitive,
            kind,
            message: message.into(),
            help: None,
        }
    }

    /// A bad argument: the script asked for something that cannot be done.
    pub fn invalid(primitive: &'static str, message: impl Into<String>) -> Self {
        Self::new(primitive, "invalid", message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl From<Failure> for Box<EvalAltResult> {
    fn from(f: Failure) -> Self {
        let mut map = Map::new();
        map.insert("kind".into(), f.kind.into());
        map.insert("primitive".into(), f.primitive.into());
        map.insert(
            "message".into(),
            format!("{}: {}", f.primitive, f.message).into(),
        );
        if let Some(help) = f.help {
            map.insert("help".into(), help.into());
        }
        // Position NONE: the engine fills in the call site.
        Box::new(EvalAltResult::ErrorRuntime(map.into(), Position::NONE))
    }
}

pub fn interrupted() -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        INTERRUPTED.into(),
        Position::NONE,
    ))
}

/// Runs async work for a primitive through the bridge, turning a timeout or an
/// interrupt into the matching script error.
pub fn wait<T>(
    host: &Host,
    primitive: &'static str,
    limit: Duration,
    work: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Box<EvalAltResult>> {
    match host.bridge.call(limit, work) {
        Ok(value) => Ok(value),
        Err(CallError::Failed(failure)) => Err(failure.into()),
        Err(CallError::Timeout(limit)) => Err(Failure::new(
            primitive,
            "timeout",
            format!("no result within {}", crate::human::duration(limit)),
        )
        .into()),
        Err(CallError::Interrupted) => Err(interrupted()),
    }
}

/// Seconds given by a script as an integer or a float.
pub fn seconds_arg(
    primitive: &'static str,
    what: &str,
    value: &Dynamic,
) -> Result<Duration, Failure> {
    let number = value
        .as_float()
        .ok()
        .or_else(|| value.as_int().ok().map(|i| i as f64));
    number.and_then(crate::human::seconds).ok_or_else(|| {
        Failure::invalid(
            primitive,
            format!(
                "{what} must be a number of seconds between 0 and a year, got {} ({})",
                value,
                value.type_name()
            ),
        )
    })
}
