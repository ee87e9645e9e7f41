//! What every primitive shares: its registration (`primitive!`: doc, signature and body,
//! nothing else), and one call of it (`Call`): the script's context, the primitive's name
//! on every error, and world work run through the bridge.

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, EvalAltResult, FnPtr, FuncRegistration, Map};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::bridge::{self, CallError};
use super::context::ScriptContext;
use super::convert;
use super::failure::Failure;
use super::options::Options;
use crate::base::error::{Error, ErrorKind};
use crate::world::World;

use crate::base::eval_error::interrupted;

/// Registers one primitive: its `///` doc (as `rigger fns` shows it), its script-facing
/// name and parameters, and its body, which sees the call as the first name given:
///
/// ```ignore
/// primitive! { engine, cx,
///     /// Terminates a machine returned by `launch_instance`.
///     fn terminate_instance(c, node: Map) { ... }
/// }
/// ```
///
/// A parameter shown under another name than Rust can bind is `kind as "type": &str`.
/// A body that calls script functions takes `ctx: NativeCallContext` after the call,
/// which the script does not see. The body returns `Result<T, Box<EvalAltResult>>`, so
/// `?` takes a `Failure` as well.
macro_rules! primitive {
    (@ret) => { () };
    (@ret $ret:ty) => { $ret };
    (@shown $arg:ident) => { stringify!($arg) };
    (@shown $arg:ident $shown:literal) => { $shown };
    (@define $name:ident, [$($arg:ident $(as $shown:literal)?: $ty:ty),*], $($ret:ty)?,
        $first:literal $(, $rest:literal)*) => {
        $crate::primitives::call::define(
            stringify!($name),
            vec![$(format!(
                "{}: {}",
                primitive!(@shown $arg $($shown)?),
                <$ty as $crate::primitives::call::ScriptType>::NAME,
            )),*],
            <primitive!(@ret $($ret)?) as $crate::primitives::call::ScriptType>::NAME,
            concat!("///", $first $(, "\n///", $rest)*),
        )
    };
    (
        $engine:expr, $cx:expr,
        #[doc = $first:literal] $(#[doc = $rest:literal])*
        fn $name:ident($call:ident, $native:ident: NativeCallContext
            $(, $arg:ident $(as $shown:literal)?: $ty:ty)* $(,)?) $(-> $ret:ty)? $body:block
    ) => {{
        let call = $crate::primitives::call::Call::new($cx, stringify!($name));
        primitive!(@define $name, [$($arg $(as $shown)?: $ty),*], $($ret)?, $first $(, $rest)*)
            .register_into_engine($engine, move |$native: ::rhai::NativeCallContext, $($arg: $ty),*|
                -> ::std::result::Result<primitive!(@ret $($ret)?), Box<::rhai::EvalAltResult>> {
                    let $call = &call;
                    $body
                });
    }};
    (
        $engine:expr, $cx:expr,
        #[doc = $first:literal] $(#[doc = $rest:literal])*
        fn $name:ident($call:ident $(, $arg:ident $(as $shown:literal)?: $ty:ty)* $(,)?)
            $(-> $ret:ty)? $body:block
    ) => {{
        let call = $crate::primitives::call::Call::new($cx, stringify!($name));
        primitive!(@define $name, [$($arg $(as $shown)?: $ty),*], $($ret)?, $first $(, $rest)*)
            .register_into_engine($engine, move |$($arg: $ty),*|
                -> ::std::result::Result<primitive!(@ret $($ret)?), Box<::rhai::EvalAltResult>> {
                    let $call = &call;
                    $body
                });
    }};
}
pub(crate) use primitive;

/// The start of a primitive's registration: its name, its parameters (`name: Type`), the
/// type it returns and its documentation as `///` lines.
pub fn define(name: &str, params: Vec<String>, returns: &str, doc: &str) -> FuncRegistration {
    let mut info = params;
    info.push(returns.to_string());
    FuncRegistration::new(name)
        .with_params_info(info)
        .with_comments([doc])
}

/// A Rust type as the reference names it to scripts.
pub trait ScriptType {
    const NAME: &'static str;
}

macro_rules! script_types {
    ($($ty:ty => $name:literal),* $(,)?) => {
        $(impl ScriptType for $ty {
            const NAME: &'static str = $name;
        })*
    };
}

script_types! {
    () => "()",
    bool => "bool",
    i64 => "i64",
    f64 => "f64",
    &str => "String",
    String => "String",
    Map => "Map",
    Array => "Array",
    Dynamic => "Dynamic",
    FnPtr => "FnPtr",
}

