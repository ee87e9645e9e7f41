//! The EC2 provider against moto (`moto_server` on loopback, from the .venv that
//! ./setup.sh makes). The private addresses moto hands out are fiction: nothing here
//! ever connects to them.

use rigger::providers::compute::describe::Describer;
use rigger::providers::compute::ec2::{CLUSTER_TAG, Ec2, client_token};
use rigger::providers::{Compute, InstanceSpec};

use crate::harness::cloud::{aws_rig, config, moto, spec};
use crate::harness::{off_runtime, text_has, text_starts};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_launch_concurrently_with_their_tags_and_terminate() {
    let moto = moto(&[]);
    let cfg = config(&moto);
    let aws = Ec2::new(&cfg, "run-1");
    let names = ["etcd-a", "etcd-b", "etcd-c"];
    let specs: Vec<InstanceSpec> = names.iter().map(|n| spec(n)).collect();
    let (a, b, c) = tokio::join!(
        aws.launch(&specs[0]),
        aws.launch(&specs[1]),
        aws.launch(&specs[2])
    );
    let launched = [a.unwrap(), b.unwrap(), c.unwrap()];
    for (inst, name) in launched.iter().zip(names) {
        assert_eq!(inst.name, name);
        assert!(inst.id.starts_with("i-"), "{}", inst.id);
        assert!(!inst.private_ip.is_empty());
    }

    // Checked through EC2's own API, not rigger's.
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let out = ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{CLUSTER_TAG}"))
                .values("example.test")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instances: Vec<_> = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .collect();
    assert_eq!(instances.len(), 3);
    for i in &instances {
        let tag = |k: &str| {
            i.tags()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
                .map(str::to_string)
        };
        assert!(names.contains(&tag("Name").unwrap().as_str()));
        assert_eq!(tag("team").as_deref(), Some("infra"));
        assert_eq!(i.image_id(), Some("ami-12c6146b"));
        assert_eq!(i.key_name(), Some("deployer"));
        assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.small"));
    }

    // destroy's path when the state is lost: find them by tag, terminate them.
    let found = aws.tagged("example.test").await.unwrap();
    assert_eq!(found.len(), 3);
    for inst in &found {
        aws.terminate(inst).await.unwrap();
    }
    assert!(aws.tagged("example.test").await.unwrap().is_empty());
    // Terminating again is not an error.
    aws.terminate(&found[0]).await.unwrap();
}

#[tokio::test]
async fn a_bad_ami_is_refused_with_ec2s_code_and_message() {
    let moto = moto(&[("MOTO_ENABLE_AMI_VALIDATION", "true")]);
    let aws = Ec2::new(&config(&moto), "run-2");
    let mut bad = spec("etcd-x");
    bad.ami = Some("ami-00000bad".into());
    let err = aws.launch(&bad).await.unwrap_err();
    text_starts(
        &err.message,
        "aws: RunInstances failed: InvalidAMIID.NotFound",
    );
    text_has(&err.message, "ami-00000bad");
}

