//! `rigger definitions DIR`: Rhai definition files (`*.d.rhai`) for every primitive and
//! every stdlib module, for the Rhai language server and editors built on it: completion
//! and signatures while a script is written.

use std::path::Path;

use crate::cli::exit;
use crate::cli::run::idle_context;
use crate::script::reference::{self, FnDoc};
use crate::script::{Sources, engine};

pub fn definitions(dir: &Path) -> u8 {
    let engine = engine::build(
        &engine::Options::default(),
        &idle_context(),
        &Sources::default(),
    );
    // The primitives (and Rhai's own functions), from the engine's metadata.
    let definitions = engine.definitions().include_standard_packages(true);
    let mut files: Vec<(String, String)> = definitions.iter_files().collect();
    // The stdlib is imported at run time, not registered; rhai would write its closures
    // and no docs, so its modules are written from the reference instead.
    for (module, docs) in reference::stdlib(&engine) {
        files.push((format!("{module}.d.rhai"), module_file(module, &docs)));
    }
    if let Err(e) = write_all(dir, &files) {
        return super::fail(
            format!("cannot write the definitions to {}: {e}", dir.display()),
            None,
        );
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    tracing::info!("wrote {} to {}", names.join(", "), dir.display());
    exit::OK
}

fn write_all(dir: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in files {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// A stdlib module as a definition file: each function with its doc, untyped (`?`), as
/// Rhai writes a script function.
fn module_file(module: &str, docs: &[FnDoc]) -> String {
    let mut out = format!("module {module};\n");
    for f in docs {
        out.push('\n');
        for line in f.doc.lines() {
            out.push_str(format!("/// {line}").trim_end());
            out.push('\n');
        }
        let name = f
            .name
            .strip_prefix(&format!("{module}::"))
            .unwrap_or(&f.name);
        let params: Vec<String> = f.params.iter().map(|p| format!("{}: ?", p.name)).collect();
        out.push_str(&format!("fn {name}({}) -> ?;\n", params.join(", ")));
    }
    out
}
