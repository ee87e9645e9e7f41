use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{BIN, say};

/// The rigger binary built from this worktree. `CARGO_BIN_EXE_rigger` names the target
/// dir's `debug/rigger`, which a build of another worktree sharing the target dir
/// replaces at any time: the binary is found instead by the worktree's path in its debug
/// info, among `debug/rigger` and `debug/deps/rigger-*`.
pub(super) fn rigger_bin() -> &'static Path {
    static FOUND: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        let bin = PathBuf::from(BIN);
        let deps = bin.parent().unwrap().join("deps");
        let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&deps)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("rigger-") && !name.contains('.')
            })
            .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
        let me = std::env::current_exe().ok();
        let found = std::iter::once(bin.clone())
            .chain(candidates.into_iter().map(|(_, p)| p))
            .filter(|p| Some(p) != me.as_ref())
            .find(|p| is_rigger(p) && built_here(p));
        let found = found.unwrap_or_else(|| {
            panic!(
                "no rigger binary built from {} alone in {} or {} (another worktree sharing the target dir built over it: build again)",
                env!("CARGO_MANIFEST_DIR"),
                bin.display(),
                deps.display()
            )
        });
        if found != bin {
            say(&format!(
                "bad_inputs: {} is another worktree's build; testing {}\n",
                bin.display(),
                found.display()
            ));
        }
        found
    })
}

/// A rigger binary (not a test binary): `--version` says so.
fn is_rigger(path: &Path) -> bool {
    Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"rigger "))
}

/// Whether every crate of the binary was compiled in this worktree: the compilation
/// dirs in its debug info (NUL-terminated paths beside this worktree's) are this
/// worktree alone. A lib built by another worktree would show its own dir.
fn built_here(path: &Path) -> bool {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let parent = here.parent().unwrap().to_string_lossy().into_owned();
    let pattern = format!("\\Q{parent}/\\E[^\\x00/\\n]+\\x00");
    let Ok(out) = Command::new("grep")
        .args(["-a", "-o", "-P", "--", &pattern])
        .arg(path)
        .stdin(Stdio::null())
        .output()
    else {
        return false;
    };
    let dirs: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('\0').to_string())
        .collect();
    dirs.len() == 1 && dirs.contains(here.to_string_lossy().as_ref())
}
