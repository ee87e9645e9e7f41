//! A run of the real `rigger` binary in an empty temporary folder with a clean
//! environment: the builder every test starts from.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{BIN, Outcome};

pub struct Rig {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
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

    /// Writes `text` as the script `name`, and runs it (`rigger run NAME`); more
    /// arguments may follow.
    pub fn script(self, name: &str, text: &str) -> Self {
        self.file(name, text).args(&["run", name])
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
        self.command_in_folder(bin, &self.args, false)
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
        self.command_in_folder(Path::new(BIN), args, true)
    }

    /// `bin ARGS` in the rig's folder, its environment only the rig's (and, with
    /// `state`, its state dir): nothing of the test process's leaks in.
    fn command_in_folder(&self, bin: &Path, args: &[impl AsRef<OsStr>], state: bool) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        if state {
            cmd.env("RIGGER_STATE_DIR", self.path("state"));
        }
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
        // `destroy` keeps a lab up for machines made outside any run (`lab hosts add`);
        // `lab down` takes those too.
        if self.path("state/lab").exists() {
            let _ = self.again_command(&["lab", "down", "-q"]).output();
        }
    }
}
