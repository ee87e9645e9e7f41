//! Issue 10, "Nothing left behind, ever": a table of bad inputs, each run through the
//! real binary in a folder (and state dir) of its own. Every case must
//!
//! 1. exit 1 or 2 (a case may say which),
//! 2. print no panic text,
//! 3. print no Rust Debug dump,
//! 4. name the culprit: every listed substring appears in stderr (case-insensitive;
//!    `a|b` takes either),
//! 5. leave nothing: no new file in its folder (its state dir included; an empty dir
//!    is fine), no process naming its folder, no network namespace of a lab it made
//!    (seen with `-v` as "lab namespace rigger-<id> created"), no mount under it.
//!
//! The cases state the correct behaviour, not today's. Groups run as tests of their
//! own, each on a small pool of threads; every group also checks that `/run/netns`
//! gained no namespace that no live lab owns.
//!
//! The runner, the case builders and the checks live in the harness
//! (`harness::bad_input`); this file is the table and the tests that run it.

use std::collections::BTreeSet;

use crate::harness::bad_input::{
    Case, Folder, case, cluster, lab_script, node_script, records, run_group, script, zone_script,
};

// ---------------------------------------------------------------------------------
// The table.

fn command_line_cases() -> Vec<Case> {
    vec![
        case("cli_unknown_subcommand", &["bogus"])
            .usage()
            .has(&["bogus"]),
        case("cli_unknown_flag", &["run", "--bogus", "x.rhai"])
            .usage()
            .has(&["--bogus"]),
        case(
            "cli_unknown_global_flag",
            &["--frobnicate", "run", "x.rhai"],
        )
        .usage()
        .has(&["--frobnicate"]),
        case("cli_run_without_script", &["run"])
            .usage()
            .has(&["<SCRIPT>"]),
        case("cli_script_does_not_exist", &["run", "nonexist.rhai"])
            .failure()
            .has(&["nonexist.rhai", "no such file|not found|does not exist"]),
        case("cli_script_is_a_directory", &["run", "adir"])
            .dir("adir")
            .failure()
            .has(&["adir", "directory"]),
        case("cli_script_is_a_directory_named_rhai", &["run", "d.rhai"])
            .dir("d.rhai")
            .failure()
            .has(&["d.rhai", "directory"]),
        case("cli_script_is_empty_name", &["run", ""]).has(&["script"]),
        case("cli_script_not_utf8", &["run", "x.rhai"])
            .raw_file("x.rhai", b"print(\"\xff\xfe\");\n")
            .failure()
            .has(&["x.rhai"]),
        case("cli_set_empty_key", &["run", "x.rhai", "--set", "=x"])
            .script("print(1);")
            .usage()
            .has(&["--set", "key"]),
        case(
            "cli_set_without_equals",
            &["run", "x.rhai", "--set", "novalue"],
        )
        .script("print(1);")
        .usage()
        .has(&["--set", "novalue", "key=value"]),
        case("cli_set_empty_value", &["run", "x.rhai", "--set", "a="])
            .script("print(param(\"a\"));")
            .usage()
            .has(&["--set a", "empty"]),
        case(
            "cli_set_same_key_twice",
            &["run", "x.rhai", "--set", "a=1", "--set", "a=2"],
        )
        .script("print(param(\"a\"));")
        .usage()
        .has(&["--set a", "twice"]),
        case(
            "cli_set_malformed_array",
            &["run", "x.rhai", "--set", "a=[1,"],
        )
        .script("print(param(\"a\"));")
        .usage()
        .has(&["--set a", "malformed"]),
        case(
            "cli_set_unclosed_string",
            &["run", "x.rhai", "--set", "a=\"x"],
        )
        .script("print(param(\"a\"));")
        .usage()
        .has(&["--set a"]),
        case(
            "cli_set_key_not_a_name",
            &["run", "x.rhai", "--set", "a b=1"],
        )
        .script("print(1);")
        .usage()
        .has(&["--set", "a b"]),
        case("cli_target_bogus", &["run", "x.rhai", "--target", "bogus"])
            .script("print(1);")
            .usage()
            .has(&["--target", "bogus"]),
        case("cli_dns_bogus", &["run", "x.rhai", "--dns", "bogus"])
            .script("print(1);")
            .usage()
            .has(&["--dns", "bogus"]),
        case(
            "cli_transport_bogus",
            &["run", "x.rhai", "--transport", "bogus"],
        )
        .script("print(1);")
        .usage()
        .has(&["--transport", "bogus"]),
        case(
            "cli_dns_server_not_an_address",
            &["run", "x.rhai", "--dns-server", "notanaddr"],
        )
        .script("print(1);")
        .usage()
        .has(&["--dns-server", "notanaddr"]),
        case(
            "cli_dns_server_without_port",
            &["run", "x.rhai", "--dns-server", "127.0.0.1"],
        )
        .script("print(1);")
        .usage()
        .has(&["--dns-server", "127.0.0.1"]),
        // In the lab with the lab's DNS the flag would do nothing: refused, not ignored.
        case(
            "cli_dns_server_with_lab_dns",
            &["run", "x.rhai", "--dns-server", "1.2.3.4:53"],
        )
        .script("print(1);")
        .has(&["--dns-server", "lab"]),
        case(
            "cli_dns_server_with_explicit_lab_dns",
            &[
                "run",
                "x.rhai",
                "--dns",
                "lab",
                "--dns-server",
                "1.2.3.4:53",
            ],
        )
        .script("print(1);")
        .has(&["--dns-server", "lab"]),
        // A cluster's name goes after the service label: one DNS label.
        case(
            "cli_cluster_name_with_a_dot",
            &["run", "cluster", "--set", "name=a.b"],
        )
        .has(&["name", "a.b", "one DNS label"]),
        // --resolver is where RFC 2136 finds a zone's primary: with any other DNS it
        // would do nothing, so it is refused.
        case(
            "cli_resolver_with_lab_dns",
            &["run", "x.rhai", "--resolver", "127.0.0.1:53"],
        )
        .script("print(1);")
        .has(&["--resolver 127.0.0.1:53 does nothing with --dns lab"]),
        case(
            "cli_max_operations_negative",
            &["run", "x.rhai", "--max-operations", "-1"],
        )
        .script("print(1);")
        .usage()
        .has(&["--max-operations", "-1"]),
        case(
            "cli_max_operations_word",
            &["run", "x.rhai", "--max-operations", "lots"],
        )
        .script("print(1);")
        .usage()
        .has(&["--max-operations", "lots"]),
        case("cli_state_dir_empty", &["run", "x.rhai", "--state-dir", ""])
            .script("dns_zone(\"t.test\");")
            .lab()
            .has(&["--state-dir"]),
        case(
            "cli_aws_with_lab_dns",
            &["run", "x.rhai", "--target", "aws", "--dns", "lab"],
        )
        .script("print(1);")
        .no_aws()
        .has(&["--dns", "lab"]),
        case(
            "cli_aws_with_exec_transport",
            &["run", "x.rhai", "--target", "aws", "--transport", "exec"],
        )
        .script("print(1);")
        .no_aws()
        .has(&["--transport", "exec"]),
        case("cli_health_without_discovery_srv", &["health"])
            .usage()
            .has(&["--discovery-srv"]),
        case(
            "cli_health_empty_discovery_srv",
            &["health", "--discovery-srv", ""],
        )
        .has(&["--discovery-srv", "empty"]),
        case(
            "cli_health_bad_discovery_srv",
            &["health", "--discovery-srv", "a..b"],
        )
        .has(&["--discovery-srv", "a..b"]),
        case(
            "cli_health_ca_missing",
            &[
                "health",
                "--discovery-srv",
                "example.test",
                "--ca",
                "/nonexistent",
            ],
        )
        .failure()
        .has(&["/nonexistent"]),
        case(
            "cli_health_cert_missing",
            &[
                "health",
                "--discovery-srv",
                "example.test",
                "--ca",
                "{dir}/garbage.pem",
                "--cert",
                "/nonexistent/c.crt",
                "--key",
                "{dir}/garbage.pem",
            ],
        )
        .file("garbage.pem", "not a certificate\n")
        .failure()
        .has(&["/nonexistent/c.crt"]),
        case(
            "cli_health_ca_not_a_certificate",
            &[
                "health",
                "--discovery-srv",
                "example.test",
                "--ca",
                "{dir}/garbage.pem",
            ],
        )
        .file("garbage.pem", "not a certificate\n")
        .failure()
        .has(&["garbage.pem"]),
        case(
            "cli_health_ca_is_a_directory",
            &[
                "health",
                "--discovery-srv",
                "example.test",
                "--ca",
                "{dir}/adir",
            ],
        )
        .dir("adir")
        .failure()
        .has(&["adir"]),
        case("cli_doctor_without_discovery_srv", &["doctor"])
            .usage()
            .has(&["--discovery-srv"]),
        case(
            "cli_doctor_bad_discovery_srv",
            &["doctor", "--discovery-srv", "a..b"],
        )
        .failure()
        .has(&["--discovery-srv", "a..b"]),
        case(
            "cli_doctor_unknown_etcd_version",
            &[
                "doctor",
                "--discovery-srv",
                "example.test",
                "--etcd-version",
                "2.3",
            ],
        )
        .usage()
        .has(&["--etcd-version", "2.3"]),
        case(
            "cli_doctor_peer_port_zero",
            &[
                "doctor",
                "--discovery-srv",
                "example.test",
                "--peer-port",
                "0",
            ],
        )
        .usage()
        .has(&["--peer-port", "0"]),
        case(
            "cli_doctor_service_name_with_a_dot",
            &[
                "doctor",
                "--discovery-srv",
                "example.test",
                "--discovery-srv-name",
                "a.b",
            ],
        )
        .failure()
        .has(&["--discovery-srv-name", "a.b"]),
        case(
            // Refused before any question: a lab address with no lab, beside a loopback
            // one this machine could ask.
            "cli_doctor_dns_server_on_a_lab_address_without_a_lab",
            &[
                "doctor",
                "--discovery-srv",
                "example.test",
                "--dns-server",
                "127.0.0.1:9",
                "--dns-server",
                "198.18.0.53:53",
            ],
        )
        .failure()
        .has(&["--dns-server 198.18.0.53:53 is a lab address, and there is no lab"]),
        case(
            "cli_doctor_certs_not_a_folder",
            &[
                "doctor",
                "--discovery-srv",
                "example.test",
                "--certs",
                "/nonexistent/pki",
            ],
        )
        .failure()
        .has(&["--certs", "/nonexistent/pki"]),
        case(
            "cli_doctor_without_a_lab",
            &["doctor", "--discovery-srv", "example.test"],
        )
        .failure()
        .has(&["no lab"]),
        case(
            "cli_lab_exec_unknown_host_without_lab",
            &["lab", "exec", "nohost", "--", "true"],
        )
        .failure()
        .has(&["nohost"]),
        case(
            "cli_lab_exec_unknown_host_in_a_lab",
            &["lab", "exec", "nohost", "--", "true"],
        )
        .lab()
        .file("up.rhai", "launch_instance(#{ name: \"n1\" });\n")
        .before(&["run", "up.rhai"])
        .after(&["destroy"])
        .failure()
        .has(&["nohost", "n1"]),
        case(
            "cli_lab_exec_command_not_found",
            &["lab", "exec", "n1", "--", "/nonexistent/cmd"],
        )
        .lab()
        .file("up.rhai", "launch_instance(#{ name: \"n1\" });\n")
        .before(&["run", "up.rhai"])
        .after(&["destroy"])
        .failure()
        .has(&["/nonexistent/cmd"]),
        case("cli_lab_exec_without_command", &["lab", "exec", "nohost"])
            .usage()
            .has(&["<COMMAND>"]),
        case(
            "cli_lab_exec_traversal_host",
            &["lab", "exec", "../n1", "--", "true"],
        )
        .failure()
        .has(&["../n1"]),
        case(
            "cli_destroy_tag_without_value",
            &["destroy", "--aws-cluster-tag"],
        )
        .usage()
        .has(&["--aws-cluster-tag"]),
        case(
            "cli_destroy_tag_empty",
            &["destroy", "--aws-cluster-tag", ""],
        )
        .no_aws()
        .has(&["--aws-cluster-tag"]),
        case(
            "cli_destroy_cluster_nowhere",
            &["destroy", "--cluster", "example.test"],
        )
        .usage()
        .has(&["--cluster", "--dns cloudflare", "--target aws"]),
        case(
            "cli_destroy_cluster_not_a_domain",
            &["destroy", "--cluster", "com", "--dns", "cloudflare"],
        )
        .usage()
        .has(&["--cluster", "com", "top-level"]),
        case(
            "cli_destroy_cluster_in_the_lab",
            &["destroy", "--cluster", "example.test", "--target", "lab"],
        )
        .usage()
        .has(&["--target lab", "state dir"]),
        case(
            "cli_destroy_cluster_on_rfc2136",
            &["destroy", "--cluster", "example.test", "--dns", "rfc2136"],
        )
        .usage()
        .has(&["--dns rfc2136", "marker"]),
        case(
            "cli_destroy_target_without_cluster",
            &["destroy", "--target", "aws"],
        )
        .usage()
        .has(&["--cluster"]),
        case(
            "cli_destroy_cluster_and_old_tag",
            &[
                "destroy",
                "--cluster",
                "example.test",
                "--aws-cluster-tag",
                "example.test",
            ],
        )
        .usage()
        .has(&["--cluster", "--aws-cluster-tag"]),
        case(
            "cli_destroy_cluster_without_cloudflare_credentials",
            &[
                "destroy",
                "--cluster",
                "example.test",
                "--dns",
                "cloudflare",
            ],
        )
        .failure()
        .has(&["example.test", "CLOUDFLARE_API_TOKEN"]),
        case("cli_completions_bogus", &["completions", "bogus"])
            .usage()
            .has(&["bogus"]),
        case("cli_completions_without_shell", &["completions"])
            .usage()
            .has(&["<SHELL>"]),
        case("cli_repl_unknown_flag", &["repl", "--bogus"])
            .usage()
            .has(&["--bogus"]),
        // `fns NAME` takes one name; a second is too many.
        case("cli_fns_extra_argument", &["fns", "param", "extra"])
            .usage()
            .has(&["extra"]),
        case("cli_fns_unknown_name", &["fns", "prarm"])
            .failure()
            .has(&["no function named \"prarm\"", "did you mean `param`?"]),
        case("cli_env_bad_domain", &["env", "--discovery-srv", "a..b"])
            .failure()
            .has(&["--discovery-srv \"a..b\" is not a valid domain"]),
        case(
            "cli_env_no_cluster",
            &["env", "--discovery-srv", "none.test"],
        )
        .failure()
        .has(&["no cluster of none.test in "]),
        case("cli_state_show_no_cluster", &["state", "show", "none.test"])
            .failure()
            .has(&["no cluster of none.test in "]),
        case("cli_destroy_yes_without_domain", &["destroy", "--yes"])
            .usage()
            .has(&["--discovery-srv"]),
        case(
            "cli_destroy_domain_and_cluster",
            &[
                "destroy",
                "--discovery-srv",
                "a.test",
                "--cluster",
                "a.test",
            ],
        )
        .usage()
        .has(&["--cluster"]),
        case("cli_scripts_unknown", &["scripts", "nope"])
            .failure()
            .has(&["no script file \"nope\" here, and no bundled script of that name"]),
        case("cli_man_unknown", &["man", "nope"])
            .failure()
            .has(&["rigger has no command \"nope\""]),
        case(
            "cli_ssh_key_missing",
            &[
                "run",
                "x.rhai",
                "--transport",
                "ssh",
                "--ssh-key",
                "{dir}/nokey",
            ],
        )
        .script("let n = launch_instance(#{ name: \"n1\" });\nrun(n, \"true\");\n")
        .lab()
        .usage()
        .has(&["nokey"]),
        case(
            "cli_rfc2136_without_server",
            &["run", "x.rhai", "--dns", "rfc2136"],
        )
        .script("dns_zone(\"t.test\");")
        .lab()
        .has(&["--dns-server"]),
        case(
            "cli_rfc2136_without_key",
            &[
                "run",
                "x.rhai",
                "--dns",
                "rfc2136",
                "--dns-server",
                "198.18.0.2:53",
            ],
        )
        .script("dns_zone(\"t.test\");")
        .lab()
        .has(&["RIGGER_TSIG_KEY"]),
        case(
            "cli_rfc2136_key_file_missing",
            &[
                "run",
                "x.rhai",
                "--dns",
                "rfc2136",
                "--dns-server",
                "198.18.0.2:53",
            ],
        )
        .script("dns_zone(\"t.test\");")
        .env("RIGGER_TSIG_KEY_FILE", "/nonexistent/tsig.key")
        .lab()
        .has(&["/nonexistent/tsig.key"]),
        case(
            "cli_rfc2136_key_garbage",
            &[
                "run",
                "x.rhai",
                "--dns",
                "rfc2136",
                "--dns-server",
                "198.18.0.2:53",
            ],
        )
        .script("dns_zone(\"t.test\");")
        .env("RIGGER_TSIG_KEY", "garbage")
        .lab()
        .has(&["RIGGER_TSIG_KEY"]),
    ]
}

