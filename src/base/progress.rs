//! How a run is seen while it goes. On a terminal, a live view: every step a primitive
//! takes is a spinner with its elapsed time (a node's under the node's own line, which
//! says its phase: [`super::phase`]), and
//! log lines scroll above them (tracing-indicatif, so that the two never draw over each
//! other). Elsewhere (CI, pipes, files) no control characters: plain log lines, each
//! with its UTC time.

use std::fmt;
use std::io::Write;

use tracing::{Event, Span, Subscriber};
use tracing_indicatif::IndicatifLayer;
use tracing_indicatif::span_ext::IndicatifSpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Whether the live view is up (stderr is a terminal), set once by [`install`].
static LIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

pub fn live() -> bool {
    *LIVE.get().unwrap_or(&false)
}

/// Installs the log: the live view when `terminal`, else timestamped lines.
pub fn install(filter: EnvFilter, terminal: bool, ansi: bool) {
    let _ = LIVE.set(terminal);
    let line = Line {
        time: !terminal,
        ansi,
    };
    if terminal {
        let style = indicatif::ProgressStyle::with_template(
            "{span_child_prefix}{spinner} {msg} {elapsed:.dim}",
        )
        .expect("a valid progress template");
        let bars = IndicatifLayer::new()
            .with_progress_style(style)
            .with_max_progress_bars(40, None);
        let log = tracing_subscriber::fmt::layer()
            .event_format(line)
            .with_writer(bars.get_stderr_writer())
            // A failed log write is reported with eprintln!, which panics on a closed
            // stderr.
            .log_internal_errors(false);
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(log)
            .with(bars)
            .try_init();
    } else {
        let log = tracing_subscriber::fmt::layer()
            .event_format(line)
            .with_writer(|| StderrWriter)
            // As above: never eprintln! on a closed stderr.
            .log_internal_errors(false);
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(log)
            .try_init();
    }
}

/// A step of the run, shown as a spinner on a terminal while it is entered: `what` is
/// its line (a primitive's name, a node's).
pub fn step(what: &str) -> Span {
    let span = tracing::info_span!("step");
    span.pb_set_message(what);
    span
}

/// [`step`] as a part of `parent` (a node of a parallel primitive, on its own thread).
pub fn step_under(parent: &Span, what: &str) -> Span {
    let span = tracing::info_span!(parent: parent, "step");
    span.pb_set_message(what);
    span
}

/// Changes what a step's line says (how far a wait has got).
pub fn say(step: &Span, what: &str) {
    step.pb_set_message(what);
}

/// Runs `f` (which writes to the terminal) with the live view out of the way.
pub fn quiet<R>(f: impl FnOnce() -> R) -> R {
    if live() {
        tracing_indicatif::suspend_tracing_indicatif(f)
    } else {
        f()
    }
}

/// One log line: `[time ]LEVEL message`, the level padded as tracing pads it; spans are
/// the live view's, never part of the line.
struct Line {
    time: bool,
    ansi: bool,
}

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: format::Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if self.time {
            SystemTime.format_time(&mut w)?;
            w.write_char(' ')?;
        }
        let level = *event.metadata().level();
        let colour = match level {
            tracing::Level::ERROR => "31",
            tracing::Level::WARN => "33",
            tracing::Level::INFO => "32",
            tracing::Level::DEBUG => "34",
            tracing::Level::TRACE => "35",
        };
        if self.ansi {
            write!(w, "\x1b[{colour}m{level:>5}\x1b[0m ")?;
        } else {
            write!(w, "{level:>5} ")?;
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// stderr for the log, swallowing write errors: a closed or broken stderr loses the
/// text, never the run.
struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}
