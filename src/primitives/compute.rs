//! `launch_instance`, `terminate_instance`: machines, through the world's Compute.

use std::sync::Arc;
use std::time::Duration;

use rhai::{Dynamic, Engine, EvalAltResult, FuncRegistration, Map};

use super::convert::{from_value, to_value};
use super::{Failure, journal_created, on_world};
use crate::host::Host;
use crate::providers::{Instance, InstanceSpec};
use crate::services::journal::Resource;

pub fn register(engine: &mut Engine, host: &Arc<Host>) {
    let h = host.clone();
    FuncRegistration::new("launch_instance")
        .with_params_info(["spec: Map", "Map"])
        .with_comments(["/// Starts a machine and returns `#{id, name, private_ip, public_ip, dir}`.\n/// `spec.name` names it (a DNS label such as `etcd-` + uuid()); cloud settings\n/// (ami, instance_type, key_name, subnet_id, security_group_ids, root_volume_size,\n/// data_volume_size, public_ip, tags, user_data) are accepted everywhere and used by the\n/// cloud. In the lab the machine is a network namespace with its own address, and `dir`\n/// is where its files live."])
        .register_into_engine(engine, move |spec: Map| -> Result<Map, Box<EvalAltResult>> {
            const NAME: &str = "launch_instance";
            // Unknown keys are refused by name (the spec's serde form lists the known ones).
            let spec: InstanceSpec = from_value(NAME, "spec", &Dynamic::from(spec)).map_err(|f| {
                f.with_help("e.g. launch_instance(#{ name: `etcd-${uuid()}` }); cloud settings such as ami sit beside name")
            })?;
            let instance = on_world(&h, NAME, Duration::from_secs(600), move |world| async move {
                let instance = world
                    .compute
                    .launch(&spec)
                    .await
                    .map_err(|e| Failure::from_provider(NAME, e))?;
                journal_created(&world, NAME, Resource::Instance(instance.clone())).await?;
                tracing::info!("launched {} ({})", instance.name, instance.private_ip);
                Ok(instance)
            })?;
            Ok(to_value(NAME, &instance)?.cast::<Map>())
        });

    let h = host.clone();
    FuncRegistration::new("terminate_instance")
        .with_params_info(["node: Map", "()"])
        .with_comments(["/// Terminates a machine returned by `launch_instance`."])
        .register_into_engine(engine, move |node: Map| -> Result<(), Box<EvalAltResult>> {
            const NAME: &str = "terminate_instance";
            let instance: Instance = from_value(NAME, "node", &Dynamic::from(node))?;
            on_world(
                &h,
                NAME,
                Duration::from_secs(300),
                move |world| async move {
                    world
                        .compute
                        .terminate(&instance)
                        .await
                        .map_err(|e| Failure::from_provider(NAME, e))?;
                    let _ = world.journal.removed(&Resource::Instance(instance));
                    Ok(())
                },
            )
        });
}
