//! The cloud's stand-ins: moto (EC2 and Route 53 on loopback, from the .venv that
//! ./setup.sh makes) and rigs pointed at it and at the Cloudflare stand-in. The private
//! addresses moto hands out are fiction: nothing here ever connects to them.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::{Credentials, Region};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use rigger::providers::compute::ec2::CLUSTER_TAG;
use rigger::providers::{InstanceSpec, RecordData, RecordSpec};

use super::{Rig, free_port};
use crate::cloudflare_api::TOKEN;

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto on a free loopback port, with `env` (e.g. its validation switches),
/// through `tests/moto_server.py`: moto with Route 53's refusal of a CREATE over a set
/// that exists, which moto itself lacks.
pub fn moto(env: &[(&str, &str)]) -> Moto {
    moto_with(env, Stdio::null())
}

/// `moto`, its log of requests (a line per request, as werkzeug writes them) in `log`.
pub fn moto_logging(env: &[(&str, &str)], log: &std::path::Path) -> Moto {
    moto_with(env, Stdio::from(std::fs::File::create(log).unwrap()))
}

fn moto_with(env: &[(&str, &str)], stderr: Stdio) -> Moto {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/moto_server.py");
    assert!(
        std::path::Path::new(python).exists(),
        "{python} is missing: run ./setup.sh, which installs moto for the tests"
    );
    let port = free_port();
    let child = Command::new(python)
        .args([server, "-H", "127.0.0.1", "-p", &port.to_string()])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// The AWS SDK's settings for moto: its URL, dummy keys, a region.
pub fn config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .build()
}

/// An instance of the cluster example.test, with every setting given.
pub fn spec(name: &str) -> InstanceSpec {
    InstanceSpec {
        name: name.into(),
        ami: Some("ami-12c6146b".into()),
        instance_type: Some("t3.small".into()),
        key_name: Some("deployer".into()),
        root_volume_size: Some(20),
        data_volume_size: Some(10),
        tags: [
            ("team".to_string(), "infra".to_string()),
            (CLUSTER_TAG.to_string(), "example.test".to_string()),
        ]
        .into(),
        user_data: Some("#!/bin/sh\necho hi\n".into()),
        ..InstanceSpec::default()
    }
}

/// A rig whose AWS settings point at moto (and nothing else of the cloud's).
pub fn aws_rig(moto_url: &str) -> Rig {
    Rig::new()
        .own_state()
        .env("AWS_ENDPOINT_URL", moto_url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// A rig whose AWS settings point at moto and whose Cloudflare ones at the stand-in.
pub fn cloud_rig(moto_url: &str, cf_base: &str) -> Rig {
    aws_rig(moto_url)
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_API_BASE_URL", cf_base)
}

/// `rigger run cluster` for example.test on EC2 (moto) with `dns`, each of `sets` a
/// `--set`; further arguments go on after.
pub fn aws_cluster(rig: Rig, dns: &str, sets: &[&str]) -> Rig {
    let mut args = vec!["run", "cluster", "--target", "aws", "--dns", dns];
    for set in ["domain=example.test", "ami=ami-12c6146b"]
        .iter()
        .chain(sets)
    {
        args.extend(["--set", set]);
    }
    rig.args(&args)
}

/// Whether every instance EC2 (moto) lists is terminated.
pub async fn all_terminated(cfg: &aws_config::SdkConfig) -> bool {
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let described = ec2.describe_instances().send().await.unwrap();
    let mut instances = described.reservations().iter().flat_map(|r| r.instances());
    instances.all(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("terminated"))
}

/// A Route 53 hosted zone for example.test; its id, without the `/hostedzone/`.
pub async fn hosted_zone(r53: &aws_sdk_route53::Client, reference: &str) -> String {
    let made = r53.create_hosted_zone().name("example.test.");
    let made = made.caller_reference(reference).send().await.unwrap();
    let id = made.hosted_zone().unwrap().id();
    id.trim_start_matches("/hostedzone/").to_string()
}

/// Puts the set `name` `rtype` with `values` in Route 53 by hand (as someone other than
/// rigger would), replacing the set there.
pub async fn upsert(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    name: &str,
    rtype: RrType,
    ttl: i64,
    values: &[impl AsRef<str>],
) {
    let mut set = ResourceRecordSet::builder()
        .name(name)
        .r#type(rtype)
        .ttl(ttl);
    for v in values {
        let value = ResourceRecord::builder().value(v.as_ref());
        set = set.resource_records(value.build().unwrap());
    }
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set.build().unwrap());
    let batch = ChangeBatch::builder().changes(change.build().unwrap());
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch.build().unwrap())
        .send()
        .await
        .unwrap();
}

/// A peer SRV record of example.test at `port`, naming `target`.
pub fn peer_srv(port: u16, target: &str) -> RecordSpec {
    let target = target.to_string();
    let data = RecordData::SRV {
        priority: 0,
        weight: 0,
        port,
        target,
    };
    let name = "_etcd-server-ssl._tcp.example.test".to_string();
    RecordSpec {
        name,
        ttl: 300,
        data,
        cluster: None,
    }
}

/// A record set as Route 53 itself lists it: name, type, and values in its order.
pub type Set = (String, String, Vec<String>);

/// Every record set of the hosted zone `zone`, through Route 53's own API.
pub async fn record_sets(r53: &aws_sdk_route53::Client, zone: &str) -> Vec<Set> {
    let listed = r53.list_resource_record_sets().hosted_zone_id(zone);
    let listed = listed.send().await.unwrap();
    let values = |s: &ResourceRecordSet| {
        let records = s.resource_records().iter();
        records.map(|r| r.value().to_string()).collect()
    };
    let sets = listed.resource_record_sets().iter();
    sets.map(|s| {
        (
            s.name().to_string(),
            s.r#type().as_str().to_string(),
            values(s),
        )
    })
    .collect()
}
