//! AWS EC2 through aws-sdk-ec2. Region, profile, credentials and endpoint come from the
//! AWS default chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...), as every AWS tool.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, InstanceNetworkInterfaceSpecification,
    InstanceStateName, InstanceType, ResourceType, Tag, TagSpecification, VolumeType,
};

use std::sync::Arc;

use super::describe::{Describer, Launching};
use super::{Compute, Instance, InstanceSpec};
use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::aws::{load_config, sdk_error};
use crate::providers::opening::{Machines, Opening};
use crate::providers::transport::reach::{SshConfig, SshReach};

/// The tag on every resource rigger makes, so `destroy` can find them without state.
pub const CLUSTER_TAG: &str = "rigger:cluster";
/// Where rigger keeps a cloud node's files.
pub const NODE_DIR: &str = "/var/lib/rigger";

pub struct Ec2 {
    ec2: Client,
    /// Polls of launching instances, made together.
    describer: Arc<Describer>,
    /// Makes client tokens unique per run: a retried call in the same run is the same
    /// launch, a new run is a new one.
    run_id: String,
    /// How long to wait for `running`.
    ready_timeout: Duration,
}

/// A client token of at most 64 ASCII characters, the same for the same run and node.
pub fn client_token(run_id: &str, name: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("rigger/{run_id}/{name}").as_bytes(),
    )
    .simple()
    .to_string()
}

impl Ec2 {
    pub fn new(config: &aws_config::SdkConfig, run_id: &str) -> Self {
        let conf = aws_sdk_ec2::config::Builder::from(config)
            .interceptor(crate::providers::aws::LogCalls)
            .build();
        let ec2 = Client::from_conf(conf);
        Self {
            describer: Describer::new(ec2.clone()),
            ec2,
            run_id: run_id.to_string(),
            ready_timeout: Duration::from_secs(300),
        }
    }

    /// From the AWS default chain (see [`load_config`]).
    pub async fn from_env(run_id: &str) -> Result<Self> {
        Ok(Self::new(&load_config().await?, run_id))
    }

