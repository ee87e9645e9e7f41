//! Line editing help: completion of functions, module members, variables and map keys,
//! and multi-line input (an unfinished block continues on the next line).

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, Map};
use rustyline::Context;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};

/// What completion can offer, refreshed after every input.
#[derive(Default)]
pub struct Names {
    /// Functions callable without a namespace: primitives and the session's own.
    pub functions: Vec<String>,
    /// `module::function` for the bundled stdlib.
    pub members: Vec<String>,
    /// Variables in the session, with their values (for map keys).
    pub variables: Vec<(String, Dynamic)>,
}

pub struct ReplHelper {
    pub engine: Arc<Engine>,
    pub names: Arc<Mutex<Names>>,
}

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "break", "continue",
    "return", "throw", "try", "catch", "import", "as", "true", "false", "switch",
];

/// The start of the word under the cursor: identifiers, `::` and `.` included.
fn word_start(line: &str, pos: usize) -> usize {
    line[..pos]
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8())
}

impl ReplHelper {
    fn candidates(&self, word: &str) -> Vec<String> {
        let names = self.names.lock().expect("names lock");
        if let Some((var, key_prefix)) = word.rsplit_once('.') {
            // `node.pri` -> the keys of the map in `node`.
            let Some((_, value)) = names.variables.iter().find(|(n, _)| n == var) else {
                return Vec::new();
            };
            let Some(map) = value.read_lock::<Map>() else {
                return Vec::new();
            };
            return map
                .keys()
                .filter(|k| k.starts_with(key_prefix))
                .map(|k| format!("{var}.{k}"))
                .collect();
        }
        let mut out: Vec<String> =
            if word.contains("::") {
                names
                    .members
                    .iter()
                    .filter(|m| m.starts_with(word))
                    .cloned()
                    .collect()
            } else {
                names
                    .functions
                    .iter()
                    .chain(names.variables.iter().map(|(n, _)| n))
                    .cloned()
                    .chain(KEYWORDS.iter().map(|k| k.to_string()))
                    .chain(names.members.iter().filter_map(|m| {
                        m.split_once("::").map(|(module, _)| format!("{module}::"))
                    }))
                    .filter(|n| n.starts_with(word))
                    .collect()
            };
        out.sort();
        out.dedup();
        out
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let start = word_start(line, pos);
        let word = &line[start..pos];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let pairs = self
            .candidates(word)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_unfinished(&self.engine, ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl rustyline::Helper for ReplHelper {}

/// Whether `input` fails to parse only because it stops too soon: an open block, bracket
/// or string. Other syntax errors are reported, not waited on.
pub fn is_unfinished(engine: &Engine, input: &str) -> bool {
    if input.trim_start().starts_with(':') {
        return false;
    }
    let Err(err) = engine.compile(input) else {
        return false;
    };
    use rhai::ParseErrorType as P;
    let at_end = |pos: rhai::Position| {
        pos.is_none() || {
            let lines = input.lines().count().max(1);
            pos.line().is_some_and(|l| l >= lines)
                && (input.ends_with('\n')
                    || pos.position().unwrap_or(0)
                        > input.lines().last().unwrap_or("").chars().count())
        }
    };
    match err.err_type() {
        P::UnexpectedEOF => true,
        P::MissingToken(..) | P::MissingSymbol(..) => at_end(err.position()),
        P::BadInput(rhai::LexError::UnterminatedString) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_blocks_and_brackets_continue_on_the_next_line() {
        let e = Engine::new();
        assert!(is_unfinished(&e, "fn f(x) {"));
        assert!(is_unfinished(&e, "let a = [1,"));
        assert!(is_unfinished(&e, "for n in nodes {\n  print(n);"));
        assert!(is_unfinished(&e, "let s = \"abc"));
        assert!(!is_unfinished(&e, "let a = 1;"));
        assert!(
            !is_unfinished(&e, "let a = ;"),
            "a plain error is not waited on"
        );
        assert!(!is_unfinished(&e, ":help"));
    }

    #[test]
    fn words_run_back_over_namespaces_and_properties() {
        assert_eq!(word_start("print(etcd::srv", 15), 6);
        assert_eq!(word_start("node.priv", 9), 0);
    }
}
