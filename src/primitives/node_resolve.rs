//! `node_resolve`: what a node's own resolver answers for a name, the view etcd on that
//! node will have of its SRV records.

use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::convert::from_value;
use super::{Doc, Failure, define, on_world};
use crate::base::names::check_name;
use crate::providers::Instance;

const NAME: &str = "node_resolve";

const RESOLVE: Doc = Doc {
    name: NAME,
    params: &["node: Map", "name: String", "type: String", "Array"],
    text: "\
/// What `node`'s own resolver answers for `name` of `type` (\"A\", \"AAAA\" or \"SRV\"):
/// addresses, or \"target:port\" for SRV, sorted; `[]` when it says there is none. Fails
/// naming the node when no server of its resolver answers. In the lab the host's
/// resolver is asked from inside the host; elsewhere `dig` runs on the node.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let c = cx.clone();
    define(&RESOLVE).register_into_engine(
        engine,
        move |node: Map, name: &str, rtype: &str| -> Result<Array, Box<EvalAltResult>> {
            let name = check_name(name, true).map_err(|why| {
                Failure::invalid(NAME, format!("{name:?} is not a DNS name: {why}"))
            })?;
            let rtype = match rtype.to_ascii_uppercase().as_str() {
                "A" => RecordType::A,
                "AAAA" => RecordType::AAAA,
                "SRV" => RecordType::SRV,
                _ => {
                    return Err(Failure::invalid(
                        NAME,
                        format!("type {rtype:?}: \"A\", \"AAAA\" or \"SRV\""),
                    )
                    .into());
                }
            };
            let node: Instance = from_value(NAME, "node", &Dynamic::from(node))?;
            let answers = on_world(&c, NAME, Duration::from_secs(30), move |world| async move {
                let transport = world.backends.transport.clone();
                crate::services::node_lookup::lookup(&*transport, &node, &name, rtype).await
            })?;
            // Sorted as strings, as a script's `sort()` sorts them, so that it can compare.
            let mut seen: Vec<String> = answers.into_iter().map(|a| a.to_string()).collect();
            seen.sort();
            Ok(seen.into_iter().map(Dynamic::from).collect())
        },
    );
}