    fn instance_of(&self, i: &aws_sdk_ec2::types::Instance) -> Option<Instance> {
        let name = i
            .tags()
            .iter()
            .find(|t| t.key() == Some("Name"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_string();
        Some(Instance {
            id: i.instance_id()?.to_string(),
            name,
            private_ip: i.private_ip_address().unwrap_or_default().to_string(),
            public_ip: i.public_ip_address().map(str::to_string),
            dir: NODE_DIR.to_string(),
            booted: true,
            ssh: None,
        })
    }

    async fn wait_running(&self, id: &str, name: &str, launched: Launching) -> Result<Instance> {
        let start = Instant::now();
        // Soon after the launch, then less often: a machine takes seconds to boot.
        let mut pause = Duration::from_millis(250);
        let mut launched = Some(launched);
        loop {
            let described = self.describer.describe(id, launched.take()).await?;
            // Not listed yet (EC2 is eventually consistent): still pending.
            let state = described
                .as_ref()
                .and_then(|d| d.state())
                .and_then(|s| s.name())
                .cloned();
            match state {
                Some(InstanceStateName::Running) => {
                    let described = described.expect("a state comes with a description");
                    return self.instance_of(&described).ok_or_else(|| {
                        Error::failed(format!("aws: {id} has no ID in its description"))
                    });
                }
                Some(InstanceStateName::Pending) | None => {}
                Some(other) => {
                    return Err(Error::failed(format!(
                        "aws: {id} ({name}) went {} instead of running",
                        other.as_str()
                    )));
                }
            }
            if start.elapsed() > self.ready_timeout {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "aws: {id} ({name}) was not running after {}",
                        crate::base::human::duration(self.ready_timeout)
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Every live instance whose tag `key` is `value`.
    async fn live_tagged(&self, key: &str, value: &str) -> Result<Vec<Instance>> {
        let out = self
            .ec2
            .describe_instances()
            .filters(
                Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build(),
            )
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("pending")
                    .values("running")
                    .values("stopping")
                    .values("stopped")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_error("aws", "DescribeInstances", e))?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| self.instance_of(i))
            .collect())
    }
}

/// The EC2 backend of a run (the `aws` target's row).
pub fn open(opening: &Opening) -> Result<Machines> {
    let compute: Arc<dyn Compute> = match opening.aws() {
        Ok(config) => Arc::new(Ec2::new(config, &opening.run_id)),
        // Only looking (`health` with Cloudflare, say) needs no AWS settings until a
        // machine is asked about.
        Err(e) if !opening.create => Arc::new(super::unavailable::Unavailable(e)),
        Err(e) => return Err(e),
    };
    Ok(Machines {
        compute,
        runtime: None,
        epilogue: None,
        ssh: ssh_reach(opening)?,
    })
}

/// How SSH reaches EC2 machines: as the user set it up (`--ssh-user`, `--ssh-key`,
/// `--ssh-accept-new`, the agent, `~/.ssh/config`). An overridden EC2 endpoint
/// (AWS_ENDPOINT_URL, or one in the profile) is a stand-in such as moto, whose instance
/// addresses are fiction and must never be dialled.
fn ssh_reach(opening: &Opening) -> Result<SshReach> {
    match opening.aws() {
        Ok(config) => {
            if let Some(url) = config.endpoint_url() {
                return Ok(SshReach::Unreachable {
                    reason: format!(
                        "its address comes from an overridden EC2 endpoint ({url}), such as a local stand-in, and may not be real"
                    ),
                    help: "rigger never connects to machines a stand-in invented; unset AWS_ENDPOINT_URL to use real EC2".into(),
                });
            }
        }
        // Only looking (`health` with Cloudflare): without AWS settings there is no EC2
        // machine to reach, nor a way to tell a stand-in's from a real one.
        Err(e) if !opening.create => {
            return Ok(SshReach::Unreachable {
                reason: e.message,
                help: e.help.unwrap_or_default(),
            });
        }
        Err(e) => return Err(e),
    }
    let ssh = &opening.ssh;
    Ok(SshReach::Connect(SshConfig {
        user: ssh.user.clone().unwrap_or_else(|| "admin".into()),
        port: 22,
        key: ssh.key.clone(),
        accept_new: ssh.accept_new,
        known_hosts: None,
        control_dir: opening.state.root().join("ssh"),
        netns: None,
        wait: Duration::from_secs(180),
    }))
}

#[async_trait]
impl Compute for Ec2 {
    async fn find(&self, name: &str) -> Result<Option<Instance>> {
        Ok(self.live_tagged("Name", name).await?.into_iter().next())
    }

    /// What `destroy` removes when the local state is lost.
    async fn tagged(&self, cluster: &str) -> Result<Vec<Instance>> {
        self.live_tagged(CLUSTER_TAG, cluster).await
    }

    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance> {
        let ami = spec.ami.clone().ok_or_else(|| {
            Error::invalid(format!("{}: an AWS instance needs `ami`", spec.name))
                .with_help("e.g. launch_instance(#{ name: ..., ami: \"ami-...\", instance_type: \"t3.small\" })")
        })?;
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        // Every resource carries the cluster tag (the script's, or "rigger").
        let cluster = spec.tags.get(CLUSTER_TAG).map_or("rigger", String::as_str);
        let mut spec_tags = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(tag("Name", &spec.name))
            .tags(tag(CLUSTER_TAG, cluster));
        for (k, v) in spec.tags.iter().filter(|(k, _)| k.as_str() != CLUSTER_TAG) {
            spec_tags = spec_tags.tags(tag(k, v));
        }
        let mut request = self
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(InstanceType::from(
                spec.instance_type.as_deref().unwrap_or("t3.small"),
            ))
            .min_count(1)
            .max_count(1)
            .client_token(client_token(&self.run_id, &spec.name))
            .tag_specifications(spec_tags.build())
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Volume)
                    .tags(tag(CLUSTER_TAG, cluster))
                    .build(),
            );
        if let Some(key) = &spec.key_name {
            request = request.key_name(key);
        }
        if spec.public_ip.is_some() {
            // A public address is asked for on the network interface, which then carries
            // the subnet and security groups too.
            let mut nic = InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .associate_public_ip_address(spec.public_ip.unwrap_or(false));
            if let Some(subnet) = &spec.subnet_id {
                nic = nic.subnet_id(subnet);
            }
            for g in &spec.security_group_ids {
                nic = nic.groups(g);
            }
            request = request.network_interfaces(nic.build());
        } else {
            if let Some(subnet) = &spec.subnet_id {
                request = request.subnet_id(subnet);
            }
            for g in &spec.security_group_ids {
                request = request.security_group_ids(g);
            }
        }
        let volume = |device: &str, size: i32| {
            BlockDeviceMapping::builder()
                .device_name(device)
                .ebs(
                    EbsBlockDevice::builder()
                        .volume_size(size)
                        .volume_type(VolumeType::Gp3)
                        .delete_on_termination(true)
                        .build(),
                )
                .build()
        };
        if let Some(size) = spec.root_volume_size {
            request = request.block_device_mappings(volume("/dev/xvda", size));
        }
        if let Some(size) = spec.data_volume_size {
            request = request.block_device_mappings(volume("/dev/xvdb", size));
        }
        if let Some(data) = &spec.user_data {
            use base64::Engine as _;
            request = request.user_data(base64::engine::general_purpose::STANDARD.encode(data));
        }
        // Held until the instance's first poll is queued (or the launch fails).
        let launching = self.describer.launching();
        let out = request
            .send()
            .await
            .map_err(|e| sdk_error("aws", "RunInstances", e))?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .ok_or_else(|| Error::failed("aws: RunInstances returned no instance"))?
            .to_string();
        crate::base::phase::set(&spec.name, crate::base::phase::Phase::Booting);
        // From here on the instance exists: if it never comes up, take it down again
        // rather than leave one that no journal knows of.
        match self.wait_running(&id, &spec.name, launching).await {
            Ok(instance) => Ok(instance),
            Err(e) => {
                let _ = self
                    .ec2
                    .terminate_instances()
                    .instance_ids(&id)
                    .send()
                    .await;
                Err(e)
            }
        }
    }

