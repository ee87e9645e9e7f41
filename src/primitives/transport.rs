//! `run`, `upload`, `upload_file`, `start_process`: acting on a node through the world's
//! Transport (the lab: inside the host's namespaces; the cloud: SSH).

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map};

use super::convert::{from_value, to_value};
use super::{Failure, Options, journal_created, on_world};
use crate::host::Host;
use crate::providers::Instance;
use crate::services::journal::Resource;

fn node_of(primitive: &'static str, node: Map) -> Result<Instance, Failure> {
    from_value(primitive, "node", &Dynamic::from(node))
}

fn run(host: &Host, node: Map, command: String, options: Map) -> Result<Map, Box<EvalAltResult>> {
    const NAME: &str = "run";
    let options = Options::new(NAME, options, &["check", "timeout"])?;
    let check = options.get("check").map_or(Ok(true), |v| {
        v.as_bool()
            .map_err(|t| Failure::invalid(NAME, format!("`check` must be true or false, got {t}")))
    })?;
    let timeout = options.seconds("timeout", 300.0)?;
    let node = node_of(NAME, node)?;
    let out = on_world(
        host,
        NAME,
        timeout + Duration::from_secs(5),
        move |world| async move {
            let out = world
                .transport
                .run(&node, &command, timeout)
                .await
                .map_err(|e| Failure::from_provider(NAME, e))?;
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
                return Err(Failure::new(
                    NAME,
                    "command_failed",
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
    Ok(to_value(NAME, &out)?.cast::<Map>())
}

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    FuncRegistration::new("run")
        .with_params_info(["node: Map", "command: String", "Map"])
        .with_comments(["/// Runs a shell command on `node` and returns `#{status, stdout, stderr}`; fails when it\n/// exits non-zero."])
        .register_into_engine(engine, move |node: Map, command: &str| run(&h, node, command.to_string(), Map::new()));
    let h = host.clone();
    FuncRegistration::new("run")
        .with_params_info(["node: Map", "command: String", "options: Map", "Map"])
        .with_comments(["/// `run` with options: `check` (default true: fail on a non-zero exit), `timeout`\n/// (seconds, default 300)."])
        .register_into_engine(engine, move |node: Map, command: &str, options: Map| run(&h, node, command.to_string(), options));

    let h = host.clone();
    FuncRegistration::new("upload")
        .with_params_info(["node: Map", "path: String", "text: String", "mode: i64", "()"])
        .with_comments(["/// Writes `text` to `path` on `node` with permissions `mode` (e.g. 0o644). In the lab,\n/// paths live under `node.dir`."])
        .register_into_engine(engine, move |node: Map, path: &str, text: &str, mode: i64| -> Result<(), Box<EvalAltResult>> {
            upload(&h, "upload", node, path.to_string(), text.as_bytes().to_vec(), mode)
        });
    let h = host.clone();
    FuncRegistration::new("upload_file")
        .with_params_info(["node: Map", "local: String", "path: String", "mode: i64", "()"])
        .with_comments(["/// Copies the local file `local` (a certificate, a key) to `path` on `node` with `mode`."])
        .register_into_engine(engine, move |node: Map, local: &str, path: &str, mode: i64| -> Result<(), Box<EvalAltResult>> {
            const NAME: &str = "upload_file";
            let world = h.world().map_err(|e| Failure::from_provider(NAME, e))?;
            let bytes = world.read_local(local).map_err(|e| Failure::from_provider(NAME, e))?;
            upload(&h, NAME, node, path.to_string(), bytes, mode)
        });

    let h = host.clone();
    FuncRegistration::new("start_process")
        .with_params_info(["node: Map", "name: String", "argv: Array", "Map"])
        .with_comments(["/// Starts `argv` on `node` as a long-running process that outlives rigger; its output\n/// goes to `<name>.log` in the node's dir. Returns `#{node, name, pid, log}`. Rollback and\n/// `rigger destroy` stop it."])
        .register_into_engine(engine, move |node: Map, name: &str, argv: Array| -> Result<Map, Box<EvalAltResult>> {
            const NAME: &str = "start_process";
            let node = node_of(NAME, node)?;
            let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
            let name = name.to_string();
            let process = on_world(&h, NAME, Duration::from_secs(30), move |world| async move {
                let p = world.transport.spawn(&node, &name, &argv).await.map_err(|e| Failure::from_provider(NAME, e))?;
                journal_created(&world, NAME, Resource::Process(p.clone())).await?;
                Ok(p)
            })?;
            Ok(to_value(NAME, &process)?.cast::<Map>())
        });
}

fn upload(
    host: &Host,
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
    let node = node_of(primitive, node)?;
    on_world(
        host,
        primitive,
        Duration::from_secs(120),
        move |world| async move {
            world
                .transport
                .upload(&node, &path, &bytes, mode)
                .await
                .map_err(|e| Failure::from_provider(primitive, e))
        },
    )
}
