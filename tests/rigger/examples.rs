//! The example topologies (scripts/examples/), each run as a user would run it: by its
//! bundled name, in the lab where the lab can stand it up, in a cloud dry run where only
//! the cloud's settings tell (subnets, instance types).

use serde_json::Value;

use crate::harness::{LabRig, Outcome, Rig};

/// `rigger run NAME --dry-run --target aws` with `sets` as `--set`s: the plan, without
/// credentials or a machine anywhere.
fn cloud_plan(name: &str, sets: &[&str]) -> String {
    let mut args = vec![
        "run",
        name,
        "--dry-run",
        "--target",
        "aws",
        "--dns",
        "route53",
    ];
    args.extend(sets.iter().flat_map(|s| ["--set", s]));
    // A plan asks nothing of AWS; were that to change, never of EC2's metadata service.
    let rig = Rig::new()
        .own_state()
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = rig.args(&args).run().asks_no_metadata_service();
    out.success();
    out.stdout.clone()
}

/// How many machines the plan launches with `setting` (`subnet_id=subnet-a`).
fn launched_with(plan: &str, setting: &str) -> usize {
    let launches = plan
        .lines()
        .filter(|l| l.contains(". launch instance etcd-"));
    launches
        .filter(|l| l.split([' ', '(', ')', ',']).any(|w| w == setting))
        .count()
}

#[test]
fn three_zones_puts_one_member_in_each_subnet() {
    let plan = cloud_plan(
        "three-zones",
        &[
            "ami=ami-0123456789abcdef0",
            r#"subnets=["subnet-a", "subnet-b", "subnet-c"]"#,
        ],
    );
    for subnet in ["subnet-a", "subnet-b", "subnet-c"] {
        assert_eq!(
            launched_with(&plan, &format!("subnet_id={subnet}")),
            1,
            "{plan}"
        );
    }
    assert_eq!(
        launched_with(&plan, "ami=ami-0123456789abcdef0"),
        3,
        "{plan}"
    );
    assert!(
        plan.contains("check the health of the cluster under example.test"),
        "{plan}"
    );
}

#[test]
fn two_types_launches_three_large_and_two_small_members() {
    let plan = cloud_plan(
        "two-types",
        &["ami=ami-0123456789abcdef0", "small=t3.small"],
    );
    assert_eq!(launched_with(&plan, "instance_type=m6i.large"), 3, "{plan}");
    assert_eq!(launched_with(&plan, "instance_type=t3.small"), 2, "{plan}");
}

#[test]
fn two_types_in_the_lab_gives_five_healthy_members() {
    let Some(lab) = LabRig::new() else { return };
    lab.run(&["run", "two-types"])
        .reports_healthy(5, "example.test");
    lab.destroy().leaves_nothing();
}

#[test]
fn with_learner_keeps_a_learner_beside_three_healthy_voting_members() {
    let Some(lab) = LabRig::new() else { return };
    let out = lab.run(&["run", "with-learner"]);
    out.success();
    let said = out.stdout.lines().last().unwrap_or_default();
    assert!(
        said.ends_with(" follows the cluster as a learner"),
        "{said}"
    );
    let learner = said.split(' ').next().unwrap();
    let members = members(&lab);
    assert_eq!(members.len(), 4, "{members:?}");
    let learners: Vec<&Value> = members.iter().filter(|m| m["isLearner"] == true).collect();
    assert_eq!(learners.len(), 1, "{members:?}");
    assert_eq!(learners[0]["name"], learner, "{members:?}");
    // The SRV records name the voters alone, and each of them answers healthy.
    let health = lab.run(&["health", "--discovery-srv", "example.test"]);
    health.reports_healthy(3, "example.test");
    lab.destroy().leaves_nothing();
}

/// The members of the cluster under example.test, as `rigger members -w json` lists
/// them (etcdctl's JSON).
fn members(lab: &LabRig) -> Vec<Value> {
    let out: Outcome = lab.run(&["members", "--discovery-srv", "example.test", "-w", "json"]);
    out.success();
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    json["members"].as_array().unwrap().clone()
}

/// Every file in scripts/examples/ runs by its name, from the binary alone.
#[test]
fn every_example_file_is_bundled_under_its_name() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let out = Rig::new().args(&["scripts", &name]).run();
        out.success()
            .stdout_has(&format!("{name} (scripts/examples/{name}.rhai)\n"));
    }
}

/// What a topology hands the procedure is checked where it is handed over: a misspelt
/// setting by its name, a node that was never launched by its place.
#[test]
fn a_misspelt_setting_or_a_node_not_launched_is_refused_by_name() {
    let refused = |script: &str| {
        let text = format!("import \"etcd\" as etcd;\n{script}\n");
        let out = Rig::new().own_state().file("t.rhai", &text);
        out.args(&["run", "t.rhai", "--dry-run"]).run()
    };
    refused("etcd::claim(\"example.test\", #{ stager: 0.1 });")
        .failure(1)
        .stderr_has(
            "× opts.stager is not one of the settings etcd::claim, publish and bootstrap take",
        )
        .stderr_has("help: the settings: [\"tls\", \"etcd\", \"machines\", \"install\",");
    refused(
        "etcd::publish(\"example.test\", [#{ name: \"n1\", private_ip: \"192.0.2.1\" }], #{});",
    )
    .failure(1)
    .stderr_has(
        "× etcd::publish: nodes[0] is not a launched member (a map with name, fqdn and private_ip)",
    )
    .stderr_has("help: etcd::machines launches members");
}
