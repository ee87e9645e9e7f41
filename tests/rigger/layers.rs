//! The tree shows the layers, and imports only point down: a module may use its own
//! layer and the ones below it, never one above. The order is written here, once.

use std::path::Path;

/// Top to bottom.
const LAYERS: &[&str] = &[
    "cli",
    "script",
    "primitives",
    "world",
    "services",
    "providers",
    "base",
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == module)
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<layer>` a file names (in `use` lines and in paths).
fn uses(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((n + 1, name));
        }
    }
    found
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let Some(own) = layer_of(top.trim_end_matches(".rs")) else {
            // main.rs and lib.rs sit above every layer.
            assert!(
                ["main.rs", "lib.rs"].contains(&top.as_ref()),
                "{} is in no layer: put it in one of {LAYERS:?}",
                rel.display()
            );
            continue;
        };
        for (line, name) in uses(&std::fs::read_to_string(file).unwrap()) {
            match layer_of(&name) {
                Some(used) if used < own => wrong.push(format!(
                    "{}:{line} ({}) uses crate::{name} ({}), a layer above it",
                    rel.display(),
                    LAYERS[own],
                    LAYERS[used]
                )),
                Some(_) => {}
                None => wrong.push(format!(
                    "{}:{line} uses crate::{name}, which is in no layer",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_check_sees_an_import_that_runs_up() {
    // The scanner itself must find such a line, or the test above proves nothing.
    let found = uses("use crate::cli::run::EXIT_OK;\n// crate::world in a comment\n");
    assert_eq!(found, vec![(1, "cli".to_string())]);
}
