//! `node_phase`: a script says where a node has got to, for the live view and the log.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::{Doc, Failure, define};
use crate::base::phase::{self, Phase};

const NAME: &str = "node_phase";

const PHASE: Doc = Doc {
    name: NAME,
    params: &["node: Map", "phase: String", "()"],
    text: "\
/// Says that `node` (a map `launch_instance` returned) has begun `phase`: \"launching\",
/// \"booting\", \"up\", \"installing\", \"starting\" or \"healthy\". Say it when the phase
/// really begins. On a terminal each node is a line of the live view that says its
/// phase; elsewhere each change is a log line (`etcd-1: installing`). `launch_instance`
/// says launching, booting and up itself, `etcd_health` healthy (the node's last
/// phase), `etcd::prepare` installing, `etcd::launch` starting. A dry run says none.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let planning = cx.dry_run();
    define(&PHASE).register_into_engine(
        engine,
        move |node: Map, said: &str| -> Result<(), Box<EvalAltResult>> {
            let name = node
                .get("name")
                .filter(|n| n.is_string())
                .map(Dynamic::to_string)
                .ok_or_else(|| {
                    Failure::invalid(
                        NAME,
                        "node has no name: nodes are the maps launch_instance returns",
                    )
                })?;
            let Some(phase) = Phase::parse(said) else {
                let all: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
                return Err(Failure::invalid(
                    NAME,
                    format!("{said:?} is not a phase: one of {}", all.join(", ")),
                )
                .into());
            };
            if !planning {
                phase::set(&name, phase);
            }
            Ok(())
        },
    );
}
