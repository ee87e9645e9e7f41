//! The one harness every integration test uses. Each file is one concern:
//!
//! - `rig`, `outcome`: the real binary run in an empty folder with a clean
//!   environment, and the assertions on what it printed;
//! - `lab`: the lab fixture (root, or a loud skip under the test's own name) and the
//!   check that a test's lab left nothing behind, from what `procs` reads of /proc;
//! - `doctor`: zones broken on purpose, and `members`: etcd started by hand against
//!   them;
//! - `bind`, `named`: BIND 9 serving a zone for RFC 2136 updates, or as written;
//! - `cloud`: moto, and rigs pointed at it and at the Cloudflare stand-in
//!   (`cloudflare_api.rs` and `follow.rs` beside this folder, which the benchmark
//!   includes too);
//! - `bad_input`: the runner of the bad-input table.

pub mod bad_input;
pub mod bind;
pub mod cloud;
pub mod dnsmasq;
pub mod doctor;
mod lab;
mod members;
pub mod named;
mod outcome;
mod procs;
mod rig;

pub use lab::{LabRig, test_name};
pub use outcome::{Outcome, counts, text_has, text_starts};
pub use rig::Rig;

pub const BIN: &str = env!("CARGO_BIN_EXE_rigger");

/// A figure a closing note reports, as `FIGURE <suite>: <what>: <value>`: straight to
/// stderr, which libtest shows with --nocapture and CI logs keep.
pub fn figure(suite: &str, what: &str, value: impl std::fmt::Display) {
    let line = format!("FIGURE {suite}: {what}: {value}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// Every `.rs` file under `dir` (relative to the repository), read: path -> text.
pub fn rust_sources(dir: &str) -> std::collections::BTreeMap<std::path::PathBuf, String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir),
        &mut files,
    );
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

/// A loopback port nothing listens on: bound a moment ago, then released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Straight to stderr: libtest swallows what a passing test prints.
pub fn say(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
}

/// Runs `work` (a blocking rigger run, say) off an async test's runtime, so that the
/// test's own servers go on answering meanwhile.
pub async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("the blocking work's thread")
}

/// Runs `cmd`, which must succeed; its stdout.
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
