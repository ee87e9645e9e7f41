//! What a Rhai evaluation error says, as plain text: for one-line contexts (a failed
//! node in a summary, a bad `--set` value) and to tell an interrupt from a failure.

use rhai::{Dynamic, EvalAltResult, Position};

/// The value carried by `ErrorTerminated` when the user interrupts a run.
pub const INTERRUPTED: &str = "interrupted";

/// The error that stops a script the user interrupted.
pub fn interrupted() -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        INTERRUPTED.into(),
        Position::NONE,
    ))
}

/// What a `throw` (or a primitive's failure) carried: a map with `message` and maybe
/// `help`, a string, or any other value.
pub fn thrown(value: &Dynamic) -> (String, Option<String>) {
    if let Some(map) = value.read_lock::<rhai::Map>()
        && let Some(message) = map.get("message")
    {
        let help = map.get("help").map(|h| h.to_string());
        return (message.to_string(), help);
    }
    if value.is_string() {
        return (value.to_string(), None);
    }
    (format!("script threw {value}"), None)
}

/// The message of an engine error without its position, for one-line contexts.
pub fn describe_plain(mut err: EvalAltResult) -> String {
    let _ = err.take_position();
    match err {
        EvalAltResult::ErrorRuntime(value, _) => thrown(&value).0,
        EvalAltResult::ErrorParsing(kind, _) => kind.to_string(),
        other => other.to_string(),
    }
}

/// The innermost message of an error that went through function calls, with the line
/// and the help it carried: for summaries that list several errors, one line each.
pub fn describe_chain(err: EvalAltResult) -> (String, Option<String>) {
    let mut err = err;
    loop {
        err = match err {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
            | EvalAltResult::ErrorInModule(_, inner, _) => *inner,
            mut other => {
                let line = other.take_position().line();
                let (text, help) = match other {
                    EvalAltResult::ErrorRuntime(value, _) => thrown(&value),
                    other => (describe_plain(other), None),
                };
                let text = match line {
                    Some(line) => format!("{text} (line {line})"),
                    None => text,
                };
                return (text, help);
            }
        };
    }
}

pub fn is_interrupt(err: &EvalAltResult) -> bool {
    matches!(err, EvalAltResult::ErrorTerminated(v, _) if v.to_string() == INTERRUPTED)
}
