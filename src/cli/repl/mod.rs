//! `rigger repl`: one engine, one scope, one growing AST (functions survive, statements
//! run once), the same diagnostics as `rigger run`, and the world kept after exit.

mod helper;
mod pretty;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rhai::{AST, Dynamic, Engine, Scope};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use self::helper::{Names, ReplHelper};
use super::diagnostic::{self, Context};
use crate::cli::exit;
use crate::primitives::bridge::{Bridge, Interrupt};
use crate::primitives::context::ScriptContext;
use crate::primitives::params::Params;
use crate::script::{Limits, Sources, engine};
use crate::world::WorldConfig;

/// `eprintln!` that never panics: a closed stderr loses the text, not the session.
macro_rules! say {
    ($($t:tt)*) => {
        crate::base::output::to_stderr(&format!("{}\n", format_args!($($t)*)))
    };
}

/// `eprint!`, likewise.
macro_rules! say_raw {
    ($($t:tt)*) => {
        crate::base::output::to_stderr(&format!($($t)*))
    };
}

pub struct ReplRequest {
    pub params: Params,
    pub world: WorldConfig,
    pub files: Vec<PathBuf>,
    pub limits: Limits,
}

struct Session {
    engine: Arc<Engine>,
    host: Arc<ScriptContext>,
    sources: Sources,
    limits: Limits,
    scope: Scope<'static>,
    ast: AST,
    inputs: usize,
    names: Arc<Mutex<Names>>,
}

const HELP: &str = "\
Type Rhai statements; an unfinished block continues on the next line.
  :help           this text and the list of functions
  :help NAME      a function's signature and documentation
  :vars           the session's variables
  :load FILE      run a script into the session (its functions and variables stay)
  :reset          forget variables and functions (the world is kept)
  Ctrl-C          cancel the input, or stop a running primitive
  Ctrl-D, :quit   leave; the lab and what you made in it stay (`rigger destroy` removes them)";

fn history_path() -> PathBuf {
    if let Some(p) = std::env::var_os("RIGGER_HISTORY") {
        return PathBuf::from(p);
    }
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("rigger/history")
}

