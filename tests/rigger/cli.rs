use crate::harness::Rig;

#[test]
fn version_prints_the_crate_version() {
    Rig::new()
        .args(&["--version"])
        .run()
        .success()
        .stdout_is(&format!("rigger {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn completions_are_generated_for_bash_and_zsh() {
    let bash = Rig::new().args(&["completions", "bash"]).run();
    bash.success();
    // Dynamic: the shell asks rigger itself (operator.rs completes through it in bash).
    assert!(
        bash.stdout.contains("_clap_complete_rigger()"),
        "{}",
        bash.stdout
    );
    assert!(bash.stdout.contains("COMPLETE=\"bash\""), "{}", bash.stdout);
    let zsh = Rig::new().args(&["completions", "zsh"]).run();
    zsh.success();
    assert!(zsh.stdout.starts_with("#compdef rigger"), "{}", zsh.stdout);
}

#[test]
fn print_is_data_on_stdout_and_debug_goes_to_stderr() {
    Rig::new()
        .script("d.rhai", "print(\"data\");\ndebug(\"note\");\n")
        .run()
        .success()
        .stdout_is("data\n")
        .stderr_is("d.rhai:2: \"note\"");
}

#[test]
fn quiet_hides_debug_and_warnings_but_not_data() {
    Rig::new()
        // A name made at run time: `unused` is warned about after the run, not refused.
        .file(
            "d.rhai",
            "print(\"data\");\ndebug(\"note\");\nlet k = \"a\" + \"b\";\nparam(k, 0);\n",
        )
        .args(&["-q", "run", "d.rhai", "--set", "unused=1"])
        .run()
        .success()
        .stdout_is("data\n")
        .stderr_is("");
}

#[test]
fn colour_is_forced_by_clicolor_force_and_no_color_wins() {
    let failing = |rig: Rig| rig.script("x.rhai", "throw \"boom\";\n");
    let coloured = failing(Rig::new().env("NO_COLOR", "").env("CLICOLOR_FORCE", "1")).run();
    coloured.failure(1);
    assert!(
        coloured.stderr.contains("\u{1b}["),
        "expected colour: {:?}",
        coloured.stderr
    );
    let plain = failing(Rig::new().env("NO_COLOR", "1").env("CLICOLOR_FORCE", "1")).run();
    plain.failure(1).stderr_lacks("\u{1b}[");
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    Rig::new().args(&["launch"]).run().failure(2);
}

#[test]
fn backends_that_do_not_go_together_are_refused_before_anything_exists() {
    let rig = Rig::new()
        .own_state()
        .file("z.rhai", "dns_zone(\"a.test\");\n");
    let out = rig.again(&["run", "./z.rhai", "--dns-server", "198.18.0.53:53"]);
    // Usage errors, refused before the script runs at all.
    out.failure(2)
        .stderr_has("--dns-server does nothing with --dns lab");
    let out = rig.again(&["run", "./z.rhai", "--dns", "cloudflare"]);
    out.failure(2)
        .stderr_has("--dns cloudflare does not work with --target lab");
    assert!(!rig.path("state").exists(), "nothing may be created");
}
