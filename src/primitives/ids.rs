//! `uuid`: unique names for nodes and clusters, as the seed names its machines.

use rhai::{Engine, FuncRegistration};

pub fn register(engine: &mut Engine) {
    FuncRegistration::new("uuid")
        .with_params_info(["String"])
        .with_comments([
            "/// A random UUID as 32 lowercase hex digits, e.g. for `\"etcd-\" + uuid()`.",
        ])
        .register_into_engine(engine, || -> String {
            uuid::Uuid::new_v4().simple().to_string()
        });
}
