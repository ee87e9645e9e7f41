//! The manual holds to the tree. In README.md, ARCHITECTURE.md, bench/RESULTS.md and
//! every page of docs/:
//! - every test cited exists: a code span `module::test_name` whose module is a file of
//!   tests/rigger must name a `fn` of that file, and a bare code span in snake_case of
//!   five words or more (`a_cname_target_is_a_warning`; no primitive or key is that
//!   long) must name a `fn` somewhere in src/, tests/ or bench/;
//! - every relative link leads to a file, and its `#anchor` to a heading there;
//! - every path named in a code span that starts at a folder of the repository
//!   (`tests/rigger/rounds.rs`) or of src/ (`world/journaling.rs`) exists;
//! - SUMMARY.md lists every page of docs/, and every page it lists exists.
//!
//! Each scanner has a self-check: it must see a made-up name, link, path or page.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Folders of the repository a path in the docs may start at.
const TOP: &[&str] = &[".ci", "bench", "docs", "scripts", "src", "stdlib", "tests"];
/// Folders of src/ a path in the docs may start at (the layers).
const LAYERS: &[&str] = &[
    "base",
    "cli",
    "primitives",
    "providers",
    "script",
    "services",
    "world",
];

fn root() -> &'static Path {
    Path::new(ROOT)
}

/// The pages checked, as paths under the root.
fn pages() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "bench/RESULTS.md"]
        .iter()
        .map(PathBuf::from)
        .collect();
    out.extend(docs_pages().into_iter().map(|p| Path::new("docs").join(p)));
    out
}

/// The Markdown files directly in docs/, by file name.
fn docs_pages() -> BTreeSet<String> {
    std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect()
}