fn state_dir_cases() -> Vec<Case> {
    vec![
        case(
            "state_dir_is_a_file",
            &["run", "cluster", "--state-dir", "{dir}/afile"],
        )
        .file("afile", "a file, not a dir\n")
        .lab()
        .failure()
        .has(&["afile", "directory"]),
        case(
            "state_dir_under_a_file",
            &["run", "cluster", "--state-dir", "{dir}/afile/sub"],
        )
        .file("afile", "a file, not a dir\n")
        .lab()
        .failure()
        .has(&["afile/sub"]),
        case("state_dir_env_is_a_file", &["run", "cluster"])
            .file("afile", "a file, not a dir\n")
            .env("RIGGER_STATE_DIR", "{dir}/afile")
            .lab()
            .failure()
            .has(&["afile", "directory"]),
        case(
            "state_dir_read_only_fs_below",
            &["run", "cluster", "--state-dir", "{dir}/ro/state"],
        )
        .ro_mount("ro")
        .lab()
        .failure()
        .has(&["ro/state"]),
        case(
            "state_dir_read_only_fs_itself",
            &["run", "cluster", "--state-dir", "{dir}/ro"],
        )
        .ro_mount("ro")
        .lab()
        .failure()
        .has(&["/ro"]),
        case(
            "state_dir_is_a_file_for_health",
            &[
                "health",
                "--discovery-srv",
                "example.test",
                "--state-dir",
                "{dir}/afile",
            ],
        )
        .file("afile", "a file, not a dir\n")
        .failure()
        .has(&["afile", "directory"]),
        case(
            "state_dir_is_a_file_for_destroy",
            &["destroy", "--state-dir", "{dir}/afile"],
        )
        .file("afile", "a file, not a dir\n")
        .failure()
        .has(&["afile", "directory"]),
        case(
            "state_dir_is_a_file_for_lab_exec",
            &[
                "lab",
                "exec",
                "n1",
                "--state-dir",
                "{dir}/afile",
                "--",
                "true",
            ],
        )
        .file("afile", "a file, not a dir\n")
        .failure()
        .has(&["afile", "directory"]),
        case("state_dir_corrupt_lab_json_run", &["run", "x.rhai"])
            .script("dns_zone(\"t.test\");")
            .file("state/lab/lab.json", "{ not json")
            .lab()
            .failure()
            .has(&["lab.json"]),
        case("state_dir_corrupt_lab_json_destroy", &["destroy"])
            .file("state/lab/lab.json", "{ not json")
            .lab()
            .failure()
            .has(&["lab.json"]),
        case("state_dir_corrupt_lab_json_status", &["lab", "status"])
            .file("state/lab/lab.json", "{ not json")
            .failure()
            .has(&["lab.json"]),
    ]
}

