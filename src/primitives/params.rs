//! Script parameters as the command line gives them: `--set key=value`, parsed and kept
//! for `param("key")`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use rhai::{Dynamic, Engine};

/// A `--set` argument that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SetError {
    #[error("--set {0:?}: expected key=value")]
    NoEquals(String),
    #[error("--set {0:?}: the key is empty; expected key=value")]
    EmptyKey(String),
    #[error("--set {key}: {key:?} is not a parameter name (letters, digits, '_' and '-')")]
    BadKey { key: String },
    #[error("--set {key}: the value is empty; quote an empty string as {key}='\"\"'")]
    EmptyValue { key: String },
    #[error("--set {key}: malformed value {value}: {reason}")]
    Malformed {
        key: String,
        value: String,
        reason: String,
    },
    #[error("--set {key} is given twice")]
    Duplicate { key: String },
}

/// Characters that only make sense inside a Rhai literal: a value holding them that does
/// not parse is a typo, not a bare word.
const LITERAL_MARKS: &[char] = &['"', '\'', '`', '[', ']', '{', '}', '#', '(', ')'];

/// Reads one `key=value`. The value is a Rhai literal (`3`, `true`, `"x"`, `[1, 2]`,
/// `#{a: 1}`); anything else without literal punctuation is taken as a bare string,
/// so `--set domain=example.test` needs no quotes.
pub fn parse_set(arg: &str) -> Result<(String, Dynamic), SetError> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| SetError::NoEquals(arg.to_string()))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(SetError::EmptyKey(arg.to_string()));
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(SetError::BadKey {
            key: key.to_string(),
        });
    }
    if value.trim().is_empty() {
        return Err(SetError::EmptyValue {
            key: key.to_string(),
        });
    }
    Ok((key.to_string(), parse_value(key, value)?))
}

fn parse_value(key: &str, value: &str) -> Result<Dynamic, SetError> {
    // A bare engine: no functions, no variables, a handful of operations. Only literals
    // (and constant arithmetic on them) evaluate.
    let mut engine = Engine::new_raw();
    engine.set_max_operations(1_000).set_strict_variables(true);
    match engine.eval_expression::<Dynamic>(value) {
        Ok(v) => Ok(v),
        Err(err) if value.contains(LITERAL_MARKS) => Err(SetError::Malformed {
            key: key.to_string(),
            value: value.to_string(),
            reason: crate::base::eval_error::describe_plain(*err),
        }),
        Err(_) => Ok(Dynamic::from(value.to_string())),
    }
}

/// Parameters given to one run, and the names the script asked for.
#[derive(Default)]
pub struct Params {
    values: BTreeMap<String, Dynamic>,
    asked: Mutex<BTreeSet<String>>,
}

impl Params {
    pub fn new(pairs: impl IntoIterator<Item = (String, Dynamic)>) -> Result<Self, SetError> {
        let mut values = BTreeMap::new();
        for (key, value) in pairs {
            if values.insert(key.clone(), value).is_some() {
                return Err(SetError::Duplicate { key });
            }
        }
        Ok(Self {
            values,
            asked: Mutex::default(),
        })
    }

    /// The value given for `name`, recording that the script asked for it.
    pub fn get(&self, name: &str) -> Option<Dynamic> {
        self.asked
            .lock()
            .expect("params lock")
            .insert(name.to_string());
        self.values.get(name).cloned()
    }

    /// Every key given with `--set`, in key order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Keys given with `--set` that the script never asked for: most likely typos.
    pub fn unused(&self) -> Vec<String> {
        let asked = self.asked.lock().expect("params lock");
        self.values
            .keys()
            .filter(|k| !asked.contains(*k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(arg: &str) -> Dynamic {
        parse_set(arg).unwrap().1
    }

    #[test]
    fn literals_keep_their_type() {
        assert_eq!(value("size=3").as_int(), Ok(3));
        assert_eq!(value("tls=false").as_bool(), Ok(false));
        assert_eq!(value("ratio=0.5").as_float(), Ok(0.5));
        assert_eq!(value("name=\"x y\"").into_string().unwrap(), "x y");
        assert_eq!(value("ports=[2379, 2380]").into_array().unwrap().len(), 2);
        assert!(value("tags=#{a: 1}").is_map());
    }

    #[test]
    fn bare_words_are_strings() {
        assert_eq!(
            value("domain=example.test").into_string().unwrap(),
            "example.test"
        );
        assert_eq!(value("ip=198.18.0.1").into_string().unwrap(), "198.18.0.1");
        assert_eq!(value("v=3.4.23").into_string().unwrap(), "3.4.23");
    }

    #[test]
    fn malformed_values_are_rejected_with_the_key() {
        let err = parse_set("name=\"unterminated").unwrap_err();
        assert!(
            matches!(&err, SetError::Malformed { key, .. } if key == "name"),
            "{err}"
        );
        assert!(matches!(
            parse_set("ports=[1, 2"),
            Err(SetError::Malformed { .. })
        ));
        assert_eq!(
            parse_set("size").unwrap_err(),
            SetError::NoEquals("size".to_string())
        );
        assert_eq!(
            parse_set("=3").unwrap_err(),
            SetError::EmptyKey("=3".to_string())
        );
        assert_eq!(
            parse_set("size=").unwrap_err(),
            SetError::EmptyValue {
                key: "size".to_string()
            }
        );
        assert!(matches!(parse_set("a b=1"), Err(SetError::BadKey { .. })));
    }

    #[test]
    fn unused_lists_keys_never_asked_for() {
        let params = Params::new([
            ("size".to_string(), Dynamic::from(3_i64)),
            ("sise".to_string(), Dynamic::from(5_i64)),
        ])
        .unwrap();
        assert!(params.get("size").is_some());
        assert!(params.get("domain").is_none());
        assert_eq!(params.unused(), vec!["sise".to_string()]);
    }

    #[test]
    fn a_key_given_twice_is_an_error() {
        let twice = [
            ("size".to_string(), Dynamic::from(3_i64)),
            ("size".to_string(), Dynamic::from(5_i64)),
        ];
        assert!(matches!(
            Params::new(twice),
            Err(SetError::Duplicate { .. })
        ));
    }
}