    /// One TerminateInstances for all of them. EC2 refuses the whole call when any ID
    /// is unknown (already gone): then each is asked alone, and a gone one is done.
    async fn terminate_all(&self, instances: &[Instance]) -> Vec<Result<()>> {
        if instances.len() < 2 {
            return futures::future::join_all(instances.iter().map(|i| self.terminate(i))).await;
        }
        let ids: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
        match self
            .ec2
            .terminate_instances()
            .set_instance_ids(Some(ids))
            .send()
            .await
        {
            Ok(_) => instances.iter().map(|_| Ok(())).collect(),
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("InvalidInstanceID.NotFound") =>
            {
                futures::future::join_all(instances.iter().map(|i| self.terminate(i))).await
            }
            Err(e) => {
                let e = sdk_error("aws", "TerminateInstances", e);
                instances.iter().map(|_| Err(e.clone())).collect()
            }
        }
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        match self
            .ec2
            .terminate_instances()
            .instance_ids(&instance.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().and_then(|s| s.code())
                    == Some("InvalidInstanceID.NotFound") =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("aws", "TerminateInstances", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::client_token;

    #[test]
    fn client_tokens_are_short_stable_and_distinct() {
        let a = client_token("run1", "etcd-a");
        assert_eq!(a, client_token("run1", "etcd-a"));
        assert_ne!(a, client_token("run1", "etcd-b"));
        assert_ne!(a, client_token("run2", "etcd-a"));
        assert!(a.len() <= 64 && a.is_ascii());
    }
}