fn cluster_param_cases() -> Vec<Case> {
    let long_domain = format!("{}.test", vec!["a".repeat(60); 5].join("."));
    let long_label = format!("{}.test", "b".repeat(64));
    let near_limit = format!("{}.test", vec!["c".repeat(59); 4].join("."));
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let long_domain = leak(format!("domain={long_domain}"));
    let long_label = leak(format!("domain={long_label}"));
    let near_limit = leak(format!("domain={near_limit}"));
    let integer = "integer|whole number";
    let boolean = "bool|true or false";
    vec![
        cluster("size_word", &["size=three"], &["size", integer]),
        cluster("size_fraction", &["size=1.5"], &["size", integer]),
        cluster("size_bool", &["size=true"], &["size", integer]),
        cluster("size_quoted_number", &["size=\"3\""], &["size", integer]),
        cluster("size_array", &["size=[3]"], &["size", integer]),
        cluster("size_zero", &["size=0"], &["size", "at least 1"]),
        cluster("size_negative", &["size=-1"], &["size", "at least 1"]),
        // Refused at once with a bound, not after launching (or hanging on) thousands.
        cluster(
            "size_huge",
            &["size=100000"],
            &["size", "100000", "at most"],
        )
        .timeout(20),
        // A final dot is not bad input: it is dropped (plan::a_cluster_domain_is_normalised_before_it_is_used).
        cluster("domain_bare_tld", &["domain=com"], &["domain", "com"]),
        cluster(
            "domain_localhost",
            &["domain=localhost"],
            &["domain", "localhost"],
        ),
        cluster(
            "domain_array",
            &["domain=[\"a.test\"]"],
            &["domain", "string"],
        ),
        cluster("domain_number", &["domain=42"], &["domain", "string"]),
        cluster(
            "domain_empty_string",
            &["domain=\"\""],
            &["domain", "empty"],
        ),
        cluster(
            "domain_empty_value",
            &["domain="],
            &["--set domain", "empty"],
        )
        .usage(),
        cluster(
            "domain_leading_hyphen",
            &["domain=-bad.test"],
            &["domain", "-bad.test"],
        ),
        cluster(
            "domain_empty_label",
            &["domain=a..b.test"],
            &["domain", "a..b.test"],
        ),
        cluster("domain_too_long", &[long_domain], &["domain", "253"]),
        cluster("domain_label_too_long", &[long_label], &["domain", "63"]),
        // Itself short enough, but the SRV names under it would not be: up front.
        cluster("domain_too_long_for_srv", &[near_limit], &["domain"]),
        cluster(
            "domain_underscore",
            &["domain=under_score.test"],
            &["domain", "under_score"],
        ),
        cluster(
            "domain_space",
            &["domain=\"a b.test\""],
            &["domain", "a b.test"],
        ),
        cluster(
            "domain_ip_address",
            &["domain=192.0.2.1"],
            &["domain", "192.0.2.1"],
        ),
        cluster(
            "domain_traversal",
            &["domain=../etc"],
            &["domain", "../etc"],
        ),
        cluster(
            "domain_slash",
            &["domain=a/b.test"],
            &["domain", "a/b.test"],
        ),
        cluster("init_bogus", &["init=bogus"], &["init", "bogus", "process"]),
        cluster("init_number", &["init=42"], &["init", "string"]),
        // Lab hosts share this machine's /etc/systemd: the unit would be the machine's.
        cluster(
            "init_systemd_in_lab",
            &["init=systemd"],
            &[
                "init=systemd",
                "/etc/systemd",
                "init=process",
                "machines=booted",
            ],
        ),
        cluster(
            "machines_bogus",
            &["machines=vms"],
            &["--set machines", "vms", "\"namespaces\" or \"booted\""],
        ),
        cluster(
            "install_bogus",
            &["install=bogus"],
            &["install", "bogus", "none"],
        ),
        // install=download's release and folder go into a shell script: refused up front.
        cluster(
            "release_url_ftp",
            &["release_url=ftp://mirror.test/etcd"],
            &["--set release_url", "http:// or https://"],
        ),
        cluster(
            "release_url_no_host",
            &["release_url=http:///etcd"],
            &["--set release_url", "host"],
        ),
        cluster(
            "release_url_quote",
            &["release_url=\"http://mirror.test/a'b\""],
            &["--set release_url", "quotes"],
        ),
        cluster(
            "release_url_space",
            &["release_url=\"http://mirror.test/a b\""],
            &["--set release_url", "spaces"],
        ),
        cluster(
            "release_url_number",
            &["release_url=42"],
            &["release_url", "string"],
        ),
        cluster(
            "etcd_version_two_numbers",
            &["etcd_version=3.5"],
            &["etcd_version", "string"],
        ),
        cluster(
            "etcd_version_with_v",
            &["etcd_version=v3.5.1"],
            &["--set etcd_version", "three numbers"],
        ),
        cluster(
            "etcd_version_word",
            &["etcd_version=latest"],
            &["--set etcd_version", "three numbers"],
        ),
        cluster(
            "etcd_version_shell",
            &["etcd_version=\"3.5.1; reboot\""],
            &["--set etcd_version", "three numbers"],
        ),
        // Lab hosts share this machine's file system: /usr/local/bin would be its own.
        cluster(
            "install_dir_absolute_in_the_lab",
            &["install_dir=/usr/local/bin"],
            &["--set install_dir", "relative", "machines=booted"],
        ),
        cluster(
            "install_dir_climbs_out",
            &["install_dir=../../bin"],
            &["--set install_dir", ".."],
        ),
        cluster(
            "install_dir_space",
            &["install_dir=\"my bin\""],
            &["--set install_dir", "letters"],
        ),
        cluster("tls_word", &["tls=maybe"], &["tls", boolean]),
        cluster("tls_number", &["tls=1"], &["tls", boolean]),
        cluster("tls_quoted", &["tls=\"true\""], &["tls", boolean]),
        cluster("stagger_negative", &["stagger=-1"], &["stagger"]),
        cluster("stagger_too_long", &["stagger=100"], &["stagger"]).timeout(30),
        cluster("stagger_word", &["stagger=abc"], &["stagger", "number"]),
        cluster(
            "etcd_missing_binary",
            &["etcd=/nonexistent/etcd"],
            &["/nonexistent/etcd"],
        )
        .failure()
        .timeout(120),
        cluster(
            "etcd_upload_missing_binary",
            &["install=upload", "etcd=/nonexistent/etcd"],
            &["/nonexistent/etcd"],
        )
        .failure()
        .timeout(120),
        cluster("etcd_not_a_string", &["etcd=42"], &["etcd", "string"]),
        // etcd 3.4 cannot discover members over plain HTTP (etcd-io/etcd#11321).
        cluster(
            "tls_off_with_etcd_3_4",
            &["tls=false", "etcd_version=3.4.23"],
            &["tls"],
        )
        .failure()
        .timeout(120),
    ]
}

