//! `target`, `planning`: which world the script runs against, for the few choices that
//! differ.

use std::sync::Arc;

use rhai::Engine;

use super::call::primitive;
use super::context::ScriptContext;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// The world this run acts on: "lab" or "aws" (`--target`). Scripts use it for
        /// the few defaults that differ, such as how etcd is installed.
        fn target(c) -> String { Ok(c.target()) }
    }
    primitive! { engine, cx,
        /// True in a dry run (`--dry-run`): commands are written down, not run, so their
        /// output is empty and a script must not judge by it.
        fn planning(c) -> bool { Ok(c.dry_run()) }
    }
    primitive! { engine, cx,
        /// The etcd releases this world's machines run without a download, oldest first,
        /// as `#{version, dir, etcd, etcdctl, etcdutl}` maps (`etcdutl` is `()` before
        /// 3.5): in the lab its version ladder, which setup.sh installs (`rigger lab
        /// versions` lists it); in the cloud none, since every release is downloaded.
        fn etcd_releases(c) -> rhai::Array {
            let row = crate::providers::backends::target(&c.target()).map_err(|e| c.failed(e))?;
            let releases = (row.releases)();
            Ok(c.to_value(&releases)?.into_array().unwrap_or_default())
        }
    }
    primitive! { engine, cx,
        /// Why a member running etcd `version` needs looking after, as `rigger doctor` says
        /// it, or `()`: a line past its end of life (3.4), or a 3.5 below 3.5.26 (zombie
        /// members after a restore from 3.4, etcd-io/etcd#20967).
        fn etcd_release_concern(c, version: &str) -> rhai::Dynamic {
            let v = crate::providers::release::Version::parse(version).ok_or_else(|| {
                c.invalid(format!("{version:?} is not an etcd release version: three numbers such as 3.5.30"))
            })?;
            Ok(v.concern().map_or(rhai::Dynamic::UNIT, |k| k.text(v).into()))
        }
    }
}
