//! Scripts: finding the one a user named (a file on disk, or one bundled into the
//! binary), the one engine factory, its module resolver, sources and limits, and the
//! reference read from the engine's metadata.

pub mod bundled;
pub mod declared;
pub mod engine;
pub mod limits;
pub mod modules;
pub mod reference;
pub mod sources;

use std::path::{Path, PathBuf};

pub use limits::Limits;
pub use sources::Sources;

/// A script that cannot be found or read: what went wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct NotFound {
    pub message: String,
    pub help: Option<String>,
}

pub struct Script {
    /// Shown in diagnostics and used as the engine's source name.
    pub name: String,
    pub text: String,
    /// Where its relative imports resolve.
    pub dir: PathBuf,
}

impl Script {
    /// `arg` is a path to a `.rhai` file, or the name of a bundled script.
    pub fn find(arg: &str) -> Result<Self, NotFound> {
        let path = Path::new(arg);
        if path.is_dir() && bundled::script(arg).is_none() {
            return Err(NotFound {
                message: format!("{arg} is a directory, not a script file"),
                help: Some("give the path of a .rhai file, or the name of a bundled script".into()),
            });
        }
        let looks_like_path = arg.contains('/') || arg.ends_with(".rhai");
        if path.is_file() || looks_like_path {
            let text = std::fs::read_to_string(path).map_err(|err| NotFound {
                message: format!("cannot read script {arg}: {err}"),
                help: (!path.exists() && bundled::script(arg.trim_end_matches(".rhai")).is_some())
                    .then(|| {
                        format!(
                            "to run the bundled script, name it: rigger run {}",
                            arg.trim_end_matches(".rhai")
                        )
                    }),
            })?;
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            return Ok(Self {
                name: arg.to_string(),
                text,
                dir,
            });
        }
        match bundled::script(arg) {
            Some(b) => Ok(Self {
                name: b.path.to_string(),
                text: b.text.to_string(),
                dir: PathBuf::from("."),
            }),
            None => Err(NotFound {
                message: format!("no script file {arg:?} here, and no bundled script of that name"),
                help: Some(format!(
                    "bundled scripts: {}; or give the path of a .rhai file",
                    bundled::names(bundled::SCRIPTS)
                )),
            }),
        }
    }
}
