//! What a run of rigger gave back (exit status, stdout, stderr) and the assertions
//! tests make on it, each failing with the run's own output.

use std::process::Output;

pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
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

    /// stderr says `part` somewhere (a log line, an error's frame).
    pub fn stderr_has(&self, part: &str) -> &Self {
        self.says("stderr", part, true)
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

    /// Nothing on stderr says `part`: no log line, no warning, no error.
    pub fn stderr_lacks(&self, part: &str) -> &Self {
        self.says("stderr", part, false)
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

    /// stderr says `part` exactly `times` times.
    pub fn stderr_counts(&self, part: &str, times: usize) -> &Self {
        counts(&self.stderr, part, times);
        self
    }

    /// Nothing on stdout says `part`.
    pub fn stdout_lacks(&self, part: &str) -> &Self {
        self.says("stdout", part, false)
    }

    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout, expected, "\nstderr:\n{}", self.stderr);
        self
    }

    /// The data on stdout has `part`.
    pub fn stdout_has(&self, part: &str) -> &Self {
        self.says("stdout", part, true)
    }

    /// A successful health report of exactly `members` healthy members of `domain`.
    pub fn reports_healthy(&self, members: usize, domain: &str) -> &Self {
        self.success();
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(lines.len(), members + 1, "{}", self.stdout);
        let suffix = format!(".{domain}:2379");
        for line in &lines[..members] {
            assert!(
                line.starts_with("member ")
                    && line.contains(" is healthy: got healthy result from https://etcd-")
                    && line.ends_with(&suffix),
                "{line}"
            );
        }
        assert_eq!(lines[members], "cluster is healthy");
        self
    }

    /// Asserts that `stream` ("stdout" or "stderr") has `part`, or lacks it.
    fn says(&self, stream: &str, part: &str, has: bool) -> &Self {
        let text = if stream == "stdout" {
            &self.stdout
        } else {
            &self.stderr
        };
        says(text, stream, part, has);
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

/// Asserts that `text` (the run's `stream`) has `part`, or lacks it.
fn says(text: &str, stream: &str, part: &str, has: bool) {
    let verb = if has { "lacks" } else { "has" };
    assert!(
        text.contains(part) == has,
        "{stream} {verb} {part:?}:\n{text}"
    );
}

/// Asserts that `text` has `part`.
pub fn text_has(text: &str, part: &str) {
    says(text, "the text", part, true);
}

/// Asserts that `text` starts with `start`.
pub fn text_starts(text: &str, start: &str) {
    assert!(text.starts_with(start), "{start:?} does not start:\n{text}");
}

/// Asserts that `part` stands exactly `times` times in `text`.
pub fn counts(text: &str, part: &str, times: usize) {
    assert_eq!(text.matches(part).count(), times, "{part:?} in:\n{text}");
}
