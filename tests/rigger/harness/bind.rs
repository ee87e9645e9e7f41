//! A BIND 9 primary for `bind.test` that rigger updates through RFC 2136, with one TSIG
//! key (and the same key name with another secret, for a refusal).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::named::{Named, Place, add_lab_address};
use super::{free_port, stdout_of};

/// Where the lab's BIND listens, inside the lab.
pub const ADDR: &str = "198.18.0.53";
pub const ZONE: &str = "bind.test";
/// Where a secondary of the zone listens, when there is one.
pub const SECONDARY: &str = "198.18.0.54";

pub struct Bind {
    named: Named,
    pub key: PathBuf,
    /// The same key name with another secret.
    pub wrong_key: PathBuf,
}

fn keygen(path: &Path) {
    let key = stdout_of(Command::new("tsig-keygen").args(["-a", "hmac-sha256", "rigger-key"]));
    std::fs::write(path, key).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(path).unwrap().permissions(),
        0o600,
    );
}

impl Bind {
    /// A key pair, and BIND serving `bind.test` at `place`, the zone's name server at
    /// its address.
    fn serve(place: &Place) -> Self {
        Self::serve_with(place, "ns1", "", "")
    }

    /// As `serve`, its SOA naming `mname` (relative to the zone) as the primary, with
    /// more lines in the zone file and in the zone's statement.
    fn serve_with(place: &Place, mname: &str, more_zone: &str, zone_extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (key, wrong_key) = (
            dir.path().join("rigger-key.key"),
            dir.path().join("wrong.key"),
        );
        keygen(&key);
        keygen(&wrong_key);
        let listen = place.listen;
        let zone = format!(
            "$TTL 300\n@ SOA {mname}.{ZONE}. hostmaster.{ZONE}. (1 3600 600 86400 60)\n\
             @ NS ns1.{ZONE}.\nns1 A {listen}\nkeep A 198.18.0.99\n\
             away NS ns1.elsewhere.test.\n{more_zone}"
        );
        let include = format!("include \"{}\";\n", key.display());
        let policy = format!("\n update-policy {{ grant rigger-key zonesub ANY; }};{zone_extra}");
        let named = Named::serve(dir, ZONE, &zone, &include, &policy, place);
        Self {
            named,
            key,
            wrong_key,
        }
    }

    /// BIND on `ADDR` inside the lab's namespace, asked from inside it: this machine has
    /// no route to a lab address.
    pub fn start(netns: &str) -> Self {
        add_lab_address(netns, ADDR);
        Self::serve(&Place {
            listen: ADDR,
            port: 53,
            launcher: &["ip", "netns", "exec", netns],
            at: &[format!("@{ADDR}")],
        })
    }

    /// BIND on `ADDR` as the primary, named by the SOA (ns1), and a second BIND on
    /// `SECONDARY` (ns2), both in the zone's NS set: the primary sends NOTIFY to the
    /// secondary after each update, which then transfers the zone.
    pub fn with_secondary(netns: &str) -> (Self, Named) {
        add_lab_address(netns, ADDR);
        add_lab_address(netns, SECONDARY);
        let launcher: &[&str] = &["ip", "netns", "exec", netns];
        let primary = Self::serve_with(
            &Place {
                listen: ADDR,
                port: 53,
                launcher,
                at: &[format!("@{ADDR}")],
            },
            "ns1",
            &format!("@ NS ns2.{ZONE}.\nns2 A {SECONDARY}\n"),
            &format!(
                "\n notify explicit; also-notify {{ {SECONDARY}; }}; notify-source {ADDR};\n                  allow-transfer {{ {SECONDARY}; }};"
            ),
        );
        let secondary = Named::secondary(
            tempfile::tempdir().unwrap(),
            ZONE,
            ADDR,
            &Place {
                listen: SECONDARY,
                port: 53,
                launcher,
                at: &[format!("@{SECONDARY}")],
            },
        );
        (primary, secondary)
    }

    /// BIND on `ADDR` in the lab, its SOA naming `ghost.bind.test` as the primary, a
    /// name with no address.
    pub fn with_unknown_primary(netns: &str) -> Self {
        add_lab_address(netns, ADDR);
        Self::serve_with(
            &Place {
                listen: ADDR,
                port: 53,
                launcher: &["ip", "netns", "exec", netns],
                at: &[format!("@{ADDR}")],
            },
            "ghost",
            "",
            "",
        )
    }

    /// BIND on a free loopback port of this machine, for runs that never enter the lab
    /// (the cloud's path, moto's fictional addresses never dialled). The port is free in
    /// TCP when chosen; one taken in UDP shows as named not starting, with its log.
    pub fn on_loopback() -> (Self, std::net::SocketAddr) {
        let port = free_port();
        let bind = Self::serve(&Place {
            listen: "127.0.0.1",
            port,
            launcher: &["env"],
            at: &["@127.0.0.1".to_string(), "-p".to_string(), port.to_string()],
        });
        (bind, ([127, 0, 0, 1], port).into())
    }

    pub fn key(&self) -> &Path {
        &self.key
    }

    pub fn log(&self) -> String {
        self.named.log()
    }

    /// The zone as BIND holds it now, its update journal applied.
    pub fn zone_now(&self) -> String {
        self.named.zone_now(ZONE)
    }
}
