use crate::harness::Rig;

#[test]
fn a_script_file_runs_and_prints_data_on_stdout() {
    Rig::new()
        .script(
            "hello.rhai",
            "let who = \"etcd\";\nprint(`hello ${who}`);\n",
        )
        .run()
        .success()
        .stdout_is("hello etcd\n")
        .stderr_is("");
}

#[test]
fn a_bundled_script_runs_by_name_from_a_copied_binary() {
    // The binary alone, in a folder with no scripts/ or stdlib/ beside it.
    let rig = Rig::new().args(&[
        "run",
        "records",
        "--set",
        "domain=example.test",
        "--set",
        "ips=[\"198.18.1.7\"]",
    ]);
    let copy = rig.path("bin/rigger");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(crate::harness::BIN, &copy).unwrap();
    let out = rig.run_with(&copy);
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    let host = lines[0].split(' ').next().unwrap().trim_end_matches('.');
    assert!(
        host.starts_with("etcd-") && host.ends_with(".example.test"),
        "{host}"
    );
    assert_eq!(lines[0], format!("{host}. 300 IN A 198.18.1.7"));
    assert_eq!(
        lines[1],
        format!("_etcd-server-ssl._tcp.example.test. 300 IN SRV 0 0 2380 {host}.")
    );
    assert_eq!(
        lines[2],
        format!("_etcd-client-ssl._tcp.example.test. 300 IN SRV 0 0 2379 {host}.")
    );
    // A named cluster's records go under its own owners.
    let named = Rig::new()
        .args(&["run", "records", "--set", "domain=example.test"])
        .args(&["--set", "name=prod", "--set", "ips=[\"198.18.1.7\"]"])
        .run();
    named.success();
    let lines: Vec<&str> = named.stdout.lines().collect();
    assert!(
        lines[1].starts_with("_etcd-server-ssl-prod._tcp.example.test. 300 IN SRV 0 0 2380 etcd-"),
        "{}",
        named.stdout
    );
    assert!(
        lines[2].starts_with("_etcd-client-ssl-prod._tcp.example.test. 300 IN SRV 0 0 2379 etcd-"),
        "{}",
        named.stdout
    );
}

#[test]
fn a_path_wins_over_a_bundled_name_and_imports_resolve_beside_it() {
    Rig::new()
        .file(
            "topo/records.rhai",
            "import \"lib/names\" as names;\nprint(names::node(1));\n",
        )
        .file("topo/lib/names.rhai", "fn node(i) { `node-${i}` }\n")
        .args(&["run", "topo/records.rhai"])
        .run()
        .success()
        .stdout_is("node-1\n");
}

#[test]
fn an_unknown_script_names_the_bundled_ones() {
    Rig::new()
        .args(&["run", "clustr"])
        .run()
        .failure(1)
        .stderr_is(
            "  × no script file \"clustr\" here, and no bundled script of that name
  help: bundled scripts: cluster, records, member-add, member-remove, member-replace, reconcile, upgrade, backup, restore, recover, defrag, rotate-certs, user-add, user-remove; or give the path of a .rhai file",
        );
}

#[test]
fn a_missing_file_says_so() {
    Rig::new()
        .args(&["run", "nope.rhai"])
        .run()
        .failure(1)
        .stderr_has("cannot read script nope.rhai: No such file or directory");
}

#[test]
fn the_stdlib_etcd_module_is_importable_from_user_scripts() {
    Rig::new()
        .script(
            "s.rhai",
            "import \"etcd\" as etcd;\nlet n = etcd::srv_names(\"example.test\", false);\nprint(n.server);\nprint(n.client);\n",
        )
        .run()
        .success()
        .stdout_is("_etcd-server._tcp.example.test\n_etcd-client._tcp.example.test\n");
}
