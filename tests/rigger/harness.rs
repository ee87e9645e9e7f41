//! Runs the real `rigger` binary in an empty temporary folder with a clean environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_rigger");

pub struct Rig {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Rig {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Writes a file (creating folders) relative to the run's folder.
    pub fn file(self, path: &str, text: &str) -> Self {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self, bin: &Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(&self.args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(self) -> Outcome {
        self.run_with(Path::new(BIN))
    }

    pub fn run_with(self, bin: &Path) -> Outcome {
        let out = self.command(bin).output().expect("rigger runs");
        Outcome::from(out)
    }

    /// Points the run at a state dir of its own inside the test folder, so every test
    /// gets its own lab.
    pub fn own_state(self) -> Self {
        let state = self.path("state").to_string_lossy().into_owned();
        self.env("RIGGER_STATE_DIR", &state)
    }

    /// Runs another rigger command against the same folder and environment.
    pub fn again(&self, args: &[&str]) -> Outcome {
        Outcome::from(self.again_command(args).output().expect("rigger runs"))
    }

    /// `rigger ARGS` in the rig's folder, with the rig's environment and nothing of the
    /// test process's (real credentials), on its state dir.
    fn again_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env("RIGGER_STATE_DIR", self.path("state"))
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the command, keeping the folder for further commands.
    pub fn run_keep(&mut self) -> Outcome {
        let out = self.command(Path::new(BIN)).output().expect("rigger runs");
        Outcome::from(out)
    }

    /// `run_keep` from an async test, off its runtime (the test's own servers go on
    /// answering meanwhile); the rig comes back for further commands.
    pub async fn run_kept(mut self) -> (Self, Outcome) {
        tokio::task::spawn_blocking(move || {
            let out = self.run_keep();
            (self, out)
        })
        .await
        .expect("the run's thread")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

impl Drop for Rig {
    /// A test that fails half-way must not leave its lab behind: destroy whatever the
    /// test's state dir still names, with the rig's own environment (the keys the run
    /// used, a TSIG key file or a stand-in's URL; never the test process's credentials).
    fn drop(&mut self) {
        if self.path("state").exists() {
            let _ = self.again_command(&["destroy", "-q"]).output();
        }
    }
}

impl From<Output> for Outcome {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Outcome {
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstderr:\n{}",
            self.stderr
        );
        self
    }

    pub fn failure(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Compares stderr with `expected`, ignoring trailing spaces and the blank edges.
    pub fn stderr_is(&self, expected: &str) -> &Self {
        assert_eq!(
            tidy(&self.stderr),
            tidy(expected),
            "\nactual stderr:\n{}",
            self.stderr
        );
        self
    }

    /// Nothing was asked of EC2's instance metadata service (169.254.169.254, an
    /// address outside this machine): the AWS SDK says so when it tries.
    pub fn asks_no_metadata_service(self) -> Self {
        assert!(
            !self.stderr.contains("IMDS"),
            "rigger asked the instance metadata service:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that node `name` said exactly `phases`, in order, as the log lines
    /// (`INFO NAME: PHASE`) a run not on a terminal writes.
    pub fn says_phases(&self, name: &str, phases: &[&str]) -> &Self {
        let said = format!("  INFO {name}: ");
        let seen: Vec<&str> = self
            .stderr
            .lines()
            .filter_map(|l| Some(l.split_once(&said)?.1))
            .collect();
        assert_eq!(seen, phases, "{name}'s phases:\n{}", self.stderr);
        self
    }

    pub fn stderr_has(&self, part: &str) -> &Self {
        assert!(
            self.stderr.contains(part),
            "stderr lacks {part:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_lacks(&self, part: &str) -> &Self {
        assert!(
            !self.stdout.contains(part),
            "stdout has {part:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn stderr_lacks(&self, part: &str) -> &Self {
        assert!(
            !self.stderr.contains(part),
            "stderr has {part:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn stdout_has(&self, part: &str) -> &Self {
        assert!(
            self.stdout.contains(part),
            "stdout lacks {part:?}:\n{}",
            self.stdout
        );
        self
    }

    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout, expected, "\nstderr:\n{}", self.stderr);
        self
    }
}

fn tidy(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim_matches('\n')
        .to_string()
}

/// A loopback port nothing listens on: bound a moment ago, then released.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
