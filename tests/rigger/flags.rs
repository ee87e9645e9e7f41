//! A member's command line is built for the release it runs (issue 25): rendered for
//! 3.4, 3.5, 3.6 and 3.7 and checked against the flags each of those tags registers, as
//! read from etcd's own source (`tests/fixtures/etcd-flags/<tag>.txt`). Only 3.4 and 3.5
//! run here (the lab's ladder); 3.6 and 3.7 are checked only so.

use std::collections::BTreeSet;

use crate::harness::Rig;

const TAGS: [&str; 4] = ["v3.4.23", "v3.5.30", "v3.6.14", "v3.7.1"];

/// The flag names tag `tag` registers.
fn registered(tag: &str) -> BTreeSet<String> {
    let path = format!(
        "{}/tests/fixtures/etcd-flags/{tag}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let names: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    assert!(names.len() > 90, "{path}: {} names", names.len());
    names
}

/// What `script` prints, one command line per line (arguments separated by a space).
fn lines(script: &str) -> Vec<Vec<String>> {
    let out = Rig::new().script("f.rhai", script).run();
    out.success();
    out.stdout
        .lines()
        .map(|l| l.split(' ').map(String::from).collect())
        .collect()
}

/// A member's command lines for `version`: bootstrapping with TLS, plain HTTP, joining
/// an existing cluster, and a command line of an older release carrying the flags later
/// ones removed, made fit for `version`; each as `etcd::flags` and the systemd unit
/// render it.
fn rendered(version: &str) -> Vec<Vec<String>> {
    lines(&format!(
        r#"
import "etcd" as etcd;
let node = #{{ name: "etcd-1", dir: "/var/lib/rigger", private_ip: "192.0.2.1", fqdn: "etcd-1.example.test" }};
let base = #{{ domain: "example.test", token: "etcd-t", etcd: "/usr/local/bin/etcd", etcd_version: "{version}" }};
let say = |args| print(args.reduce(|sum, a| if sum == () {{ a }} else {{ sum + " " + a }}));
say.call(etcd::flags(node, base + #{{ tls: true, init: "systemd" }}));
say.call(etcd::flags(node, base + #{{ tls: false, init: "process" }}));
say.call(etcd::flags(node, base + #{{ tls: true, state: "existing", initial_cluster: "etcd-1=https://etcd-1.example.test:2380" }}));
let old = ["/usr/local/bin/etcd", "--name", "etcd-1", "--enable-v2", "--experimental-initial-corrupt-check=true",
    "--proxy", "off", "--proxy-refresh-interval", "30000", "--experimental-enable-v2v3", "/v2", "--data-dir", "/d"];
say.call(etcd::releases::args_for(old, "{version}"));
let unit = etcd::service(node, base + #{{ tls: true, init: "systemd", install: "download" }});
say.call(unit.split("\n").filter(|l| l.starts_with("ExecStart="))[0].sub_string(10).split(" "));
"#
    ))
}

#[test]
fn every_flag_a_member_is_given_is_one_its_release_registers() {
    for tag in TAGS {
        let known = registered(tag);
        let version = tag.trim_start_matches('v');
        for line in rendered(version) {
            let flags: Vec<&String> = line.iter().filter(|a| a.starts_with("--")).collect();
            assert!(!flags.is_empty(), "{line:?}");
            for flag in flags {
                let name = flag.trim_start_matches("--").split('=').next().unwrap();
                assert!(
                    known.contains(name),
                    "etcd {version} has no --{name}, given in {line:?}"
                );
            }
            // Every release from 3.4 to 3.7 has --discovery-fallback: it is set, to exit.
            let at = line.iter().position(|a| a == "--discovery-fallback");
            assert_eq!(at.map(|i| line[i + 1].as_str()), Some("exit"), "{line:?}");
        }
        // A member rigger starts compacts an hour of history away and has its quota
        // written out (etcd's own 2 GiB), joining or not, as a process or a unit.
        let lines = rendered(version);
        for line in [&lines[0], &lines[1], &lines[2], &lines[4]] {
            let value = |flag: &str| {
                let at = line.iter().position(|a| a == flag);
                at.map(|i| line[i + 1].clone())
            };
            assert_eq!(
                value("--auto-compaction-mode").as_deref(),
                Some("periodic"),
                "{line:?}"
            );
            assert_eq!(
                value("--auto-compaction-retention").as_deref(),
                Some("1h"),
                "{line:?}"
            );
            assert_eq!(
                value("--quota-backend-bytes").as_deref(),
                Some("2147483648"),
                "{line:?}"
            );
        }
    }
}

#[test]
fn what_a_release_removed_is_dropped_with_its_value_and_nothing_else() {
    let old = |version: &str| rendered(version)[3].join(" ");
    assert_eq!(
        old("3.5.30"),
        "/usr/local/bin/etcd --name etcd-1 --enable-v2 --experimental-initial-corrupt-check=true --proxy off --proxy-refresh-interval 30000 --experimental-enable-v2v3 /v2 --data-dir /d --discovery-fallback exit"
    );
    assert_eq!(
        old("3.4.23"),
        "/usr/local/bin/etcd --name etcd-1 --enable-v2 --experimental-initial-corrupt-check=true --proxy off --proxy-refresh-interval 30000 --experimental-enable-v2v3 /v2 --data-dir /d --discovery-fallback exit --logger zap"
    );
    assert_eq!(
        old("3.6.14"),
        "/usr/local/bin/etcd --name etcd-1 --experimental-initial-corrupt-check=true --data-dir /d --discovery-fallback exit"
    );
    assert_eq!(
        old("3.7.1"),
        "/usr/local/bin/etcd --name etcd-1 --data-dir /d --discovery-fallback exit"
    );
    // The fixtures agree that these are the flags removed.
    let (v35, v36, v37) = (
        registered("v3.5.30"),
        registered("v3.6.14"),
        registered("v3.7.1"),
    );
    for gone in [
        "enable-v2",
        "experimental-enable-v2v3",
        "proxy",
        "proxy-refresh-interval",
    ] {
        assert!(v35.contains(gone) && !v36.contains(gone), "{gone}");
    }
    assert!(v36.contains("experimental-initial-corrupt-check"));
    assert!(!v37.iter().any(|f| f.starts_with("experimental-")));
}
