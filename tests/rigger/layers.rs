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
    let mut wrong = Vec::new();
    for (file, text) in &crate::harness::rust_sources("src") {
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
        for (line, name) in uses(text) {
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

/// A module's path from the crate root: `providers/dns/mod.rs` is `providers::dns`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if !["mod", "lib", "main"].contains(&stem) {
        parts.push(stem.to_string());
    }
    parts
}

/// The text without comments, so that a path said in prose is no import, and without
/// its tests (a `mod tests` names its own file's items through `super`).
fn code_only(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d, self}}` as the paths it names: `a::b`, `a::c::d`, `a::c`.
fn expand(tree: &str) -> Vec<Vec<String>> {
    // `x as y` names x.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" {
            i += 2;
            continue;
        }
        kept.push(words[i]);
        i += 1;
    }
    let tree: String = kept.concat();
    let Some(open) = tree.find('{') else {
        return vec![
            tree.split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        ];
    };
    let prefix: Vec<String> = tree[..open]
        .split("::")
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    // Split the group at its own commas, not at those of a nested group.
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    let mut out = Vec::new();
    for item in items.into_iter().filter(|i| !i.is_empty()) {
        for tail in expand(item) {
            let tail: Vec<String> = tail.into_iter().filter(|s| s != "self").collect();
            out.push(prefix.iter().cloned().chain(tail).collect());
        }
    }
    out
}

/// Every path a file names: its `use` trees and the `crate::`, `super::` and `self::`
/// paths in its code.
fn named_paths(text: &str) -> Vec<Vec<String>> {
    let code = code_only(text);
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("use ") {
        let before = rest[..i].chars().last();
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if before.is_none_or(|c| c.is_whitespace()) {
            out.extend(expand(&after[..end]));
        }
        rest = &after[end..];
    }
    for lead in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(lead) {
            if code[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            {
                continue;
            }
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
    }
    out
}

/// Files by module path, and what each `mod.rs` re-exports (`pub use child::Name`).
struct Tree {
    files: std::collections::BTreeMap<Vec<String>, std::path::PathBuf>,
    reexports: std::collections::BTreeMap<(Vec<String>, String), Vec<String>>,
}

impl Tree {
    fn new(texts: &std::collections::BTreeMap<std::path::PathBuf, String>) -> Self {
        let mut files = std::collections::BTreeMap::new();
        let mut reexports = std::collections::BTreeMap::new();
        for (rel, text) in texts {
            let module = module_of(rel);
            files.insert(module.clone(), rel.clone());
            for line in code_only(text).lines() {
                let Some(tree) = line.trim().strip_prefix("pub use ") else {
                    continue;
                };
                for path in expand(tree.trim_end_matches(';')) {
                    if let Some(name) = path.last() {
                        reexports.insert((module.clone(), name.clone()), path.clone());
                    }
                }
            }
        }
        Self { files, reexports }
    }

    /// The file that defines what `path`, named in `module`, points at; none for
    /// another crate's.
    fn resolve(
        &self,
        module: &[String],
        path: &[String],
        depth: usize,
    ) -> Option<std::path::PathBuf> {
        let mut abs: Vec<String> = match path.first()?.as_str() {
            "crate" => Vec::new(),
            "super" | "self" => module.to_vec(),
            first
                if self
                    .files
                    .contains_key(&[module, &[first.to_string()]].concat()) =>
            {
                module.to_vec()
            }
            _ => return None,
        };
        let mut rest = path;
        while let Some(seg) = rest.first() {
            match seg.as_str() {
                "crate" | "self" => {}
                "super" => {
                    abs.pop();
                }
                _ => break,
            }
            rest = &rest[1..];
        }
        abs.extend(rest.iter().cloned());
        // The longest prefix that is a module; a name it re-exports leads on.
        let mut n = abs.len();
        while n > 0 && !self.files.contains_key(&abs[..n]) {
            n -= 1;
        }
        let owner = abs[..n].to_vec();
        // A folder named from inside it (`use crate::providers::{self, ..}`, a group's
        // `super::{..}`) is a namespace, not a use of its mod.rs.
        if n == abs.len() && module.starts_with(&owner) {
            return None;
        }
        if let Some(name) = abs.get(n)
            && depth < 8
            && let Some(target) = self.reexports.get(&(owner.clone(), name.clone()))
            && let Some(found) = self.resolve(&owner, target, depth + 1)
        {
            return Some(found);
        }
        self.files.get(&owner).cloned()
    }
}

/// Groups of files that import each other, however deep: each a circle.
fn circles(texts: &std::collections::BTreeMap<std::path::PathBuf, String>) -> Vec<Vec<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let tree = Tree::new(texts);
    let mut edges: BTreeMap<std::path::PathBuf, BTreeSet<std::path::PathBuf>> = BTreeMap::new();
    for (rel, text) in texts {
        let module = module_of(rel);
        let to = edges.entry(rel.clone()).or_default();
        for path in named_paths(text) {
            if let Some(target) = tree.resolve(&module, &path, 0)
                && &target != rel
            {
                to.insert(target);
            }
        }
    }
    // Which files each reaches; two that reach each other share a circle.
    let reach = |from: &std::path::PathBuf| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(f) = todo.pop() {
            for next in edges.get(&f).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<_, _> = edges.keys().map(|f| (f.clone(), reach(f))).collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut placed = BTreeSet::new();
    for (file, reaches) in &reached {
        if placed.contains(file) || !reaches.contains(file) {
            continue;
        }
        let group: Vec<_> = reaches
            .iter()
            .filter(|other| reached[*other].contains(file))
            .cloned()
            .collect();
        placed.extend(group.iter().cloned());
        found.push(group.iter().map(|p| p.display().to_string()).collect());
    }
    found
}

#[test]
fn no_two_files_import_each_other_at_any_depth() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let texts = crate::harness::rust_sources("src")
        .into_iter()
        .map(|(f, text)| (f.strip_prefix(&src).unwrap().to_path_buf(), text))
        .collect();
    let found = circles(&texts);
    assert!(
        found.is_empty(),
        "files that import each other (a leaf file for what both need cuts a circle):\n{}",
        found
            .iter()
            .map(|c| c.join(" <-> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_circle_check_sees_two_files_of_one_folder_that_import_each_other() {
    // The scanner must find an inner circle, through a group and through a re-export,
    // or the test above proves nothing.
    let tree = |files: &[(&str, &str)]| {
        files
            .iter()
            .map(|(p, t)| (std::path::PathBuf::from(p), t.to_string()))
            .collect()
    };
    let inner = tree(&[
        (
            "base/mod.rs",
            "pub mod output;\npub mod progress;\npub use progress::Bar;\n",
        ),
        (
            "base/output.rs",
            "use super::{progress::{self, install}, human};\n",
        ),
        (
            "base/progress.rs",
            "pub struct Bar;\nfn f() { let _ = crate::base::output::StderrWriter; }\n",
        ),
        ("base/human.rs", "// crate::base::output in a comment\n"),
    ]);
    assert_eq!(
        circles(&inner),
        vec![vec![
            "base/output.rs".to_string(),
            "base/progress.rs".to_string()
        ]]
    );
    let through_reexport = tree(&[
        ("a/mod.rs", "pub mod x;\npub mod y;\npub use x::Thing;\n"),
        ("a/x.rs", "use super::y::Other;\npub struct Thing;\n"),
        ("a/y.rs", "use crate::a::Thing;\npub struct Other;\n"),
    ]);
    assert_eq!(
        circles(&through_reexport),
        vec![vec!["a/x.rs".to_string(), "a/y.rs".to_string()]]
    );
    let clean = tree(&[
        ("a/mod.rs", "pub mod x;\npub mod y;\npub use x::Thing;\n"),
        ("a/x.rs", "pub struct Thing;\n"),
        ("a/y.rs", "use crate::a::Thing;\n"),
    ]);
    assert!(circles(&clean).is_empty());
}

/// Whether a file names the whole world (`world::World`): its journal and every backend.
fn names_the_whole_world(text: &str) -> bool {
    named_paths(text)
        .iter()
        .any(|p| p.windows(2).any(|w| w[0] == "world" && w[1] == "World"))
}

/// The commands that only read open the light world (`world::query`): no journal, and
/// no backend they do not ask. A `World` is for runs and take-downs.
#[test]
fn the_query_commands_open_no_whole_world() {
    let commands = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli/commands");
    for name in ["health", "members", "doctor", "env", "state", "access"] {
        let path = commands.join(format!("{name}.rs"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !names_the_whole_world(&text),
            "{} opens a whole World; a query opens world::query::Query",
            path.display()
        );
    }
}

#[test]
fn the_whole_world_check_sees_one_named_or_imported() {
    assert!(names_the_whole_world(
        "use crate::world::{World, WorldConfig};\n"
    ));
    assert!(names_the_whole_world(
        "fn f(c: &C) { let _ = crate::world::World::existing(c); }\n"
    ));
    assert!(!names_the_whole_world(
        "use crate::world::WorldConfig;\nuse crate::world::query::Query;\n"
    ));
    assert!(!names_the_whole_world(
        "// crate::world::World in a comment\n"
    ));
}
