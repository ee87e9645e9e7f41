//! `launch_instance`, `terminate_instance`: machines, through the world's Compute.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, EvalAltResult, Map};

use super::call::{Call, primitive};
use super::context::ScriptContext;
use crate::base::error::Error;
use crate::base::phase::{self, Phase};
use crate::providers::{Instance, InstanceSpec};

const SPEC_HELP: &str = "e.g. launch_instance(#{ name: `etcd-${uuid()}` }); \
                         cloud settings such as ami sit beside name";

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Starts a machine and returns `#{id, name, private_ip, public_ip, dir}`.
        /// `spec.name` names it (a DNS label such as `etcd-` + uuid()); cloud settings
        /// (ami, instance_type, key_name, subnet_id, security_group_ids, root_volume_size,
        /// data_volume_size, public_ip, tags, user_data) are accepted everywhere and used by the
        /// cloud. With `--target hosts` it takes the inventory's machine named `name`, else
        /// the next free one (carrying every one of `labels`, a map, when given). In the lab the machine is a network namespace with its own address, and `dir`
        /// is where its files live; with `boot: true` it is a machine booted from the lab's
        /// image (systemd as PID 1, sshd), reached over SSH only (`--transport ssh`).
        fn launch_instance(c, spec: Map) -> Map {
            // Unknown keys are refused by name (the spec's serde form lists the known ones).
            let spec: InstanceSpec = c.read("spec", spec).map_err(|f| f.with_help(SPEC_HELP))?;
            let name = spec.name.clone();
            let instance = phased(c, &name, || {
                c.creating().on_world(Duration::from_secs(600), move |world| async move {
                    world.backends.compute.launch(&spec).await
                })
            })?;
            // A machine taken from an inventory has its own name: its phases go on under it.
            if instance.name != name && !c.dry_run() {
                phase::forget(&name);
                phase::set(&instance.name, Phase::Up);
            }
            c.to_map(&instance)
        }
    }
    primitive! { engine, cx,
        /// How many more machines `launch_instance` can have: `()` where machines are made
        /// on demand (the lab, the cloud); with `--target hosts`, the inventory's machines
        /// that no cluster holds, each checked first (it answers over SSH with the host key
        /// expected, and runs no etcd of its own). A script asks before it makes anything.
        fn free_machines(c) -> rhai::Dynamic { free_machines(c, Map::new()) }
    }
    primitive! { engine, cx,
        /// `free_machines()` counting only the machines that carry every one of `labels`
        /// (a map of strings, as `launch_instance` takes it).
        fn free_machines(c, labels: Map) -> rhai::Dynamic { free_machines(c, labels) }
    }
    primitive! { engine, cx,
        /// Terminates a machine returned by `launch_instance`.
        fn terminate_instance(c, node: Map) {
            let node: Instance = c.read("node", node)?;
            let name = node.name.clone();
            c.on_world(Duration::from_secs(300), move |world| async move {
                if world.backends.compute.find(&node.name).await?.is_none() {
                    let what = format!("there is no machine named {:?} to terminate", node.name);
                    return Err(Error::not_found(what));
                }
                world.backends.compute.terminate(&node).await
            })
            .inspect(|()| phase::forget(&name))
        }
    }
}

/// Says the phases of the machine `name` around its launch: launching, then up; a
/// machine that failed to launch is forgotten, as there is nothing to say a phase of. A
/// dry run launches nothing, so it says none.
fn phased<T, E>(c: &Call, name: &str, launch: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let says = !c.dry_run();
    if says {
        phase::set(name, Phase::Launching);
    }
    let launched = launch();
    match &launched {
        Ok(_) if says => phase::set(name, Phase::Up),
        Ok(_) => {}
        Err(_) => phase::forget(name),
    }
    launched
}

/// How many free machines carry `labels` (`()` where machines are made).
fn free_machines(c: &Call, labels: Map) -> Result<rhai::Dynamic, Box<EvalAltResult>> {
    let labels: std::collections::BTreeMap<String, String> = c.read("labels", labels)?;
    let free = c.on_world(Duration::from_secs(120), move |world| async move {
        world.backends.compute.free_count(&labels).await
    })?;
    Ok(free.map_or(rhai::Dynamic::UNIT, |n| rhai::Dynamic::from(n as i64)))
}
