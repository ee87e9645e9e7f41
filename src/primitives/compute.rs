//! `launch_instance`, `terminate_instance`: machines, through the world's Compute.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Engine, Map};

use super::call::primitive;
use super::context::ScriptContext;
use crate::base::error::Error;
use crate::base::phase::{self, Phase};
use crate::providers::{Instance, InstanceSpec};

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Starts a machine and returns `#{id, name, private_ip, public_ip, dir}`.
        /// `spec.name` names it (a DNS label such as `etcd-` + uuid()); cloud settings
        /// (ami, instance_type, key_name, subnet_id, security_group_ids, root_volume_size,
        /// data_volume_size, public_ip, tags, user_data) are accepted everywhere and used by the
        /// cloud. In the lab the machine is a network namespace with its own address, and `dir`
        /// is where its files live.
        fn launch_instance(c, spec: Map) -> Map {
            // Unknown keys are refused by name (the spec's serde form lists the known ones).
            let help = "e.g. launch_instance(#{ name: `etcd-${uuid()}` }); \
                        cloud settings such as ami sit beside name";
            let spec: InstanceSpec = c.read("spec", spec).map_err(|f| f.with_help(help))?;
            // A dry run launches nothing: it has no phases to say.
            let (says, name) = (!c.dry_run(), spec.name.clone());
            if says {
                phase::set(&name, Phase::Launching);
            }
            let instance = c.creating().on_world(Duration::from_secs(600), move |world| async move {
                world.backends.compute.launch(&spec).await
            });
            match &instance {
                Ok(_) if says => phase::set(&name, Phase::Up),
                Ok(_) => {}
                // Nothing is there to say a phase of.
                Err(_) => phase::forget(&name),
            }
            c.to_map(&instance?)
        }
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