/// One primitive as its body sees it: the script's context and the primitive's name,
/// which every failure carries.
#[derive(Clone)]
pub struct Call {
    cx: Arc<ScriptContext>,
    pub name: &'static str,
    grace: Duration,
}

impl Deref for Call {
    type Target = ScriptContext;

    fn deref(&self) -> &ScriptContext {
        &self.cx
    }
}

impl Call {
    pub fn new(cx: &Arc<ScriptContext>, name: &'static str) -> Self {
        Self {
            cx: cx.clone(),
            name,
            grace: Duration::ZERO,
        }
    }

    /// A bad argument, named as this primitive's.
    pub fn invalid(&self, message: impl Into<String>) -> Failure {
        Failure::invalid(self.name, message)
    }

    /// Any other error, named as this primitive's.
    pub fn failed(&self, error: Error) -> Failure {
        Failure::new(self.name, error)
    }

    /// A typed value read from the script's `value` (`what` names it in errors, before
    /// the path of the field that is wrong).
    pub fn read<T: DeserializeOwned>(
        &self,
        what: &str,
        value: impl Into<Dynamic>,
    ) -> Result<T, Failure> {
        convert::from_value(self.name, what, &value.into())
    }

    /// A request that checks itself, read from the script's `value`: its own refusals
    /// are said as they are, led by `lead`; a field of the wrong type is named by its
    /// path under `what`.
    pub fn request<T: DeserializeOwned>(
        &self,
        what: &str,
        lead: &str,
        value: impl Into<Dynamic>,
    ) -> Result<T, Failure> {
        convert::request_from_value(self.name, what, lead, &value.into())
    }

    pub fn to_value<T: Serialize>(&self, value: &T) -> Result<Dynamic, Failure> {
        convert::to_value(self.name, value)
    }

    pub fn to_map<T: Serialize>(&self, value: &T) -> Result<Map, Box<EvalAltResult>> {
        convert::to_map(self.name, value)
    }

    /// The script's option map as `T`: a key `T` has no field for is refused with the
    /// keys it has, a wrong value with its path and what was expected.
    pub fn options_as<T: DeserializeOwned>(&self, map: Map) -> Result<T, Failure> {
        Options::new(self.name, map.clone(), super::typed::fields_of::<T>())?;
        self.read("options", map)
    }

    /// A map that checks itself as it is read (`#[serde(try_from)]`), named `what`: an
    /// unknown key is refused with the known ones, the rest as [`Call::request`] says.
    pub fn spec_as<T: DeserializeOwned>(&self, what: &str, map: Map) -> Result<T, Failure> {
        Options::new(self.name, map.clone(), super::typed::fields_of::<T>())?;
        self.request(what, &format!("{what}."), map)
    }

    /// The script's option map, its keys checked against `known`.
    pub fn options(&self, map: Map, known: &[&str]) -> Result<Options, Failure> {
        Options::new(self.name, map, known)
    }

    pub fn seconds(&self, what: &str, value: &Dynamic) -> Result<Duration, Failure> {
        convert::seconds_arg(self.name, what, value)
    }

    /// The same call for work that creates something: interrupted, such work gets a
    /// grace to finish what it started, so that the world records it and the rollback
    /// removes it.
    pub fn creating(&self) -> Self {
        Self {
            grace: bridge::CREATION_GRACE,
            ..self.clone()
        }
    }

    /// World work: opens the world if needed, runs `make(world)` on the world's runtime
    /// through the bridge. An interrupt stops the work at once (past the grace of
    /// [`Call::creating`]).
    pub fn on_world<T, F>(
        &self,
        limit: Duration,
        make: impl FnOnce(Arc<World>) -> F,
    ) -> Result<T, Box<EvalAltResult>>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        let world = self.cx.world().map_err(|e| self.failed(e))?;
        let handle = world.handle();
        // A spinner on a terminal while the world works on it.
        let _step = crate::base::progress::step(self.name).entered();
        let outcome = self
            .cx
            .bridge
            .call_on(&handle, limit, self.grace, make(world));
        script_result(self.name, outcome)
    }

    /// Async work that needs no world (a pause) through the bridge.
    pub fn wait<T>(
        &self,
        limit: Duration,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Box<EvalAltResult>> {
        script_result(self.name, self.cx.bridge.call(limit, work))
    }
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
            Call::new(&cx, "dns_record")
                .wait(
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
            Call::new(&cx, "sleep")
                .wait(Duration::from_secs(60), async { Ok(()) })
                .unwrap_err()
        })
        .join()
        .unwrap();
        assert!(crate::base::eval_error::is_interrupt(&err), "{err}");
    }
}
