//! Rhai values <-> the typed values providers take, with errors that name the primitive.

use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Map};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::failure::Failure;
use crate::base::error::Error;

pub fn to_value<T: Serialize>(primitive: &'static str, value: &T) -> Result<Dynamic, Failure> {
    rhai::serde::to_dynamic(value).map_err(|e| {
        Failure::new(
            primitive,
            Error::failed(format!("cannot convert the result: {e}")),
        )
    })
}

/// A result that is a map (an instance, a record) as the script's map.
pub fn to_map<T: Serialize>(primitive: &'static str, value: &T) -> Result<Map, Box<EvalAltResult>> {
    Ok(to_value(primitive, value)?.cast::<Map>())
}

/// Reads a typed value from a script's value; `what` names it in the error, before the
/// path of the field that is wrong.
pub fn from_value<T: DeserializeOwned>(
    primitive: &'static str,
    what: &str,
    value: &Dynamic,
) -> Result<T, Failure> {
    read(value).map_err(|(path, why)| {
        let place = path.map_or_else(|| what.to_string(), |p| format!("{what}.{p}"));
        Failure::invalid(
            primitive,
            format!("{place} is not what was expected: {why}"),
        )
    })
}

/// [`from_value`] for a request that checks itself (`#[serde(try_from)]`): what it
/// refuses as a whole is said as it says it, led by `lead` ("record 2: ").
pub fn request_from_value<T: DeserializeOwned>(
    primitive: &'static str,
    what: &str,
    lead: &str,
    value: &Dynamic,
) -> Result<T, Failure> {
    read(value).map_err(|(path, why)| {
        let message = match path {
            Some(p) => format!("{what}.{p} is not what was expected: {why}"),
            None => format!("{lead}{why}"),
        };
        Failure::invalid(primitive, message)
    })
}

/// The value as `T`, or the path of the field that is wrong (`None`: the value as a
/// whole) and why.
fn read<T: DeserializeOwned>(value: &Dynamic) -> Result<T, (Option<String>, String)> {
    use serde::de::IntoDeserializer;
    serde_path_to_error::deserialize(value.into_deserializer()).map_err(|e| {
        let path = e.path().to_string();
        let why = crate::base::eval_error::describe_plain(*e.into_inner());
        let path = (path != "." && !path.is_empty()).then_some(path);
        (path, why)
    })
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
