//! What a running script can reach: the async bridge, its parameters, and (as worlds
//! land) the providers. Primitives capture an `Arc<Host>`; nothing else is shared.

use std::sync::Arc;

use crate::bridge::Bridge;
use crate::params::Params;

pub struct Host {
    pub bridge: Bridge,
    pub params: Params,
}

impl Host {
    pub fn new(bridge: Bridge, params: Params) -> Arc<Self> {
        Arc::new(Self { bridge, params })
    }
}
