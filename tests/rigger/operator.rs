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
  help: its parameters: domain, size, tls, name, etcd, machines, install, etcd_version, release_url, install_dir, init, compaction, quota, ca_days, cert_days, stagger, labels, ami, instance_type, key_name, subnet_id, security_group_ids, root_volume_size, data_volume_size, public_ip (`rigger scripts cluster` shows each with its default)
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
        .script(
            "t.rhai",
            "import \"lib/net\" as net;\nfor k in [\"a\", \"b\"] { print(param(k, 0)); }\nprint(net::port());\n",
        )
        .args(&["--set", "b=2", "--set", "port=1"])
        .run()
        .success()
        .stdout_is("0\n2\n1\n");
    Rig::new()
        .script(
            "t.rhai",
            "print(\"ran\");\nlet x = param(\"region\", \"\");\n",
        )
        .args(&["--set", "zone=a"])
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
        .script("t.rhai", "let k = \"si\" + \"ze\";\nprint(param(k, 3));\n")
        .args(&["--set", "sise=5"])
        .run()
        .success()
        .stdout_is("3\n")
        .stderr_has(r#"  WARN --set sise was given, but the script never asked for param("sise")"#);
}

#[test]
fn scripts_lists_the_bundled_scripts_and_a_scripts_parameters_from_its_source() {
    Rig::new()
        .args(&["scripts"])
        .run()
        .success()
        .stdout_has("cluster         The seed article's procedure: a three-node etcd cluster")
        .stdout_has("records         The DNS records etcd's DNS discovery needs")
        .stdout_has("\nExamples, topologies to start your own from:\nthree-zones     An example topology: three members, one in each of three subnets");
    let out = Rig::new().args(&["scripts", "cluster"]).run();
    out.success()
        .stdout_has("Parameters (rigger run cluster --set KEY=VALUE):\n")
        .stdout_has("  size  (default 3; 1 to 25)\n      How many members.\n")
        .stdout_has(
            "  install  (default etcd::default_install(machines_are); one of \"none\", \"upload\", \"download\")\n",
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

/// `rigger run SCRIPT --help` (or `-h`) is the command's help, then what the script
/// does and its parameters, each with its default and doc, as `rigger scripts SCRIPT`
/// reads them; for a bundled name and a path alike. Without a script it is the help.
#[test]
fn run_help_for_a_script_lists_its_parameters_with_defaults_and_docs() {
    let listed = Rig::new().args(&["scripts", "cluster"]).run();
    let params = listed.success().stdout.split_once("\n\n").unwrap().1;
    assert!(params.starts_with("Parameters (rigger run cluster --set KEY=VALUE):\n"));
    Rig::new()
        .args(&["run", "cluster", "--help"])
        .run()
        .success()
        .stdout_has("Usage: rigger run [OPTIONS] <SCRIPT>")
        .stdout_has("Script cluster (scripts/cluster.rhai): The seed article's procedure")
        .stdout_has(params)
        .stdout_has("  domain  (default \"example.test\")\n      The discovery domain: the members' SRV records go under it.\n")
        .stdout_has("Examples:\n  rigger run cluster --set size=5");
    let rig = Rig::new().file(
        "greet.rhai",
        "// Says hello.\n\n// Whom to greet.\nlet who = param(\"who\", \"world\");\nlet times = param(\"times\", 1, #{ min: 1, max: 3 });\n",
    );
    rig.again(&["-v", "run", "--target", "lab", "greet.rhai", "-h"])
        .success()
        .stdout_has("Script greet.rhai (greet.rhai): Says hello.\n")
        .stdout_has(
            "  who  (default \"world\")\n      Whom to greet.\n  times  (default 1; 1 to 3)\n",
        );
    rig.again(&["run", "--help"])
        .success()
        .stdout_has("Usage: rigger run [OPTIONS] <SCRIPT>")
        .stdout_lacks("Parameters (");
    rig.again(&["run", "nothing-here.rhai", "--help"])
        .success()
        .stdout_lacks("Parameters (");
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

/// What real bash offers for the last of `words` (after `rigger`), through the script
/// `rigger completions bash` prints, as a person's Tab would ask it.
pub fn complete(rig: &Rig, words: &[&str]) -> Vec<String> {
    let script = r#"
source <("$RIGGER" completions bash)
COMP_WORDS=(rigger "$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
_clap_complete_rigger rigger "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"#;
    let mut cmd = rig.command(std::path::Path::new("bash"));
    cmd.args(["-c", script, "bash"])
        .args(words)
        .env("RIGGER", crate::harness::BIN);
    let text = crate::harness::stdout_of(&mut cmd);
    text.lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_bundled_scripts_and_the_set_keys_of_the_script_on_the_line() {
    let rig = Rig::new().file("mine.rhai", "let n = param(\"nodes\", 1);\n");
    assert_eq!(complete(&rig, &["run", "c"]), ["cluster"]);
    assert_eq!(
        complete(&rig, &["run", "m"]),
        ["member-add", "member-remove", "member-replace", "mine.rhai"]
    );
    assert_eq!(
        complete(&rig, &["run", "cluster", "--set", "s"]),
        ["size=", "stagger=", "subnet_id=", "security_group_ids="]
    );
    // Flags with values before the script are skipped over; the keys are the script's.
    assert_eq!(
        complete(&rig, &["run", "--target", "lab", "records", "--set", "t"]),
        ["tls=", "ttl="]
    );
    assert_eq!(
        complete(&rig, &["run", "mine.rhai", "--set", ""]),
        ["nodes="]
    );
    assert!(complete(&rig, &["run", "cluster", "--set", "size="]).is_empty());
    assert!(complete(&rig, &["sta"]).contains(&"state".to_string()));
}

/// What real fish offers for `line` (`complete -C`, the question fish's Tab asks),
/// through the script `rigger completions fish` prints: each offer with its
/// description. `None` (after a loud message) where fish is not installed.
fn fish_offers(rig: &Rig, line: &str) -> Option<Vec<String>> {
    let test = "operator::fish_completes_scripts_and_set_keys_with_their_docs";
    if which("fish").is_none() {
        crate::harness::say(&format!(
            "SKIPPED {test}: fish is not installed (apt-get install fish)\n"
        ));
        return None;
    }
    let script = r#"$RIGGER completions fish | source; complete -C "$argv[1]""#;
    let mut cmd = rig.command(std::path::Path::new("fish"));
    cmd.args(["--no-config", "-c", script, line])
        .env("RIGGER", crate::harness::BIN);
    let text = crate::harness::stdout_of(&mut cmd);
    Some(text.lines().map(String::from).collect())
}

/// `name` on PATH.
fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// fish, like bash, asks rigger itself: the same names and keys, and fish shows each
/// key's doc beside it.
#[test]
fn fish_completes_scripts_and_set_keys_with_their_docs() {
    let rig = Rig::new().file("mine.rhai", "// How many.\nlet n = param(\"nodes\", 1);\n");
    let Some(scripts) = fish_offers(&rig, "rigger run m") else {
        return;
    };
    assert_eq!(
        scripts,
        [
            "member-add\tscripts/member-add.rhai",
            "member-remove\tscripts/member-remove.rhai",
            "member-replace\tscripts/member-replace.rhai",
            "mine.rhai"
        ]
    );
    assert_eq!(
        fish_offers(&rig, "rigger run cluster --set si").unwrap(),
        ["size=\tHow many members."]
    );
    assert_eq!(
        fish_offers(&rig, "rigger run mine.rhai --set ").unwrap(),
        ["nodes=\tHow many."]
    );
}

#[test]
fn the_man_page_renders_with_man_and_names_every_command() {
    let out = Rig::new().args(&["man"]).run();
    out.success().stdout_has(".TH rigger 1");
    let mut man = std::process::Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "200")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    man.stdin
        .take()
        .unwrap()
        .write_all(out.stdout.as_bytes())
        .unwrap();
    let shown = String::from_utf8(man.wait_with_output().unwrap().stdout).unwrap();
    for command in [
        "run",
        "destroy",
        "env",
        "state",
        "health",
        "doctor",
        "scripts",
        "fns",
        "definitions",
        "man",
    ] {
        assert!(
            shown.contains(&format!("rigger-{command}(1)")),
            "no {command} in:\n{shown}"
        );
    }
    Rig::new()
        .args(&["man", "env"])
        .run()
        .success()
        .stdout_has(".TH rigger-env 1")
        .stdout_has("discovery\\-srv");
    Rig::new()
        .args(&["man", "nope"])
        .run()
        .failure(1)
        .stderr_has("× rigger has no command \"nope\"");
}

#[test]
fn fns_shows_one_function_and_everything_as_json() {
    Rig::new()
        .args(&["fns", "wait_tcp"])
        .run()
        .success()
        .stdout_is("wait_tcp(address: String)\n    `wait_tcp(address, #{})`: waits up to 60 seconds.\nwait_tcp(address: String, options: Map)\n    Waits until `address` (`host:port`) accepts a TCP connection.\n    Options: `timeout` (seconds, default 60), `interval` (seconds between tries, default 0.25).\n    Fails after `timeout` with the last connection error seen.\n");
    Rig::new()
        .args(&["fns", "wait_tpc"])
        .run()
        .failure(1)
        .stderr_has("× no function named \"wait_tpc\" for scripts")
        .stderr_has("help: did you mean `wait_tcp`?");
    let out = Rig::new().args(&["fns", "--json"]).run();
    // The first function's keys, in the order they are written.
    let first = &out.stdout[..out.stdout.find("\n  }").unwrap()];
    let keys: Vec<&str> = first
        .lines()
        .filter_map(|l| l.strip_prefix("    \"")?.split_once('"').map(|(k, _)| k))
        .collect();
    assert_eq!(
        keys,
        ["name", "module", "params", "returns", "signature", "doc"]
    );
    let all: serde_json::Value = serde_json::from_str(&out.success().stdout).unwrap();
    let named = |name: &str| {
        let fns = all.as_array().unwrap().iter();
        fns.clone().find(|f| f["name"] == name).unwrap()
    };
    let start = named("etcd::start");
    assert_eq!(start["module"], "etcd");
    assert_eq!(start["params"][0]["name"], "node");
    let uuid = named("uuid");
    assert_eq!(
        (&uuid["returns"], &uuid["module"]),
        (&serde_json::json!("String"), &serde_json::Value::Null)
    );
}

/// A definition file's `fn`: its name, (parameter, type)s and return type.
type Signature = (String, Vec<(String, String)>, String);

/// The definition files are read back as an editor's language server would: each
/// `fn name(param: type, ...) -> type;` parsed, and every primitive's every signature
/// (from `rigger fns --json`) found there with its parameters' names and types.
#[test]
fn definitions_describe_every_primitive_and_stdlib_function_with_its_signature() {
    let rig = Rig::new();
    rig.again(&["definitions", "defs"]).success();
    let read = |file: &str| std::fs::read_to_string(rig.path(&format!("defs/{file}"))).unwrap();
    let parse = |text: &str| -> Vec<Signature> {
        text.lines()
            .filter_map(|l| l.strip_prefix("fn "))
            .map(|l| {
                let (name, rest) = l.split_once('(').unwrap();
                let (params, ret) = rest.rsplit_once(") -> ").unwrap();
                let params = params
                    .split(", ")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (n, t) = p.split_once(": ").unwrap();
                        (n.to_string(), t.to_string())
                    })
                    .collect();
                (
                    name.to_string(),
                    params,
                    ret.trim_end_matches(';').to_string(),
                )
            })
            .collect()
    };
    for rhai_own in ["__builtin__.d.rhai", "__builtin-operators__.d.rhai"] {
        assert!(read(rhai_own).starts_with("module static;"), "{rhai_own}");
    }
    let statics = parse(&read("__static__.d.rhai"));
    // One file per stdlib module, each starting with its module line.
    let module = |name: &str| {
        let text = read(&format!("{name}.d.rhai"));
        assert!(text.starts_with(&format!("module {name};\n")), "{text}");
        parse(&text)
    };
    // Rhai's metadata names a type one way, its definition files another.
    let rhai_type = |t: &str| {
        match t {
            "Map" => "map",
            "Array" => "array",
            "Dynamic" => "?",
            "FnPtr" => "Fn",
            "i64" => "int",
            "f64" => "float",
            other => other,
        }
        .to_string()
    };
    let out = rig.again(&["fns", "--json"]);
    let all: serde_json::Value = serde_json::from_str(&out.success().stdout).unwrap();
    let all = all.as_array().unwrap();
    assert!(all.len() > 40, "{}", all.len());
    for f in all {
        let name = f["name"].as_str().unwrap();
        let params: Vec<(String, String)> = f["params"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let t = p["type"].as_str().map_or("?".to_string(), rhai_type);
                (p["name"].as_str().unwrap().to_string(), t)
            })
            .collect();
        let (list, bare) = match name.split_once("::") {
            Some((m, bare)) => (module(m), bare),
            None => (statics.clone(), name),
        };
        let returns = f["returns"].as_str().map_or("?".to_string(), rhai_type);
        let found = list.iter().any(|(n, p, r)| {
            n == bare
                && *p == params
                && (f["module"].is_string() || *r == returns || returns == "?")
        });
        assert!(
            found,
            "{} is not in the definitions as {params:?}",
            f["signature"]
        );
    }
}

/// Every key of `v`, at any depth, is snake_case.
pub fn keys_are_snake_case(v: &serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let snake = key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                assert!(snake, "key {key:?} is not snake_case");
                keys_are_snake_case(value);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(keys_are_snake_case),
        _ => {}
    }
}