fn records_cases() -> Vec<Case> {
    vec![
        case("records_without_domain", &["run", "records"])
            .failure()
            .has(&["domain", "--set domain"]),
        records(
            "records_ips_bare_string",
            &["ips=192.0.2.5"],
            &["ips", "array|list"],
        ),
        records("records_ips_empty", &["ips=[]"], &["ips"]),
        records(
            "records_ips_not_an_ip",
            &["ips=[\"not-an-ip\"]"],
            &["ips", "not-an-ip"],
        ),
        records("records_ips_numbers", &["ips=[1, 2]"], &["ips"]),
        records("records_ips_map", &["ips=#{a: 1}"], &["ips", "array|list"]),
        records(
            "records_ips_malformed",
            &["ips=[\"192.0.2.5\""],
            &["--set ips", "malformed"],
        )
        .usage(),
        records(
            "records_domain_empty_label",
            &["domain=a..b"],
            &["domain", "a..b"],
        ),
        records(
            "records_domain_array",
            &["domain=[\"x.test\"]"],
            &["domain", "string"],
        ),
        records(
            "records_domain_traversal",
            &["domain=../x"],
            &["domain", "../x"],
        ),
        records("records_ttl_negative", &["ttl=-5"], &["ttl"]),
        records(
            "records_ttl_word",
            &["ttl=abc"],
            &["ttl", "integer|whole number"],
        ),
        records(
            "records_ttl_fraction",
            &["ttl=1.5"],
            &["ttl", "integer|whole number"],
        ),
        records(
            "records_tls_word",
            &["tls=maybe"],
            &["tls", "bool|true or false"],
        ),
    ]
}

fn script_error_cases() -> Vec<Case> {
    let deep = format!("let x = {}1{};\n", "(".repeat(200), ")".repeat(200));
    vec![
        script("script_syntax_error", "let = 5;\n", &["x.rhai:1"]),
        script("script_unclosed_brace", "fn f() {\n  1\n", &["x.rhai"]),
        script("script_unknown_function", "frobnicate(1);\n", &["frobnicate"]),
        script("script_wrong_arity", "uuid(1, 2);\n", &["uuid"]),
        script("script_thrown_string", "throw \"boom-string\";\n", &["boom-string"]),
        script(
            "script_thrown_map",
            "throw #{ message: \"boom-map\", help: \"try again\" };\n",
            &["boom-map", "try again"],
        ),
        script("script_thrown_map_without_message", "throw #{ code: 7 };\n", &["code", "7"]),
        script("script_thrown_number", "throw 42;\n", &["42"]),
        script("script_thrown_unit", "throw;\n", &["x.rhai:1"]),
        case("script_endless_loop", &["run", "x.rhai", "--max-operations", "1000"])
            .script("let i = 0;\nloop { i += 1; }\n")
            .failure()
            .has(&["1000", "operations"]),
        script("script_deep_recursion", "fn down(n) { down(n + 1) }\ndown(0);\n", &["64"]),
        script("script_expression_too_deep", &deep, &["x.rhai", "deep|depth|nest|complexity"]),
        script(
            "script_string_too_long",
            "let s = \"etcd\";\nloop { s += s; }\n",
            &["string", "size limit|too long|too large"],
        ),
        script(
            "script_array_too_large",
            "let a = [];\na.pad(100001, 0);\n",
            &["array", "limit"],
        )
        .timeout(20),
        script(
            "script_map_too_large",
            "let m = #{};\nfor i in 0..20000 { m[`k${i}`] = i; }\n",
            &["map", "limit"],
        )
        .timeout(30),
        script("script_import_missing", "import \"nonexistent\" as n;\n", &["nonexistent"]),
        script("script_import_not_a_string", "import 42 as n;\n", &["x.rhai:1"]),
        script("script_arithmetic_type_error", "let x = 1 - \"a\";\n", &["-", "string"]),
        script("script_index_out_of_bounds", "let a = [1];\nprint(a[5]);\n", &["5"]),
        script("script_divide_by_zero", "print(1 / 0);\n", &["zero"]),
        script("script_method_on_wrong_type", "let s = 5;\ns.push(1);\n", &["push"]),
        script("script_undefined_variable", "print(nowhere);\n", &["nowhere"]),
        script("script_param_not_a_string", "param(42);\n", &["param"]),
        script("script_param_missing", "param(\"needed\");\n", &["needed", "--set needed"]),
        script("script_planning_with_argument", "planning(1);\n", &["planning"]),
        script("script_target_with_argument", "target(1);\n", &["target"]),
        script("script_uuid_with_argument", "uuid(1);\n", &["uuid"]),
        script("script_sleep_negative", "sleep(-1);\n", &["sleep", "-1"]),
        script("script_sleep_string", "sleep(\"x\");\n", &["sleep"]),
        script("script_sleep_huge", "sleep(1e300);\n", &["sleep"]).timeout(10),
        script("script_sleep_nan", "sleep(0.0 / 0.0);\n", &["sleep"]).timeout(10),
        case("script_param_check_not_a_function", &["run", "x.rhai", "--set", "x=2"])
            .script("param(\"x\", 1, #{ check: 5 });\n")
            .failure()
            .has(&["check", "function"]),
        case("script_param_check_returns_a_number", &["run", "x.rhai", "--set", "x=2"])
            .script("param(\"x\", 1, #{ check: |v| v * 2 });\n")
            .failure()
            .has(&["check", "return () or a string", "4"]),
        script(
            "script_etcd_module_download_bad_url",
            "import \"etcd\" as etcd;\netcd::install(#{ name: \"n1\", dir: \"/nonexistent\" }, #{ install: \"download\", release_url: \"file:///etc\" });\n",
            &["release_url", "file:///etc", "http:// or https://"],
        )
        .lab(),
        script(
            "script_etcd_module_download_version_not_a_string",
            "import \"etcd\" as etcd;\netcd::install(#{ name: \"n1\", dir: \"/nonexistent\" }, #{ install: \"download\", etcd_version: 3.5 });\n",
            &["etcd_version", "3.5", "string"],
        )
        .lab(),
        script(
            "script_etcd_module_bad_install",
            "import \"etcd\" as etcd;\netcd::install(#{ name: \"n1\" }, #{ install: \"bogus\" });\n",
            &["bogus"],
        )
        .lab(),
    ]
}

