//! The parameters a script declares, read from its AST before it runs: every
//! `param("name", ...)` with a literal name, in the script and in the modules it imports,
//! with the default and the rules as written and the comment above it. So that a
//! misspelt `--set` key is refused before anything is made, and `rigger scripts NAME`
//! can list what a script takes without running it.

use rhai::{AST, ASTNode, Dynamic, Engine, Expr, OptimizationLevel, Position, Stmt};
use std::collections::BTreeSet;

use super::Script;
use super::modules::Resolver;

/// One `param(...)` call with a literal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    /// The source name of the file it is in (as diagnostics name it).
    pub source: String,
    pub pos: Position,
    /// The default as written (`3`, `etcd::release()`), or `None` when the script
    /// requires a value (`param("domain")`).
    pub default: Option<String>,
    /// What the rules allow, as people read it (`1 to 25`, `one of "a", "b"`).
    pub allows: Option<String>,
    /// The comment just above the statement, or at the end of its line.
    pub doc: Option<String>,
}

/// What a script asks for.
#[derive(Debug, Default)]
pub struct Params {
    /// In the order the script asks, each name once (its first call).
    pub declared: Vec<Declared>,
    /// Where a `param` is called with a name that cannot be read before the run (a
    /// variable, an expression): then any `--set` key may be one it asks for.
    pub open: Option<(String, Position)>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Declared> {
        self.declared.iter().find(|d| d.name == name)
    }

    /// The declared name closest to `key`, when it is close enough to be a typo.
    pub fn closest(&self, key: &str) -> Option<&Declared> {
        self.declared
            .iter()
            .map(|d| (strsim::damerau_levenshtein(key, &d.name), d))
            .filter(|(distance, d)| *distance <= (d.name.len().max(key.len()) / 3).max(1))
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, d)| d)
    }
}

/// The parameters of `script`, or `None` when it does not compile (the run reports
/// that, with its own diagnostic).
pub fn params(script: &Script) -> Option<Params> {
    let mut reader = Reader {
        engine: parser(),
        resolver: Resolver::new(script.dir.clone(), super::Sources::default()),
        seen: BTreeSet::new(),
        out: Params::default(),
    };
    let ast = reader.engine.compile(&script.text).ok()?;
    reader.read(&script.name, &script.text, &ast);
    Some(reader.out)
}

/// An engine that only parses: no optimisation, so that the AST is the script as
/// written (a list stays a list, a default is not folded away).
fn parser() -> Engine {
    let mut engine = Engine::new_raw();
    // The run's own depth limits, so that what runs also parses here.
    super::Limits::default().apply(&mut engine);
    engine.set_optimization_level(OptimizationLevel::None);
    engine
}

struct Reader {
    engine: Engine,
    resolver: Resolver,
    /// Modules already read, by source name.
    seen: BTreeSet<String>,
    out: Params,
}

impl Reader {
    fn read(&mut self, source: &str, text: &str, ast: &AST) {
        let mut imports = Vec::new();
        let mut found = Vec::new();
        ast.walk(&mut |path: &[ASTNode]| {
            match path.last() {
                Some(ASTNode::Stmt(Stmt::Import(x, pos))) => match &x.0 {
                    Expr::StringConstant(p, _) => imports.push((p.to_string(), *pos)),
                    _ => found.push(Found::Open(*pos)),
                },
                Some(ASTNode::Expr(Expr::FnCall(call, pos)))
                | Some(ASTNode::Stmt(Stmt::FnCall(call, pos)))
                    if call.name == "param" && call.namespace.is_empty() =>
                {
                    found.push(call_site(path, &call.args, *pos));
                }
                _ => {}
            }
            true
        });
        for f in found {
            match f {
                Found::Open(pos) => {
                    self.out.open.get_or_insert((source.to_string(), pos));
                }
                Found::Names(names, pos, line) => {
                    for name in names {
                        if self.out.get(&name).is_none() {
                            let d = describe(text, source, name, pos, line);
                            self.out.declared.push(d);
                        }
                    }
                }
            }
        }
        for (path, pos) in imports {
            let Ok((name, module)) = self.resolver.locate(Some(source), &path, pos) else {
                // The run fails on it; until then, nothing is known of what it asks.
                self.out.open.get_or_insert((source.to_string(), pos));
                continue;
            };
            if !self.seen.insert(name.clone()) {
                continue;
            }
            match self.engine.compile(&module) {
                Ok(ast) => self.read(&name, &module, &ast),
                Err(_) => {
                    self.out.open.get_or_insert((source.to_string(), pos));
                }
            }
        }
    }
}

