//! Reading a primitive's option map (`#{timeout: 5, interval: 0.5}`) strictly: an unknown
//! key is a typo that would otherwise be silently ignored.

use rhai::{Dynamic, Map};

use super::convert::seconds_arg;
use super::failure::Failure;

pub struct Options {
    primitive: &'static str,
    map: Map,
}

impl Options {
    pub fn new(primitive: &'static str, map: Map, known: &[&str]) -> Result<Self, Failure> {
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(Failure::invalid(
                primitive,
                format!("unknown option {:?}", unknown.as_str()),
            )
            .with_help(format!("known options: {}", known.join(", "))));
        }
        Ok(Self { primitive, map })
    }

    pub fn get(&self, key: &str) -> Option<&Dynamic> {
        self.map.get(key)
    }

    pub fn seconds(&self, key: &str, default: f64) -> Result<std::time::Duration, Failure> {
        match self.get(key) {
            Some(v) => seconds_arg(self.primitive, key, v),
            None => Ok(std::time::Duration::from_secs_f64(default)),
        }
    }
}