#[tokio::test]
async fn an_instance_without_an_ami_is_refused_before_any_call() {
    // No moto at all: nothing may be sent.
    let cfg = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_ec2::config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let aws = Ec2::new(&cfg, "r");
    let err = aws
        .launch(&InstanceSpec {
            name: "n".into(),
            ..InstanceSpec::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.message, "n: an AWS instance needs `ami`");
}

#[test]
fn client_tokens_follow_ec2s_rules() {
    let t = client_token(
        "1732450000000-ab12cd",
        "etcd-0123456789abcdef0123456789abcdef",
    );
    assert!(t.len() <= 64 && t.is_ascii());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_finds_instances_by_their_cluster_tag_when_the_state_is_lost() {
    let moto = moto(&[]);
    let cfg = config(&moto);
    let aws = Ec2::new(&cfg, "run-lost");
    let mine = aws.launch(&spec("etcd-lost")).await.unwrap();
    let mut other = spec("someone-else");
    other.tags.insert(CLUSTER_TAG.into(), "other.test".into());
    let theirs = aws.launch(&other).await.unwrap();
    let url = moto.url.clone();
    // A brand-new state dir: rigger knows nothing of these instances but their tag.
    let destroy = aws_rig(&url).args(&["destroy", "--aws-cluster-tag", "example.test"]);
    let out = off_runtime(move || destroy.run()).await;
    out.success().stderr_has(&format!(
        "removed instance etcd-lost ({}) (by its tag)",
        mine.private_ip
    ));
    assert!(aws.tagged("example.test").await.unwrap().is_empty());
    let left = aws.tagged("other.test").await.unwrap();
    assert_eq!(left.len(), 1, "another cluster's instance is untouched");
    assert_eq!(left[0].id, theirs.id);
}

/// With no region anywhere, rigger refuses before the SDK's loader runs: left to
/// itself, the loader would look for one on the instance metadata service, an address
/// outside this machine.
#[test]
fn a_missing_region_is_refused_without_asking_the_metadata_service() {
    crate::harness::Rig::new()
        .own_state()
        .env("CLOUDFLARE_API_TOKEN", "not-a-token")
        .env("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9")
        .args(&[
            "run",
            "cluster",
            "--target",
            "aws",
            "--set",
            "domain=example.test",
            "--set",
            "ami=ami-1",
        ])
        .run()
        .asks_no_metadata_service()
        .failure(1)
        .stderr_has("no AWS region configured")
        .stderr_has("set AWS_REGION");
}

/// The EC2 actions moto was asked for, in order, from its request recording.
fn actions(recording: &std::path::Path) -> Vec<String> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(recording).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).ok()?;
            let body = entry["body"].as_str().unwrap_or_default();
            let body = if entry["body_encoded"] == true {
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .ok()?,
                )
                .ok()?
            } else {
                body.to_string()
            };
            body.split('&')
                .find_map(|p| p.strip_prefix("Action="))
                .map(str::to_string)
        })
        .collect()
}

/// Nine launches poll EC2 together, and nine machines go in one TerminateInstances:
/// counted from moto's own recording of the requests, so the counts do not depend on
/// the machine's speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_launches_poll_together_and_terminate_in_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("requests.jsonl");
    let moto = moto(&[
        ("MOTO_ENABLE_RECORDING", "True"),
        ("MOTO_RECORDER_FILEPATH", recording.to_str().unwrap()),
    ]);
    let cfg = config(&moto);
    let aws = Ec2::new(&cfg, "run-9");
    let specs: Vec<InstanceSpec> = (0..9).map(|i| spec(&format!("etcd-{i}"))).collect();
    let launched: Vec<_> = futures::future::join_all(specs.iter().map(|s| aws.launch(s)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let seen = actions(&recording);
    let count = |action: &str| seen.iter().filter(|a| *a == action).count();
    assert_eq!(count("RunInstances"), 9, "{seen:?}");
    // Launches that return apart poll apart (moto answers RunInstances one at a time),
    // but never more often than one poll each.
    assert!(count("DescribeInstances") <= 9, "{seen:?}");
    // Polls made together are one call, however many instances they ask about.
    let describer = Describer::new(aws_sdk_ec2::Client::new(&cfg));
    let before = count("DescribeInstances");
    let found =
        futures::future::join_all(launched.iter().map(|i| describer.describe(&i.id, None))).await;
    assert!(found.iter().all(|f| matches!(f, Ok(Some(_)))), "{found:?}");
    let after = actions(&recording)
        .iter()
        .filter(|a| *a == "DescribeInstances")
        .count();
    assert_eq!(
        after - before,
        1,
        "nine polls at once are one DescribeInstances"
    );
    // A launch answered last whose task has not polled yet is still waited for: its
    // guard goes with its first poll, and both polls are one call.
    let before = after;
    let late = describer.launching();
    let first = tokio::spawn({
        let (describer, id) = (describer.clone(), launched[0].id.clone());
        async move { describer.describe(&id, None).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = describer.describe(&launched[1].id, Some(late)).await;
    assert!(matches!(second, Ok(Some(_))), "{second:?}");
    assert!(matches!(first.await.unwrap(), Ok(Some(_))));
    let after = actions(&recording)
        .iter()
        .filter(|a| *a == "DescribeInstances")
        .count();
    assert_eq!(after - before, 1, "a poll waits for a launch still to poll");
    let outcomes = aws.terminate_all(&launched).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(
        actions(&recording)
            .iter()
            .filter(|a| *a == "TerminateInstances")
            .count(),
        1
    );
    assert!(aws.tagged("example.test").await.unwrap().is_empty());
}
