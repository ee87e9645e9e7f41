//! Rhai values <-> the typed values providers take, with errors that name the primitive.

use rhai::Dynamic;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Failure;

pub fn to_value<T: Serialize>(primitive: &'static str, value: &T) -> Result<Dynamic, Failure> {
    rhai::serde::to_dynamic(value).map_err(|e| {
        Failure::new(
            primitive,
            "failed",
            format!("cannot convert the result: {e}"),
        )
    })
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
                crate::diagnostic::describe_plain(*e)
            ),
        )
    })
}
