//! dnsmasq serving SRV and address records from its command line (`--srv-host`,
//! `--host-record`): not authoritative, no SOA, and no upstream, so any other question
//! is REFUSED. Many sites serve etcd's records this way, and it is what a member asks.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dnsmasq {
    child: Child,
}

/// An SRV record as dnsmasq takes it: owner, target, port, priority, weight.
pub struct Srv<'a> {
    pub owner: &'a str,
    pub target: &'a str,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
}

impl Dnsmasq {
    /// dnsmasq on `listen:port`, started through `launcher` (`ip netns exec NS`, or
    /// `env` on this machine); returns once it answers the first SRV owner.
    pub fn serve(
        launcher: &[&str],
        listen: &str,
        port: u16,
        srv: &[Srv],
        hosts: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(launcher[0]);
        cmd.args(&launcher[1..]).args([
            "dnsmasq",
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            "--user=root",
            "--pid-file=",
            "--conf-file=/dev/null",
            &format!("--listen-address={listen}"),
            &format!("--port={port}"),
        ]);
        for s in srv {
            cmd.arg(format!(
                "--srv-host={},{},{},{},{}",
                s.owner, s.target, s.port, s.priority, s.weight
            ));
        }
        for (name, ip) in hosts {
            cmd.arg(format!("--host-record={name},{ip}"));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq starts (setup.sh installs dnsmasq-base)");
        let server = Self { child };
        let (owner, target) = srv.first().map_or(("x", "x"), |s| (s.owner, s.target));
        let start = Instant::now();
        loop {
            let out = Command::new(launcher[0])
                .args(&launcher[1..])
                .args([
                    "dig",
                    "+time=1",
                    "+tries=1",
                    "+short",
                    "-p",
                    &port.to_string(),
                ])
                .arg(format!("@{listen}"))
                .args([owner, "SRV"])
                .output()
                .unwrap();
            // dig says "connection refused" on stdout too: only the answer will do.
            if String::from_utf8_lossy(&out.stdout).contains(target) {
                return server;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "dnsmasq did not answer at {listen}:{port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
