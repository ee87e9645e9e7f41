//! The one error model below the script surface: a kind scripts can branch on (the
//! `kind` of the map a primitive throws), a message that says what was asked and what
//! went wrong, and a help line where one helps.

use std::time::Duration;

/// What kind of failure this is: the contract with scripts (`e.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bad argument: the script asked for something that cannot be done.
    Invalid,
    /// Something required was not given (a parameter, credentials, a region).
    Missing,
    Timeout,
    NotFound,
    Conflict,
    /// A command on a node exited non-zero.
    CommandFailed,
    Permission,
    /// A machine that does not answer (SSH cannot connect).
    Unreachable,
    Failed,
}

impl ErrorKind {
    /// The name scripts see.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Missing => "missing",
            Self::Timeout => "timeout",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::CommandFailed => "command_failed",
            Self::Permission => "permission",
            Self::Unreachable => "unreachable",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of anything below the primitives: providers, services, the world.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub help: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

/// `Error::failed(message)` and its siblings: an error of one kind, said by its message.
macro_rules! of_kind {
    ($($name:ident => $kind:ident),* $(,)?) => {
        impl Error {
            $(
                pub fn $name(message: impl Into<String>) -> Self {
                    Self::new(ErrorKind::$kind, message)
                }
            )*
        }
    };
}

of_kind! {
    failed => Failed,
    not_found => NotFound,
    conflict => Conflict,
    invalid => Invalid,
    missing => Missing,
    permission => Permission,
    timeout => Timeout,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            help: None,
        }
    }
    /// The same error, its message led by `prefix` (which of many it is about).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.message = format!("{prefix}{}", self.message);
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The same failure, its message prefixed with what was being done.
    pub fn context(mut self, doing: impl std::fmt::Display) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// A command on a node that outlived its time limit.
    pub fn command_timeout(command: &str, node: &str, limit: Duration) -> Self {
        Self::timeout(format!(
            "`{command}` on {node} did not finish within {}",
            crate::base::human::duration(limit)
        ))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::PermissionDenied => ErrorKind::Permission,
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Failed,
        };
        Self::new(kind, e.to_string())
    }
}
