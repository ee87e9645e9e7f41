//! `node_resolve`: what a node's own resolver answers for a name, the view etcd on that
//! node will have of its SRV records.

use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use rhai::{Array, Dynamic, Engine, Map};

use super::call::primitive;
use super::context::ScriptContext;
use crate::base::names::check_name;
use crate::providers::Instance;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// What `node`'s own resolver answers for `name` of `type` ("A", "AAAA" or "SRV"):
        /// addresses, or "target:port" for SRV, sorted; `[]` when it says there is none. Fails
        /// naming the node when no server of its resolver answers. In the lab the host's
        /// resolver is asked from inside the host; elsewhere `dig` runs on the node.
        fn node_resolve(c, node: Map, name: &str, rtype as "type": &str) -> Array {
            let name = check_name(name, true)
                .map_err(|why| c.invalid(format!("{name:?} is not a DNS name: {why}")))?;
            let rtype = match rtype.to_ascii_uppercase().as_str() {
                "A" => RecordType::A,
                "AAAA" => RecordType::AAAA,
                "SRV" => RecordType::SRV,
                _ => {
                    let why = format!("type {rtype:?}: \"A\", \"AAAA\" or \"SRV\"");
                    return Err(c.invalid(why).into());
                }
            };
            let node: Instance = c.read("node", node)?;
            let answers = c.on_world(Duration::from_secs(30), move |world| async move {
                let transport = world.backends.transport.clone();
                crate::services::node_lookup::lookup(&*transport, &node, &name, rtype).await
            })?;
            // Sorted as strings, as a script's `sort()` sorts them, so that it can compare.
            let mut seen: Vec<String> = answers.into_iter().map(|a| a.to_string()).collect();
            seen.sort();
            Ok(seen.into_iter().map(Dynamic::from).collect())
        }
    }
}
