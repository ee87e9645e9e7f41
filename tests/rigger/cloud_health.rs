//! `rigger health` for a cluster outside the lab: its members found through the client
//! SRV records in a Cloudflare zone (the stand-in), asked of the zone's own name server
//! (a local DNS server following the stand-in, as RIGGER_NAME_SERVERS maps it), and each
//! real etcd member asked at the address DNS gives. The members listen on loopback and
//! are configured by address only, so nothing resolves a name through this machine's
//! resolver.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cloudflare::{Shared, TOKEN, stand_in};
use crate::follow::dns_following;
use crate::harness::{Outcome, Rig, free_port};

/// A plain-HTTP cluster of Debian's etcd on loopback; killed when dropped.
struct Members {
    children: Vec<Child>,
    clients: Vec<u16>,
    _dir: tempfile::TempDir,
}

impl Drop for Members {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Members {
    /// Starts `n` members, again on fresh ports when one could not have its own: a
    /// port found free may be taken by another test's connection before etcd binds it.
    fn start(n: usize) -> Self {
        for _ in 0..5 {
            let mut members = Self::try_start(n);
            std::thread::sleep(Duration::from_millis(500));
            if members
                .children
                .iter_mut()
                .all(|c| matches!(c.try_wait(), Ok(None)))
            {
                return members;
            }
        }
        panic!("{n} etcd members would not start on loopback five times over");
    }