pub fn run(request: ReplRequest) -> u8 {
    let runtime = crate::base::runtime::handle();
    let interrupt = Interrupt::new();
    // While a line runs the terminal is in cooked mode and Ctrl-C is a signal; while
    // editing, rustyline reads it as a key. One stream, made here rather than in the task:
    // from this line on SIGINT never takes the default action (ending the REPL as if it
    // had crashed), and a second Ctrl-C that comes before the first is handled is queued,
    // not lost between two listeners.
    let sigint = {
        let _runtime = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
    };
    match sigint {
        Ok(mut sigint) => {
            let raiser = interrupt.clone();
            runtime.spawn(async move {
                while sigint.recv().await.is_some() {
                    raiser.raise();
                }
            });
        }
        Err(e) => say!("Ctrl-C will end the session: cannot catch SIGINT: {e}"),
    }
    let host = ScriptContext::with_world(
        Bridge::new(runtime.clone(), interrupt.clone()),
        request.params,
        Some(request.world),
    );
    let sources = Sources::default();
    let options = engine::Options {
        limits: request.limits.clone(),
        base_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    };
    let mut engine = engine::build(&options, &host, &sources);
    // Imports last only for the input that makes them, so the stdlib modules are there
    // from the start: `etcd::start(...)` works at any prompt.
    for module in crate::script::bundled::STDLIB {
        sources.add(module.path, module.text);
        let loaded = engine
            .compile(module.text)
            .map_err(|e| e.into())
            .and_then(|mut ast| {
                ast.set_source(module.path);
                rhai::Module::eval_ast_as_new(Scope::new(), &ast, &engine)
            });
        match loaded {
            Ok(m) => {
                engine.register_static_module(module.name, m.into());
            }
            Err(e) => say!("cannot load the stdlib module {}: {e}", module.name),
        }
    }
    let engine = Arc::new(engine);
    let names = Arc::new(Mutex::new(Names::default()));
    let mut session = Session {
        engine: engine.clone(),
        host,
        sources,
        limits: request.limits,
        scope: Scope::new(),
        ast: AST::empty(),
        inputs: 0,
        names: names.clone(),
    };
    session.refresh_names();
    for file in &request.files {
        session.load(file, &interrupt);
    }

    let config = Config::builder()
        .auto_add_history(true)
        .max_history_size(5000)
        .map(|b| b.build());
    let mut editor: Editor<ReplHelper, DefaultHistory> = match config.and_then(Editor::with_config)
    {
        Ok(e) => e,
        Err(e) => {
            return crate::cli::commands::fail(format!("cannot start line editing: {e}"), None);
        }
    };
    editor.set_helper(Some(ReplHelper { engine, names }));
    let history = history_path();
    let _ = editor.load_history(&history);
    say!(
        "rigger {} — :help for help, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    );
    let status = loop {
        match editor.readline("rigger> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                interrupt.lower();
                if !session.command(&line, &interrupt) {
                    break exit::OK;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break exit::OK,
            Err(e) => {
                crate::cli::commands::fail(format!("cannot read input: {e}"), None);
                break exit::FAILED;
            }
        }
    };
    if let Some(parent) = history.parent() {
        let _ = crate::base::state_dir::private_dir(parent);
    }
    let _ = editor.save_history(&history);
    if let Some(world) = session.host.world_if_open() {
        let _ = world.journal().discard_if_empty();
        if !world.journal().is_empty() {
            say!("the lab keeps what this session made; `rigger destroy` removes it");
        }
    }
    drop(session);
    status
}

impl Session {
    /// Handles one input; false to end the session.
    fn command(&mut self, line: &str, interrupt: &Interrupt) -> bool {
        let trimmed = line.trim();
        let (cmd, arg) = trimmed
            .split_once(char::is_whitespace)
            .unwrap_or((trimmed, ""));
        match cmd {
            ":quit" | ":q" | ":exit" => return false,
            ":help" | ":h" if arg.is_empty() => {
                crate::base::output::data(&format!("{HELP}\n\n"));
                crate::base::output::data(&crate::script::reference::text(&self.engine));
            }
            ":help" | ":h" => self.help(arg.trim()),
            ":vars" => self.vars(),
            ":load" if !arg.is_empty() => self.load(&PathBuf::from(arg.trim()), interrupt),
            ":reset" => {
                self.scope = Scope::new();
                self.ast = AST::empty();
                self.refresh_names();
                crate::base::output::data("session reset\n");
            }
            c if c.starts_with(':') => say!("unknown command {c}; :help lists them"),
            _ => {
                self.inputs += 1;
                let name = format!("<input {}>", self.inputs);
                self.eval(&name, line);
            }
        }
        true
    }

    fn help(&self, name: &str) {
        let all = crate::script::reference::primitives(&self.engine)
            .into_iter()
            .chain(
                crate::script::reference::stdlib(&self.engine)
                    .into_iter()
                    .flat_map(|(_, d)| d),
            );
        let found: Vec<_> = all
            .filter(|d| {
                let fn_name = d.signature.split('(').next().unwrap_or("");
                fn_name == name || fn_name.rsplit("::").next() == Some(name)
            })
            .collect();
        if found.is_empty() {
            say!("no function named {name}; :help lists them all");
        }
        for d in found {
            crate::base::output::data(&format!(
                "{}\n    {}\n\n",
                d.signature,
                d.doc.replace('\n', "\n    ")
            ));
        }
    }

    fn vars(&self) {
        if self.scope.is_empty() {
            crate::base::output::data("no variables yet\n");
            return;
        }
        let width = self
            .scope
            .iter_raw()
            .map(|(n, ..)| n.len())
            .max()
            .unwrap_or(0);
        for (name, constant, value) in self.scope.iter_raw() {
            let shown = value.to_string();
            let shown = if shown.chars().count() > 70 {
                format!("{}…", shown.chars().take(69).collect::<String>())
            } else {
                shown
            };
            let kind = if constant { "const " } else { "" };
            crate::base::output::data(&format!(
                "{name:width$}  {kind}{}  {shown}\n",
                value.type_name()
            ));
        }
    }

    fn load(&mut self, path: &PathBuf, interrupt: &Interrupt) {
        interrupt.lower();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let name = path.to_string_lossy().into_owned();
                self.eval(&name, &text);
            }
            Err(e) => say!("cannot read {}: {e}", path.display()),
        }
    }

    fn eval(&mut self, name: &str, text: &str) {
        self.sources.add(name, text);
        let context = Context {
            sources: &self.sources,
            engine: Some(&self.engine),
            limits: &self.limits,
        };
        let compiled = self.engine.compile_with_scope(&self.scope, text);
        let mut ast = match compiled {
            Ok(ast) => ast,
            Err(e) => {
                say_raw!(
                    "{}",
                    diagnostic::render(&context.script_error(e.into(), name))
                );
                return;
            }
        };
        ast.set_source(name);
        // Functions defined so far stay callable; earlier statements never run again.
        let mut program = self.ast.merge(&ast);
        program.set_source(name);
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        program.clear_statements();
        self.ast = program;
        match result {
            Ok(value) => {
                if let Some(text) = pretty::show(&value) {
                    crate::base::output::data(&format!("{text}\n"));
                }
            }
            Err(e) => say_raw!("{}", diagnostic::render(&context.script_error(*e, name))),
        }
        self.refresh_names();
    }

    fn refresh_names(&self) {
        let mut functions: Vec<String> = crate::script::reference::primitives(&self.engine)
            .into_iter()
            .filter_map(|d| d.signature.split('(').next().map(str::to_owned))
            .collect();
        functions.extend(self.ast.iter_functions().map(|f| f.name.to_string()));
        let members = crate::script::reference::stdlib(&self.engine)
            .into_iter()
            .flat_map(|(_, docs)| docs)
            .filter_map(|d| d.signature.split('(').next().map(str::to_owned))
            .collect();
        let variables = self
            .scope
            .iter_raw()
            .map(|(n, _, v)| (n.to_string(), v.clone()))
            .collect();
        *self.names.lock().expect("names lock") = Names {
            functions,
            members,
            variables,
        };
    }
}
