//! `launch_instance`, `terminate_instance`: machines, through the world's Compute.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use super::context::ScriptContext;
use super::convert::{from_value, to_map};
use super::{Doc, creating, define, on_world};
use crate::base::error::Error;
use crate::base::phase::{self, Phase};
use crate::providers::{Instance, InstanceSpec};

const LAUNCH: Doc = Doc {
    name: "launch_instance",
    params: &["spec: Map", "Map"],
    text: "\
/// Starts a machine and returns `#{id, name, private_ip, public_ip, dir}`.
/// `spec.name` names it (a DNS label such as `etcd-` + uuid()); cloud settings
/// (ami, instance_type, key_name, subnet_id, security_group_ids, root_volume_size,
/// data_volume_size, public_ip, tags, user_data) are accepted everywhere and used by the
/// cloud. In the lab the machine is a network namespace with its own address, and `dir`
/// is where its files live.",
};

const TERMINATE: Doc = Doc {
    name: "terminate_instance",
    params: &["node: Map", "()"],
    text: "/// Terminates a machine returned by `launch_instance`.",
};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    let c = cx.clone();
    define(&LAUNCH).register_into_engine(
        engine,
        move |spec: Map| -> Result<Map, Box<EvalAltResult>> {
            // Unknown keys are refused by name (the spec's serde form lists the known ones).
            let spec: InstanceSpec = from_value(LAUNCH.name, "spec", &Dynamic::from(spec))
                .map_err(|f| {
                    f.with_help("e.g. launch_instance(#{ name: `etcd-${uuid()}` }); cloud settings such as ami sit beside name")
                })?;
            let limit = Duration::from_secs(600);
            // A dry run launches nothing: it has no phases to say.
            let says = !c.dry_run();
            let name = spec.name.clone();
            if says {
                phase::set(&name, Phase::Launching);
            }
            let instance = creating(&c, LAUNCH.name, limit, move |world| async move {
                world.backends.compute.launch(&spec).await
            });
            match &instance {
                Ok(_) if says => phase::set(&name, Phase::Up),
                Ok(_) => {}
                // Nothing is there to say a phase of.
                Err(_) => phase::forget(&name),
            }
            let instance = instance?;
            to_map(LAUNCH.name, &instance)
        },
    );

    let c = cx.clone();
    define(&TERMINATE).register_into_engine(
        engine,
        move |node: Map| -> Result<(), Box<EvalAltResult>> {
            let node: Instance = from_value(TERMINATE.name, "node", &Dynamic::from(node))?;
            let name = node.name.clone();
            let limit = Duration::from_secs(300);
            on_world(&c, TERMINATE.name, limit, move |world| async move {
                if world.backends.compute.find(&node.name).await?.is_none() {
                    return Err(Error::not_found(format!(
                        "there is no machine named {:?} to terminate",
                        node.name
                    )));
                }
                world.backends.compute.terminate(&node).await
            })
            .inspect(|()| phase::forget(&name))
        },
    );
}
