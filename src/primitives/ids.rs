//! `uuid`: unique names for nodes and clusters, as the seed names its machines.

use std::sync::Arc;

use rhai::Engine;

use super::call::primitive;
use super::context::ScriptContext;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// A random UUID as 32 lowercase hex digits, e.g. for `"etcd-" + uuid()`.
        fn uuid(_c) -> String {
            Ok(uuid::Uuid::new_v4().simple().to_string())
        }
    }
}
