//! `rigger scripts [NAME]`: the bundled scripts, and the parameters a script takes, read
//! from its `param(...)` calls without running it; and the check that refuses a `--set`
//! key no `param` asks for, before anything is made.

use serde::Serialize;

use crate::cli::diagnostic::ScriptError;
use crate::cli::exit;
use crate::primitives::params::Params;
use crate::script::declared::{self, Declared};
use crate::script::{Script, bundled};

#[derive(Serialize)]
struct ScriptInfo {
    name: String,
    path: String,
    about: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Vec<ParamInfo>>,
    /// A topology to start one's own from (`scripts/examples/`), not a procedure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    example: bool,
}

#[derive(Serialize)]
struct ParamInfo {
    name: String,
    required: bool,
    default: Option<String>,
    allows: Option<String>,
    doc: Option<String>,
}

impl From<&Declared> for ParamInfo {
    fn from(d: &Declared) -> Self {
        Self {
            name: d.name.clone(),
            required: d.default.is_none(),
            default: d.default.clone(),
            allows: d.allows.clone(),
            doc: d.doc.clone(),
        }
    }
}

/// A script's opening comment, up to its first blank line: what it does.
fn about(text: &str) -> String {
    let lines = text
        .lines()
        .map(str::trim)
        .take_while(|l| l.starts_with("//"));
    let words: Vec<&str> = lines
        .map(|l| l.trim_start_matches('/').trim())
        .take_while(|l| !l.is_empty())
        .collect();
    words.join(" ")
}

/// `rigger scripts`: every bundled script, with what it does.
pub fn list(json: bool) -> u8 {
    let info = |b: &bundled::Bundled, example| ScriptInfo {
        name: b.name.into(),
        path: b.path.into(),
        about: about(b.text),
        params: None,
        example,
    };
    let all: Vec<ScriptInfo> = (bundled::SCRIPTS.iter().map(|b| info(b, false)))
        .chain(bundled::EXAMPLES.iter().map(|b| info(b, true)))
        .collect();
    if json {
        crate::base::output::data(&super::json_text(&all));
        return exit::OK;
    }
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let line = |s: &ScriptInfo| format!("{:width$}  {}\n", s.name, s.about);
    for s in all.iter().filter(|s| !s.example) {
        crate::base::output::data(&line(s));
    }
    crate::base::output::data("\nExamples, topologies to start your own from:\n");
    for s in all.iter().filter(|s| s.example) {
        crate::base::output::data(&line(s));
    }
    crate::base::output::data("\n`rigger scripts NAME` lists a script's parameters.\n");
    exit::OK
}

/// `rigger scripts NAME`: what the script does and every parameter it takes.
pub fn show(name: &str, json: bool) -> u8 {
    let (info, params) = match read(name) {
        Ok(found) => found,
        Err(e) => return super::fail(e.message, e.help),
    };
    if json {
        crate::base::output::data(&super::json_text(&info));
        return exit::OK;
    }
    let mut out = format!("{} ({})\n", info.name, info.path);
    if !info.about.is_empty() {
        out.push_str(&format!("  {}\n", info.about));
    }
    out.push('\n');
    out.push_str(&parameters(name, &info, &params));
    crate::base::output::data(&out);
    exit::OK
}

/// What `rigger run NAME --help` adds for the script named: what it does and its
/// parameters, as `rigger scripts NAME` lists them; `None` when there is no such script.
pub fn run_help(name: &str) -> Option<String> {
    let (info, params) = read(name).ok()?;
    let mut out = format!("Script {} ({})", info.name, info.path);
    if !info.about.is_empty() {
        out.push_str(&format!(": {}", info.about));
    }
    out.push_str("\n\n");
    out.push_str(&parameters(name, &info, &params));
    Some(out)
}

/// The script `name` (a bundled name or a path) and its parameters, read, not run.
fn read(name: &str) -> Result<(ScriptInfo, declared::Params), crate::script::NotFound> {
    let (script, params) = declared::of(name)?;
    let info = ScriptInfo {
        name: name.to_string(),
        path: script.name.clone(),
        about: about(&script.text),
        params: Some(params.declared.iter().map(ParamInfo::from).collect()),
        example: bundled::EXAMPLES.iter().any(|b| b.name == name),
    };
    Ok((info, params))
}

/// A script's parameters, one with its default and rules, and its doc under it.
fn parameters(name: &str, info: &ScriptInfo, params: &declared::Params) -> String {
    let mut out = format!("Parameters (rigger run {name} --set KEY=VALUE):\n");
    for p in info.params.iter().flatten() {
        let default = match p.default.as_deref() {
            Some("()") => "optional".to_string(),
            Some(d) => format!("default {d}"),
            None => "required".to_string(),
        };
        let allows = p
            .allows
            .as_ref()
            .map(|a| format!("; {a}"))
            .unwrap_or_default();
        out.push_str(&format!("  {}  ({default}{allows})\n", p.name));
        if let Some(doc) = &p.doc {
            out.push_str(&format!("      {doc}\n"));
        }
    }
    if let Some((source, pos)) = &params.open {
        out.push_str(&format!(
            "  (and others: {source}:{} asks for a parameter named at run time)\n",
            pos.line().unwrap_or(0)
        ));
    }
    out
}

/// Refuses, before the script runs, a `--set` key that no `param` of the script (or of
/// the modules it imports) asks for. A script that names a parameter only at run time
/// could ask for any key: it is not checked here, and a key it never asked for is
/// warned about after the run.
pub fn check_sets(arg: &str, script: &Script, given: &Params) -> Result<(), (ScriptError, u8)> {
    let Some(params) = declared::params(script) else {
        return Ok(());
    };
    if params.open.is_some() {
        return Ok(());
    }
    let Some(unknown) = given.keys().find(|k| params.get(k).is_none()) else {
        return Ok(());
    };
    let names: Vec<&str> = params.declared.iter().map(|d| d.name.as_str()).collect();
    let message = format!(
        "--set {unknown}: {} has no parameter {unknown:?}",
        script.name
    );
    let listed = if names.is_empty() {
        format!("{} takes no parameters", script.name)
    } else {
        format!("its parameters: {}", names.join(", "))
    };
    let help = Some(format!(
        "{listed} (`rigger scripts {arg}` shows each with its default)"
    ));
    let err = match params.closest(unknown) {
        Some(near) => {
            let text = declared_text(script, near);
            ScriptError::at(
                message,
                help,
                &near.source,
                &text,
                near.pos,
                format!("did you mean `{}`?", near.name),
            )
        }
        None => ScriptError::plain(message, help),
    };
    Err((err, exit::USAGE))
}

/// The text of the file a parameter is declared in: the script, or a module it imports.
fn declared_text(script: &Script, d: &Declared) -> String {
    if d.source == script.name {
        return script.text.clone();
    }
    bundled::STDLIB
        .iter()
        .find(|b| b.path == d.source)
        .map(|b| b.text.to_string())
        .or_else(|| std::fs::read_to_string(&d.source).ok())
        .unwrap_or_default()
}
