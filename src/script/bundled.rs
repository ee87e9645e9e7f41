//! Scripts and stdlib modules compiled into the binary, so `rigger run cluster` and
//! `import "etcd"` work wherever the binary is copied.

/// A Rhai source shipped inside the binary.
pub struct Bundled {
    pub name: &'static str,
    /// The path shown in diagnostics: where the file lives in the repository.
    pub path: &'static str,
    pub text: &'static str,
}

macro_rules! bundle {
    ($dir:literal, $name:literal) => {
        Bundled {
            name: $name,
            path: concat!($dir, "/", $name, ".rhai"),
            text: include_str!(concat!("../../", $dir, "/", $name, ".rhai")),
        }
    };
}

/// `scripts/*.rhai`: what `rigger run NAME` runs.
pub const SCRIPTS: &[Bundled] = &[
    bundle!("scripts", "cluster"),
    bundle!("scripts", "records"),
    bundle!("scripts", "member-add"),
    bundle!("scripts", "member-remove"),
    bundle!("scripts", "member-replace"),
    bundle!("scripts", "reconcile"),
    bundle!("scripts", "upgrade"),
    bundle!("scripts", "backup"),
    bundle!("scripts", "restore"),
    bundle!("scripts", "recover"),
    bundle!("scripts", "defrag"),
    bundle!("scripts", "rotate-certs"),
    bundle!("scripts", "user-add"),
    bundle!("scripts", "user-remove"),
];

/// `scripts/examples/*.rhai`: topologies a user would write (docs/topologies.md walks
/// through one), run by name as the scripts are, so that the binary alone has them. Not
/// in `SCRIPTS`: they are starting points to copy, not procedures of rigger's own.
pub const EXAMPLES: &[Bundled] = &[
    bundle!("scripts/examples", "three-zones"),
    bundle!("scripts/examples", "two-types"),
    bundle!("scripts/examples", "with-learner"),
];

/// `stdlib/*.rhai`: what `import "NAME"` finds before looking at the script's folder.
pub const STDLIB: &[Bundled] = &[
    bundle!("stdlib", "backup"),
    bundle!("stdlib", "etcd"),
    bundle!("stdlib", "members"),
    bundle!("stdlib", "recover"),
    bundle!("stdlib", "releases"),
    bundle!("stdlib", "rotate"),
    bundle!("stdlib", "upgrade"),
];

/// The bundled script or example named `name`.
pub fn script(name: &str) -> Option<&'static Bundled> {
    SCRIPTS.iter().chain(EXAMPLES).find(|s| s.name == name)
}

pub fn stdlib(name: &str) -> Option<&'static Bundled> {
    STDLIB.iter().find(|s| s.name == name)
}

pub fn names(list: &[Bundled]) -> String {
    list.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}
