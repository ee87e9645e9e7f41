//! `run`, `upload`, `upload_file`, `start_process`: acting on a node through the world's
//! Transport (the lab: inside the host's namespaces; the cloud: SSH).

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::convert::{from_value, to_map};
use super::{Doc, Failure, Options, creating, define, on_world};
use crate::base::error::{Error, ErrorKind};
use crate::base::names::check_file_name;
use crate::providers::Instance;

const RUN: Doc = Doc {
    name: "run",
    params: &["node: Map", "command: String", "Map"],
    text: "\
/// Runs a shell command on `node` and returns `#{status, stdout, stderr}`; fails when it
/// exits non-zero.",
};

const RUN_WITH: Doc = Doc {
    name: "run",
    params: &["node: Map", "command: String", "options: Map", "Map"],
    text: "\
/// `run` with options: `check` (default true: fail on a non-zero exit), `timeout`
/// (seconds, default 300).",
};

const UPLOAD: Doc = Doc {
    name: "upload",
    params: &[
        "node: Map",
        "path: String",
        "text: String",
        "mode: i64",
        "()",
    ],
    text: "\
/// Writes `text` to `path` on `node` with permissions `mode` (e.g. 0o644). In the lab,
/// paths live under `node.dir`.",
};

const UPLOAD_FILE: Doc = Doc {
    name: "upload_file",
    params: &[
        "node: Map",
        "local: String",
        "path: String",
        "mode: i64",
        "()",
    ],
    text: "/// Copies the local file `local` (a certificate, a key) to `path` on `node` with `mode`.",
};

const START: Doc = Doc {
    name: "start_process",
    params: &["node: Map", "name: String", "argv: Array", "Map"],
    text: "\
/// Starts `argv` on `node` as a long-running process that outlives rigger; its output
/// goes to `<name>.log` in the node's dir. Returns `#{node, name, pid, log}`. Rollback and
/// `rigger destroy` stop it. `name` is letters, digits, '.', '_', '-' (one process per
/// name on a node); every item of `argv` is a string.",
};

fn node_of(primitive: &'static str, node: Map) -> Result<Instance, Failure> {
    from_value(primitive, "node", &Dynamic::from(node))
}

fn run(
    cx: &ScriptContext,
    node: Map,
    command: String,
    options: Map,
) -> Result<Map, Box<EvalAltResult>> {
    const NAME: &str = "run";
    let options = Options::new(NAME, options, &["check", "timeout"])?;
    let check = options.get("check").map_or(Ok(true), |v| {
        v.as_bool()
            .map_err(|t| Failure::invalid(NAME, format!("`check` must be true or false, got {t}")))
    })?;
    let timeout = options.seconds("timeout", 300.0)?;
    let node = node_of(NAME, node)?;
    let out = on_world(
        cx,
        NAME,
        timeout + Duration::from_secs(5),
        move |world| async move {
            let out = world
                .backends
                .transport
                .run(&node, &command, timeout)
                .await?;
            if check && out.status != 0 {
                let tail: String = out
                    .stderr
                    .trim()
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                return Err(Error::new(
                    ErrorKind::CommandFailed,
                    format!(
                        "`{command}` on {} exited with {}: {tail}",
                        node.name, out.status
                    ),
                )
                .with_help("pass #{check: false} to get the status instead of an error"));
            }
            Ok(out)
        },
    )?;
    to_map(NAME, &out)
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let c = cx.clone();
    define(&RUN).register_into_engine(engine, move |node: Map, command: &str| {
        run(&c, node, command.to_string(), Map::new())
    });
    let c = cx.clone();
    define(&RUN_WITH)
        .register_into_engine(engine, move |node: Map, command: &str, options: Map| {
            run(&c, node, command.to_string(), options)
        });

    let c = cx.clone();
    define(&UPLOAD).register_into_engine(
        engine,
        move |node: Map, path: &str, text: &str, mode: i64| {
            upload(
                &c,
                UPLOAD.name,
                node,
                path.to_string(),
                text.as_bytes().to_vec(),
                mode,
            )
        },
    );
    let c = cx.clone();
    define(&UPLOAD_FILE).register_into_engine(
        engine,
        move |node: Map, local: &str, path: &str, mode: i64| -> Result<(), Box<EvalAltResult>> {
            let world = c.world().map_err(|e| Failure::new(UPLOAD_FILE.name, e))?;
            let bytes = world
                .backends
                .local
                .read(std::path::Path::new(local))
                .map_err(|e| Failure::new(UPLOAD_FILE.name, e))?;
            upload(&c, UPLOAD_FILE.name, node, path.to_string(), bytes, mode)
        },
    );

    let c = cx.clone();
    define(&START).register_into_engine(
        engine,
        move |node: Map, name: &str, argv: Array| -> Result<Map, Box<EvalAltResult>> {
            check_file_name(name).map_err(|why| {
                Failure::invalid(
                    START.name,
                    format!("{name:?} cannot name a process (its log is <name>.log in the node's dir): {why}"),
                )
            })?;
            let node = node_of(START.name, node)?;
            if let Some((i, bad)) = argv.iter().enumerate().find(|(_, a)| !a.is_string()) {
                return Err(Failure::invalid(
                    START.name,
                    format!("argv[{i}] ({bad}) is a {}; every argument must be a string", bad.type_name()),
                )
                .with_help("quote numbers: [\"sleep\", \"100\"]")
                .into());
            }
            if argv.is_empty() {
                return Err(Failure::invalid(START.name, "argv is empty; it starts with the program").into());
            }
            let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            let name = name.to_string();
            let limit = Duration::from_secs(30);
            let process = creating(&c, START.name, limit, move |world| async move {
                world.backends.transport.spawn(&node, &name, &argv).await
            })?;
            to_map(START.name, &process)
        },
    );
}

fn upload(
    cx: &ScriptContext,
    primitive: &'static str,
    node: Map,
    path: String,
    bytes: Vec<u8>,
    mode: i64,
) -> Result<(), Box<EvalAltResult>> {
    let mode = u32::try_from(mode)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            Failure::invalid(
                primitive,
                format!("mode {mode:o} is not a permission mode like 0o644"),
            )
        })?;
    if path.is_empty() || path.ends_with('/') {
        return Err(Failure::invalid(
            primitive,
            format!(
                "path {path:?} is empty or a folder; give the file's path, e.g. node.dir + \"/ca.crt\""
            ),
        )
        .into());
    }
    let node = node_of(primitive, node)?;
    on_world(
        cx,
        primitive,
        Duration::from_secs(120),
        move |world| async move {
            world
                .backends
                .transport
                .upload(&node, &path, &bytes, mode)
                .await
        },
    )
}
