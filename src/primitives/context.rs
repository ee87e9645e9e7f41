//! What a running script can reach: the async bridge, its parameters, and the world,
//! which is opened the first time a primitive needs it (so a script that never touches
//! the world needs no privileges). Primitives capture an `Arc<ScriptContext>`.

use std::sync::{Arc, Mutex};

use super::bridge::Bridge;
use super::params::Params;
use crate::base::error::{Error, Result};
use crate::providers::Probe;
use crate::world::{World, WorldConfig, WorldSpec};

pub struct ScriptContext {
    pub bridge: Bridge,
    pub params: Params,
    world_config: Option<WorldConfig>,
    world: Mutex<Option<Arc<World>>>,
}

impl ScriptContext {
    pub fn new(bridge: Bridge, params: Params) -> Arc<Self> {
        Self::with_world(bridge, params, None)
    }

    pub fn with_world(bridge: Bridge, params: Params, world: Option<WorldConfig>) -> Arc<Self> {
        Arc::new(Self {
            bridge,
            params,
            world_config: world,
            world: Mutex::default(),
        })
    }

    /// The world, opened on first use.
    pub fn world(&self) -> Result<Arc<World>> {
        let mut slot = self.world.lock().expect("world lock");
        if let Some(world) = slot.as_ref() {
            return Ok(world.clone());
        }
        let config = self
            .world_config
            .as_ref()
            .ok_or_else(|| Error::failed("this session has no world to act on"))?;
        let world = Arc::new(World::open(config)?);
        *slot = Some(world.clone());
        Ok(world)
    }

    /// The target this session was given (`lab` without one), without opening the world.
    pub fn target(&self) -> String {
        self.world_config
            .as_ref()
            .map_or_else(|| WorldSpec::default().target, |c| c.spec.target.clone())
    }

    /// Whether this session only plans (`--dry-run`).
    pub fn dry_run(&self) -> bool {
        self.world_config.as_ref().is_some_and(|c| c.dry_run)
    }

    /// A probe of this machine itself, which needs no world (so a wait on loopback
    /// brings no lab up); `None` when the world's own probe must answer.
    pub fn machine_probe(&self) -> Option<Arc<dyn Probe>> {
        crate::world::machine_probe(self.world_config.as_ref())
    }

    /// The world if a primitive has opened it.
    pub fn world_if_open(&self) -> Option<Arc<World>> {
        self.world.lock().expect("world lock").clone()
    }

    /// The world, taken out of the session for its end: once the last handle on it goes,
    /// it goes too (its runtime, its writer lock), whichever thread still holds the
    /// session. Only for when the script is done: a primitive called after would open
    /// another.
    pub fn take_world(&self) -> Option<Arc<World>> {
        self.world.lock().expect("world lock").take()
    }
}
