//! BIND 9 (`named`) run for a test: a server rigger did not write, serving one zone
//! from a file in a folder of its own, inside the lab's namespace or on loopback. Both
//! the RFC 2136 tests (`Bind`, which lets rigger update the zone) and the doctor's
//! (a zone written by hand) start it here.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::stdout_of;

pub struct Named {
    child: Child,
    pub dir: tempfile::TempDir,
}

/// Where `named` listens and how it is reached: `launcher` is the command line up to
/// `named` (`ip netns exec NS`, or `env` on this machine), `at` dig's server options.
pub struct Place<'a> {
    pub listen: &'a str,
    pub port: u16,
    pub launcher: &'a [&'a str],
    pub at: &'a [String],
}

/// Adds `addr` to the bridge of the lab namespace `netns`, for a server of the test's.
pub fn add_lab_address(netns: &str, addr: &str) {
    let prefix = format!("{addr}/15");
    stdout_of(Command::new("ip").args(["-n", netns, "addr", "replace", &prefix, "dev", "br0"]));
}

impl Named {
    /// Serves `zone` from `zone_text` at `place`; `more` goes into named.conf after the
    /// options (keys, and the zone's own statement's extra lines: `zone_extra`).
    /// Returns once dig gets the zone's SOA over UDP and TCP (rigger's updates and
    /// lookups use either), within 15 s.
    pub fn serve(
        dir: tempfile::TempDir,
        zone: &str,
        zone_text: &str,
        more: &str,
        zone_extra: &str,
        place: &Place,
    ) -> Self {
        let d = dir.path().display().to_string();
        std::fs::write(dir.path().join("zone"), zone_text).unwrap();
        let statement = format!("type primary; file \"{d}/zone\";{zone_extra}");
        Self::launch(dir, zone, more, &statement, place)
    }

    /// A secondary of `zone`, transferring it from `primary` (port 53) when it starts and
    /// whenever the primary sends NOTIFY.
    pub fn secondary(dir: tempfile::TempDir, zone: &str, primary: &str, place: &Place) -> Self {
        let d = dir.path().display().to_string();
        let statement = format!(
            "type secondary; primaries {{ {primary}; }}; file \"{d}/zone\"; transfer-source {};",
            place.listen
        );
        Self::launch(dir, zone, "", &statement, place)
    }

    fn launch(
        dir: tempfile::TempDir,
        zone: &str,
        more: &str,
        statement: &str,
        place: &Place,
    ) -> Self {
        let d = dir.path().display().to_string();
        let (listen, port) = (place.listen, place.port);
        let conf = dir.path().join("named.conf");
        std::fs::write(
            &conf,
            format!(
                "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; lock-file \"{d}/named.lock\";\n\
                 session-keyfile \"{d}/session.key\"; managed-keys-directory \"{d}\";\n\
                 listen-on port {port} {{ {listen}; }}; listen-on-v6 {{ none; }}; recursion no;\n\
                 notify no; allow-transfer {{ none; }}; dnssec-validation no; }};\n\
                 controls {{ }};\n{more}\
                 zone \"{zone}\" {{ {statement} }};\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("named.log")).unwrap();
        let (launcher, at) = (place.launcher, place.at);
        let child = Command::new(launcher[0])
            .args(&launcher[1..])
            .args(["named", "-g", "-4", "-c"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let named = Self { child, dir };
        let start = Instant::now();
        // The SOA itself: dig says "connection timed out" on stdout too.
        let answers = |extra: &[&str]| {
            let out = Command::new(launcher[0])
                .args(&launcher[1..])
                .args(["dig", "+time=1", "+tries=1", "+norecurse", "+short"])
                .args(at)
                .args([zone, "SOA"])
                .args(extra)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).contains(&format!("hostmaster.{zone}."))
        };
        while !answers(&[]) || !answers(&["+tcp"]) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "named did not start:\n{}",
                named.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        named
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server: a server that is there and
    /// does not answer.
    pub fn pause(&self, paused: bool) {
        let signal = if paused { "-STOP" } else { "-CONT" };
        let pid = self.child.id().to_string();
        super::stdout_of(Command::new("kill").args([signal, &pid]));
    }

    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// The zone as BIND holds it now, its update journal applied, read by BIND's own
    /// tool from its files (named itself may be gone with the lab).
    pub fn zone_now(&self, zone: &str) -> String {
        stdout_of(
            Command::new("named-compilezone")
                .args(["-j", "-q", "-o", "-", zone])
                .arg(self.path("zone")),
        )
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
