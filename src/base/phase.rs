//! Where each node of a run is: launching, booting, up, installing, starting, healthy.
//! A phase is said by the code that begins it, when it begins (the launch, the wait for
//! the machine to boot, the stdlib's `etcd::prepare` and `etcd::launch`, the health
//! check), never guessed.
//! On a terminal a node is one line of the live view, saying its phase; the parallel
//! primitives run each node's work under its line, so its spinners nest there. Not on a
//! terminal, each change of phase is an info line of its own.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tracing::Span;
use tracing_indicatif::span_ext::IndicatifSpanExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The machine is being asked for (RunInstances, a lab host's namespace).
    Launching,
    /// The machine exists and is coming up (EC2 `pending`, a lab host's sshd starting).
    Booting,
    /// The machine is up, waiting for the run's next step (records, the DNS wait).
    Up,
    /// etcd and its files are being put on it.
    Installing,
    /// etcd is started and has not yet said it is healthy.
    Starting,
    /// Its member answered healthy: the node's last phase.
    Healthy,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Launching,
        Phase::Booting,
        Phase::Up,
        Phase::Installing,
        Phase::Starting,
        Phase::Healthy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Launching => "launching",
            Phase::Booting => "booting",
            Phase::Up => "up",
            Phase::Installing => "installing",
            Phase::Starting => "starting",
            Phase::Healthy => "healthy",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

struct Node {
    /// None while the line is only a parallel item's (nothing said a phase yet).
    phase: Option<Phase>,
    line: Span,
}

/// The nodes of this process's run, by name.
static NODES: Mutex<BTreeMap<String, Node>> = Mutex::new(BTreeMap::new());

fn nodes() -> std::sync::MutexGuard<'static, BTreeMap<String, Node>> {
    // A panic elsewhere leaves the map as it was: still good to draw from.
    NODES.lock().unwrap_or_else(|p| p.into_inner())
}

/// A root line: a node's line outlives the primitive that first drew it.
fn new_line(name: &str) -> Span {
    let line = tracing::info_span!(parent: None, "node");
    line.pb_set_message(name);
    line
}

/// `name`'s line, made if it has none. A parallel primitive enters it while it works on
/// the node, and calls [`release`] when done.
pub fn line(name: &str) -> Span {
    nodes()
        .entry(name.to_string())
        .or_insert_with(|| Node {
            phase: None,
            line: new_line(name),
        })
        .line
        .clone()
}

/// A parallel item is done with its line: one that no phase was said on was only an
/// item's (`parallel([1, 2], ...)`), and goes; a node's stays, saying where it is.
pub fn release(name: &str) {
    let gone = {
        let mut all = nodes();
        match all.get(name) {
            Some(node) if node.phase.is_none() => all.remove(name),
            _ => None,
        }
    };
    drop(gone);
}

/// Whether `name` is a node of this run (one a phase was said for).
pub fn known(name: &str) -> bool {
    nodes().get(name).is_some_and(|n| n.phase.is_some())
}

/// `name` has begun `phase`. Said again, the same phase is not said twice. `healthy`
/// ends the node's line: on a terminal it stays on the screen as it last read.
pub fn set(name: &str, phase: Phase) {
    let (line, ended) = {
        let mut all = nodes();
        let node = all.entry(name.to_string()).or_insert_with(|| Node {
            phase: None,
            line: new_line(name),
        });
        if node.phase == Some(phase) {
            return;
        }
        node.phase = Some(phase);
        let line = node.line.clone();
        let ended = (phase == Phase::Healthy).then(|| all.remove(name));
        (line, ended.flatten())
    };
    let text = format!("{name}: {phase}");
    if super::progress::live() {
        line.pb_set_message(&text);
        if ended.is_some() {
            line.pb_set_finish_message(&text);
        }
        // A line is drawn from the first time it is entered.
        line.in_scope(|| {});
    } else {
        tracing::info!("{text}");
    }
    // The last handle of an ended line closes it (unless a parallel item still holds it).
    drop(ended);
}

/// [`set`] for a node this run knows, and nothing for one it does not (a health check of
/// members some other run made).
pub fn set_if_known(name: &str, phase: Phase) {
    if known(name) {
        set(name, phase);
    }
}

/// `name` is gone (terminated): its line goes with it.
pub fn forget(name: &str) {
    let gone = nodes().remove(name);
    drop(gone);
}

/// The run is over: every node line still drawn goes.
pub fn end() {
    let all = std::mem::take(&mut *nodes());
    drop(all);
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the registry is the process's, and tests run in parallel threads.
    #[test]
    fn a_phase_is_said_once_and_healthy_or_forget_ends_the_node() {
        assert_eq!(Phase::parse("installing"), Some(Phase::Installing));
        assert_eq!(Phase::parse("installed"), None);
        let _ = line("item-only");
        release("item-only");
        assert!(!known("item-only"));
        assert!(!nodes().contains_key("item-only"));

        set("n1", Phase::Launching);
        let _ = line("n1");
        release("n1");
        assert!(known("n1"), "a node's line outlives the item");
        set("n1", Phase::Healthy);
        assert!(!known("n1"));
        set_if_known("n1", Phase::Healthy);
        assert!(
            !known("n1"),
            "an ended node is not made again by a health check"
        );

        set("n2", Phase::Up);
        forget("n2");
        assert!(!known("n2"));
        set("n3", Phase::Up);
        end();
        assert!(!known("n3"));
    }
}
