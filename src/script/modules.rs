//! `import "name"`: the bundled stdlib first, then `.rhai` files relative to the
//! importing script.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rhai::module_resolvers::ModuleResolver;
use rhai::{Engine, EvalAltResult, Module, Position, Scope, Shared};

use super::Sources;
use crate::script::bundled;

pub struct Resolver {
    /// Folder for imports from code that has no file of its own (the REPL, `-e`).
    base: PathBuf,
    sources: Sources,
    cache: Mutex<HashMap<String, Shared<Module>>>,
}

impl Resolver {
    pub fn new(base: PathBuf, sources: Sources) -> Self {
        Self {
            base,
            sources,
            cache: Mutex::default(),
        }
    }

    /// Where `path` lives: its source name and text.
    pub fn locate(
        &self,
        importer: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<(String, String), Box<EvalAltResult>> {
        if let Some(b) = bundled::stdlib(path) {
            return Ok((b.path.to_string(), b.text.to_string()));
        }
        let dir = importer
            .filter(|src| !src.starts_with("stdlib/") && !src.starts_with('<'))
            .and_then(|src| Path::new(src).parent())
            .map_or_else(|| self.base.clone(), Path::to_path_buf);
        let mut file = dir.join(path);
        if file.extension().is_none() {
            file.set_extension("rhai");
        }
        let name = tidy(&file);
        match std::fs::read_to_string(&file) {
            Ok(text) => Ok((name, text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(Box::new(
                EvalAltResult::ErrorModuleNotFound(path.to_string(), pos),
            )),
            Err(err) => Err(Box::new(EvalAltResult::ErrorInModule(
                path.to_string(),
                Box::new(EvalAltResult::ErrorSystem(
                    format!("cannot read {name}"),
                    Box::new(err),
                )),
                pos,
            ))),
        }
    }
}

/// `./a/../b.rhai` -> `b.rhai`, without touching the file system.
fn tidy(path: &Path) -> String {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let (name, text) = self.locate(source, path, pos)?;
        if let Some(module) = self.cache.lock().expect("module cache").get(&name) {
            return Ok(module.clone());
        }
        self.sources.add(&name, text.as_str());
        self.sources.add_import(path, &name);
        let in_module = |err| Box::new(EvalAltResult::ErrorInModule(path.to_string(), err, pos));
        let mut ast = engine.compile(&text).map_err(|e| in_module(e.into()))?;
        ast.set_source(name.as_str());
        let module: Shared<Module> = Module::eval_ast_as_new(Scope::new(), &ast, engine)
            .map_err(in_module)?
            .into();
        self.cache
            .lock()
            .expect("module cache")
            .insert(name, module.clone());
        Ok(module)
    }
}

#[cfg(test)]
mod tests {
    use super::tidy;
    use std::path::Path;

    #[test]
    fn tidy_drops_dots_but_keeps_leading_parents() {
        assert_eq!(tidy(Path::new("./a/../b.rhai")), "b.rhai");
        assert_eq!(tidy(Path::new("x/./lib/u.rhai")), "x/lib/u.rhai");
        assert_eq!(tidy(Path::new("../up.rhai")), "../up.rhai");
    }
}
