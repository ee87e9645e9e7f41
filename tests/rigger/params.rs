use crate::harness::{Outcome, Rig};

const SHOW: &str = r#"
let size = param("size", 3);
let tls = param("tls", true);
let domain = param("domain", "none");
let ips = param("ips", []);
print(`${type_of(size)} ${size}`);
print(`${type_of(tls)} ${tls}`);
print(`${type_of(domain)} ${domain}`);
print(`${type_of(ips)} ${ips.len()}`);
"#;

/// `rigger run NAME` of the script `text`, with each of `sets` as a `--set`.
fn run_with_sets(name: &str, text: &str, sets: &[&str]) -> Outcome {
    let mut rig = Rig::new().script(name, text);
    for set in sets {
        rig = rig.args(&["--set", set]);
    }
    rig.run()
}

#[test]
fn set_values_are_rhai_literals_or_bare_strings() {
    run_with_sets(
        "show.rhai",
        SHOW,
        &[
            "size=5",
            "tls=false",
            "domain=example.test",
            "ips=[\"198.18.1.1\", \"198.18.1.2\"]",
        ],
    )
    .success()
    .stdout_is("i64 5\nbool false\nstring example.test\narray 2\n");
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    run_with_sets("show.rhai", SHOW, &[])
        .success()
        .stdout_is("i64 3\nbool true\nstring none\narray 0\n");
}

#[test]
fn a_malformed_value_is_a_usage_error_naming_the_key() {
    let out = run_with_sets("show.rhai", SHOW, &["ips=[\"198.18.1.1\""]);
    out.failure(2)
        .stderr_has("--set ips: malformed value [\"198.18.1.1\"");
    assert!(out.stdout.is_empty(), "nothing ran: {}", out.stdout);
}

#[test]
fn a_set_without_equals_is_a_usage_error() {
    run_with_sets("show.rhai", SHOW, &["size"])
        .failure(2)
        .stderr_has("--set \"size\": expected key=value");
}

#[test]
fn a_missing_parameter_is_named_with_the_set_that_supplies_it() {
    Rig::new()
        .script(
            "need.rhai",
            "// needs a domain\nlet domain = param(\"domain\");\nprint(domain);\n",
        )
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × param: no value for "domain"
   ╭─[need.rhai:2:14]
 1 │ // needs a domain
 2 │ let domain = param("domain");
   ·              ──┬──
   ·                ╰── failed here
 3 │ print(domain);
   ╰────
  help: give one on the command line: --set domain=VALUE
"#,
        );
}

/// Read from the script before it runs (see operator.rs for the rest).
#[test]
fn a_set_key_the_script_never_asks_for_is_refused_before_it_runs() {
    run_with_sets("show.rhai", SHOW, &["sise=5"])
        .failure(2)
        .stdout_is("")
        .stderr_has("× --set sise: show.rhai has no parameter \"sise\"")
        .stderr_has("╰── did you mean `size`?");
}

/// A script that failed before it asked for a parameter may well have asked for it
/// later: no warning then, only the failure.
#[test]
fn a_script_that_fails_early_is_not_said_to_ignore_a_key() {
    let out = Rig::new()
        .script(
            "early.rhai",
            "throw \"stopped\";\nlet ami = param(\"ami\", ());\n",
        )
        .args(&["--set", "ami=ami-1"])
        .run();
    out.failure(1).stderr_has("stopped");
    assert!(!out.stderr.contains("never asked"), "{}", out.stderr);
}

#[test]
fn the_same_key_twice_is_refused() {
    run_with_sets("show.rhai", SHOW, &["size=1", "size=2"])
        .failure(2)
        .stderr_has("--set size is given twice");
}

/// A `check` the script writes: `()` takes the value, a string refuses it.
const CHECKED: &str = r#"
let mirror = param("mirror", "https://a.test",
    #{ check: |url| if url.starts_with("https://") { () } else { "a mirror is https://" } });
print(mirror);
"#;

#[test]
fn a_check_takes_a_value_it_returns_nothing_for() {
    run_with_sets("checked.rhai", CHECKED, &["mirror=https://b.test"])
        .success()
        .stdout_is("https://b.test\n");
}

#[test]
fn a_check_refuses_a_value_with_what_it_says_at_the_param_call() {
    let out = run_with_sets("checked.rhai", CHECKED, &["mirror=ftp://b.test"]);
    out.failure(1).stderr_is(
        r#"
  × param: --set mirror="ftp://b.test": a mirror is https://
   ╭─[checked.rhai:2:14]
 1 │
 2 │ let mirror = param("mirror", "https://a.test",
   ·              ──┬──
   ·                ╰── failed here
 3 │     #{ check: |url| if url.starts_with("https://") { () } else { "a mirror is https://" } });
   ╰────
"#,
    );
    assert!(out.stdout.is_empty(), "nothing ran: {}", out.stdout);
}
