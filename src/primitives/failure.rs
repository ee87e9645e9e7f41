//! A primitive's error as a script sees it: a map `#{kind, primitive, message, help}`
//! that `try`/`catch` can inspect and the diagnostic renderer decodes.

use rhai::{EvalAltResult, Map, Position};

use crate::base::error::Error;

#[derive(Debug, Clone)]
pub struct Failure {
    pub primitive: &'static str,
    pub error: Error,
}

impl Failure {
    pub fn new(primitive: &'static str, error: Error) -> Self {
        Self { primitive, error }
    }

    /// A bad argument: the script asked for something that cannot be done.
    pub fn invalid(primitive: &'static str, message: impl Into<String>) -> Self {
        Self::new(primitive, Error::invalid(message))
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.error.help = Some(help.into());
        self
    }

    /// The same failure, its message led by `prefix` (which of many it is about).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.error = self.error.prefixed(prefix);
        self
    }
}

impl From<Failure> for Box<EvalAltResult> {
    fn from(f: Failure) -> Self {
        let mut map = Map::new();
        map.insert("kind".into(), f.error.kind.as_str().into());
        map.insert("primitive".into(), f.primitive.into());
        map.insert(
            "message".into(),
            format!("{}: {}", f.primitive, f.error.message).into(),
        );
        if let Some(help) = f.error.help {
            map.insert("help".into(), help.into());
        }
        // Position NONE: the engine fills in the call site.
        Box::new(EvalAltResult::ErrorRuntime(map.into(), Position::NONE))
    }
}