fn primitive_cases() -> Vec<Case> {
    vec![
        // launch_instance
        lab_script(
            "launch_empty_name",
            "launch_instance(#{ name: \"\" });",
            &["name", "empty"],
        ),
        lab_script("launch_missing_name", "launch_instance(#{});", &["name"]),
        lab_script(
            "launch_unknown_key",
            "launch_instance(#{ name: \"a\", bogus: 1 });",
            &["bogus"],
        ),
        lab_script(
            "launch_not_a_map",
            "launch_instance(42);",
            &["launch_instance"],
        ),
        lab_script(
            "launch_name_not_a_string",
            "launch_instance(#{ name: 42 });",
            &["spec.name|`name`|\"name\"|name must", "string"],
        ),
        lab_script(
            "launch_name_not_a_label",
            "launch_instance(#{ name: \"Bad_Name\" });",
            &["Bad_Name"],
        ),
        lab_script(
            "launch_name_too_long",
            &format!("launch_instance(#{{ name: \"{}\" }});", "n".repeat(64)),
            &["name", "63"],
        ),
        node_script(
            "launch_same_name_twice",
            "launch_instance(#{ name: \"n1\" });",
            &["n1", "already"],
        ),
        lab_script(
            "launch_tags_not_a_map",
            "launch_instance(#{ name: \"a\", tags: 42 });",
            &["tags"],
        ),
        lab_script(
            "launch_volume_size_word",
            "launch_instance(#{ name: \"a\", root_volume_size: \"big\" });",
            &["root_volume_size"],
        ),
        // terminate_instance
        node_script(
            "terminate_unknown_node",
            "let g = n;\ng.name = \"ghost\";\ng.id = n.id + \"9\";\nterminate_instance(g);",
            &["ghost"],
        ),
        lab_script(
            "terminate_node_missing_keys",
            "terminate_instance(#{ name: \"ghost\" });",
            &["id|private_ip"],
        ),
        lab_script(
            "terminate_not_a_map",
            "terminate_instance(42);",
            &["terminate_instance"],
        ),
        node_script(
            "terminate_twice",
            "terminate_instance(n);\nterminate_instance(n);",
            &["n1"],
        ),
        // run
        node_script(
            "run_command_not_a_string",
            "run(n, 42);",
            &["run", "string"],
        ),
        lab_script(
            "run_node_not_a_map",
            "run(42, \"true\");",
            &["run", "node|map"],
        ),
        node_script(
            "run_unknown_node",
            "let g = n;\ng.name = \"ghost\";\ng.id = n.id + \"9\";\nrun(g, \"true\");",
            &["ghost"],
        ),
        lab_script(
            "run_node_missing_keys",
            "run(#{ name: \"ghost\" }, \"true\");",
            &["id|private_ip"],
        ),
        node_script(
            "run_failing_command",
            "run(n, \"exit 3\");",
            &["exit 3", "3"],
        ),
        node_script(
            "run_negative_timeout",
            "run(n, \"true\", #{ timeout: -1 });",
            &["timeout"],
        ),
        node_script(
            "run_unknown_option",
            "run(n, \"true\", #{ bogus: 1 });",
            &["bogus"],
        ),
        node_script(
            "run_timeout_word",
            "run(n, \"true\", #{ timeout: \"x\" });",
            &["timeout"],
        ),
        node_script(
            "run_times_out",
            "run(n, \"sleep 30\", #{ timeout: 0.3 });",
            &["sleep 30", "0.3|300ms"],
        ),
        // start_process
        node_script(
            "start_process_empty_name",
            "start_process(n, \"\", [\"sleep\", \"100\"]);",
            &["name", "empty"],
        ),
        node_script(
            "start_process_empty_argv",
            "start_process(n, \"p\", []);",
            &["start_process", "argv|command"],
        ),
        node_script(
            "start_process_argv_string",
            "start_process(n, \"p\", \"sleep 100\");",
            &["start_process"],
        ),
        node_script(
            "start_process_argv_numbers",
            "start_process(n, \"p\", [\"sleep\", 100]);",
            &["argv|argument", "string"],
        ),
        node_script(
            "start_process_missing_binary",
            "start_process(n, \"p\", [\"/nonexistent/bin\"]);",
            &["/nonexistent/bin"],
        ),
        node_script(
            "start_process_same_name_twice",
            "start_process(n, \"p\", [\"sleep\", \"100\"]);\nstart_process(n, \"p\", [\"sleep\", \"100\"]);",
            &["\"p\"|p.log", "already"],
        ),
        node_script(
            "start_process_unknown_node",
            "let g = n;\ng.name = \"ghost\";\ng.id = n.id + \"9\";\nstart_process(g, \"p\", [\"sleep\", \"100\"]);",
            &["ghost"],
        ),
        node_script(
            "upload_unknown_node",
            "let g = n;\ng.name = \"ghost\";\ng.id = n.id + \"9\";\nupload(g, g.dir + \"/f\", \"hi\", 0o644);",
            &["ghost"],
        ),
        // upload / upload_file
        node_script(
            "upload_mode_negative",
            "upload(n, n.dir + \"/f\", \"hi\", -1);",
            &["mode"],
        ),
        node_script(
            "upload_mode_too_large",
            "upload(n, n.dir + \"/f\", \"hi\", 0o7777777);",
            &["mode"],
        ),
        node_script(
            "upload_text_not_a_string",
            "upload(n, n.dir + \"/f\", 42, 0o644);",
            &["upload"],
        ),
        node_script(
            "upload_empty_path",
            "upload(n, \"\", \"hi\", 0o644);",
            &["path", "empty"],
        ),
        node_script(
            "upload_to_a_directory",
            "upload(n, n.dir, \"hi\", 0o644);",
            &["upload", "directory"],
        ),
        node_script(
            "upload_file_missing_local",
            "upload_file(n, \"/nonexistent/local\", n.dir + \"/f\", 0o644);",
            &["/nonexistent/local"],
        ),
        node_script(
            "upload_file_local_is_a_directory",
            "upload_file(n, \"{dir}/adir\", n.dir + \"/f\", 0o644);",
            &["adir", "directory"],
        )
        .dir("adir"),
        node_script(
            "upload_file_mode_negative",
            "upload_file(n, \"{dir}/x.rhai\", n.dir + \"/f\", -1);",
            &["mode"],
        ),
        // dns_zone / dns_records
        lab_script("dns_zone_empty", "dns_zone(\"\");", &["dns_zone", "empty"]),
        lab_script("dns_zone_empty_label", "dns_zone(\"a..b\");", &["a..b"]),
        lab_script("dns_zone_not_a_string", "dns_zone(42);", &["dns_zone"]),
        lab_script(
            "dns_zone_too_long",
            &format!("dns_zone(\"{}.test\");", vec!["z".repeat(60); 5].join(".")),
            &["253"],
        ),
        lab_script("dns_zone_bare_tld", "dns_zone(\"com\");", &["com"]),
        lab_script(
            "dns_records_not_a_string",
            "dns_records(42);",
            &["dns_records"],
        ),
        lab_script(
            "dns_records_empty_label",
            "dns_records(\"a..b.test\");",
            &["a..b.test"],
        ),
        // dns_record
        zone_script(
            "dns_record_a_not_an_ip",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"not-an-ip\" });",
            &["not-an-ip"],
        ),
        zone_script(
            "dns_record_aaaa_with_v4",
            "dns_record(#{ type: \"AAAA\", name: \"x.t.test\", content: \"198.18.0.9\" });",
            &["198.18.0.9", "AAAA|IPv6"],
        ),
        zone_script(
            "dns_record_bogus_type",
            "dns_record(#{ type: \"BOGUS\", name: \"x.t.test\", content: \"198.18.0.9\" });",
            &["BOGUS"],
        ),
        zone_script(
            "dns_record_missing_name",
            "dns_record(#{ type: \"A\", content: \"198.18.0.9\" });",
            &["name"],
        ),
        zone_script(
            "dns_record_missing_type",
            "dns_record(#{ name: \"x.t.test\", content: \"198.18.0.9\" });",
            &["type"],
        ),
        zone_script(
            "dns_record_missing_content",
            "dns_record(#{ type: \"A\", name: \"x.t.test\" });",
            &["content"],
        ),
        zone_script(
            "dns_record_data_is_not_a_key",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", data: \"198.18.0.9\" });",
            &["data"],
        ),
        zone_script(
            "dns_record_unknown_key",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", bogus: 1 });",
            &["bogus"],
        ),
        zone_script(
            "dns_record_zone_not_holding_the_name",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", zone: \"other.test\" });",
            &["x.t.test is not in the zone other.test"],
        ),
        zone_script(
            "dns_record_zone_not_a_string",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", zone: 5 });",
            &[
                "record.zone",
                "integer `5`, expected a string (a zone name) or ()",
            ],
        ),
        zone_script(
            "dns_record_zone_the_lab_lacks",
            "dns_record([#{ type: \"A\", name: \"x.sub.t.test\", content: \"198.18.0.9\", zone: \"sub.t.test\" }]);",
            &["the lab has no DNS zone sub.t.test"],
        ),
        zone_script(
            "dns_record_zone_not_the_one_the_lab_uses",
            "dns_zone(\"sub.t.test\"); dns_record(#{ type: \"A\", name: \"x.sub.t.test\", content: \"198.18.0.9\", zone: \"t.test\" });",
            &["x.sub.t.test is in the lab's zone sub.t.test, not in t.test"],
        ),
        zone_script(
            "dns_record_ttl_negative",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", ttl: -1 });",
            &["ttl"],
        ),
        zone_script(
            "dns_record_ttl_word",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", ttl: \"abc\" });",
            &["ttl"],
        ),
        zone_script(
            "dns_record_srv_port_out_of_range",
            "dns_record(#{ type: \"SRV\", name: \"_etcd-server-ssl._tcp.t.test\", priority: 0, weight: 0, port: 70000, target: \"x.t.test\" });",
            &["port", "70000"],
        ),
        zone_script(
            "dns_record_srv_missing_target",
            "dns_record(#{ type: \"SRV\", name: \"_etcd-server-ssl._tcp.t.test\", priority: 0, weight: 0, port: 2380 });",
            &["target"],
        ),
        zone_script(
            "dns_record_srv_owner_not_service",
            "dns_record(#{ type: \"SRV\", name: \"x.t.test\", priority: 0, weight: 0, port: 2380, target: \"y.t.test\" });",
            &["x.t.test", "_service|_proto"],
        ),
        zone_script(
            "dns_record_cluster_not_a_string",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", cluster: 42 });",
            &["cluster", "string"],
        ),
        zone_script(
            "dns_record_cluster_not_a_domain",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", cluster: \"t test\" });",
            &["cluster", "t test"],
        ),
        zone_script(
            "dns_record_cluster_bare_tld",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\", cluster: \"test\" });",
            &["cluster", "top-level"],
        ),
        zone_script(
            "dns_record_name_of_a_marker",
            "dns_record(#{ type: \"TXT\", name: \"_rigger-a-0123456789ab.x.t.test\", content: \"mine\" });",
            &["_rigger-", "marker"],
        ),
        zone_script(
            "dns_record_not_a_map",
            "dns_record(\"x.t.test\");",
            &["dns_record"],
        ),
        zone_script(
            "dns_record_outside_any_zone",
            "dns_record(#{ type: \"A\", name: \"x.other.test\", content: \"198.18.0.9\" });",
            &["x.other.test", "zone"],
        ),
        zone_script(
            "dns_record_cname_over_a",
            "dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\" });\ndns_record(#{ type: \"CNAME\", name: \"x.t.test\", content: \"y.t.test\" });",
            &[
                "CNAME",
                "x.t.test",
                "already|exists|beside|alongside|other record",
            ],
        ),
        zone_script(
            "dns_record_a_over_cname",
            "dns_record(#{ type: \"CNAME\", name: \"x.t.test\", content: \"y.t.test\" });\ndns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\" });",
            &[
                "CNAME",
                "x.t.test",
                "already|exists|beside|alongside|other record",
            ],
        ),
        zone_script(
            "dns_record_cname_at_apex",
            "dns_record(#{ type: \"CNAME\", name: \"t.test\", content: \"y.other.test\" });",
            &["CNAME", "t.test", "apex|zone's own name|SOA"],
        ),
        // delete_dns_record
        zone_script(
            "delete_dns_record_empty_map",
            "delete_dns_record(#{});",
            &["delete_dns_record", "id"],
        ),
        zone_script(
            "delete_dns_record_missing_keys",
            "delete_dns_record(#{ id: \"bogus\", zone: \"t.test\", name: \"x.t.test\", type: \"A\" });",
            &["content|ttl"],
        ),
        zone_script(
            "delete_dns_record_unknown",
            "let r = dns_record(#{ type: \"A\", name: \"x.t.test\", content: \"198.18.0.9\" });\ndelete_dns_record(r);\ndelete_dns_record(r);",
            &["x.t.test"],
        ),
        zone_script(
            "delete_dns_record_not_a_map",
            "delete_dns_record(\"x\");",
            &["delete_dns_record"],
        ),
        // wait_resolves
        zone_script(
            "wait_resolves_negative_timeout",
            "wait_resolves(\"x.t.test\", \"198.18.0.9\", #{ timeout: -1 });",
            &["timeout"],
        ),
        zone_script(
            "wait_resolves_expected_number",
            "wait_resolves(\"x.t.test\", 42, #{ timeout: 1 });",
            &["expected|42"],
        ),
        zone_script(
            "wait_resolves_expected_not_an_ip",
            "wait_resolves(\"x.t.test\", \"not-an-ip\", #{ timeout: 1 });",
            &["not-an-ip"],
        ),
        zone_script(
            "wait_resolves_bad_name",
            "wait_resolves(\"a..b.t.test\", \"198.18.0.9\", #{ timeout: 1 });",
            &["a..b.t.test"],
        ),
        zone_script(
            "wait_resolves_unknown_option",
            "wait_resolves(\"x.t.test\", \"198.18.0.9\", #{ bogus: 1, timeout: 1 });",
            &["bogus"],
        ),
        zone_script(
            "wait_resolves_bad_server",
            "wait_resolves(\"x.t.test\", \"198.18.0.9\", #{ servers: [\"notanaddr\"], timeout: 1 });",
            &["notanaddr"],
        ),
        zone_script(
            "wait_resolves_negative_interval",
            "wait_resolves(\"x.t.test\", \"198.18.0.9\", #{ interval: -1, timeout: 1 });",
            &["interval"],
        ),
        zone_script(
            "wait_resolves_srv_bad_target",
            "wait_resolves(\"_etcd-server-ssl._tcp.t.test\", [#{ target: \"x.t.test\" }], #{ timeout: 1 });",
            &["port"],
        ),
        // wait_tcp
        script(
            "wait_tcp_port_out_of_range",
            "wait_tcp(\"127.0.0.1:99999\");",
            &["99999"],
        ),
        script(
            "wait_tcp_without_port",
            "wait_tcp(\"127.0.0.1\", #{ timeout: 1 });",
            &["127.0.0.1", "port"],
        ),
        script(
            "wait_tcp_port_zero",
            "wait_tcp(\"127.0.0.1:0\", #{ timeout: 1 });",
            &["port", "0"],
        ),
        script("wait_tcp_not_a_string", "wait_tcp(42);", &["wait_tcp"]),
        script(
            "wait_tcp_negative_timeout",
            "wait_tcp(\"127.0.0.1:1\", #{ timeout: -1 });",
            &["timeout"],
        ),
        script(
            "wait_tcp_unknown_option",
            "wait_tcp(\"127.0.0.1:1\", #{ bogus: 1, timeout: 1 });",
            &["bogus"],
        ),
        script(
            "wait_tcp_timeout_word",
            "wait_tcp(\"127.0.0.1:1\", #{ timeout: \"x\" });",
            &["timeout"],
        ),
        // parallel / bootstrap_parallel
        script(
            "parallel_f_not_a_function",
            "parallel([1, 2], 3);",
            &["parallel"],
        ),
        script(
            "parallel_items_not_an_array",
            "parallel(5, |x| x);",
            &["parallel"],
        ),
        script(
            "parallel_item_fails",
            "parallel([1, 2], |x| { if x == 2 { throw \"item-two-failed\"; } x });",
            &["item-two-failed"],
        ),
        script(
            "bootstrap_parallel_not_an_array",
            "bootstrap_parallel(42, |n| n);",
            &["bootstrap_parallel"],
        ),
        lab_script(
            "bootstrap_parallel_not_nodes",
            "bootstrap_parallel([1, 2], |n| n);",
            &["bootstrap_parallel", "node"],
        ),
        node_script(
            "bootstrap_parallel_negative_stagger",
            "bootstrap_parallel([n], #{ stagger: -1 }, |x| x);",
            &["stagger"],
        ),
        node_script(
            "bootstrap_parallel_unknown_option",
            "bootstrap_parallel([n], #{ bogus: 1 }, |x| x);",
            &["bogus"],
        ),
        node_script(
            "bootstrap_parallel_member_fails",
            "bootstrap_parallel([n], |x| { throw \"member-failed\"; });",
            &["n1", "member-failed"],
        ),
        node_script(
            "bootstrap_parallel_f_not_a_function",
            "bootstrap_parallel([n], \"notafn\");",
            &["bootstrap_parallel"],
        ),
        // pki_ca / pki_cert
        lab_script("pki_ca_empty", "pki_ca(\"\");", &["pki_ca", "empty"]),
        lab_script("pki_ca_not_a_string", "pki_ca(42);", &["pki_ca"]),
        lab_script(
            "pki_cert_missing_name",
            "let ca = pki_ca(\"t.test\");\npki_cert(ca, #{});",
            &["name"],
        ),
        lab_script(
            "pki_cert_bad_ip",
            "let ca = pki_ca(\"t.test\");\npki_cert(ca, #{ name: \"s\", ips: [\"not-an-ip\"] });",
            &["not-an-ip"],
        ),
        lab_script(
            "pki_cert_dns_not_an_array",
            "let ca = pki_ca(\"t.test\");\npki_cert(ca, #{ name: \"s\", dns: 42 });",
            &["dns"],
        ),
        lab_script(
            "pki_cert_unknown_key",
            "let ca = pki_ca(\"t.test\");\npki_cert(ca, #{ name: \"s\", bogus: 1 });",
            &["bogus"],
        ),
        lab_script(
            "pki_cert_bad_ca",
            "pki_cert(#{}, #{ name: \"s\" });",
            &["pki_cert", "ca"],
        ),
        lab_script(
            "pki_cert_ca_missing_files",
            "pki_cert(#{ name: \"t.test\", dir: \"{dir}/nope\", cert: \"{dir}/nope/ca.crt\", key: \"{dir}/nope/ca.key\" }, #{ name: \"s\" });",
            &["nope"],
        ),
        // discovery_check: every option checked before anything is asked.
        lab_script(
            "discovery_check_bad_domain",
            "discovery_check(\"a..b\");",
            &["discovery_check", "a..b"],
        ),
        lab_script(
            "discovery_check_unknown_option",
            "discovery_check(\"t.test\", #{ bogus: 1 });",
            &["discovery_check", "bogus"],
        ),
        lab_script(
            "discovery_check_unknown_etcd_version",
            "discovery_check(\"t.test\", #{ etcd_version: \"2.0\" });",
            &["discovery_check", "etcd_version", "2.0"],
        ),
        lab_script(
            "discovery_check_peer_port_out_of_range",
            "discovery_check(\"t.test\", #{ peer_port: 70000 });",
            &["discovery_check", "peer_port", "70000"],
        ),
        lab_script(
            "discovery_check_tls_not_a_bool",
            "discovery_check(\"t.test\", #{ tls: \"yes\" });",
            &["discovery_check", "tls"],
        ),
        lab_script(
            "discovery_check_server_not_an_address",
            "discovery_check(\"t.test\", #{ servers: [\"nope\"] });",
            &["discovery_check", "nope"],
        ),
        lab_script(
            "discovery_check_peer_not_a_name",
            "discovery_check(\"t.test\", #{ peers: [\"bad_name:2380\"] });",
            &["discovery_check", "bad_name"],
        ),
        lab_script(
            "discovery_check_certs_not_a_folder",
            "discovery_check(\"t.test\", #{ certs: \"/nonexistent/pki\" });",
            &["discovery_check", "certs", "/nonexistent/pki"],
        ),
        lab_script(
            "discovery_check_service_name_with_a_dot",
            "discovery_check(\"t.test\", #{ service_name: \"a.b\" });",
            &["discovery_check", "service_name", "a.b"],
        ),
        // etcd_health
        lab_script(
            // `#{}` asks over plain HTTP; half a set of TLS files is the mistake.
            "etcd_health_partial_tls",
            "etcd_health(\"t.test\", #{ ca: \"/tmp/ca.crt\" });",
            &["etcd_health", "tls.cert"],
        ),
        lab_script(
            "etcd_health_tls_not_a_map",
            "etcd_health(\"t.test\", 42);",
            &["etcd_health"],
        ),
        lab_script(
            "etcd_health_missing_files",
            "etcd_health(\"t.test\", #{ ca: \"/nonexistent/ca.crt\", cert: \"/nonexistent/c.crt\", key: \"/nonexistent/c.key\" });",
            &["/nonexistent/ca.crt"],
        ),
        lab_script(
            "etcd_health_empty_domain",
            "etcd_health(\"\", #{ ca: \"a\", cert: \"b\", key: \"c\" });",
            &["etcd_health", "empty"],
        ),
        lab_script(
            "etcd_health_unknown_key",
            "let ca = pki_ca(\"t.test\");\nlet c = pki_cert(ca, #{ name: \"client\" });\netcd_health(\"t.test\", #{ ca: ca.cert, cert: c.cert, key: c.key, bogus: 1 });",
            &["bogus"],
        ),
        lab_script(
            "etcd_health_negative_wait",
            "etcd_health(\"t.test\", #{}, #{ wait: -1 });",
            &["etcd_health", "wait"],
        ),
        lab_script(
            "etcd_health_unknown_option",
            "etcd_health(\"t.test\", #{}, #{ wiat: 5 });",
            &["etcd_health", "wiat"],
        ),
    ]
}

