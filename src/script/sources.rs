//! The text of every script and module a run has loaded, by the source name the engine
//! reports in errors, so a diagnostic can show the right file at any depth.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Clone, Default)]
pub struct Sources {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Default)]
struct Inner {
    texts: HashMap<String, Arc<str>>,
    /// `import "x"` path -> source name of the module it loaded.
    imports: HashMap<String, String>,
}

impl Sources {
    pub fn add(&self, name: &str, text: impl Into<Arc<str>>) {
        let mut inner = self.inner.write().expect("sources lock");
        inner.texts.insert(name.to_string(), text.into());
    }

    pub fn add_import(&self, import_path: &str, name: &str) {
        let mut inner = self.inner.write().expect("sources lock");
        inner
            .imports
            .insert(import_path.to_string(), name.to_string());
    }

    pub fn text(&self, name: &str) -> Option<Arc<str>> {
        self.inner
            .read()
            .expect("sources lock")
            .texts
            .get(name)
            .cloned()
    }

    /// The source name of the module an `import` path loaded, if it got that far.
    pub fn imported(&self, import_path: &str) -> Option<String> {
        self.inner
            .read()
            .expect("sources lock")
            .imports
            .get(import_path)
            .cloned()
    }
}