enum Found {
    /// The names a call asks for, where, and the line its statement starts on.
    Names(Vec<String>, Position, usize),
    Open(Position),
}

/// The names one `param` call can ask for: its literal name, or, in
/// `for key in ["a", "b"] { param(key, ...) }`, every item of the literal list.
fn call_site(path: &[ASTNode], args: &[Expr], pos: Position) -> Found {
    let line = path.first().and_then(|n| n.position().line()).unwrap_or(0);
    match args.first() {
        Some(Expr::StringConstant(name, _)) => Found::Names(vec![name.to_string()], pos, line),
        Some(Expr::Variable(var, ..)) => {
            let names = path.iter().rev().find_map(|node| match node {
                ASTNode::Stmt(Stmt::For(f, for_pos)) if f.0.name == var.1 => {
                    Some((literal_strings(&f.2.expr)?, *for_pos))
                }
                _ => None,
            });
            match names {
                Some((names, for_pos)) => {
                    let line = for_pos.line().unwrap_or(line);
                    Found::Names(names, pos, line)
                }
                None => Found::Open(pos),
            }
        }
        _ => Found::Open(pos),
    }
}

fn literal_strings(expr: &Expr) -> Option<Vec<String>> {
    let list = expr.get_literal_value(None)?.into_array().ok()?;
    list.into_iter()
        .map(|item| item.into_string().ok())
        .collect()
}

/// A parameter as its call writes it: the default and the rules from the call's text.
fn describe(text: &str, source: &str, name: String, pos: Position, line: usize) -> Declared {
    let args = pos
        .line()
        .map(|l| call_args(text, l, pos.position().unwrap_or(1)));
    let args = args.unwrap_or_default();
    Declared {
        name,
        source: source.to_string(),
        pos,
        default: args.get(1).cloned(),
        allows: args.get(2).and_then(|rules| allows(rules)),
        doc: doc_above(text, line).or_else(|| doc_after(text, pos.line().unwrap_or(0))),
    }
}

/// The arguments of the call whose name starts at `line`:`column`, as written (spaces
/// and line breaks folded), split at the commas between them.
fn call_args(text: &str, line: usize, column: usize) -> Vec<String> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let rest = &text[start..];
    let offset: usize = rest.chars().take(column - 1).map(char::len_utf8).sum();
    let rest = &rest[offset..];
    let Some(open) = rest.find('(') else {
        return Vec::new();
    };
    let mut args = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut chars = rest[open + 1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' | '\'' => {
                current.push(c);
                while let Some(s) = chars.next() {
                    current.push(s);
                    if s == '\\' {
                        current.extend(chars.next());
                    } else if s == c {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for s in chars.by_ref() {
                    if s == '\n' {
                        break;
                    }
                }
                current.push(' ');
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' if depth > 0 => {
                depth -= 1;
                current.push(c);
            }
            ')' => break,
            ',' if depth == 0 => args.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    args.push(current);
    args.into_iter()
        .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|a| !a.is_empty())
        .collect()
}

/// What a rules map allows, from its literal `one_of`, `min` and `max`.
fn allows(rules: &str) -> Option<String> {
    let map = parser()
        .eval_expression::<Dynamic>(&literal_part(rules)?)
        .ok()?;
    let map = map.try_cast::<rhai::Map>()?;
    let shown = |v: &Dynamic| {
        if v.is_string() {
            format!("{:?}", v.to_string())
        } else {
            v.to_string()
        }
    };
    if let Some(list) = map.get("one_of").and_then(|v| v.clone().into_array().ok()) {
        let items: Vec<String> = list.iter().map(shown).collect();
        return Some(format!("one of {}", items.join(", ")));
    }
    match (map.get("min"), map.get("max")) {
        (Some(min), Some(max)) => Some(format!("{} to {}", shown(min), shown(max))),
        (Some(min), None) => Some(format!("at least {}", shown(min))),
        (None, Some(max)) => Some(format!("at most {}", shown(max))),
        (None, None) => None,
    }
}

/// The rules map with only its literal keys, which evaluate without the script: a
/// `check` is a closure, and `why` may be any expression.
fn literal_part(rules: &str) -> Option<String> {
    let inner = rules.trim().strip_prefix("#{")?.strip_suffix('}')?;
    let wanted = ["one_of", "min", "max"];
    let kept: Vec<String> = split_top(inner)
        .into_iter()
        .filter(|entry| {
            let key = entry.split(':').next().unwrap_or("").trim();
            wanted.contains(&key)
        })
        .collect();
    Some(format!("#{{{}}}", kept.join(",")))
}

/// `text` split at its top-level commas (not inside brackets or strings).
fn split_top(text: &str) -> Vec<String> {
    call_args(&format!("({text})"), 1, 1)
}

/// The `//` comment lines just above `line` (1-based), joined.
fn doc_above(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(line.saturating_sub(1)).collect();
    let comment: Vec<&str> = lines
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("//"))
        .map(|l| l.trim_start_matches('/').trim())
        .collect();
    let doc: Vec<&str> = comment.into_iter().rev().collect();
    (!doc.is_empty()).then(|| doc.join(" "))
}

