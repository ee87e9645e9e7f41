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
    rhai::serde::from_dynamic(value).map_err(|e| {
        Failure::invalid(
            primitive,
            format!(
                "{what} is not what was expected: {}",
                crate::base::eval_error::describe_plain(*e)
            ),
        )
    })
}