/// Names with `..` or `/` in them, and absolute paths: refused, and nothing written
/// outside where it belongs (an absolute path points into the case's folder, so a file
/// that lands there is a file left).
fn traversal_cases() -> Vec<Case> {
    vec![
        lab_script(
            "traversal_launch_name",
            "launch_instance(#{ name: \"../x\" });",
            &["../x"],
        ),
        lab_script(
            "traversal_launch_name_deep",
            "launch_instance(#{ name: \"../../../../x\" });",
            &["../../../../x"],
        ),
        lab_script(
            "traversal_launch_name_slash",
            "launch_instance(#{ name: \"a/b\" });",
            &["a/b"],
        ),
        lab_script(
            "traversal_launch_name_dot",
            "launch_instance(#{ name: \"..\" });",
            &["\"..\""],
        ),
        node_script(
            "traversal_process_name",
            "start_process(n, \"../evil\", [\"sleep\", \"100\"]);",
            &["../evil"],
        ),
        node_script(
            "traversal_process_name_deep",
            "start_process(n, \"../../../../evil\", [\"sleep\", \"100\"]);",
            &["../../../../evil"],
        ),
        node_script(
            "traversal_process_absolute",
            "start_process(n, \"{dir}/evil\", [\"sleep\", \"100\"]);",
            &["evil"],
        ),
        node_script(
            "traversal_upload_relative",
            "upload(n, \"../../x\", \"hi\", 0o644);",
            &["../../x"],
        ),
        node_script(
            "traversal_upload_absolute",
            "upload(n, \"{dir}/evil\", \"hi\", 0o644);",
            &["{dir}/evil"],
        ),
        node_script(
            "traversal_upload_dotdot_inside",
            "upload(n, n.dir + \"/../../../../evil\", \"hi\", 0o644);",
            &["evil"],
        ),
        node_script(
            "traversal_upload_file_relative",
            "upload_file(n, \"{dir}/x.rhai\", \"../../x\", 0o644);",
            &["../../x"],
        ),
        node_script(
            "traversal_upload_file_absolute",
            "upload_file(n, \"{dir}/x.rhai\", \"{dir}/evil\", 0o644);",
            &["{dir}/evil"],
        ),
        lab_script("traversal_zone_name", "dns_zone(\"../etc\");", &["../etc"]),
        lab_script(
            "traversal_zone_slash",
            "dns_zone(\"a/b.test\");",
            &["a/b.test"],
        ),
        zone_script(
            "traversal_record_name",
            "dns_record(#{ type: \"A\", name: \"../x.t.test\", content: \"198.18.0.9\" });",
            &["../x.t.test"],
        ),
        lab_script("traversal_pki_ca", "pki_ca(\"../x\");", &["../x"]),
        lab_script(
            "traversal_pki_ca_absolute",
            "pki_ca(\"{dir}/evil\");",
            &["evil"],
        ),
        lab_script(
            "traversal_pki_cert_name",
            "let ca = pki_ca(\"t.test\");\npki_cert(ca, #{ name: \"../evil\" });",
            &["../evil"],
        ),
        lab_script(
            "traversal_pki_cert_absolute",
            "let ca = pki_ca(\"t.test\");\npki_cert(ca, #{ name: \"{dir}/evil\" });",
            &["evil"],
        ),
    ]
}

