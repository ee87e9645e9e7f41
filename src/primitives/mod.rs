//! Script-facing functions, one file per family. Each converts Rhai values to a typed
//! request, makes one call to the world, and converts the answer back; the helpers here
//! carry the ceremony (registration, the bridge, the primitive's name on errors).

mod bootstrap;
pub mod bridge;
mod compute;
pub mod context;
mod convert;
mod discovery;
mod dns;
mod etcd;
mod ids;
mod members;
mod net;
mod node_resolve;
mod options;
mod param;
pub mod params;
mod phase;
mod pki;
mod resolve;
mod target;
mod time;
mod transport;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, FuncRegistration, Map, Position};

use self::bridge::CallError;
use self::context::ScriptContext;
use crate::base::error::{Error, ErrorKind};
use crate::world::World;

pub use crate::base::eval_error::interrupted;
pub use options::Options;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    param::register(engine, cx);
    time::register(engine, cx);
    net::register(engine, cx);
    ids::register(engine);
    compute::register(engine, cx);
    dns::register(engine, cx);
    resolve::register(engine, cx);
    transport::register(engine, cx);
    node_resolve::register(engine, cx);
    bootstrap::register(engine);
    pki::register(engine, cx);
    etcd::register(engine, cx);
    members::register(engine, cx);
    discovery::register(engine, cx);
    target::register(engine, cx);
    phase::register(engine, cx);
}

/// A primitive as the reference shows it: its name, its parameters (and return type,
/// last) and its documentation as `///` lines.
pub struct Doc {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub text: &'static str,
}

/// The start of a primitive's registration, with its signature and documentation.
pub fn define(doc: &Doc) -> FuncRegistration {
    FuncRegistration::new(doc.name)
        .with_params_info(doc.params)
        .with_comments([doc.text])
}

/// A primitive's error as a script sees it: a map `#{kind, primitive, message, help}`
/// that `try`/`catch` can inspect and the diagnostic renderer decodes.
#[derive(Debug, Clone)]
pub struct Failure {
    pub primitive: &'static str,
    pub error: Error,
}

impl Failure {
    pub fn new(primitive: &'static str, error: Error) -> Self {
        Self { primitive, error }
    }

    /// A bad argument: the script asked for something that cannot be done.
    pub fn invalid(primitive: &'static str, message: impl Into<String>) -> Self {
        Self::new(primitive, Error::invalid(message))
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.error.help = Some(help.into());
        self
    }

    /// The same failure, its message led by `prefix` (which of many it is about).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.error = self.error.prefixed(prefix);
        self
    }
}

impl From<Failure> for Box<EvalAltResult> {
    fn from(f: Failure) -> Self {
        let mut map = Map::new();
        map.insert("kind".into(), f.error.kind.as_str().into());
        map.insert("primitive".into(), f.primitive.into());
        map.insert(
            "message".into(),
            format!("{}: {}", f.primitive, f.error.message).into(),
        );
        if let Some(help) = f.error.help {
            map.insert("help".into(), help.into());
        }
        // Position NONE: the engine fills in the call site.
        Box::new(EvalAltResult::ErrorRuntime(map.into(), Position::NONE))
    }
}

/// Runs world work for a primitive: opens the world if needed, runs `make(world)` on the
/// world's runtime through the bridge, and names the primitive in every failure. An
/// interrupt stops the work at once.
pub fn on_world<T, F>(
    cx: &ScriptContext,
    primitive: &'static str,
    limit: Duration,
    make: impl FnOnce(Arc<World>) -> F,
) -> Result<T, Box<EvalAltResult>>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    world_call(cx, primitive, limit, Duration::ZERO, make)
}

/// [`on_world`] for work that creates something: interrupted, it gets a grace to finish
/// what it started, so that the world records it and the rollback removes it.
pub fn creating<T, F>(
    cx: &ScriptContext,
    primitive: &'static str,
    limit: Duration,
    make: impl FnOnce(Arc<World>) -> F,
) -> Result<T, Box<EvalAltResult>>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    world_call(cx, primitive, limit, bridge::CREATION_GRACE, make)
}

fn world_call<T, F>(
    cx: &ScriptContext,
    primitive: &'static str,
    limit: Duration,
    grace: Duration,
    make: impl FnOnce(Arc<World>) -> F,
) -> Result<T, Box<EvalAltResult>>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let world = cx.world().map_err(|e| Failure::new(primitive, e))?;
    let handle = world.handle();
    // A spinner on a terminal while the world works on it.
    let _step = crate::base::progress::step(primitive).entered();
    let outcome = cx.bridge.call_on(&handle, limit, grace, make(world));
    script_result(primitive, outcome)
}

/// Runs async work that needs no world (a pause) through the bridge.
pub fn wait<T>(
    cx: &ScriptContext,
    primitive: &'static str,
    limit: Duration,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Box<EvalAltResult>> {
    script_result(primitive, cx.bridge.call(limit, work))
}

/// A bridged call's outcome as the script sees it.
fn script_result<T>(
    primitive: &'static str,
    outcome: Result<T, CallError<Error>>,
) -> Result<T, Box<EvalAltResult>> {
    match outcome {
        Ok(value) => Ok(value),
        Err(CallError::Failed(error)) => Err(Failure::new(primitive, error).into()),
        Err(CallError::Timeout(limit)) => Err(Failure::new(
            primitive,
            Error::new(
                ErrorKind::Timeout,
                format!("no result within {}", crate::base::human::duration(limit)),
            ),
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
    number.and_then(crate::base::human::seconds).ok_or_else(|| {
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
    use crate::primitives::bridge::{Bridge, Interrupt};
    use crate::primitives::params::Params;

    fn thrown_map(err: &EvalAltResult) -> Map {
        match err {
            EvalAltResult::ErrorRuntime(value, _) => value.clone().cast::<Map>(),
            other => panic!("expected a thrown map, got {other}"),
        }
    }

    #[test]
    fn a_bridged_call_past_its_limit_throws_a_timeout_map() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cx = ScriptContext::new(
            Bridge::new(rt.handle().clone(), Interrupt::new()),
            Params::default(),
        );
        let err = std::thread::spawn(move || {
            wait(
                &cx,
                "dns_record",
                Duration::from_millis(100),
                std::future::pending::<Result<(), Error>>(),
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
        let cx = ScriptContext::new(
            Bridge::new(rt.handle().clone(), interrupt),
            Params::default(),
        );
        let err = std::thread::spawn(move || {
            wait(&cx, "sleep", Duration::from_secs(60), async { Ok(()) }).unwrap_err()
        })
        .join()
        .unwrap();
        assert!(crate::base::eval_error::is_interrupt(&err), "{err}");
    }
}
