//! Script-facing functions, one file per family, each registered here. A primitive
//! converts Rhai values to a typed request, makes one call to the world, and converts the
//! answer back; `call` carries what they share.

mod backup;
mod bootstrap;
pub mod bridge;
mod call;
mod certs;
mod compute;
pub mod context;
mod convert;
mod discovery;
mod dns;
mod etcd;
mod failure;
mod ids;
mod members;
mod net;
mod node_resolve;
mod options;
mod param;
pub mod params;
mod phase;
mod pki;
mod resolve;
mod say;
mod target;
mod time;
mod transport;
mod typed;

use std::sync::Arc;

use rhai::Engine;

use self::context::ScriptContext;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    param::register(engine, cx);
    time::register(engine, cx);
    net::register(engine, cx);
    ids::register(engine, cx);
    compute::register(engine, cx);
    dns::register(engine, cx);
    resolve::register(engine, cx);
    transport::register(engine, cx);
    node_resolve::register(engine, cx);
    bootstrap::register(engine, cx);
    pki::register(engine, cx);
    certs::register(engine, cx);
    etcd::register(engine, cx);
    backup::register(engine, cx);
    members::register(engine, cx);
    discovery::register(engine, cx);
    target::register(engine, cx);
    phase::register(engine, cx);
    say::register(engine, cx);
}