// ---------------------------------------------------------------------------------
// The tests.

fn all_cases() -> Vec<Case> {
    [
        command_line_cases(),
        state_dir_cases(),
        cluster_param_cases(),
        records_cases(),
        script_error_cases(),
        primitive_cases(),
        traversal_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn the_table_has_130_cases_or_more_each_named_once() {
    let cases = all_cases();
    let mut names = BTreeSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "two cases named {}", case.name);
        assert!(!case.has.is_empty(), "{} names no culprit", case.name);
    }
    assert!(cases.len() >= 130, "only {} cases", cases.len());
}

#[test]
fn command_line() {
    run_group(command_line_cases());
}

#[test]
fn state_dir() {
    run_group(state_dir_cases());
}

#[test]
fn cluster_params() {
    run_group(cluster_param_cases());
}

#[test]
fn records_params() {
    run_group(records_cases());
}

#[test]
fn script_errors() {
    run_group(script_error_cases());
}

#[test]
fn primitives() {
    run_group(primitive_cases());
}

#[test]
fn traversal() {
    run_group(traversal_cases());
}

// ---------------------------------------------------------------------------------
// What must work: the inputs that look odd but are fine, and a lab that a refused
// change must not have broken.

#[test]
fn a_relative_state_dir_works_and_destroy_finds_it() {
    let Some(mut folder) = Folder::lab() else {
        return;
    };
    folder.must_succeed(&["run", "cluster", "--state-dir", "rel"]);
    assert!(
        folder.path("rel/lab/lab.json").exists(),
        "the lab is not under the relative state dir"
    );
    folder.must_succeed(&["destroy", "--state-dir", "rel"]);
    assert!(folder.saw_a_lab(), "no lab namespace was logged");
    folder.leaves_nothing();
}

