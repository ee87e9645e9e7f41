//! The operator's side (issue 15): mistakes caught before anything is made, and the
//! parameters of a script listed without running it.

use crate::harness::Rig;

/// A misspelt key is refused from the script's AST, before any primitive runs: no
/// state dir, no lab, exit 2 (a usage error), pointing at the parameter it resembles.
#[test]
fn a_misspelt_set_key_is_refused_before_anything_exists_with_did_you_mean() {
    let rig = Rig::new().own_state();
    let state = rig.path("state");
    let out = rig.args(&["run", "cluster", "--set", "sise=5"]).run();
    out.failure(2).stderr_is(
        r#"
  × --set sise: scripts/cluster.rhai has no parameter "sise"
    ╭─[scripts/cluster.rhai:12:12]
 11 │ // How many members.
 12 │ let size = param("size", 3, #{ min: 1, max: 25,
    ·            ──┬──
    ·              ╰── did you mean `size`?
 13 │     why: "every write waits for a majority, so each member past 7 makes the cluster slower and no safer (etcd's FAQ)" });
    ╰────
  help: its parameters: domain, size, tls, etcd, install, etcd_version, release_url, install_dir, init, stagger, ami, instance_type, key_name, subnet_id, security_group_ids, root_volume_size, data_volume_size, public_ip (`rigger scripts cluster` shows each with its default)
"#,
    );
    assert!(!state.exists(), "a refused run made its state dir");
}

/// The names a script asks for through a loop over a literal list count (the cloud's
/// machine settings in cluster.rhai), and so do those of a module it imports.
#[test]
fn keys_asked_in_a_loop_or_an_imported_module_are_known_before_the_run() {
    Rig::new()
        .file("lib/net.rhai", "fn port() { param(\"port\", 2379) }\n")
        .file(
            "t.rhai",
            "import \"lib/net\" as net;\nfor k in [\"a\", \"b\"] { print(param(k, 0)); }\nprint(net::port());\n",
        )
        .args(&["run", "t.rhai", "--set", "b=2", "--set", "port=1"])
        .run()
        .success()
        .stdout_is("0\n2\n1\n");
    Rig::new()
        .file(
            "t.rhai",
            "print(\"ran\");\nlet x = param(\"region\", \"\");\n",
        )
        .args(&["run", "t.rhai", "--set", "zone=a"])
        .run()
        .failure(2)
        .stderr_has("× --set zone: t.rhai has no parameter \"zone\"")
        .stderr_has("help: its parameters: region (`rigger scripts t.rhai` shows");
}

/// A script that names a parameter at run time may ask for any key: it is not refused
/// before the run, and a key it never asked for is still warned about after.
#[test]
fn a_script_that_names_parameters_at_run_time_is_checked_after_it_ran() {
    Rig::new()
        .file("t.rhai", "let k = \"si\" + \"ze\";\nprint(param(k, 3));\n")
        .args(&["run", "t.rhai", "--set", "sise=5"])
        .run()
        .success()
        .stdout_is("3\n")
        .stderr_is(r#" WARN --set sise was given, but the script never asked for param("sise")"#);
}

#[test]
fn scripts_lists_the_bundled_scripts_and_a_scripts_parameters_from_its_source() {
    Rig::new()
        .args(&["scripts"])
        .run()
        .success()
        .stdout_has("cluster  The seed article's procedure: a three-node etcd cluster")
        .stdout_has("records  The DNS records etcd's DNS discovery needs");
    let out = Rig::new().args(&["scripts", "cluster"]).run();
    out.success()
        .stdout_has("Parameters (rigger run cluster --set KEY=VALUE):\n")
        .stdout_has("  size  (default 3; 1 to 25)\n      How many members.\n")
        .stdout_has(
            "  install  (default if target() == \"lab\" { \"none\" } else { \"download\" }; one of \"none\", \"upload\", \"download\")\n",
        )
        .stdout_has("  tls  (default true)\n      TLS members; false is plain HTTP, etcd 3.5 or later\n")
        .stdout_has("  ami  (optional)\n      The cloud's machine settings (the lab ignores them).\n");
    let out = Rig::new().args(&["scripts", "records", "--json"]).run();
    let json: serde_json::Value = serde_json::from_str(&out.success().stdout).unwrap();
    assert_eq!(json["name"], "records");
    assert_eq!(json["path"], "scripts/records.rhai");
    let domain = &json["params"][0];
    assert_eq!(domain["name"], "domain");
    assert_eq!(domain["required"], true);
    assert_eq!(json["params"][3]["name"], "ttl");
    assert_eq!(json["params"][3]["allows"], "1 to 2147483647");
}

/// The region and credentials a run on AWS needs are asked for before the script
/// starts, and said as a setup problem, not at a line of cluster.rhai.
#[test]
fn missing_aws_settings_are_a_setup_error_before_the_script_starts() {
    let aws = |rig: Rig| {
        rig.own_state()
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(&["run", "cluster", "--target", "aws", "--dns", "route53"])
    };
    aws(Rig::new()).run().failure(1).stderr_is(
        "
  × --target aws needs AWS settings: no AWS region configured
  help: set AWS_REGION (or a region in the AWS_PROFILE's config)
",
    );
    let out = aws(Rig::new().env("AWS_REGION", "us-east-1")).run();
    out.failure(1)
        .stderr_has("× --target aws needs AWS settings: no AWS credentials: no credentials found")
        .stderr_has("help: set AWS_PROFILE (a profile with credentials), or AWS_ACCESS_KEY_ID")
        .stderr_lacks("cluster.rhai");
}