/// A `//` comment at the end of `line`, outside any string.
fn doc_after(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let mut quote = None;
    let mut chars = l.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '`' | '\'') => quote = Some(c),
            (None, '/') if chars.peek().map(|(_, n)| *n) == Some('/') => {
                let comment = l[i..].trim_start_matches('/').trim();
                return (!comment.is_empty()).then(|| comment.to_string());
            }
            _ => {}
        }
    }
    None
}

/// A script as `run` finds it (a path or a bundled name), with its parameters.
pub fn of(name: &str) -> Result<(Script, Params), super::NotFound> {
    let script = Script::find(name)?;
    let params = params(&script).unwrap_or_default();
    Ok((script, params))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn read(text: &str) -> Params {
        let script = Script {
            name: "t.rhai".into(),
            text: text.into(),
            dir: PathBuf::from("."),
        };
        params(&script).unwrap()
    }

    #[test]
    fn literal_names_with_defaults_rules_and_comments() {
        let p = read(
            "// How many members.\nlet size = param(\"size\", 3, #{ min: 1, max: 25,\n    why: \"slow\" });\nlet d = param(\"domain\"); // the domain\nlet i = param(\"install\", if true { \"a\" } else { \"b\" }, #{ one_of: [\"a\", \"b\"], check: |v| () });\n",
        );
        assert!(p.open.is_none());
        let names: Vec<&str> = p.declared.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["size", "domain", "install"]);
        let size = p.get("size").unwrap();
        assert_eq!(size.default.as_deref(), Some("3"));
        assert_eq!(size.allows.as_deref(), Some("1 to 25"));
        assert_eq!(size.doc.as_deref(), Some("How many members."));
        assert_eq!(p.get("domain").unwrap().default, None);
        assert_eq!(p.get("domain").unwrap().doc.as_deref(), Some("the domain"));
        let install = p.get("install").unwrap();
        assert_eq!(
            install.default.as_deref(),
            Some("if true { \"a\" } else { \"b\" }")
        );
        assert_eq!(install.allows.as_deref(), Some("one of \"a\", \"b\""));
    }

    #[test]
    fn a_loop_over_a_literal_list_declares_each_item() {
        let p = read(
            "// cloud settings\nfor key in [\"ami\", \"subnet_id\"] {\n    let v = param(key, ());\n}\n",
        );
        assert!(p.open.is_none());
        let ami = p.get("ami").unwrap();
        assert_eq!(ami.default.as_deref(), Some("()"));
        assert_eq!(ami.doc.as_deref(), Some("cloud settings"));
        assert!(p.get("subnet_id").is_some());
    }

    #[test]
    fn a_name_that_is_not_literal_leaves_the_set_open() {
        let p = read("let k = \"a\" + \"b\";\nlet v = param(k, 1);\n");
        assert_eq!(p.open.as_ref().map(|(_, pos)| pos.line()), Some(Some(2)));
    }

    #[test]
    fn a_typo_is_close_to_its_parameter_and_a_stranger_is_not() {
        let p = read("let a = param(\"size\", 3);\nlet b = param(\"domain\", \"x\");\n");
        assert_eq!(p.closest("sise").map(|d| d.name.as_str()), Some("size"));
        assert_eq!(p.closest("domian").map(|d| d.name.as_str()), Some("domain"));
        assert_eq!(p.closest("zzz"), None);
    }

    #[test]
    fn the_bundled_stdlib_asks_for_nothing() {
        for module in crate::script::bundled::STDLIB {
            let ast = parser().compile(module.text).unwrap();
            let mut reader = Reader {
                engine: parser(),
                resolver: Resolver::new(PathBuf::from("."), crate::script::Sources::default()),
                seen: BTreeSet::new(),
                out: Params::default(),
            };
            reader.read(module.path, module.text, &ast);
            assert!(reader.out.declared.is_empty() && reader.out.open.is_none());
        }
    }
}
