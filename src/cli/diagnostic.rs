//! Script errors as people should see them: the file, the line, a label under the exact
//! spot, the call sites that led there, and a help line where one helps. Rhai's error
//! values never reach the user as `Debug` dumps or variant names.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceSpan};
use rhai::{Engine, EvalAltResult, Position};

use crate::base::eval_error::{INTERRUPTED, describe_plain, is_interrupt, thrown};
use crate::script::{Limits, Sources};

/// A place in a source file with what to say under it.
#[derive(Debug)]
struct Located {
    source: NamedSource<String>,
    span: SourceSpan,
    label: String,
}

/// A frame of the path to the error: an import or a function call.
#[derive(Debug)]
struct Frame {
    message: String,
    at: Option<Box<Located>>,
}

/// A failed script, ready for miette.
#[derive(Debug)]
pub struct ScriptError {
    message: String,
    help: Option<String>,
    at: Option<Box<Located>>,
    frames: Vec<Frame>,
    interrupted: bool,
}

impl ScriptError {
    /// Whether the run ended because the user pressed Ctrl-C.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    pub fn mark_interrupted(&mut self) {
        self.interrupted = true;
    }

    /// An error that belongs to no script position (a file that cannot be read, say).
    pub fn plain(message: impl Into<String>, help: Option<String>) -> Self {
        Self {
            message: message.into(),
            help,
            at: None,
            frames: Vec::new(),
            interrupted: false,
        }
    }
}

impl ScriptError {
    /// An error about the command line that is best shown at a place in a script (a
    /// `--set` key next to the `param` it was likely meant for).
    pub fn at(
        message: impl Into<String>,
        help: Option<String>,
        source: &str,
        text: &str,
        pos: Position,
        label: impl Into<String>,
    ) -> Self {
        let at = pos.line().map(|line| {
            let (offset, len) = span_at(text, line, pos.position().unwrap_or(1));
            Box::new(Located {
                source: NamedSource::new(source, text.to_string()),
                span: SourceSpan::new(offset.into(), len),
                label: label.into(),
            })
        });
        Self {
            at,
            ..Self::plain(message, help)
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptError {}

/// The script text a located error points into, for miette to draw.
fn source(at: &Option<Box<Located>>) -> Option<&dyn miette::SourceCode> {
    at.as_ref().map(|at| &at.source as &dyn miette::SourceCode)
}

fn labels(at: &Option<Box<Located>>) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
    at.as_ref().map(|at| {
        Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(at.label.clone()),
            at.span,
        ))) as Box<dyn Iterator<Item = LabeledSpan>>
    })
}

impl Diagnostic for ScriptError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        source(&self.at)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        labels(&self.at)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        (!self.frames.is_empty()).then(|| {
            Box::new(self.frames.iter().map(|f| f as &dyn Diagnostic))
                as Box<dyn Iterator<Item = &dyn Diagnostic>>
        })
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Frame {}

impl Diagnostic for Frame {
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        labels(&self.at)
    }

    fn severity(&self) -> Option<Severity> {
        Some(Severity::Advice)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        source(&self.at)
    }
}

/// What the renderer needs to explain an error: the texts and the engine's settings.
pub struct Context<'a> {
    pub sources: &'a Sources,
    pub engine: Option<&'a Engine>,
    pub limits: &'a Limits,
}

