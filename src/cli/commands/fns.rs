//! `rigger fns [NAME]`: every function a script can call, or one, with its signature and
//! documentation, read from the engine's own metadata (text, `--markdown`, `--json`).

use crate::cli::exit;
use crate::cli::run::idle_context;
use crate::script::reference::{self, FnDoc};
use crate::script::{Sources, engine};

/// How `fns` writes what it lists.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

pub fn fns(name: Option<&str>, format: Format) -> u8 {
    let engine = engine::build(
        &engine::Options::default(),
        &idle_context(),
        &Sources::default(),
    );
    let Some(name) = name else {
        let text = match format {
            Format::Text => reference::text(&engine),
            Format::Markdown => reference::markdown(&engine),
            Format::Json => super::json_text(&reference::all(&engine)),
        };
        crate::base::output::data(&text);
        return exit::OK;
    };
    let all = reference::all(&engine);
    let found: Vec<&FnDoc> = all.iter().filter(|f| f.name == name).collect();
    if found.is_empty() {
        let mut names: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
        names.dedup();
        let near = names
            .iter()
            .min_by_key(|n| strsim::damerau_levenshtein(n, name))
            .filter(|n| strsim::damerau_levenshtein(n, name) <= n.len().max(name.len()) / 3 + 1);
        let help = match near {
            Some(n) => format!("did you mean `{n}`? `rigger fns` lists them all"),
            None => "`rigger fns` lists them all".to_string(),
        };
        return super::fail(
            format!("no function named {name:?} for scripts"),
            Some(help),
        );
    }
    let text = match format {
        Format::Json => super::json_text(&found),
        _ => {
            let mut out = String::new();
            for f in found {
                out.push_str(&format!("{}\n", f.signature));
                for line in f.doc.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
            out
        }
    };
    crate::base::output::data(&text);
    exit::OK
}
