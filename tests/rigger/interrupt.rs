//! Ctrl-C (SIGINT) ends a script promptly, even one waiting inside a primitive.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::harness::{BIN, Outcome, Rig};

/// Starts the script, waits for its first stdout line, sends SIGINT, and returns how
/// long the process took to exit after the signal.
fn interrupt_after_first_line(rig: Rig) -> (Outcome, Duration) {
    let mut child = rig
        .command(std::path::Path::new(BIN))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "waiting\n");
    // Let it settle into the wait.
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let sent = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("rigger did not exit within 20s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = sent.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    (
        Outcome {
            code: status.code(),
            stdout: format!("{first}{rest}"),
            stderr,
        },
        took,
    )
}

#[test]
fn sigint_ends_a_script_waiting_in_a_primitive_with_status_130() {
    let port = crate::harness::free_port();
    let script = format!(
        "print(\"waiting\");\nwait_tcp(\"127.0.0.1:{port}\", #{{timeout: 600}});\nprint(\"after\");\n"
    );
    let rig = Rig::new().script("w.rhai", &script);
    let (out, took) = interrupt_after_first_line(rig);
    out.failure(130)
        .stdout_is("waiting\n")
        .stderr_has("× interrupted")
        .stderr_has("╭─[w.rhai:2:1]")
        .stderr_has("╰── stopped here");
    assert!(took < Duration::from_secs(3), "took {took:?} to stop");
}

#[test]
fn sigint_ends_a_sleeping_script() {
    let rig = Rig::new().script("s.rhai", "print(\"waiting\");\nsleep(600);\n");
    let (out, took) = interrupt_after_first_line(rig);
    out.failure(130).stderr_has("× interrupted");
    assert!(took < Duration::from_secs(3), "took {took:?} to stop");
}

#[test]
fn sigint_ends_a_busy_loop() {
    let rig = Rig::new()
        .script(
            "l.rhai",
            "print(\"waiting\");\nlet i = 0;\nloop { i += 1; }\n",
        )
        .args(&["--max-operations", "0"]);
    let (out, took) = interrupt_after_first_line(rig);
    out.failure(130)
        .stderr_has("× interrupted")
        .stderr_has("╭─[l.rhai:3:");
    assert!(took < Duration::from_secs(3), "took {took:?} to stop");
}
