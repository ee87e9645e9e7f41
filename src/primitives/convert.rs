//! Rhai values <-> the typed values providers take, with errors that name the primitive.

use rhai::{Dynamic, EvalAltResult, Map};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Failure;
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

/// Reads a typed value from a script's map; `what` names it in the error.
pub fn from_value<T: DeserializeOwned>(
    primitive: &'static str,
    what: &str,
    value: &Dynamic,
) -> Result<T, Failure> {
    use serde::de::IntoDeserializer;
    serde_path_to_error::deserialize(value.into_deserializer()).map_err(|e| {
        let path = e.path().to_string();
        let why = crate::base::eval_error::describe_plain(*e.into_inner());
        let place = if path == "." || path.is_empty() {
            what.to_string()
        } else {
            format!("{what}.{path}")
        };
        Failure::invalid(
            primitive,
            format!("{place} is not what was expected: {why}"),
        )
    })
}
