//! Shell completion (clap_complete's dynamic completion: the shell asks rigger itself,
//! with `COMPLETE=bash rigger -- WORDS...`): besides the flags, the bundled scripts, the
//! `--set` keys of the script on the line (read from its `param` calls), the lab's hosts
//! and the clusters in the state dir.

use std::ffi::OsStr;
use std::io::Write;

use clap::CommandFactory;
use clap_complete::engine::{CompletionCandidate, PathCompleter, ValueCompleter};

use super::Cli;
use crate::base::state_dir::StateDir;
use crate::cli::exit;
use crate::script::{Script, bundled, declared};

/// The variable the shell sets when it asks rigger for completions.
const VAR: &str = "COMPLETE";

/// Answers the shell when it is asking (and exits); returns at once otherwise.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(VAR)
        .complete();
}

/// `rigger completions SHELL`: the script that hooks rigger's completion into the shell.
pub fn registration(shell: &str) -> u8 {
    let shells = clap_complete::env::Shells::builtins();
    let Some(completer) = shells.completer(shell) else {
        return super::commands::fail(format!("no completion for the shell {shell}"), None);
    };
    // The binary that answers: this one, wherever it is installed.
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "rigger".to_string());
    let mut out = Vec::new();
    if let Err(e) = completer.write_registration(VAR, "rigger", "rigger", &exe, &mut out) {
        return super::commands::fail(format!("cannot write the completion script: {e}"), None);
    }
    let _ = std::io::stdout().write_all(&out);
    exit::OK
}

/// The words of the command line being completed (after `rigger ... --`).
fn words() -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--") {
        Some(i) => args[i + 1..].to_vec(),
        None => Vec::new(),
    }
}

/// The state dir the line names (`--state-dir DIR`), else the default.
fn state_dir(words: &[String]) -> StateDir {
    let mut given = None;
    for (i, w) in words.iter().enumerate() {
        if w == "--state-dir" {
            given = words.get(i + 1).cloned();
        } else if let Some(dir) = w.strip_prefix("--state-dir=") {
            given = Some(dir.to_string());
        }
    }
    StateDir::locate(given.map(std::path::PathBuf::from))
}

/// The script of `rigger run SCRIPT ...` on the line: its first word that is neither a
/// flag nor a flag's value.
fn script_on_line(words: &[String]) -> Option<String> {
    let at = words.iter().position(|w| w == "run")?;
    let cli = Cli::command();
    let run = cli.find_subcommand("run")?;
    let takes_value = |flag: &str| {
        run.get_arguments().any(|a| {
            let named = a.get_long() == Some(flag.trim_start_matches("--"))
                || (flag.len() == 2 && a.get_short() == flag.chars().nth(1));
            named && a.get_action().takes_values()
        })
    };
    let mut rest = words[at + 1..].iter();
    while let Some(w) = rest.next() {
        if w.starts_with('-') {
            if !w.contains('=') && takes_value(w) {
                rest.next();
            }
            continue;
        }
        return Some(w.clone());
    }
    None
}

fn matching(
    current: &OsStr,
    names: impl IntoIterator<Item = (String, Option<String>)>,
) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    names
        .into_iter()
        .filter(|(name, _)| name.starts_with(current.as_ref()))
        .map(|(name, help)| CompletionCandidate::new(name).help(help.map(|h| h.into())))
        .collect()
}

/// `rigger run <TAB>`: the bundled scripts and examples, and `.rhai` files and folders.
pub fn script(current: &OsStr) -> Vec<CompletionCandidate> {
    let bundled = (bundled::SCRIPTS.iter().chain(bundled::EXAMPLES))
        .map(|b| (b.name.to_string(), Some(b.path.to_string())));
    let mut out = matching(current, bundled);
    let files =
        PathCompleter::any().filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rhai"));
    out.extend(files.complete(current));
    out
}

/// `--set <TAB>`: the keys the script on the line asks for, as `key=`.
pub fn set_key(current: &OsStr) -> Vec<CompletionCandidate> {
    if current.to_string_lossy().contains('=') {
        return Vec::new();
    }
    let Some(script) = script_on_line(&words()).and_then(|s| Script::find(&s).ok()) else {
        return Vec::new();
    };
    let Some(params) = declared::params(&script) else {
        return Vec::new();
    };
    let keys = params
        .declared
        .into_iter()
        .map(|d| (format!("{}=", d.name), d.doc));
    matching(current, keys)
}

/// `lab exec <TAB>`: the lab's hosts.
pub fn lab_host(current: &OsStr) -> Vec<CompletionCandidate> {
    let lab = crate::providers::lab::Lab::new(&state_dir(&words()));
    let Ok(file) = lab.load() else {
        return Vec::new();
    };
    let hosts = file.hosts.into_iter().map(|h| (h.name, Some(h.ip)));
    matching(current, hosts)
}

/// `--discovery-srv <TAB>`, `state show <TAB>`: the clusters in the state dir.
pub fn domain(current: &OsStr) -> Vec<CompletionCandidate> {
    let Ok(runs) = crate::world::inventory::runs(&state_dir(&words())) else {
        return Vec::new();
    };
    let domains: std::collections::BTreeSet<String> =
        runs.into_iter().flat_map(|r| r.clusters).collect();
    matching(current, domains.into_iter().map(|d| (d, None)))
}