#[test]
fn a_refused_cname_leaves_the_lab_s_dns_working() {
    let Some(mut folder) = Folder::lab() else {
        return;
    };
    // The same run goes on after the refusal (caught), in the same zone and another.
    folder.script(
        "x.rhai",
        r#"
dns_zone("t.test");
dns_record(#{ type: "A", name: "x.t.test", content: "198.18.0.9" });
let refused = false;
try {
    dns_record(#{ type: "CNAME", name: "x.t.test", content: "y.t.test" });
} catch (e) {
    refused = true;
}
if !refused { throw "a CNAME next to an A record was accepted"; }
dns_record(#{ type: "A", name: "z.t.test", content: "198.18.0.10" });
wait_resolves("z.t.test", "198.18.0.10", #{ timeout: 10 });
dns_zone("u.test");
dns_record(#{ type: "A", name: "y.u.test", content: "198.18.0.11" });
wait_resolves("y.u.test", "198.18.0.11", #{ timeout: 10 });
"#,
    );
    // A later run in the same state dir: a new zone and a record in it.
    folder.script(
        "y.rhai",
        r#"
dns_zone("v.test");
dns_record(#{ type: "A", name: "w.v.test", content: "198.18.0.12" });
wait_resolves("w.v.test", "198.18.0.12", #{ timeout: 10 });
"#,
    );
    folder.must_succeed(&["run", "x.rhai"]);
    folder.must_succeed(&["run", "y.rhai"]);
    folder.must_succeed(&["destroy"]);
    folder.leaves_nothing();
}

#[test]
fn a_refused_cname_fails_the_run_and_a_later_run_still_works() {
    let Some(mut folder) = Folder::lab() else {
        return;
    };
    folder.script(
        "x.rhai",
        r#"
dns_zone("t.test");
dns_record(#{ type: "A", name: "x.t.test", content: "198.18.0.9" });
dns_record(#{ type: "CNAME", name: "x.t.test", content: "y.t.test" });
"#,
    );
    folder.script(
        "y.rhai",
        r#"
dns_zone("t.test");
dns_record(#{ type: "A", name: "x.t.test", content: "198.18.0.9" });
wait_resolves("x.t.test", "198.18.0.9", #{ timeout: 10 });
"#,
    );
    let refused = folder.run(&["run", "x.rhai"]);
    assert_eq!(
        refused.code,
        Some(1),
        "the CNAME was not refused:\n{}",
        refused.stderr
    );
    folder.must_succeed(&["run", "y.rhai"]);
    folder.must_succeed(&["destroy"]);
    folder.leaves_nothing();
}

#[test]
fn a_set_key_nobody_asks_for_is_refused_before_anything_runs() {
    let mut folder = Folder::new();
    let set = ["--set", "domain=example.test", "--set", "bogus=1"];
    let out = folder.run(&[&["run", "records"][..], &set].concat());
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--set bogus: scripts/records.rhai has no parameter \"bogus\""),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "the script ran: {}", out.stdout);
    folder.leaves_nothing();
}