impl Context<'_> {
    fn locate(
        &self,
        source: &str,
        pos: Position,
        label: impl Into<String>,
    ) -> Option<Box<Located>> {
        let line = pos.line()?;
        let text = self.sources.text(source)?;
        let (offset, len) = span_at(&text, line, pos.position().unwrap_or(1));
        Some(Box::new(Located {
            source: NamedSource::new(source, text.to_string()),
            span: SourceSpan::new(offset.into(), len),
            label: label.into(),
        }))
    }

    /// Turns an engine error into a diagnostic. `source` names the file the failing
    /// code was compiled from (as registered in `Sources`).
    pub fn script_error(&self, err: EvalAltResult, source: &str) -> ScriptError {
        let mut frames = Vec::new();
        let mut current = source.to_string();
        let mut err = err;
        loop {
            err = match err {
                EvalAltResult::ErrorInModule(path, inner, pos) => {
                    frames.push(Frame {
                        message: format!("while loading module {path:?}"),
                        at: self.locate(&current, pos, "imported here"),
                    });
                    current = self.sources.imported(&path).unwrap_or(path);
                    *inner
                }
                EvalAltResult::ErrorInFunctionCall(name, fn_source, inner, pos) => {
                    frames.push(Frame {
                        message: format!("in the call to {name}()"),
                        at: self.locate(&current, pos, "called here"),
                    });
                    if !fn_source.is_empty() {
                        current = fn_source;
                    }
                    *inner
                }
                other => break self.innermost(other, &current, frames),
            };
        }
    }

    fn innermost(
        &self,
        mut err: EvalAltResult,
        source: &str,
        mut frames: Vec<Frame>,
    ) -> ScriptError {
        frames.reverse();
        let pos = err.take_position();
        let interrupted = is_interrupt(&err);
        let (message, help, label) = self.explain(err);
        ScriptError {
            at: self.locate(source, pos, label),
            message,
            help,
            frames,
            interrupted,
        }
    }

    fn explain(&self, err: EvalAltResult) -> (String, Option<String>, &'static str) {
        use EvalAltResult as E;
        let limits = self.limits;
        match err {
            E::ErrorParsing(rhai::ParseErrorType::VariableUndefined(name), _)
            | E::ErrorVariableNotFound(name, _) => (
                format!("unknown variable `{name}`"),
                Some(format!(
                    "declare it first with `let {name} = ...;` (rigger runs scripts with strict variables)"
                )),
                "not declared",
            ),
            E::ErrorParsing(kind, _) => (format!("syntax error: {kind}"), None, "here"),
            E::ErrorFunctionNotFound(signature, _) => {
                let help = self.signatures_like(&signature);
                (
                    format!(
                        "no function matches `{}`",
                        crate::base::eval_error::rhai_types(&signature)
                    ),
                    Some(help),
                    "no such function for these argument types",
                )
            }
            E::ErrorModuleNotFound(path, _) => (
                format!("module {path:?} not found"),
                Some(format!(
                    "bundled modules: {}; any other import is a .rhai file relative to the importing script",
                    crate::script::bundled::names(crate::script::bundled::STDLIB)
                )),
                "imported here",
            ),
            E::ErrorMismatchDataType(expected, actual, _)
            | E::ErrorMismatchOutputType(expected, actual, _) => (
                format!(
                    "wrong type: expected {}, got {}",
                    crate::base::eval_error::rhai_types(&expected),
                    crate::base::eval_error::rhai_types(&actual)
                ),
                None,
                "this value",
            ),
            E::ErrorPropertyNotFound(name, _) => (
                format!("no property `{name}`"),
                Some(format!(
                    "test for an optional key with `\"{name}\" in map` before reading it"
                )),
                "no such property",
            ),
            E::ErrorArrayBounds(len, index, _) => (
                format!("index {index} is out of bounds for an array of {len}"),
                None,
                "this index",
            ),
            E::ErrorArithmetic(message, _) => {
                (format!("arithmetic error: {message}"), None, "here")
            }
            E::ErrorTooManyOperations(_) => (
                format!(
                    "the script was stopped after {} operations (an endless loop?)",
                    limits.operations
                ),
                Some(
                    "a script that really needs more can raise the limit with --max-operations"
                        .into(),
                ),
                "still running here",
            ),
            E::ErrorStackOverflow(_) => (
                format!("calls nested deeper than {} levels", limits.call_levels),
                Some("is a function calling itself without end?".into()),
                "too deep here",
            ),
            E::ErrorTooManyModules(_) => (
                format!("more than {} modules imported", limits.modules),
                None,
                "here",
            ),
            E::ErrorDataTooLarge(what, _) => (
                format!("{what} exceeds its size limit"),
                None,
                "grew too large here",
            ),
            E::ErrorTerminated(..) => (INTERRUPTED.to_string(), None, "stopped here"),
            E::ErrorRuntime(value, _) => {
                let (message, help) = thrown(&value);
                (message, help, "failed here")
            }
            other => (describe_plain(other), None, "here"),
        }
    }

    fn signatures_like(&self, signature: &str) -> String {
        let name = signature.split([' ', '(']).next().unwrap_or(signature);
        let known: Vec<String> = self
            .engine
            .map(|e| {
                crate::script::reference::primitives(e)
                    .into_iter()
                    .map(|doc| doc.signature)
                    .filter(|s| s.starts_with(&format!("{name}(")))
                    .collect()
            })
            .unwrap_or_default();
        if known.is_empty() {
            "`rigger fns` lists every function".to_string()
        } else {
            format!("{name} takes:\n  {}", known.join("\n  "))
        }
    }
}

/// Byte offset and length of the token at a 1-based line and column.
fn span_at(text: &str, line: usize, column: usize) -> (usize, usize) {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let body = l.trim_end_matches(['\n', '\r']);
            let start: usize = body
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(body.len(), |(b, _)| b);
            let rest = &body[start..];
            let word = rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map_or(rest.len(), |(b, _)| b);
            let len = if word > 0 {
                word
            } else {
                rest.chars().next().map_or(0, char::len_utf8)
            };
            return (offset + start, len);
        }
        offset += l.len();
    }
    (text.len(), 0)
}

/// Renders any diagnostic the way rigger shows errors on stderr.
pub fn render(diagnostic: &dyn Diagnostic) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if crate::base::output::colour_on_stderr() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut out = String::new();
    // Wrap for a person at a terminal; never for a log or a pipe, where a broken line
    // only hurts grep.
    let width = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100)
    } else {
        usize::MAX / 4
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    if handler.render_report(&mut out, diagnostic).is_err() {
        out = format!("error: {diagnostic}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::span_at;

    #[test]
    fn span_covers_the_word_at_the_column() {
        let text = "let a = 1;\nlet b = foo(a);\n";
        assert_eq!(span_at(text, 2, 9), (19, 3));
        assert_eq!(&text[19..22], "foo");
    }

    #[test]
    fn span_of_punctuation_is_one_character() {
        let text = "x = (1;\n";
        assert_eq!(span_at(text, 1, 7), (6, 1));
    }

    #[test]
    fn span_past_the_end_is_empty() {
        assert_eq!(span_at("a\n", 9, 1), (2, 0));
    }
}
