//! Script-facing functions, one file per family. Each converts Rhai values to a typed
//! request, asks the layer below, and converts the answer back; no logic of its own.

mod bootstrap;
mod compute;
mod convert;
mod dns;
mod etcd;
mod ids;
mod net;
mod options;
mod params;
mod pki;
mod resolve;
mod target;
mod time;
mod transport;

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
    compute::register(engine, host);
    dns::register(engine, host);
    resolve::register(engine, host);
    transport::register(engine, host);
    bootstrap::register(engine);
    pki::register(engine, host);
    etcd::register(engine, host);
    target::register(engine, host);
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

impl Failure {
    pub fn from_provider(primitive: &'static str, e: crate::providers::ProviderError) -> Self {
        Self {
            primitive,
            kind: e.kind,
            message: e.message,
            help: e.help,
        }
    }
}

/// Runs world work for a primitive: brings the world up if needed, runs `make(world)` on
/// the world's runtime through the bridge, and maps every failure to a script error.
pub fn on_world<T, F>(
    host: &Host,
    primitive: &'static str,
    limit: Duration,
    make: impl FnOnce(Arc<crate::world::World>) -> F,
) -> Result<T, Box<EvalAltResult>>
where
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    T: Send + 'static,
{
    let world = host
        .world()
        .map_err(|e| Failure::from_provider(primitive, e))?;
    let handle = world.handle();
    script_result(primitive, host.bridge.call_on(&handle, limit, make(world)))
}

/// A bridged call's outcome as the script sees it.
fn script_result<T>(
    primitive: &'static str,
    outcome: Result<T, CallError<Failure>>,
) -> Result<T, Box<EvalAltResult>> {
    match outcome {
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

/// Writes a new resource to the run's journal before the primitive returns it. If the
/// journal cannot take it, the resource is taken down again: nothing may exist that
/// rollback and destroy do not know of.
pub async fn journal_created(
    world: &crate::world::World,
    primitive: &'static str,
    resource: crate::services::journal::Resource,
) -> Result<(), Failure> {
    if let Err(e) = world.journal.created(resource.clone()) {
        let _ = world.undo(&resource).await;
        return Err(Failure::new(
            primitive,
            "failed",
            format!("cannot record {} in the journal: {e}", resource.describe()),
        ));
    }
    Ok(())
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
    script_result(primitive, host.bridge.call(limit, work))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::{Bridge, Interrupt};
    use crate::params::Params;

    fn thrown_map(err: &EvalAltResult) -> Map {
        match err {
            EvalAltResult::ErrorRuntime(value, _) => value.clone().cast::<Map>(),
            other => panic!("expected a thrown map, got {other}"),
        }
    }

    #[test]
    fn a_bridged_call_past_its_limit_throws_a_timeout_map() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let host = Host::new(
            Bridge::new(rt.handle().clone(), Interrupt::new()),
            Params::default(),
        );
        let err = std::thread::spawn(move || {
            wait(
                &host,
                "dns_record",
                Duration::from_millis(100),
                std::future::pending::<Result<(), Failure>>(),
            )
            .unwrap_err()
        })
        .join()
        .unwrap();
        let map = thrown_map(&err);
        assert_eq!(map["kind"].to_string(), "timeout");
        assert_eq!(map["primitive"].to_string(), "dns_record");
        assert_eq!(
            map["message"].to_string(),
            "dns_record: no result within 100ms"
        );
    }

    #[test]
    fn a_bridged_call_on_an_interrupted_run_terminates_the_script() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let interrupt = Interrupt::new();
        interrupt.raise();
        let host = Host::new(
            Bridge::new(rt.handle().clone(), interrupt),
            Params::default(),
        );
        let err = std::thread::spawn(move || {
            wait(&host, "sleep", Duration::from_secs(60), async { Ok(()) }).unwrap_err()
        })
        .join()
        .unwrap();
        assert!(crate::diagnostic::is_interrupt(&err), "{err}");
    }
}