/// `text` with every fenced code block blanked (its lines kept, so line numbers hold):
/// what a block shows is output or a command, not a citation.
fn without_fences(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// An inline code span: its line, where it lies in the text (backticks included), and
/// what it holds.
struct Span {
    line: usize,
    range: std::ops::Range<usize>,
    code: String,
}

/// The inline code spans of `text` (fences already blanked). A span opens with a run of
/// backticks and closes at the next run of the same length; it may run over a line break.
fn code_spans(text: &str) -> Vec<Span> {
    let bytes = text.as_bytes();
    let ticks_at = |i: usize| bytes[i..].iter().take_while(|b| **b == b'`').count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let n = ticks_at(i);
        let mut j = i + n;
        let close = loop {
            let Some(k) = text[j..].find('`') else {
                break None;
            };
            let m = ticks_at(j + k);
            if m == n {
                break Some(j + k);
            }
            j += k + m;
        };
        let Some(close) = close else { break };
        spans.push(Span {
            line: text[..i].matches('\n').count() + 1,
            range: i..close + n,
            code: text[i + n..close].replace('\n', " "),
        });
        i = close + n;
    }
    spans
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

/// A test a span cites: `(Some(module), name)` for `module::name` with `module` a file of
/// tests/rigger, `(None, name)` for a bare name of five words or more.
fn cited_test(span: &str) -> Option<(Option<String>, String)> {
    if let Some((module, name)) = span.split_once("::") {
        let file = root().join("tests/rigger").join(format!("{module}.rs"));
        return (is_snake(module) && is_snake(name) && file.is_file())
            .then(|| (Some(module.to_string()), name.to_string()));
    }
    (is_snake(span) && span.split('_').count() >= 5).then(|| (None, span.to_string()))
}

/// Every name `text` declares with `fn`.
fn fns_in(text: &str) -> BTreeSet<String> {
    text.match_indices("fn ")
        .filter(|(i, _)| *i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
        .map(|(i, _)| {
            text[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Every `fn` of src/, tests/ and bench/.
fn every_fn() -> BTreeSet<String> {
    ["src", "tests", "bench"]
        .iter()
        .flat_map(|dir| crate::harness::rust_sources(dir).into_values())
        .flat_map(|text| fns_in(&text))
        .collect()
}

/// The tests `text` cites that the tree does not have, as "line N: `span`".
fn missing_tests(text: &str, every: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for Span {
        line, code: span, ..
    } in code_spans(&without_fences(text))
    {
        let Some((module, name)) = cited_test(&span) else {
            continue;
        };
        let found = match &module {
            Some(m) => {
                let file = root().join("tests/rigger").join(format!("{m}.rs"));
                fns_in(&std::fs::read_to_string(file).unwrap()).contains(&name)
            }
            None => every.contains(&name),
        };
        if !found {
            missing.push(format!("line {line}: `{span}` names no test"));
        }
    }
    missing
}

/// A span that names a path of the repository, as a path under the root: it starts at
/// one of its folders, or one of src/'s.
fn cited_path(span: &str) -> Option<PathBuf> {
    if span.contains(|c: char| c.is_whitespace() || "*<>=:\"'".contains(c)) {
        return None;
    }
    let (first, _) = span.split_once('/')?;
    if TOP.contains(&first) {
        Some(PathBuf::from(span))
    } else if LAYERS.contains(&first) {
        Some(Path::new("src").join(span))
    } else {
        None
    }
}

/// The paths `text` names in code that the tree does not have.
fn missing_paths(text: &str) -> Vec<String> {
    code_spans(&without_fences(text))
        .into_iter()
        .filter_map(
            |Span {
                 line, code: span, ..
             }| {
                let path = cited_path(&span)?;
                (!root().join(&path).exists())
                    .then(|| format!("line {line}: `{span}` is not a path in the tree"))
            },
        )
        .collect()
}

/// The anchor a heading gets (mdBook's and GitHub's rule, for ASCII): lowercase, spaces
/// to hyphens, everything but letters, digits, `-` and `_` dropped; a repeated one gets
/// `-1`, `-2`, ...
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in without_fences(text).lines() {
        let title = line.trim_start_matches('#');
        if title.len() == line.len() || !title.starts_with(' ') {
            continue;
        }
        let base: String = title
            .trim()
            .chars()
            .filter_map(|c| match c {
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
                c if c.is_whitespace() => Some('-'),
                _ => None,
            })
            .collect();
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The targets of the inline links `[text](target)` in `text`, outside code.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut prose = without_fences(text);
    // Blank the code spans too (keeping their line breaks): `[1, 2](x)` in code is no link.
    for Span { range, .. } in code_spans(&prose.clone()) {
        // Byte for byte, so the ranges after it still hold.
        let blank: String = prose[range.clone()]
            .chars()
            .map(|c| match c {
                '\n' => "\n".to_string(),
                c => " ".repeat(c.len_utf8()),
            })
            .collect();
        prose.replace_range(range, &blank);
    }
    let mut out = Vec::new();
    for (i, _) in prose.match_indices("](") {
        let rest = &prose[i + 2..];
        let Some(end) = rest.find(')') else { continue };
        let line = prose[..i].matches('\n').count() + 1;
        out.push((line, rest[..end].to_string()));
    }
    out
}

/// The relative links of `text` (a page in `dir`) that lead nowhere.
fn broken_links(text: &str, dir: &Path) -> Vec<String> {
    let mut broken = Vec::new();
    for (line, target) in links(text) {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
        let file = if path.is_empty() {
            None
        } else {
            Some(dir.join(path))
        };
        if let Some(file) = &file
            && !file.exists()
        {
            broken.push(format!("line {line}: ({target}) leads to no file"));
            continue;
        }
        if anchor.is_empty() {
            continue;
        }
        let page = match &file {
            Some(f) if f.extension().is_some_and(|e| e == "md") => {
                std::fs::read_to_string(f).unwrap()
            }
            Some(_) => continue,
            None => text.to_string(),
        };
        if !anchors(&page).contains(anchor) {
            broken.push(format!("line {line}: ({target}) names no heading there"));
        }
    }
    broken
}

/// What is wrong between a SUMMARY.md and the pages beside it: an entry with no page,
/// a page with no entry.
fn summary_problems(summary: &str, pages: &BTreeSet<String>) -> Vec<String> {
    let listed: BTreeSet<String> = links(summary)
        .into_iter()
        .map(|(_, target)| target)
        .collect();
    let mut problems: Vec<String> = listed
        .iter()
        .filter(|p| !pages.contains(*p))
        .map(|p| format!("SUMMARY.md lists {p}, which docs/ does not have"))
        .collect();
    problems.extend(
        pages
            .iter()
            .filter(|p| *p != "SUMMARY.md" && !listed.contains(*p))
            .map(|p| format!("docs/{p} is not in SUMMARY.md")),
    );
    problems
}

fn each_page(check: impl Fn(&str, &Path) -> Vec<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for page in pages() {
        let path = root().join(&page);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        for p in check(&text, path.parent().unwrap()) {
            problems.push(format!("{}: {p}", page.display()));
        }
    }
    problems
}

#[test]
fn every_test_the_docs_cite_exists() {
    let every = every_fn();
    let missing = each_page(|text, _| missing_tests(text, &every));
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_path_the_docs_name_exists() {
    let missing = each_page(|text, _| missing_paths(text));
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let broken = each_page(broken_links);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_summary_lists_every_page_and_only_pages() {
    let summary = std::fs::read_to_string(root().join("docs/SUMMARY.md")).unwrap();
    let problems = summary_problems(&summary, &docs_pages());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_test_check_sees_a_made_up_test() {
    let every = every_fn();
    let text = "`a_made_up_test_that_is_nowhere`, `day2::no_such_test_in_day2`,\n\
                `wait_resolves` (a primitive), `etcd::start` (the stdlib),\n\
                `day2::chaos_replace_grow_and_shrink_keep_dns_equal_to_the_membership_and_lose_no_key`\n\
                ```\n`another_made_up_test_in_a_block`\n```\n";
    assert_eq!(
        missing_tests(text, &every),
        [
            "line 1: `a_made_up_test_that_is_nowhere` names no test",
            "line 1: `day2::no_such_test_in_day2` names no test",
        ]
    );
}

#[test]
fn the_path_check_sees_a_made_up_path() {
    let text = "`tests/rigger/no_such_file.rs` and `world/nowhere.rs`, beside\n\
                `tests/rigger/layers.rs`, `world/journaling.rs`, `lib/names.rhai`, `stdlib/*.rhai`";
    assert_eq!(
        missing_paths(text),
        [
            "line 1: `tests/rigger/no_such_file.rs` is not a path in the tree",
            "line 1: `world/nowhere.rs` is not a path in the tree",
        ]
    );
}

#[test]
fn the_link_check_sees_a_made_up_link_and_anchor() {
    let docs = root().join("docs");
    let text = "# A page\n\n[gone](no-such-page.md), [lab](lab.md#no-such-heading),\n\
                [here](#a-page), [not here](#elsewhere), [web](https://example.com/x.md),\n\
                `[1, 2](x)` in code, [up](../README.md)\n";
    assert_eq!(
        broken_links(text, &docs),
        [
            "line 3: (no-such-page.md) leads to no file",
            "line 3: (lab.md#no-such-heading) names no heading there",
            "line 4: (#elsewhere) names no heading there",
        ]
    );
    assert!(
        anchors("## The journal, rollback and destroy\n")
            .contains("the-journal-rollback-and-destroy")
    );
}

#[test]
fn the_summary_check_sees_a_made_up_page() {
    let pages: BTreeSet<String> = ["SUMMARY.md", "lab.md", "unlisted.md"]
        .map(String::from)
        .into();
    let summary = "# Summary\n\n- [The lab](lab.md)\n- [Made up](made-up.md)\n";
    assert_eq!(
        summary_problems(summary, &pages),
        [
            "SUMMARY.md lists made-up.md, which docs/ does not have",
            "docs/unlisted.md is not in SUMMARY.md",
        ]
    );
}
