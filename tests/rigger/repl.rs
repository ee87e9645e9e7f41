//! The REPL driven as a person drives it: through a pseudo-terminal, keys and all.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use expectrl::{ControlCode, Expect, Session};

use crate::harness::LabRig;
use crate::harness::{BIN, Rig};

pub struct Prompt {
    session: expectrl::session::OsSession,
    /// The folder of a session started in one of its own, kept while it runs.
    _folder: Option<Rig>,
}

/// `rigger repl` in the rig's folder, with its state dir, `env`, and nothing of the
/// test process's environment.
fn repl(rig: &Rig, env: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("repl")
        .current_dir(rig.path(""))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", rig.path(""))
        .env("NO_COLOR", "1")
        .env("RIGGER_STATE_DIR", rig.path("state"))
        .envs(env.iter().copied());
    cmd
}

impl Prompt {
    pub fn start(rig: &Rig) -> Self {
        Self::start_with(rig, &[])
    }

    /// A session in an empty folder of its own.
    fn in_empty_folder() -> Self {
        let rig = Rig::new();
        let mut p = Self::start(&rig);
        p._folder = Some(rig);
        p
    }

    fn start_with(rig: &Rig, env: &[(&str, &Path)]) -> Self {
        let mut cmd = repl(rig, env);
        cmd.env("TERM", "xterm");
        let mut session = Session::spawn(cmd).expect("spawn rigger repl in a pty");
        // Generous: CI runs these beside etcd clusters on two cores.
        session.set_expect_timeout(Some(Duration::from_secs(60)));
        let mut p = Self {
            session,
            _folder: None,
        };
        p.expect("rigger> ");
        p
    }

    pub fn expect(&mut self, text: &str) {
        if let Err(e) = self.session.expect(text) {
            panic!("expected {text:?} from the REPL: {e}");
        }
    }

    /// Everything the REPL printed up to `text`, which is consumed too.
    pub fn until(&mut self, text: &str) -> String {
        match self.session.expect(text) {
            Ok(found) => String::from_utf8_lossy(found.before()).into_owned(),
            Err(e) => panic!("expected {text:?} from the REPL: {e}"),
        }
    }

    /// Types a line and presses Enter.
    pub fn line(&mut self, text: &str) {
        self.session.send(text).unwrap();
        self.session.send("\r").unwrap();
    }

    /// [`Prompt::eval`] for a line whose primitive may rightly take longer than the
    /// prompt's usual wait (a promotion waits up to 60 s for the learner to catch up).
    pub fn eval_within(&mut self, within: Duration, text: &str, shown: &str) {
        self.session.set_expect_timeout(Some(within));
        self.eval(text, shown);
        self.session
            .set_expect_timeout(Some(Duration::from_secs(60)));
    }

    /// Types a line, expects `shown` as a whole output line, and waits for the next prompt.
    /// A step that took long enough for the live view to show it leaves the terminal's
    /// line-clearing sequences at the start of the line, before the value.
    pub fn eval(&mut self, text: &str, shown: &str) {
        self.line(text);
        let literal: String = shown
            .chars()
            .flat_map(|c| {
                let special = "\\.+*?()|[]{}^$#&-~".contains(c);
                special.then_some('\\').into_iter().chain([c])
            })
            .collect();
        let line = format!("\n(?:\x1b\\[[0-9;?]*[A-Za-z]|\r)*{literal}\r");
        if let Err(e) = self.session.expect(expectrl::Regex(line.as_str())) {
            panic!("expected the line {shown:?} from the REPL: {e}");
        }
        self.expect("rigger> ");
    }

    /// Types a line, expects each of `shown` in turn, and waits for the next prompt.
    pub fn says(&mut self, text: &str, shown: &[&str]) {
        self.line(text);
        for part in shown {
            self.expect(part);
        }
        self.expect("rigger> ");
    }

    /// Ctrl-C while a line runs: the REPL says it was interrupted within `limit`, and
    /// prompts again.
    fn interrupts_within(&mut self, limit: Duration) {
        let start = Instant::now();
        self.ctrl(ControlCode::EndOfText);
        self.expect("× interrupted");
        let took = start.elapsed();
        assert!(took < limit, "Ctrl-C took {took:?}");
        self.expect("rigger> ");
    }

    /// Types a line that prints nothing and waits for the next prompt.
    pub fn quiet(&mut self, text: &str) {
        self.line(text);
        self.expect("rigger> ");
    }

    fn keys(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
    }

    fn ctrl(&mut self, code: ControlCode) {
        self.session.send(code).unwrap();
    }

