//! Where things go: data on stdout, logs and diagnostics on stderr, colour only when a
//! person is looking and has not asked for `NO_COLOR`.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use rhai::Position;
use tracing_subscriber::EnvFilter;

/// How chatty the run is, from `-v` / `-q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
    Trace,
}

impl Verbosity {
    pub fn from_flags(verbose: u8, quiet: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Self::Quiet,
            (false, 0) => Self::Normal,
            (false, 1) => Self::Verbose,
            _ => Self::Trace,
        }
    }
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

fn verbosity() -> Verbosity {
    *VERBOSITY.get().unwrap_or(&Verbosity::Normal)
}

/// Whether stderr may carry ANSI colour: never with `NO_COLOR`, always with
/// `CLICOLOR_FORCE` (for pagers and tests), otherwise when stderr is a terminal.
pub fn colour_on_stderr() -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || std::io::stderr().is_terminal()
}

/// Sets up logging once per process. `RIGGER_LOG` (an `EnvFilter`) overrides the flags.
/// `live`: whether a terminal on stderr gets the live view (else plain lines).
pub fn init(verbosity: Verbosity, live: bool) {
    let _ = VERBOSITY.set(verbosity);
    let level = match verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "info",
        Verbosity::Verbose => "debug",
        Verbosity::Trace => "trace",
    };
    let filter = EnvFilter::try_from_env("RIGGER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("rigger={level},warn")));
    // Quiet wants errors only: no live view either.
    let terminal = live && verbosity != Verbosity::Quiet && std::io::stderr().is_terminal();
    super::progress::install(filter, terminal, colour_on_stderr());
}

/// Data on stdout, as is. A closed stdout (`rigger lab status | head -1`) ends the
/// output, not the program.
pub fn data(text: &str) {
    super::progress::quiet(|| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    });
}

/// A script's `print`: one line of data on stdout.
pub fn data_line(text: &str) {
    super::progress::quiet(|| {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`rigger run x | head -1`) is not the script's error.
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    });
}

/// A script's `debug`: on stderr with where it came from, hidden by `-q`.
pub fn debug_line(text: &str, source: Option<&str>, pos: Position) {
    if verbosity() == Verbosity::Quiet {
        return;
    }
    let at = match (source, pos.line()) {
        (Some(src), Some(line)) => format!("{src}:{line}: "),
        (None, Some(line)) => format!("line {line}: "),
        _ => String::new(),
    };
    to_stderr(&format!("{at}{text}\n"));
}

/// Text on stderr. A closed or broken stderr (`rigger run x 2>&1 | head -1`) loses the
/// text, never the run: eprint! would panic there, in the middle of a rollback.
pub fn to_stderr(text: &str) {
    super::progress::quiet(|| {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
    });
}
