//! `run`, `upload`, `upload_file`, `start_process`: acting on a node through the world's
//! Transport (the lab: inside the host's namespaces; the cloud: SSH).

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use super::typed::Seconds;
use crate::base::error::{Error, ErrorKind};
use crate::base::names::check_file_name;
use crate::providers::Instance;

/// `run`'s options: `check` (fail on a non-zero exit, default true), `timeout`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunOptions {
    check: Option<bool>,
    timeout: Option<Seconds>,
}

fn run(c: &Call, node: Map, command: String, options: Map) -> Result<Map, Box<EvalAltResult>> {
    let options: RunOptions = c.options_as(options)?;
    let check = options.check.unwrap_or(true);
    let timeout = Seconds::or(options.timeout, 300.0);
    let node: Instance = c.read("node", node)?;
    let out = c.on_world(timeout + Duration::from_secs(5), move |world| async move {
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
    })?;
    c.to_map(&out)
}

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Runs a shell command on `node` and returns `#{status, stdout, stderr}`; fails when it
        /// exits non-zero.
        fn run(c, node: Map, command: &str) -> Map { run(c, node, command.into(), Map::new()) }
    }
    primitive! { engine, cx,
        /// `run` with options: `check` (default true: fail on a non-zero exit), `timeout`
        /// (seconds, default 300).
        fn run(c, node: Map, command: &str, options: Map) -> Map {
            run(c, node, command.into(), options)
        }
    }
    primitive! { engine, cx,
        /// Writes `text` to `path` on `node` with permissions `mode` (e.g. 0o644). In the lab,
        /// paths live under `node.dir`.
        fn upload(c, node: Map, path: &str, text: &str, mode: i64) {
            upload(c, node, path.into(), text.as_bytes().to_vec(), mode)
        }
    }
    primitive! { engine, cx,
        /// Copies the local file `local` (a certificate, a key) to `path` on `node` with `mode`.
        fn upload_file(c, node: Map, local: &str, path: &str, mode: i64) {
            let world = c.world().map_err(|e| c.failed(e))?;
            let bytes = world.backends.local.read(std::path::Path::new(local));
            upload(c, node, path.into(), bytes.map_err(|e| c.failed(e))?, mode)
        }
    }
    primitive! { engine, cx,
        /// Copies local files that belong together (a certificate and its key) to `node`:
        /// `files` is `[[local, path, mode], ...]`. Each is written aside whole, then all are
        /// renamed into place one right after the other, so that a reader (etcd, at its
        /// next handshake) finds one old and one new for as short a moment as can be.
        fn upload_files(c, node: Map, files: Array) {
            let world = c.world().map_err(|e| c.failed(e))?;
            let mut all = Vec::new();
            for (i, f) in files.iter().enumerate() {
                let parts = f.clone().try_cast::<Array>().filter(|p| p.len() == 3);
                let (local, path, mode) = match parts.as_deref() {
                    Some([l, p, m]) if l.is_string() && p.is_string() && m.is_int() => {
                        (l.to_string(), p.to_string(), m.as_int().unwrap_or(-1))
                    }
                    _ => {
                        return Err(c
                            .invalid(format!("files[{i}] is not [local, path, mode], as [\"ca.crt\", node.dir + \"/ca.crt\", 0o644]"))
                            .into());
                    }
                };
                let mode = checked_mode(c, mode)?;
                checked_path(c, &path)?;
                let bytes = world.backends.local.read(std::path::Path::new(&local)).map_err(|e| c.failed(e))?;
                all.push((path, bytes, mode));
            }
            let node: Instance = c.read("node", node)?;
            c.on_world(Duration::from_secs(120), move |world| async move {
                world.backends.transport.upload_together(&node, &all).await
            })
        }
    }
    primitive! { engine, cx,
        /// Starts `argv` on `node` as a long-running process that outlives rigger; its output
        /// goes to `<name>.log` in the node's dir. Returns `#{node, name, pid, log}`. Rollback and
        /// `rigger destroy` stop it. `name` is letters, digits, '.', '_', '-' (one process per
        /// name on a node); every item of `argv` is a string.
        fn start_process(c, node: Map, name: &str, argv: Array) -> Map {
            check_file_name(name).map_err(|why| c.invalid(format!(
                "{name:?} cannot name a process (its log is <name>.log in the node's dir): {why}"
            )))?;
            let node: Instance = c.read("node", node)?;
            if let Some((i, bad)) = argv.iter().enumerate().find(|(_, a)| !a.is_string()) {
                let kind = bad.type_name();
                let why = format!("argv[{i}] ({bad}) is a {kind}; every argument must be a string");
                return Err(c.invalid(why).with_help("quote numbers: [\"sleep\", \"100\"]").into());
            }
            if argv.is_empty() {
                return Err(c.invalid("argv is empty; it starts with the program").into());
            }
            let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            let name = name.to_string();
            let process = c.creating().on_world(Duration::from_secs(30), move |world| async move {
                world.backends.transport.spawn(&node, &name, &argv).await
            })?;
            c.to_map(&process)
        }
    }
    primitive! { engine, cx,
        /// Stops the process `name` on `node` that the state names (whichever run started
        /// it; `cluster_find` lists them) and starts `argv` in its place under the same name:
        /// how a member run as a process is restarted on another binary. It stays the
        /// cluster's, as the old one was: this run's rollback leaves it, and `rigger destroy`
        /// stops it with the cluster. Returns `#{node, name, pid, log}`.
        fn replace_process(c, node: Map, name: &str, argv: Array) -> Map {
            let node: Instance = c.read("node", node)?;
            if argv.is_empty() || argv.iter().any(|a| !a.is_string()) {
                return Err(c.invalid("argv is an array of strings, the program first").into());
            }
            let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            let name = name.to_string();
            let process = c.on_world(Duration::from_secs(60), move |world| async move {
                world.replace_process(&node, &name, &argv).await
            })?;
            c.to_map(&process)
        }
    }
}

fn upload(
    c: &Call,
    node: Map,
    path: String,
    bytes: Vec<u8>,
    mode: i64,
) -> Result<(), Box<EvalAltResult>> {
    let mode = checked_mode(c, mode)?;
    checked_path(c, &path)?;
    let node: Instance = c.read("node", node)?;
    c.on_world(Duration::from_secs(120), move |world| async move {
        world
            .backends
            .transport
            .upload(&node, &path, &bytes, mode)
            .await
    })
}

fn checked_mode(c: &Call, mode: i64) -> Result<u32, Box<EvalAltResult>> {
    Ok(u32::try_from(mode)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| c.invalid(format!("mode {mode:o} is not a permission mode like 0o644")))?)
}

fn checked_path(c: &Call, path: &str) -> Result<(), Box<EvalAltResult>> {
    if path.is_empty() || path.ends_with('/') {
        return Err(c
            .invalid(format!(
                "path {path:?} is empty or a folder; give the file's path, e.g. node.dir + \"/ca.crt\""
            ))
            .into());
    }
    Ok(())
}
