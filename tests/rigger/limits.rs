use crate::harness::Rig;

#[test]
fn an_endless_loop_is_stopped_by_the_operations_limit() {
    Rig::new()
        .script("loop.rhai", "let i = 0;\nloop { i += 1; }\n")
        .args(&["--max-operations", "100000"])
        .run()
        .failure(1)
        .stderr_is(
            r#"
  × the script was stopped after 100000 operations (an endless loop?)
   ╭─[loop.rhai:2:13]
 1 │ let i = 0;
 2 │ loop { i += 1; }
   ·             ┬
   ·             ╰── still running here
   ╰────
  help: a script that really needs more can raise the limit with --max-operations
"#,
        );
}

#[test]
fn runaway_recursion_is_stopped_by_the_call_depth_limit() {
    Rig::new()
        .script("r.rhai", "fn down(n) { down(n + 1) }\ndown(0);\n")
        .run()
        .failure(1)
        .stderr_has("× calls nested deeper than 64 levels")
        .stderr_has("help: is a function calling itself without end?");
}

#[test]
fn a_string_growing_without_bound_is_stopped() {
    Rig::new()
        .script("s.rhai", "let s = \"etcd\";\nloop { s += s; }\n")
        .run()
        .failure(1)
        .stderr_has("exceeds its size limit")
        .stderr_has("╭─[s.rhai:2:");
}

#[test]
fn a_primitive_timeout_is_a_script_error_at_the_call() {
    // A port that was free a moment ago: nothing listens there.
    let port = crate::harness::free_port();
    let script = format!(
        "print(\"before\");\nwait_tcp(\"127.0.0.1:{port}\", #{{timeout: 1, interval: 0.1}});\nprint(\"after\");\n"
    );
    Rig::new()
        .script("t.rhai", &script)
        .run()
        .failure(1)
        .stdout_is("before\n")
        .stderr_has(&format!(
            "× wait_tcp: 127.0.0.1:{port} did not accept a connection within 1s; last attempt: Connection refused (os error 111)"
        ))
        .stderr_has("╭─[t.rhai:2:1]");
}

#[test]
fn a_timeout_can_be_caught_and_told_apart_by_kind() {
    let port = crate::harness::free_port();
    let script = format!(
        "try {{ wait_tcp(\"127.0.0.1:{port}\", #{{timeout: 0.3}}); }} catch (e) {{ print(e.kind); }}\n"
    );
    Rig::new()
        .script("t.rhai", &script)
        .run()
        .success()
        .stdout_is("timeout\n");
}

#[test]
fn wait_tcp_returns_when_the_port_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("wait_tcp(\"127.0.0.1:{port}\", #{{timeout: 5}});\nprint(\"up\");\n");
    Rig::new()
        .script("t.rhai", &script)
        .run()
        .success()
        .stdout_is("up\n");
    drop(listener);
}

#[test]
fn in_the_lab_wait_tcp_takes_addresses_not_names() {
    // Names would go to this machine's resolver, outside the lab: refused before anything.
    Rig::new()
        .own_state()
        .script(
            "n.rhai",
            "wait_tcp(\"etcd-1.example.test:2379\", #{ timeout: 1 });\n",
        )
        .run()
        .failure(1)
        .stderr_has(
            "× wait_tcp: \"etcd-1.example.test:2379\": in the lab, give an address, not a name",
        );
}

#[test]
fn a_wait_on_this_machine_s_loopback_brings_no_world_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("wait_tcp(\"127.0.0.1:{port}\", #{{timeout: 5}});\nprint(\"up\");\n");
    let rig = Rig::new().own_state().file("t.rhai", &script);
    rig.again(&["run", "t.rhai"]).success().stdout_is("up\n");
    // No lab (and so no root) is needed to ask this machine's own port.
    assert!(!rig.path("state").exists(), "the run made state");
    drop(listener);
}

/// The map limit (10,000) holds as `m[k] = v` adds keys, also for a map nobody reads
/// again and one nested in another inside a function.
#[test]
fn maps_and_arrays_growing_by_index_are_stopped_at_their_limit() {
    let cases = [
        (
            "let m = #{};\nfor i in 0..20000 { m[`k${i}`] = i; }\nprint(\"done\");\n",
            "Size of object map exceeds its size limit",
        ),
        (
            "fn f() {\n  let m = #{a: #{}};\n  for i in 0..20000 { m.a[`k${i}`] = i; }\n}\nf();\nprint(\"done\");\n",
            "Size of object map exceeds its size limit",
        ),
    ];
    for (script, error) in cases {
        let out = Rig::new().script("m.rhai", script).run();
        out.failure(1)
            .stderr_has(error)
            .stderr_has("grew too large here");
        assert!(out.stdout.is_empty(), "the script went on: {}", out.stdout);
    }
}
