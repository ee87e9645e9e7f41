//! The bad-input table's runner (issue 10, "Nothing left behind, ever"): a case is
//! one rigger command in a folder and state dir of its own, with what its error must
//! name; `run_group` runs a group of them side by side and fails with every case that
//! exited wrongly, leaked Rust internals, missed its culprit or left anything behind.

mod binary;
mod folder;
mod run;

use std::time::Duration;

pub use folder::Folder;
pub use run::run_group;

#[derive(Clone, Copy, Debug)]
pub enum Exit {
    /// 1: the run failed.
    Failure,
    /// 2: a usage error (the command line).
    Usage,
    /// 1 or 2.
    Either,
}

pub struct Case {
    pub name: &'static str,
    pub args: Vec<String>,
    /// Files written (relative to the case's folder) before the run; `{dir}` in a file's
    /// text or in an argument is the case's folder.
    pub files: Vec<(String, String)>,
    /// Files of raw bytes (not UTF-8, say).
    pub raw_files: Vec<(String, Vec<u8>)>,
    pub dirs: Vec<String>,
    pub env: Vec<(String, String)>,
    pub exit: Exit,
    pub has: Vec<&'static str>,
    pub lab: bool,
    pub timeout: Duration,
    /// rigger commands run before (each must succeed) and after (likewise: the cleanup a
    /// user would do) the case's command.
    pub before: Vec<Vec<String>>,
    pub after: Vec<Vec<String>>,
    /// A read-only tmpfs mounted at this folder (relative) for the run.
    pub ro_mount: Option<String>,
}

pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// A case running `rigger ARGS`; by default it may exit 1 or 2 and needs no lab.
pub fn case(name: &'static str, args: &[&str]) -> Case {
    Case {
        name,
        args: strings(args),
        files: Vec::new(),
        raw_files: Vec::new(),
        dirs: Vec::new(),
        env: Vec::new(),
        exit: Exit::Either,
        has: Vec::new(),
        lab: false,
        timeout: Duration::from_secs(60),
        before: Vec::new(),
        after: Vec::new(),
        ro_mount: None,
    }
}

impl Case {
    pub fn has(mut self, parts: &[&'static str]) -> Self {
        self.has.extend_from_slice(parts);
        self
    }
    pub fn usage(mut self) -> Self {
        self.exit = Exit::Usage;
        self
    }
    pub fn failure(mut self) -> Self {
        self.exit = Exit::Failure;
        self
    }
    pub fn lab(mut self) -> Self {
        self.lab = true;
        self
    }
    pub fn timeout(mut self, secs: u64) -> Self {
        self.timeout = Duration::from_secs(secs);
        self
    }
    pub fn file(mut self, path: &str, text: &str) -> Self {
        self.files.push((path.to_string(), text.to_string()));
        self
    }
    pub fn raw_file(mut self, path: &str, bytes: &[u8]) -> Self {
        self.raw_files.push((path.to_string(), bytes.to_vec()));
        self
    }
    pub fn script(self, text: &str) -> Self {
        self.file("x.rhai", text)
    }
    pub fn dir(mut self, path: &str) -> Self {
        self.dirs.push(path.to_string());
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
    pub fn before(mut self, args: &[&str]) -> Self {
        self.before.push(strings(args));
        self
    }
    pub fn after(mut self, args: &[&str]) -> Self {
        self.after.push(strings(args));
        self
    }
    pub fn ro_mount(mut self, path: &str) -> Self {
        self.ro_mount = Some(path.to_string());
        self
    }
    /// Points every AWS client at a closed loopback port, with made-up keys and no
    /// instance metadata: a case that should be refused before any call cannot reach
    /// anything outside this machine even if it is not.
    pub fn no_aws(self) -> Self {
        self.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "not-a-secret")
            .env("AWS_REGION", "us-east-1")
            .env("CLOUDFLARE_API_TOKEN", "not-a-token")
            .env("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9")
    }
}

/// `rigger run x.rhai` with `text` as x.rhai: a script error, exit 1, no lab needed.
pub fn script(name: &'static str, text: &str, has: &[&'static str]) -> Case {
    case(name, &["run", "x.rhai"])
        .script(text)
        .failure()
        .has(has)
}

/// A script that brings the lab up (or would, were its input not refused).
pub fn lab_script(name: &'static str, text: &str, has: &[&'static str]) -> Case {
    script(name, text, has).lab()
}

/// A script that first launches the lab host `n1` as `n`: the run then fails, and must
/// roll the host (and the lab) back.
pub fn node_script(name: &'static str, body: &str, has: &[&'static str]) -> Case {
    let text = format!("let n = launch_instance(#{{ name: \"n1\" }});\n{body}\n");
    lab_script(name, &text, has)
}

/// A script that first makes the lab zone `t.test`.
pub fn zone_script(name: &'static str, body: &str, has: &[&'static str]) -> Case {
    let text = format!("dns_zone(\"t.test\");\n{body}\n");
    lab_script(name, &text, has)
}

/// `rigger run cluster` with each `key=value` as a `--set`.
pub fn cluster(name: &'static str, sets: &[&str], has: &[&'static str]) -> Case {
    let mut args = vec!["run", "cluster"];
    for set in sets {
        args.extend(["--set", set]);
    }
    case(name, &args).lab().has(has)
}

/// `rigger run records` with `--set domain=example.test` unless `sets` has a domain.
pub fn records(name: &'static str, sets: &[&str], has: &[&'static str]) -> Case {
    let mut args = vec!["run", "records"];
    if !sets.iter().any(|s| s.starts_with("domain=")) {
        args.extend(["--set", "domain=example.test"]);
    }
    for set in sets {
        args.extend(["--set", set]);
    }
    case(name, &args).has(has)
}

// ---------------------------------------------------------------------------------
