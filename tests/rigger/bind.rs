//! `--dns rfc2136` against a real BIND 9 inside the lab: BIND serves the cluster's
//! records, etcd reads its SRV records from BIND, and destroy takes back exactly what
//! rigger added. BIND runs in the lab's namespace on a lab address, so nothing leaves it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::LabRig;

const ADDR: &str = "198.18.0.53";
const ZONE: &str = "bind.test";

/// A BIND 9 primary for `bind.test` in the lab namespace, updatable with one TSIG key.
pub struct Bind {
    child: Child,
    dir: tempfile::TempDir,
    key: PathBuf,
    /// The same key name with another secret.
    wrong_key: PathBuf,
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn keygen(path: &Path) {
    let key = sh(Command::new("tsig-keygen").args(["-a", "hmac-sha256", "rigger-key"]));
    std::fs::write(path, key).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(path).unwrap().permissions(),
        0o600,
    );
}

impl Bind {
    /// A key pair and a `named.conf` serving `bind.test` on `listen` port `port`, the
    /// zone's name server at `listen`.
    fn configure(listen: &str, port: u16) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let (key, wrong_key) = (
            dir.path().join("rigger-key.key"),
            dir.path().join("wrong.key"),
        );
        keygen(&key);
        keygen(&wrong_key);
        std::fs::write(
            dir.path().join("bind.test.zone"),
            format!(
                "$TTL 300\n@ SOA ns1.{ZONE}. hostmaster.{ZONE}. (1 3600 600 86400 60)\n\
                 @ NS ns1.{ZONE}.\nns1 A {listen}\nkeep A 198.18.0.99\n\
                 away NS ns1.elsewhere.test.\n"
            ),
        )
        .unwrap();
        let conf = dir.path().join("named.conf");
        std::fs::write(
            &conf,
            format!(
                "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; lock-file \"{d}/named.lock\";\n\
                 session-keyfile \"{d}/session.key\"; managed-keys-directory \"{d}\";\n\
                 listen-on port {port} {{ {listen}; }}; listen-on-v6 {{ none; }}; recursion no;\n\
                 notify no; allow-transfer {{ none; }}; dnssec-validation no; }};\n\
                 controls {{ }};\ninclude \"{}\";\n\
                 zone \"{ZONE}\" {{ type primary; file \"{d}/bind.test.zone\";\n\
                 update-policy {{ grant rigger-key zonesub ANY; }}; }};\n",
                key.display()
            ),
        )
        .unwrap();
        (dir, key, wrong_key, conf)
    }

    /// `named` run by `launcher` (its command line up to `named`), answering `dig`
    /// (`at`: its `@server` and port options) over UDP and TCP within 15 s.
    fn launch(
        configured: (tempfile::TempDir, PathBuf, PathBuf, PathBuf),
        launcher: &[&str],
        at: &[String],
    ) -> Self {
        let (dir, key, wrong_key, conf) = configured;
        let log = std::fs::File::create(dir.path().join("named.log")).unwrap();
        let child = Command::new(launcher[0])
            .args(&launcher[1..])
            .args(["named", "-g", "-4", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let bind = Self {
            child,
            dir,
            key,
            wrong_key,
        };
        let start = Instant::now();
        let dig = |extra: &[&str]| {
            let out = Command::new(launcher[0])
                .args(&launcher[1..])
                .args(["dig", "+time=1", "+tries=1", "+norecurse", "+short"])
                .args(at)
                .args([ZONE, "SOA"])
                .args(extra)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().is_empty()
        };
        // Over UDP and TCP both: rigger's updates and lookups use either.
        while dig(&[]) || dig(&["+tcp"]) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "named did not start: {}",
                bind.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bind
    }

    /// BIND on `ADDR` inside the lab's namespace, asked from inside it: this machine has
    /// no route to a lab address.
    fn start(netns: &str) -> Self {
        sh(Command::new("ip").args([
            "-n",
            netns,
            "addr",
            "add",
            &format!("{ADDR}/15"),
            "dev",
            "br0",
        ]));
        Self::launch(
            Self::configure(ADDR, 53),
            &["ip", "netns", "exec", netns],
            &[format!("@{ADDR}")],
        )
    }

    /// BIND on a free loopback port of this machine, for runs that never enter the lab
    /// (the cloud's path, moto's fictional addresses never dialled). The port is free in
    /// TCP when chosen; one taken in UDP shows as named not starting, with its log.
    pub fn on_loopback() -> (Self, std::net::SocketAddr) {
        let port = crate::harness::free_port();
        let bind = Self::launch(
            Self::configure("127.0.0.1", port),
            &["env"],
            &["@127.0.0.1".to_string(), "-p".to_string(), port.to_string()],
        );
        (bind, ([127, 0, 0, 1], port).into())
    }

    pub fn key(&self) -> &Path {
        &self.key
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }

    /// The zone as BIND holds it now, its update journal applied, read by BIND's own
    /// tool from its files (named itself may be gone with the lab).
    pub fn zone_now(&self) -> String {
        sh(Command::new("named-compilezone")
            .args(["-j", "-q", "-o", "-", ZONE])
            .arg(self.dir.path().join("bind.test.zone")))
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lab_with_bind() -> Option<(LabRig, Bind, String)> {
    let lab = LabRig::new()?;
    let up = lab.run(&["lab", "up"]);
    up.success();
    let netns = up.stdout.trim().to_string();
    let bind = Bind::start(&netns);
    Some((lab, bind, netns))
}

#[test]
fn a_cluster_on_bind_through_rfc2136_is_healthy_and_destroy_takes_back_only_its_records() {
    let Some((lab, bind, netns)) = lab_with_bind() else {
        return;
    };
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    let dns = ["--dns", "rfc2136", "--dns-server", "198.18.0.53:53"];
    lab.run_cluster(&[&dns[..], &["domain=bind.test"]].concat())
        .success();
    // All nine records went in one UPDATE message: BIND logs each RR it adds with the
    // client (address#port) that sent it, and there is one.
    let log = bind.log();
    let adding: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("updating zone 'bind.test/IN': adding an RR"))
        .collect();
    assert_eq!(adding.len(), 9, "{log}");
    let mut clients: Vec<&str> = adding
        .iter()
        .filter_map(|l| l.split_whitespace().find(|w| w.contains('#')))
        .collect();
    clients.dedup();
    assert_eq!(clients.len(), 1, "{log}");
    // BIND, asked directly from a member's network, serves the three members' SRV set.
    let srv = lab.run_in_host(
        0,
        &[
            "dig",
            "+short",
            "@198.18.0.53",
            "SRV",
            "_etcd-server-ssl._tcp.bind.test",
        ],
    );
    assert_eq!(srv.lines().count(), 3, "{srv}");
    // etcdctl in a member, through the member's own resolver (BIND), finds the cluster.
    let host = lab.host_names()[0].clone();
    let pki = lab.path("state/pki/bind.test");
    let file = |n: &str| pki.join(n).to_string_lossy().into_owned();
    let members = lab.exec(
        &host,
        &[
            "etcdctl",
            "--discovery-srv",
            ZONE,
            "--cacert",
            &file("ca.crt"),
            "--cert",
            &file("client.crt"),
            "--key",
            &file("client.key"),
            "member",
            "list",
        ],
    );
    members.success();
    assert_eq!(
        members.stdout.matches(", started, ").count(),
        3,
        "{}",
        members.stdout
    );
    // BIND's own view of the zone has what rigger added (so the check after destroy,
    // read the same way, sees removals and not the zone file as it started).
    let live = bind.zone_now();
    assert_eq!(
        live.matches("_etcd-server-ssl._tcp.bind.test.").count(),
        3,
        "{live}"
    );
    // Without its key, destroy cannot reach BIND: it says so, and keeps the lab that
    // BIND lives in, so that a destroy with the key still can.
    let no_key = [("RIGGER_TSIG_KEY_FILE", "/nonexistent/key")];
    let keyless = lab.run_with_env(&no_key, &["destroy"]);
    keyless
        .failure(1)
        .stderr_has("cannot read the TSIG key file /nonexistent/key")
        .stderr_has("the lab stays up");
    assert_eq!(bind.zone_now().matches("_etcd-server-ssl").count(), 3);
    lab.destroy().leaves_nothing();
    let zone = bind.zone_now();
    assert!(
        !zone.contains("_etcd") && !zone.contains("etcd-"),
        "left in BIND:\n{zone}"
    );
    assert!(
        zone.contains("keep.bind.test.") && zone.contains("198.18.0.99"),
        "{zone}"
    );
    drop(netns);
}

#[test]
fn a_wrong_tsig_key_is_refused_with_bind_s_answer_and_leaves_nothing() {
    let Some((lab, bind, _netns)) = lab_with_bind() else {
        return;
    };
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.wrong_key.to_string_lossy());
    let out = lab.run_cluster(&[
        "--dns",
        "rfc2136",
        "--dns-server",
        "198.18.0.53:53",
        "domain=bind.test",
    ]);
    out.failure(1);
    out.stderr_has("NOTAUTH (TSIG error BADSIG)");
    // The lab was up before the run (`lab up`, for BIND): the failed run rolls back
    // what it made and leaves the lab, and the server in it, standing.
    assert!(!bind.zone_now().contains("etcd"), "{}", bind.zone_now());
    lab.run(&["lab", "down"]).success();
    lab.leaves_nothing();
}

/// A batch is one UPDATE that says none of its RRsets exists yet; when one does (here
/// `keep`, in the zone before rigger), BIND changes nothing and answers YXRRSET, and
/// rigger reads the names, adopts what is there and adds the rest in one more UPDATE.
/// An adopted record is not rigger's: destroy leaves it.
#[test]
fn a_batch_over_a_set_already_there_adopts_it_and_adds_the_rest() {
    let Some((lab, bind, netns)) = lab_with_bind() else {
        return;
    };
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    lab.file(
        "batch.rhai",
        r#"let made = dns_record([
            #{ name: "keep.bind.test", type: "A", content: "198.18.0.99" },
            #{ name: "new.bind.test", type: "A", content: "198.18.0.98" },
        ]);
        print(made.map(|r| r.name));"#,
    );
    let out = lab.run(&[
        "run",
        &lab.path("batch.rhai").to_string_lossy(),
        "--dns",
        "rfc2136",
        "--dns-server",
        "198.18.0.53:53",
    ]);
    out.success()
        .stdout_has("keep.bind.test")
        .stdout_has("new.bind.test");
    let log = bind.log();
    assert!(
        log.contains("YXRRSET"),
        "the first UPDATE is refused: {log}"
    );
    let adding = log
        .lines()
        .filter(|l| l.contains("updating zone 'bind.test/IN': adding an RR"))
        .count();
    assert_eq!(adding, 1, "only the new one is added: {log}");
    lab.destroy().leaves_nothing();
    let zone = bind.zone_now();
    assert!(
        zone.contains("keep.bind.test.") && zone.contains("198.18.0.99"),
        "{zone}"
    );
    assert!(!zone.contains("new.bind.test."), "{zone}");
    drop(netns);
}
