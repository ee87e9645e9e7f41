//! `node_phase`: a script says where a node has got to, for the live view and the log.

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map};

use super::call::primitive;
use super::context::ScriptContext;
use crate::base::phase::{self, Phase};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Says that `node` (a map `launch_instance` returned) has begun `phase`: "launching",
        /// "booting", "up", "installing", "starting" or "healthy". Say it when the phase
        /// really begins. On a terminal each node is a line of the live view that says its
        /// phase; elsewhere each change is a log line (`etcd-1: installing`). `launch_instance`
        /// says launching, booting and up itself, `etcd_health` healthy (the node's last
        /// phase), `etcd::prepare` installing, `etcd::launch` starting. A dry run says none.
        fn node_phase(c, node: Map, phase: &str) {
            let name = node.get("name").filter(|n| n.is_string()).map(Dynamic::to_string);
            let name = name.ok_or_else(|| {
                c.invalid("node has no name: nodes are the maps launch_instance returns")
            })?;
            let said = Phase::parse(phase).ok_or_else(|| {
                let all: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
                c.invalid(format!("{phase:?} is not a phase: one of {}", all.join(", ")))
            })?;
            if !c.dry_run() {
                phase::set(&name, said);
            }
            Ok(())
        }
    }
}
