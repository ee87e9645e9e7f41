//! `param`: the values given with `--set`, as scripts read them. A default fixes the
//! type a given value must have, and rules (`one_of`, `min`, `max`, `check`) what it may
//! be, so a bad `--set` is refused where it is read, naming the key, before anything is
//! made.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};

use super::call::primitive;
use super::context::ScriptContext;
use super::failure::Failure;
use super::options::Options;
use crate::base::error::Error;

const NAME: &str = "param";

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// The value given with `--set name=VALUE`.
        /// Fails, naming the `--set` that would supply it, when none was given.
        fn param(c, name: &str) -> Dynamic {
            let help = format!("give one on the command line: --set {name}=VALUE");
            let missing = Error::missing(format!("no value for {name:?}")).with_help(help);
            Ok(c.params.get(name).ok_or_else(|| c.failed(missing))?)
        }
    }
    primitive! { engine, cx,
        /// The value given with `--set name=VALUE`, or `default` when none was given. A given
        /// value must have the default's type (an integer where the default is 3, a string
        /// where it is "x"; an integer is taken for a float); a default of `()` admits any.
        fn param(c, name: &str, default: Dynamic) -> Dynamic {
            match c.params.get(name) {
                Some(given) => Ok(typed(name, given, &default)?),
                None => Ok(default),
            }
        }
    }
    primitive! { engine, cx,
        /// `param(name, default)`, and the value must also keep `rules`: `one_of` (a list of
        /// the values allowed), `min` and `max` (bounds for a number), `why` (the reason for
        /// `max`, shown when it is broken), `check` (a function of the value, `|v| ...`, that
        /// returns `()` when it is fine or a string saying what is wrong with it).
        fn param(c, ctx: NativeCallContext, name: &str, default: Dynamic, rules: Map) -> Dynamic {
            let rules = c.options(rules, &["one_of", "min", "max", "why", "check"])?;
            let Some(given) = c.params.get(name) else {
                return Ok(default);
            };
            let value = typed(name, given, &default)?;
            keeps(name, &value, &rules)?;
            passes_check(&ctx, name, &value, &rules)?;
            Ok(value)
        }
    }
}

fn shown(value: &Dynamic) -> String {
    if value.is_string() {
        format!("{:?}", value.to_string())
    } else {
        value.to_string()
    }
}

/// What a value of this type is called, for "must be ...".
fn kind(value: &Dynamic) -> &'static str {
    if value.is_int() {
        "an integer"
    } else if value.is_float() {
        "a number"
    } else if value.is_string() {
        "a string"
    } else if value.is_bool() {
        "true or false"
    } else if value.is_array() {
        "a list"
    } else if value.is_map() {
        "a map"
    } else {
        "a value"
    }
}

fn refused(name: &str, given: &Dynamic, why: String) -> Failure {
    Failure::invalid(NAME, format!("--set {name}={}: {why}", shown(given)))
}

/// `given` as the default's type, or why it cannot be.
fn typed(name: &str, given: Dynamic, default: &Dynamic) -> Result<Dynamic, Failure> {
    if default.is_unit() || given.type_id() == default.type_id() {
        return Ok(given);
    }
    if default.is_float()
        && let Ok(i) = given.as_int()
    {
        return Ok(Dynamic::from_float(i as f64));
    }
    let why = format!(
        "{name} must be {} (its default is {}), not {} {}",
        kind(default),
        shown(default),
        article(kind(&given)),
        shown(&given)
    );
    Err(refused(name, &given, why))
}

/// "the string", "the integer"...: how `kind` reads before a value.
fn article(kind: &str) -> String {
    match kind {
        "true or false" => "the boolean".into(),
        other => other
            .strip_prefix("an ")
            .or_else(|| other.strip_prefix("a "))
            .map_or_else(|| other.to_string(), |k| format!("the {k}")),
    }
}

fn keeps(name: &str, value: &Dynamic, rules: &Options) -> Result<(), Failure> {
    let why = rules
        .get("why")
        .map(|w| format!(": {w}"))
        .unwrap_or_default();
    if let Some(allowed) = rules.get("one_of") {
        let allowed = allowed
            .clone()
            .into_array()
            .map_err(|t| Failure::invalid(NAME, format!("`one_of` must be a list, got {t}")))?;
        let found = allowed
            .iter()
            .any(|a| a.type_id() == value.type_id() && a.to_string() == value.to_string());
        if !found {
            let list: Vec<String> = allowed.iter().map(shown).collect();
            return Err(refused(
                name,
                value,
                format!("{name} must be one of {}{why}", list.join(", ")),
            ));
        }
    }
    let number = value
        .as_float()
        .ok()
        .or(value.as_int().ok().map(|i| i as f64));
    for (key, below) in [("min", true), ("max", false)] {
        let Some(bound) = rules.get(key) else {
            continue;
        };
        let limit = bound
            .as_float()
            .ok()
            .or(bound.as_int().ok().map(|i| i as f64))
            .ok_or_else(|| Failure::invalid(NAME, format!("`{key}` must be a number")))?;
        let Some(n) = number else {
            return Err(refused(name, value, format!("{name} must be a number")));
        };
        if below && n < limit {
            return Err(refused(
                name,
                value,
                format!("{name} must be at least {bound}"),
            ));
        }
        if !below && n > limit {
            return Err(refused(
                name,
                value,
                format!("{name} must be at most {bound}{why}"),
            ));
        }
    }
    Ok(())
}

/// The script's own `check` of a given value: what the rules above cannot say (a URL's
/// scheme, a version's shape), refused the same way, at the `param` call.
fn passes_check(
    ctx: &NativeCallContext,
    name: &str,
    value: &Dynamic,
    rules: &Options,
) -> Result<(), Box<EvalAltResult>> {
    let Some(check) = rules.get("check") else {
        return Ok(());
    };
    let Some(check) = check.clone().try_cast::<FnPtr>() else {
        let why = format!(
            "`check` must be a function such as |v| ..., got {}",
            check.type_name()
        );
        return Err(Failure::invalid(NAME, why).into());
    };
    let verdict: Dynamic = check.call_within_context(ctx, (value.clone(),))?;
    if verdict.is_unit() {
        Ok(())
    } else if verdict.is_string() {
        Err(refused(name, value, verdict.to_string()).into())
    } else {
        let why = format!(
            "`check` must return () or a string saying what is wrong, not {}",
            shown(&verdict)
        );
        Err(Failure::invalid(NAME, why).into())
    }
}
