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
        other => rhai_types(&other.to_string()),
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

/// Rust type names in `text` as Rhai's `type_of` names the types: `&str |
/// ImmutableString | String` is a string, a `BTreeMap<...>` a map, an `i32` an i64. Rhai's own
/// messages (no function matches, a wrong output type) are written with the Rust names.
pub fn rhai_types(text: &str) -> String {
    let mut text = text.replace("&str | ImmutableString | String", "string");
    for (generic, name) in [
        ("alloc::collections::btree::map::BTreeMap<", "map"),
        ("std::collections::BTreeMap<", "map"),
        ("alloc::vec::Vec<", "array"),
        ("core::option::Option<", ""),
    ] {
        while let Some(start) = text.find(generic) {
            let open = start + generic.len();
            let mut depth = 1;
            let mut end = text.len();
            for (i, c) in text[open..].char_indices() {
                match c {
                    '<' => depth += 1,
                    '>' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            // An Option<T> is a T that may be left out.
            let inner = text[open..end].to_string();
            let replacement = if name.is_empty() {
                inner
            } else {
                name.to_string()
            };
            text.replace_range(start..(end + 1).min(text.len()), &replacement);
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            // As Rhai's own `type_of` names them.
            "i8" | "i16" | "i32" | "u8" | "u16" | "u32" | "u64" | "usize" | "INT" => "i64",
            "f32" | "FLOAT" => "f64",
            "ImmutableString" | "String" | "alloc::string::String" | "str" => "string",
            "Map" | "rhai::Map" => "map",
            "Array" | "rhai::Array" => "array",
            "FnPtr" | "rhai::FnPtr" => "Fn",
            "Dynamic" | "rhai::Dynamic" => "any value",
            other => other,
        });
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod type_name_tests {
    use super::rhai_types;

    #[test]
    fn rust_types_read_as_rhai_types() {
        assert_eq!(
            rhai_types("- (i64, &str | ImmutableString | String)"),
            "- (i64, string)"
        );
        assert_eq!(
            rhai_types(
                "Output type incorrect: i64 (expecting alloc::collections::btree::map::BTreeMap<alloc::string::String, alloc::string::String>)"
            ),
            "Output type incorrect: i64 (expecting map)"
        );
        assert_eq!(
            rhai_types("expecting core::option::Option<i32>"),
            "expecting i64"
        );
        assert_eq!(
            rhai_types("a string (expecting String)"),
            "a string (expecting string)"
        );
    }
}