    /// Ctrl-D at an empty prompt, and the process ends.
    pub fn leave(mut self) {
        self.ctrl(ControlCode::EndOfTransmission);
        for _ in 0..100 {
            if !self.session.get_process().is_alive().unwrap_or(false) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the REPL did not exit on Ctrl-D");
    }
}

#[test]
fn multi_line_input_defines_a_function_that_later_lines_call() {
    let mut p = Prompt::in_empty_folder();
    // Each line is echoed before the next is typed, as a person types them.
    for text in ["fn twice(x) {", "    x * 2", "}"] {
        p.line(text);
        p.expect(text);
    }
    p.expect("rigger> ");
    p.eval("twice(21)", "42");
    p.leave();
}

#[test]
fn an_error_is_shown_and_the_session_goes_on_with_its_variables() {
    let mut p = Prompt::in_empty_folder();
    p.quiet("let keep = 7;");
    p.says("let broken = ;", &["× syntax error", "<input 2>:1:14"]);
    p.says(
        "no_such_fn(keep)",
        &["× no function matches `no_such_fn (i64)`"],
    );
    p.eval("keep + 1", "8");
    p.leave();
}

#[test]
fn tab_completes_variables_functions_and_module_members() {
    let mut p = Prompt::in_empty_folder();
    p.quiet("let node_name = \"etcd-a\";");
    p.keys("node_na\t");
    p.eval("", "\"etcd-a\"");
    p.keys("etcd::srv_na\t");
    p.eval(
        "(\"example.test\", true).server",
        "\"_etcd-server-ssl._tcp.example.test\"",
    );
    p.keys("uui\t");
    p.says("().len()", &["\n32\r"]);
    p.quiet("let m = #{ private_ip: \"198.18.1.1\" };");
    p.keys("m.priv\t");
    p.eval("", "\"198.18.1.1\"");
    p.leave();
}

#[test]
fn ctrl_c_stops_a_long_wait_and_the_session_goes_on() {
    let mut p = Prompt::in_empty_folder();
    p.quiet("let before = 1;");
    p.line("print(\"as\" + \"leep\"); sleep(600)");
    p.expect("asleep");
    p.interrupts_within(Duration::from_secs(60));
    p.eval("before + 1", "2");
    // Ctrl-C at the prompt drops the half-typed input.
    p.keys("let dropped = 5");
    p.ctrl(ControlCode::EndOfText);
    p.expect("rigger> ");
    p.eval(":vars", "before  i64  1");
    p.leave();
}

#[test]
fn history_carries_over_to_the_next_session() {
    let rig = Rig::new();
    let mut p = Prompt::start(&rig);
    p.quiet("let from_first = 11;");
    p.leave();
    let mut p = Prompt::start(&rig);
    // Up arrow: the last line of the previous session.
    p.keys("\x1b[A");
    p.quiet("");
    p.eval("from_first * 2", "22");
    p.leave();
}

#[test]
fn help_vars_and_load() {
    let rig = Rig::new().file(
        "lib.rhai",
        "fn greet(n) { `hello ${n}` }\nlet loaded = true;\n",
    );
    let mut p = Prompt::start(&rig);
    p.says(
        ":help wait_resolves",
        &[
            "wait_resolves(name: String, expected: Dynamic, options: Map)",
            "Waits until every authoritative server",
        ],
    );
    p.quiet(":load lib.rhai");
    p.eval("greet(\"lab\")", "\"hello lab\"");
    p.eval(":vars", "loaded  bool  true");
    p.eval(":reset", "session reset");
    p.says("loaded", &["× unknown variable `loaded`"]);
    p.leave();
}

#[test]
fn the_lab_from_the_prompt_persists_after_the_session() {
    let Some(lab) = LabRig::new() else { return };
    let mut p = Prompt::start(lab.rig());
    p.quiet("let h = launch_instance(#{ name: \"at-prompt\" });");
    p.says("h", &["name        at-prompt", "private_ip  198.18.1.1"]);
    p.says(
        "[h].map(|n| #{ name: n.name, private_ip: n.private_ip })",
        &["name       private_ip", "at-prompt  198.18.1.1"],
    );
    p.leave();
    let status = lab.status();
    assert_eq!(status["hosts"][0]["name"], "at-prompt", "{status}");
    lab.destroy().leaves_nothing();
}

/// `rigger repl` with `input` on a pipe, as a script or CI feeds it.
fn piped(rig: &Rig, env: &[(&str, &Path)], input: &str) -> std::process::Output {
    let mut cmd = repl(rig, env);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn rigger repl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().expect("rigger repl ends")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn lines_typed_while_a_command_runs_all_run_in_order() {
    let mut p = Prompt::in_empty_folder();
    p.line("sleep(1)");
    // Let the REPL leave the editor and start the sleep: what follows is typeahead the
    // terminal queues in cooked mode, not keys the editor reads at its prompt.
    std::thread::sleep(Duration::from_millis(300));
    p.keys("40 + 2\r1000 + 1\r");
    for shown in ["\n42\r", "\n1001\r", "rigger> "] {
        p.expect(shown);
    }
    p.leave();
}

#[test]
fn piped_lines_all_run_in_order() {
    let rig = Rig::new();
    let out = piped(&rig, &[], "sleep(1)\n40 + 2\n1000 + 1\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "42\n1001\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

#[test]
fn ctrl_c_stops_a_sleep_within_a_second() {
    let mut p = Prompt::in_empty_folder();
    // Ctrl-C only once the sleep runs: one that comes while the line is still being
    // read is the prompt's (it drops the line), which a loaded machine can make it.
    // The marker is printed, not typed: the terminal's echo of the line lacks it.
    p.line("print(\"as\" + \"leep\"); sleep(30)");
    p.expect("asleep");
    p.interrupts_within(Duration::from_secs(1));
    p.eval("1 + 1", "2");
    p.leave();
}

#[test]
fn a_second_ctrl_c_is_one_more_interrupt_not_a_crash() {
    let mut p = Prompt::in_empty_folder();
    p.quiet("let before = 1;");
    for gap in [0, 50, 300] {
        p.line("print(\"as\" + \"leep\"); sleep(30)");
        p.expect("asleep");
        p.ctrl(ControlCode::EndOfText);
        std::thread::sleep(Duration::from_millis(gap));
        p.ctrl(ControlCode::EndOfText);
        let shown = p.until("rigger> ");
        assert!(shown.contains("× interrupted"), "{shown}");
        assert!(
            !shown.contains("internal error") && !shown.contains("panicked"),
            "{shown}"
        );
        // Whether the second Ctrl-C hit the sleep or the next prompt, the session is still
        // here with its variables. A Ctrl-C read at the prompt drops what came in with it
        // (as a terminal's own Ctrl-C does), so wait as a person would before typing on.
        std::thread::sleep(Duration::from_millis(300));
        p.eval("before + 1", "2");
    }
    p.leave();
}

#[test]
fn history_in_a_shared_folder_leaves_its_mode_alone() {
    let rig = Rig::new();
    let shared = rig.path("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let history = shared.join("history");
    let mut p = Prompt::start_with(&rig, &[("RIGGER_HISTORY", &history)]);
    p.eval("1 + 1", "2");
    p.leave();
    assert_eq!(mode(&shared), 0o1777, "the shared folder keeps its mode");
    assert_eq!(mode(&history), 0o600, "the history is the user's alone");
    assert_eq!(
        std::fs::read_to_string(&history).unwrap().lines().last(),
        Some("1 + 1")
    );

    // Piped input is not a person typing: it is run, the folder is left alone, and the
    // history is not touched.
    let out = piped(&rig, &[("RIGGER_HISTORY", &history)], "1+1\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2\n");
    assert_eq!(mode(&shared), 0o1777);
    assert_eq!(mode(&history), 0o600);
}

#[test]
fn history_goes_into_a_private_folder_made_for_it() {
    let rig = Rig::new();
    let history = rig.path("new/dir/history");
    let mut p = Prompt::start_with(&rig, &[("RIGGER_HISTORY", &history)]);
    p.eval("1 + 1", "2");
    p.leave();
    assert_eq!(mode(&rig.path("new/dir")), 0o700);
    assert_eq!(mode(&history), 0o600);
}

/// Whether a process whose command line is exactly `argv` is alive on this machine.
fn running(argv: &[&str]) -> bool {
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|p| std::fs::read(p.path().join("cmdline")).is_ok_and(|c| c == wanted))
}

#[test]
fn ctrl_c_stops_a_command_on_a_lab_host_within_a_second() {
    let Some(lab) = LabRig::new() else { return };
    let mut p = Prompt::start(lab.rig());
    p.quiet("let h = launch_instance(#{ name: \"waits\" });");
    // A length of its own, so a sleep left by another run of this test is not taken for it.
    let seconds = format!("137.{}", std::process::id());
    let argv = ["sleep", seconds.as_str()];
    p.line(&format!("run(h, \"sleep {seconds}\")"));
    let started = Instant::now();
    while !running(&argv) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the command never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p.interrupts_within(Duration::from_secs(1));
    // The command is killed as its task is dropped, just after the prompt is back.
    let stopped = Instant::now();
    while running(&argv) {
        assert!(
            stopped.elapsed() < Duration::from_secs(2),
            "the command on the host is still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    p.eval("h.name", "\"waits\"");
    p.leave();
    lab.status();
    lab.destroy().leaves_nothing();
}