/// `--json` everywhere is one shape: pretty, snake_case keys, the same bytes each time.
#[test]
fn every_json_output_is_pretty_snake_case_and_stable() {
    let rig = Rig::new().own_state();
    let commands: [&[&str]; 5] = [
        &["scripts", "--json"],
        &["scripts", "cluster", "--json"],
        &["fns", "--json"],
        &["state", "list", "--json"],
        &["lab", "status", "--json"],
    ];
    for args in commands {
        let (first, again) = (rig.again(args), rig.again(args));
        first.success();
        assert_eq!(first.stdout, again.stdout, "{args:?} is not stable");
        let value: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
        keys_are_snake_case(&value);
        let pretty = first.stdout.starts_with("{\n  \"") || first.stdout.starts_with("[\n  ");
        assert!(
            pretty || first.stdout == "[]\n",
            "{args:?}: {}",
            first.stdout
        );
        assert!(first.stdout.ends_with("}\n") || first.stdout.ends_with("]\n"));
    }
    assert!(!rig.path("state").exists(), "looking made the state dir");
}

/// Every command `rigger --help` lists has examples at the end of its own `--help`.
#[test]
fn every_commands_help_ends_with_examples() {
    let top = Rig::new().args(&["--help"]).run();
    top.success();
    let listed = top.stdout.split("Commands:\n").nth(1).unwrap();
    let commands: Vec<&str> = listed
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    for command in commands {
        let help = Rig::new().args(&[command, "--help"]).run();
        help.success();
        let examples = help.stdout.split("\nExamples:\n").nth(1);
        let example = examples.and_then(|e| e.lines().next()).unwrap_or("");
        assert!(
            example.starts_with("  rigger ")
                || example.starts_with("  eval ")
                || example.starts_with("  source "),
            "`rigger {command} --help` has no examples:\n{}",
            help.stdout
        );
    }
}

/// `-v` says each AWS API call, by service and operation (here against moto).
#[test]
fn verbose_says_each_aws_call_by_its_operation() {
    let moto = crate::harness::cloud::moto(&[]);
    let out = Rig::new()
        .own_state()
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(&["-v", "destroy", "--aws-cluster-tag", "example.test"])
        .run();
    out.success()
        .stderr_has(" DEBUG aws: EC2 DescribeInstances\n")
        .stderr_lacks("testing");
}
