//! Errors are shown at the file, line and column where they happen, with the path that
//! led there; asserted on the exact rendered text.

use crate::harness::Rig;

#[test]
fn a_syntax_error_in_an_imported_module_points_into_that_module() {
    Rig::new()
        .file(
            "main.rhai",
            "// main\nimport \"lib/bad\" as bad;\nprint(\"never\");\n",
        )
        .file("lib/bad.rhai", "fn ok() { 1 }\nlet x = (1 + ;\n")
        .args(&["run", "main.rhai"])
        .run()
        .failure(1)
        .stdout_is("")
        .stderr_is(
            r#"
  × syntax error: Unexpected ';'
   ╭─[lib/bad.rhai:2:14]
 1 │ fn ok() { 1 }
 2 │ let x = (1 + ;
   ·              ┬
   ·              ╰── here
   ╰────

Advice:
  ☞ while loading module "lib/bad"
   ╭─[main.rhai:2:8]
 1 │ // main
 2 │ import "lib/bad" as bad;
   ·        ┬
   ·        ╰── imported here
 3 │ print("never");
   ╰────
"#,
        );
}

#[test]
fn a_runtime_error_in_a_module_function_shows_the_throw_and_the_call_site() {
    Rig::new()
        .file(
            "main.rhai",
            "import \"lib/util\" as util;\nlet a = util::check(1);\nlet b = util::check(5);\n",
        )
        .file(
            "lib/util.rhai",
            "fn check(n) {\n    if n > 2 {\n        throw \"n is too big: \" + n;\n    }\n    n\n}\n",
        )
        .args(&["run", "main.rhai"])
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × n is too big: 5
   ╭─[lib/util.rhai:3:9]
 2 │     if n > 2 {
 3 │         throw "n is too big: " + n;
   ·         ──┬──
   ·           ╰── failed here
 4 │     }
   ╰────

Advice:
  ☞ in the call to check()
   ╭─[main.rhai:3:15]
 2 │ let a = util::check(1);
 3 │ let b = util::check(5);
   ·               ──┬──
   ·                 ╰── called here
   ╰────
"#,
        );
}

#[test]
fn a_runtime_error_while_a_module_loads_points_into_the_module() {
    Rig::new()
        .file("main.rhai", "import \"conf\" as conf;\n")
        .file(
            "conf.rhai",
            "let ports = [2379, 2380];\nlet third = ports[2];\n",
        )
        .args(&["run", "main.rhai"])
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × index 2 is out of bounds for an array of 2
   ╭─[conf.rhai:2:19]
 1 │ let ports = [2379, 2380];
 2 │ let third = ports[2];
   ·                   ┬
   ·                   ╰── this index
   ╰────

Advice:
  ☞ while loading module "conf"
   ╭─[main.rhai:1:8]
 1 │ import "conf" as conf;
   ·        ┬
   ·        ╰── imported here
   ╰────
"#,
        );
}

#[test]
fn an_error_inside_nested_functions_lists_every_call_site() {
    Rig::new()
        .script(
            "f.rhai",
            "fn outer(x) {\n    inner(x)\n}\nfn inner(x) {\n    x.missing_method()\n}\nouter(3);\n",
        )
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × no function matches `missing_method (i64)`
   ╭─[f.rhai:5:7]
 4 │ fn inner(x) {
 5 │     x.missing_method()
   ·       ───────┬──────
   ·              ╰── no such function for these argument types
 6 │ }
   ╰────
  help: `rigger fns` lists every function

Advice:
  ☞ in the call to inner()
   ╭─[f.rhai:2:5]
 1 │ fn outer(x) {
 2 │     inner(x)
   ·     ──┬──
   ·       ╰── called here
 3 │ }
   ╰────

Advice:
  ☞ in the call to outer()
   ╭─[f.rhai:7:1]
 6 │ }
 7 │ outer(3);
   · ──┬──
   ·   ╰── called here
   ╰────
"#,
        );
}

#[test]
fn a_primitive_called_with_wrong_types_lists_what_it_takes() {
    Rig::new()
        .script("w.rhai", "wait_tcp(2379);\n")
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × no function matches `wait_tcp (i64)`
   ╭─[w.rhai:1:1]
 1 │ wait_tcp(2379);
   · ────┬───
   ·     ╰── no such function for these argument types
   ╰────
  help: wait_tcp takes:
          wait_tcp(address: String)
          wait_tcp(address: String, options: Map)
"#,
        );
}

#[test]
fn a_primitive_rejects_a_bad_argument_saying_what_it_expected() {
    Rig::new()
        .script("s.rhai", "let pause = -1;\nsleep(pause);\n")
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × sleep: seconds must be a number of seconds between 0 and a year, got -1 (i64)
   ╭─[s.rhai:2:1]
 1 │ let pause = -1;
 2 │ sleep(pause);
   · ──┬──
   ·   ╰── failed here
   ╰────
"#,
        );
}

#[test]
fn a_misspelt_option_is_refused_with_the_known_ones() {
    Rig::new()
        .script("o.rhai", "wait_tcp(\"127.0.0.1:9\", #{timout: 1});\n")
        .run()
        .failure(1)
        .stderr_has("× wait_tcp: unknown option \"timout\"")
        .stderr_has("help: known options: timeout, interval");
}

#[test]
fn an_undeclared_variable_is_caught_before_anything_runs() {
    Rig::new()
        .script("v.rhai", "print(\"start\");\nprint(sise);\n")
        .run()
        .failure(1)
        .stdout_is("")
        .stderr_has("× unknown variable `sise`")
        .stderr_has("╭─[v.rhai:2:7]")
        .stderr_has("help: declare it first with `let sise = ...;`");
}

#[test]
fn a_script_can_catch_a_primitive_failure_as_a_map() {
    Rig::new()
        .script(
            "c.rhai",
            "try { param(\"zone\"); } catch (e) { print(`${e.kind} ${e.primitive}: ${e.message}`); }\n",
        )
        .run()
        .success()
        .stdout_is("missing param: param: no value for \"zone\"\n");
}

#[test]
fn no_rust_internals_leak_into_errors() {
    for script in ["let m = #{};\nm.nope", "throw 42;", "let a = 1 / 0;"] {
        let out = Rig::new().script("x.rhai", script).run();
        out.failure(1);
        for leak in ["Error", "panicked", "EvalAltResult", "Position", "Box<"] {
            out.stderr_lacks(leak);
        }
    }
}

#[test]
fn a_misspelt_instance_setting_is_refused_before_anything_is_created() {
    let mut rig = Rig::new().own_state().script(
        "u.rhai",
        "launch_instance(#{ name: \"x\", amii: \"a\" });\n",
    );
    rig.run_keep()
        .failure(1)
        .stderr_has("× launch_instance: spec.amii is not what was expected: unknown field `amii`, expected one of `name`, `ami`")
        .stderr_has("╭─[u.rhai:1:1]");
    assert!(!rig.path("state").exists(), "nothing was created");
}
