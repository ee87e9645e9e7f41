//! `uuid`: unique names for nodes and clusters, as the seed names its machines.

use rhai::Engine;

use super::{Doc, define};

const UUID: Doc = Doc {
    name: "uuid",
    params: &["String"],
    text: "/// A random UUID as 32 lowercase hex digits, e.g. for `\"etcd-\" + uuid()`.",
};

pub fn register(engine: &mut Engine) {
    define(&UUID).register_into_engine(engine, || -> String {
        uuid::Uuid::new_v4().simple().to_string()
    });
}
