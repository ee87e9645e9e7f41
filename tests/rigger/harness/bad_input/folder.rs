//! A folder whose rigger runs are watched as the table's cases are: for the inputs that
//! look odd but must work, and for a lab that a refused change must not have broken.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use super::run::{Ran, nothing_left, run_rigger, short};
use super::strings;
use crate::harness::procs::{files_under, labs_created};
use crate::harness::{LabRig, Rig};

pub struct Folder {
    rig: Rig,
    dir: PathBuf,
    /// The lab namespaces the runs' `-v` logs said they created.
    labs: BTreeSet<String>,
}

impl Folder {
    /// An empty folder with a state dir of its own.
    pub fn new() -> Self {
        let rig = Rig::new().own_state();
        let dir = rig.path("x").parent().unwrap().to_path_buf();
        Self {
            rig,
            dir,
            labs: BTreeSet::new(),
        }
    }

    /// For a lab test: `None` (after a loud message) without root.
    pub fn lab() -> Option<Self> {
        LabRig::new()?;
        Some(Self::new())
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Writes `text` as the script `name`.
    pub fn script(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.path(name), text).unwrap();
        self
    }

    /// `rigger -v ARGS`, interrupted after a minute.
    pub fn run(&mut self, args: &[&str]) -> Ran {
        self.run_within(args, Duration::from_secs(60))
    }

    fn run_within(&mut self, args: &[&str], timeout: Duration) -> Ran {
        let out = run_rigger(&self.rig, &strings(args), &[], &self.dir, timeout);
        self.labs.extend(labs_created(&out.stderr));
        out
    }

    /// `rigger -v ARGS`, which must exit 0 within three minutes.
    pub fn must_succeed(&mut self, args: &[&str]) -> Ran {
        let out = self.run_within(args, Duration::from_secs(180));
        assert!(
            out.code == Some(0),
            "`rigger {}` exited {:?}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            out.code,
            out.stdout,
            short(&out.stderr)
        );
        out
    }

    /// Whether a run logged a lab namespace it created.
    pub fn saw_a_lab(&self) -> bool {
        !self.labs.is_empty()
    }

    /// No file but the scripts `x.rhai` and `y.rhai`, no process naming the folder, no
    /// namespace of a lab the runs made, no mount under it.
    pub fn leaves_nothing(&self) {
        let files = files_under(&self.dir);
        let left: Vec<&PathBuf> = files
            .iter()
            .filter(|f| !f.ends_with("x.rhai") && !f.ends_with("y.rhai"))
            .collect();
        assert!(left.is_empty(), "files left: {left:?}");
        if let Err(why) = nothing_left(&self.dir, &self.labs) {
            panic!("{why}");
        }
    }
}
