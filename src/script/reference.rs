//! The script-facing reference, read from the engine's own metadata so it cannot drift
//! from what scripts can actually call.

use rhai::Engine;
use serde::{Deserialize, Serialize};

use crate::script::bundled;

/// One function as a script author sees it (and as `rigger fns --json` shows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FnDoc {
    /// As a script calls it: `param`, `etcd::srv_names`.
    pub name: String,
    /// The stdlib module it is in (`None` for a primitive).
    pub module: Option<String>,
    pub params: Vec<ParamDoc>,
    /// The type it returns (`None` for nothing, or a stdlib function's, untyped).
    pub returns: Option<String>,
    pub signature: String,
    pub doc: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamDoc {
    pub name: String,
    /// Rhai's name of the type (`String`, `Map`); `None` for a stdlib function's.
    #[serde(rename = "type")]
    pub typ: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    functions: Vec<FnMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnMeta {
    name: String,
    #[serde(default)]
    params: Vec<ParamMeta>,
    #[serde(default)]
    return_type: Option<String>,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct ParamMeta {
    name: Option<String>,
    #[serde(rename = "type")]
    typ: Option<String>,
}

/// `/// a\n/// b` -> `a\nb`: doc comments without their markers.
fn doc_text(comments: &[impl AsRef<str>]) -> String {
    comments
        .iter()
        .flat_map(|c| c.as_ref().lines().map(str::to_owned).collect::<Vec<_>>())
        .map(|line| {
            let line = line.trim_start();
            let line = ["///", "/**", "*/", "*"]
                .iter()
                .find_map(|m| line.strip_prefix(m))
                .unwrap_or(line);
            let line = line.strip_suffix("*/").unwrap_or(line);
            line.strip_prefix(' ').unwrap_or(line).to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// The primitives registered in the engine (not Rhai's own standard library).
pub fn primitives(engine: &Engine) -> Vec<FnDoc> {
    let json = engine
        .gen_fn_metadata_to_json(false)
        .expect("engine metadata serialises");
    let meta: Metadata = serde_json::from_str(&json).expect("engine metadata parses");
    let mut docs: Vec<FnDoc> = meta
        .functions
        .into_iter()
        .map(|f| {
            let params: Vec<ParamDoc> = f
                .params
                .iter()
                .map(|p| ParamDoc {
                    name: p.name.clone().unwrap_or_else(|| "_".into()),
                    typ: p.typ.clone(),
                })
                .collect();
            let shown = params
                .iter()
                .map(|p| match &p.typ {
                    Some(t) => format!("{}: {t}", p.name),
                    None => p.name.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let returns = match f.return_type.as_deref() {
                None | Some("()") | Some("") => None,
                Some(r) => Some(r.to_string()),
            };
            let ret = returns
                .as_ref()
                .map(|r| format!(" -> {r}"))
                .unwrap_or_default();
            FnDoc {
                signature: format!("{}({shown}){ret}", f.name),
                name: f.name,
                module: None,
                params,
                returns,
                doc: doc_text(&f.doc_comments),
            }
        })
        .collect();
    docs.sort_by(|a, b| a.signature.cmp(&b.signature));
    docs
}

/// The public functions of each bundled stdlib module, as `module::name(params)`.
pub fn stdlib(engine: &Engine) -> Vec<(&'static str, Vec<FnDoc>)> {
    bundled::STDLIB
        .iter()
        .map(|module| {
            let ast = engine
                .compile(module.text)
                .unwrap_or_else(|e| panic!("bundled {} does not compile: {e}", module.path));
            let mut docs: Vec<FnDoc> = ast
                .iter_functions()
                // Closures compile to hidden `anon$<hash>` functions: not part of the API.
                .filter(|f| f.access == rhai::FnAccess::Public && !f.name.starts_with("anon$"))
                .map(|f| FnDoc {
                    name: format!("{}::{}", module.name, f.name),
                    module: Some(module.name.to_string()),
                    params: f
                        .params
                        .iter()
                        .map(|p| ParamDoc {
                            name: p.to_string(),
                            typ: None,
                        })
                        .collect(),
                    returns: None,
                    signature: format!("{}::{}({})", module.name, f.name, f.params.join(", ")),
                    doc: doc_text(&f.comments),
                })
                .collect();
            docs.sort_by(|a, b| a.signature.cmp(&b.signature));
            (module.name, docs)
        })
        .collect()
}

/// Plain text for `rigger fns`.
pub fn text(engine: &Engine) -> String {
    let mut out = String::new();
    let mut section = |title: &str, docs: &[FnDoc]| {
        out.push_str(title);
        out.push('\n');
        for d in docs {
            out.push_str(&format!("  {}\n", d.signature));
            for line in d.doc.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
        out.push('\n');
    };
    section("Primitives:", &primitives(engine));
    for (module, docs) in stdlib(engine) {
        section(
            &format!("Module {module} (import \"{module}\" as {module};):"),
            &docs,
        );
    }
    out.trim_end().to_string() + "\n"
}

/// Markdown for the manual's reference page, docs/reference.md (`rigger fns --markdown`).
pub fn markdown(engine: &Engine) -> String {
    let mut out = String::from("### Primitives\n\n");
    let entry = |out: &mut String, d: &FnDoc| {
        out.push_str(&format!("- `{}`", d.signature));
        for (i, line) in d.doc.lines().enumerate() {
            out.push_str(if i == 0 { ": " } else { "\n  " });
            out.push_str(line);
        }
        out.push('\n');
    };
    for d in primitives(engine) {
        entry(&mut out, &d);
    }
    for (module, docs) in stdlib(engine) {
        out.push_str(&format!(
            "\n### Module `{module}`\n\n`import \"{module}\" as {module};`\n\n"
        ));
        for d in &docs {
            entry(&mut out, d);
        }
    }
    out
}

/// Every function a script can call: the primitives, then each stdlib module's.
pub fn all(engine: &Engine) -> Vec<FnDoc> {
    let mut docs = primitives(engine);
    docs.extend(stdlib(engine).into_iter().flat_map(|(_, d)| d));
    docs
}