    fn try_start(n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clients: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let peers: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let initial: Vec<String> = peers
            .iter()
            .enumerate()
            .map(|(i, p)| format!("m{i}=http://127.0.0.1:{p}"))
            .collect();
        let children = (0..n)
            .map(|i| {
                let client = format!("http://127.0.0.1:{}", clients[i]);
                let peer = format!("http://127.0.0.1:{}", peers[i]);
                Command::new("etcd")
                    .args(["--name", &format!("m{i}")])
                    .arg("--data-dir")
                    .arg(dir.path().join(format!("m{i}")))
                    .args(["--listen-client-urls", &client])
                    .args(["--advertise-client-urls", &client])
                    .args(["--listen-peer-urls", &peer])
                    .args(["--initial-advertise-peer-urls", &peer])
                    .args(["--initial-cluster", &initial.join(",")])
                    .args(["--initial-cluster-token", "cloud-health"])
                    .args(["--initial-cluster-state", "new"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("Debian's etcd is installed (setup.sh)")
            })
            .collect();
        Self {
            children,
            clients,
            _dir: dir,
        }
    }

    fn kill(&mut self, i: usize) {
        let _ = self.children[i].kill();
        let _ = self.children[i].wait();
    }
}

/// The members' records, as a cluster script would publish them: an A record per
/// member (loopback) and its client SRV record.
fn publish(api: &Shared, clients: &[u16]) {
    let mut api = api.lock().unwrap();
    for (i, port) in clients.iter().enumerate() {
        let target = format!("m{i}.example.test");
        api.records.push(json!({
            "id": format!("a{i}"), "zone_id": "zone1", "type": "A",
            "name": target, "content": "127.0.0.1", "ttl": 60,
        }));
        api.records.push(json!({
            "id": format!("s{i}"), "zone_id": "zone1", "type": "SRV",
            "name": "_etcd-client._tcp.example.test", "ttl": 60,
            "data": { "priority": 0, "weight": 0, "port": port, "target": target },
        }));
    }
}

fn health(cf_base: &str, dns: SocketAddr, args: &[&str]) -> Outcome {
    let mut all = vec![
        "health",
        "--discovery-srv",
        "example.test",
        "--target",
        "aws",
        "--dns",
        "cloudflare",
    ];
    all.extend_from_slice(args);
    // No AWS settings at all: reading a Cloudflare zone needs none.
    Rig::new()
        .own_state()
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_API_BASE_URL", cf_base)
        .env("RIGGER_NAME_SERVERS", &format!("ns1.example.test={dns}"))
        .args(&all)
        .run()
        .asks_no_metadata_service()
}

/// Runs `health` until its JSON says `want` of the members are healthy.
fn until_healthy(cf_base: &str, dns: SocketAddr, want: usize) -> Vec<Value> {
    let out = until(cf_base, dns, &["-w", "json"], |out| {
        let parsed: Vec<Value> = serde_json::from_str(&out.stdout).unwrap_or_default();
        healthy_in(out) == want && parsed.len() == 3
    });
    serde_json::from_str(&out.stdout).unwrap()
}

/// How many members a JSON health report says are healthy.
fn healthy_in(out: &Outcome) -> usize {
    let parsed: Vec<Value> = serde_json::from_str(&out.stdout).unwrap_or_default();
    parsed.iter().filter(|e| e["health"] == true).count()
}

/// Runs `health` with `args` until `done` says its outcome is the one awaited, for up to
/// 30 s, and gives the last: on a loaded machine these members hold an election now and
/// then (etcd's default one-second timeout), and a member without a leader is unhealthy
/// for a moment. The caller's assertions then say what was wrong when it never came.
fn until(
    cf_base: &str,
    dns: SocketAddr,
    args: &[&str],
    done: impl Fn(&Outcome) -> bool,
) -> Outcome {
    let start = Instant::now();
    loop {
        let out = health(cf_base, dns, args);
        if done(&out) || start.elapsed() > Duration::from_secs(30) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_finds_a_cloud_cluster_through_the_zones_name_servers() {
    let (cf_base, api) = stand_in().await;
    let dns = dns_following(api.clone()).await;
    let mut members = Members::start(3);
    publish(&api, &members.clients);
    let clients = members.clients.clone();
    let endpoint = |i: usize| format!("http://m{i}.example.test:{}", clients[i]);

    let base = cf_base.clone();
    let parsed = tokio::task::spawn_blocking(move || until_healthy(&base, dns, 3))
        .await
        .unwrap();
    // etcdctl's fields: endpoint, health, took (Go's duration form); no error when healthy.
    let mut seen: Vec<&str> = parsed
        .iter()
        .map(|e| e["endpoint"].as_str().unwrap())
        .collect();
    seen.sort();
    let want: Vec<String> = (0..3).map(endpoint).collect();
    assert_eq!(seen, want);
    for e in &parsed {
        let took = e["took"].as_str().unwrap();
        assert!(took.ends_with("ms") || took.ends_with("µs"), "{took}");
        assert!(e.get("error").is_none(), "{e}");
        assert_eq!(e.as_object().unwrap().len(), 3, "{e}");
    }

    let base = cf_base.clone();
    let (table, simple) = tokio::task::spawn_blocking(move || {
        (
            until(&base, dns, &["-w", "table"], |o| o.code == Some(0)),
            until(&base, dns, &[], |o| o.code == Some(0)),
        )
    })
    .await
    .unwrap();
    table.success();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{}", table.stdout);
    assert!(lines[1].contains(" ENDPOINT ") && lines[1].contains("| HEALTH |"));
    assert_eq!(
        lines.iter().filter(|l| l.contains("|   true | ")).count(),
        3,
        "{}",
        table.stdout
    );
    // The seed's lines stay the default, each with the member's ID.
    simple.success().stdout_has("cluster is healthy\n");
    for i in 0..3 {
        let line = format!("got healthy result from {}\n", endpoint(i));
        assert!(simple.stdout.contains(&line), "{}", simple.stdout);
    }
    assert!(!simple.stdout.contains("(id unknown)"), "{}", simple.stdout);

    // One member down: etcdctl's health false with an error; rigger's status 3.
    members.kill(2);
    let base = cf_base.clone();
    // Until the two left have a leader again (2 was it, perhaps): then only 2 is down.
    let down = tokio::task::spawn_blocking(move || {
        until(&base, dns, &["-w", "json"], |o| healthy_in(o) == 2)
    })
    .await
    .unwrap();
    down.failure(3);
    let parsed: Vec<Value> = serde_json::from_str(&down.stdout).unwrap();
    let dead = parsed
        .iter()
        .find(|e| e["endpoint"] == endpoint(2).as_str())
        .unwrap();
    assert_eq!(dead["health"], false);
    assert!(
        dead["error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{dead}"
    );

    // A name server that cannot be found is named; `--dns-server` asks another instead.
    let base = cf_base.clone();
    let (lost, given) = tokio::task::spawn_blocking(move || {
        let health = |extra: &[&str]| {
            let mut args = vec![
                "health",
                "--discovery-srv",
                "example.test",
                "--target",
                "aws",
            ];
            args.extend_from_slice(extra);
            Rig::new()
                .own_state()
                .env("CLOUDFLARE_API_TOKEN", TOKEN)
                .env("CLOUDFLARE_API_BASE_URL", &base)
                .env("RIGGER_NAME_SERVERS", "ns9.other.test=127.0.0.1:9")
                .args(&args)
                .run()
        };
        let lost = health(&[]);
        let given = health(&["--dns-server", &dns.to_string()]);
        (lost, given)
    })
    .await
    .unwrap();
    lost.failure(1)
        .stderr_has("none of the name servers of example.test could be found")
        .stderr_has("ns1.example.test: not in RIGGER_NAME_SERVERS");
    given
        .failure(3)
        .stdout_has("cluster is degraded: ")
        .stdout_has("quorum held");
}
