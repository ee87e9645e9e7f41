//! Issue 12's request counts, which do not depend on the machine's speed: a cluster's
//! records go in one call, and its teardown (destroy, rollback) takes at most three
//! sequential round trips. Every request goes through the benchmark's proxy
//! (bench/proxy.rs), which counts them by kind and finds the longest chain of requests
//! made one after another. The proxy holds each request a while, so that requests made
//! together overlap however busy the machine is: a chain is then the run's sequential
//! round trips, and a slow machine can only lengthen a chain, never shorten one.
//! moto's addresses are fiction: every run stops at the bootstrap, before dialling any.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cloudflare::stand_in;
use crate::dns_relay;
use crate::faults::{Run, finish, wait_stopped};
use crate::follow::{delayed, dns_following, route53_followed};
use crate::harness::bind::Bind;
use crate::harness::cloud::{aws_cluster, cloud_rig, config, moto};
use crate::harness::{BIN, Outcome, Rig, off_runtime};
use crate::proxy::{self, Entry, Log, Stats};

/// Long enough that requests a client sends together overlap even on a loaded machine.
const HOLD: Duration = Duration::from_millis(200);

fn entry(kind: &str, start: f64, end: f64) -> Entry {
    Entry {
        kind: kind.into(),
        start,
        end,
        status: 200,
    }
}

#[test]
fn the_longest_chain_counts_requests_strictly_one_after_another() {
    let log = [
        entry("a", 0.0, 1.0),
        // Together with a: not in the same chain.
        entry("b", 0.5, 1.5),
        // Starts as a ends: after it.
        entry("c", 1.0, 2.0),
        entry("d", 1.6, 1.8),
        entry("e", 2.0, 3.0),
        entry("f", 2.1, 2.2),
    ];
    let stats = Stats::of(log.to_vec());
    let kinds: Vec<&str> = stats.chain.iter().map(|e| e.kind.as_str()).collect();
    // a, then d (the first answered after a), then f, with nothing after it.
    assert_eq!(kinds, ["a", "d", "f"]);
    assert_eq!(stats.max_in_flight, 2);
    assert_eq!(stats.requests, 6);
    assert_eq!(stats.to_json()["chain"], 3);
    assert_eq!(stats.to_json()["span"], 3.0);
    assert_eq!(proxy::longest_chain(&[]), Vec::new());
    // Nine at once are one round trip, nine in a row nine.
    let together: Vec<Entry> = (0..9).map(|_| entry("x", 0.0, 0.25)).collect();
    assert_eq!(proxy::longest_chain(&together).len(), 1);
    assert_eq!(proxy::max_in_flight(&together), 9);
    let serial: Vec<Entry> = (0..9)
        .map(|i| entry("x", f64::from(i) * 0.25, f64::from(i + 1) * 0.25))
        .collect();
    assert_eq!(proxy::longest_chain(&serial).len(), 9);
    assert_eq!(proxy::max_in_flight(&serial), 1);
}

#[test]
fn requests_are_known_by_their_api_and_operation() {
    let signed = |service: &str| {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
            ))
            .unwrap(),
        );
        h
    };
    let none = HeaderMap::new();
    let cases = [
        (
            Method::POST,
            "/",
            None,
            signed("ec2"),
            &b"Action=RunInstances&Version=2016-11-15"[..],
            "ec2 RunInstances",
        ),
        (
            Method::POST,
            "/2013-04-01/hostedzone/Z123/rrset/",
            None,
            signed("route53"),
            b"<xml/>",
            "route53 ChangeResourceRecordSets",
        ),
        (
            Method::GET,
            "/2013-04-01/hostedzone/Z123/rrset",
            Some("name=a.example.test.&type=A"),
            signed("route53"),
            b"",
            "route53 ListResourceRecordSets",
        ),
        (
            Method::GET,
            "/2013-04-01/hostedzonesbyname",
            Some("dnsname=example.test."),
            signed("route53"),
            b"",
            "route53 ListHostedZonesByName",
        ),
        (
            Method::GET,
            "/2013-04-01/hostedzone/Z123",
            None,
            signed("route53"),
            b"",
            "route53 GetHostedZone",
        ),
        (
            Method::POST,
            "/client/v4/zones/zone1/dns_records/batch",
            None,
            none.clone(),
            b"{}",
            "cloudflare POST /zones/{zone}/dns_records/batch",
        ),
        (
            Method::DELETE,
            "/client/v4/zones/zone1/dns_records/rec7",
            None,
            none.clone(),
            b"",
            "cloudflare DELETE /zones/{zone}/dns_records/{id}",
        ),
        (
            Method::GET,
            "/client/v4/zones",
            Some("name=example.test"),
            none.clone(),
            b"",
            "cloudflare GET /zones",
        ),
    ];
    for (method, path, query, headers, body, want) in cases {
        assert_eq!(
            proxy::kind(&method, path, query, &headers, body),
            want,
            "{path}"
        );
    }
}

#[test]
fn only_loopback_is_proxied() {
    assert!(proxy::upstream("http://127.0.0.1:5000/").is_ok());
    assert!(proxy::upstream("http://[::1]:5000").is_ok());
    assert!(proxy::upstream("http://192.0.2.1:5000").is_err());
    assert!(proxy::upstream("http://localhost:5000").is_err());
    assert!(proxy::upstream("https://127.0.0.1:5000").is_err());
    assert!(proxy::loopback("192.0.2.1:80".parse().unwrap()).is_err());
}

/// The benchmark's propagation delay: a record shows once it has been there that long,
/// and a record removed and made again waits again.
#[test]
fn a_new_record_shows_only_after_the_propagation_delay() {
    use rigger::providers::{Record, RecordData, RecordSpec};
    use std::sync::Mutex;
    let present = Arc::new(Mutex::new(true));
    let source_present = present.clone();
    let record = Record {
        id: "1".into(),
        zone: "example.test".into(),
        spec: RecordSpec {
            name: "a.example.test".into(),
            ttl: 60,
            data: RecordData::A {
                content: "10.0.0.1".parse().unwrap(),
            },
            cluster: None,
        },
    };
    let shown = delayed(Duration::from_millis(300), move || {
        let records = if *source_present.lock().unwrap() {
            vec![record.clone()]
        } else {
            Vec::new()
        };
        [("example.test".to_string(), records)].into()
    });
    let count = |f: &dyn Fn() -> crate::follow::Records| f()["example.test"].len();
    assert_eq!(count(&shown), 0, "not at once");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(count(&shown), 1, "once the delay has passed");
    *present.lock().unwrap() = false;
    assert_eq!(count(&shown), 0);
    *present.lock().unwrap() = true;
    assert_eq!(count(&shown), 0, "made again, it waits again");
}

/// The benchmark's DNS relay holds each message, forwards it over UDP and over TCP to
/// the server, hands its answer back unchanged and logs it by opcode and query type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dns_relay_holds_and_logs_every_message_over_udp_and_tcp() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that answers every message with it, as a response with RCODE 3.
    let answer = |mut m: Vec<u8>| {
        m[2] |= 0x80;
        m[3] = (m[3] & 0xf0) | 3;
        m
    };
    let (udp_server, tcp_server) = dns_relay::bind_dns().await.unwrap();
    let upstream = udp_server.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let (len, from) = udp_server.recv_from(&mut buf).await.unwrap();
            udp_server
                .send_to(&answer(buf[..len].to_vec()), from)
                .await
                .unwrap();
        }
    });
    tokio::spawn(async move {
        let (mut s, _) = tcp_server.accept().await.unwrap();
        loop {
            let Ok(len) = s.read_u16().await else { return };
            let mut m = vec![0u8; usize::from(len)];
            s.read_exact(&mut m).await.unwrap();
            let a = answer(m);
            s.write_u16(a.len() as u16).await.unwrap();
            s.write_all(&a).await.unwrap();
        }
    });
    let (relay_udp, relay_tcp) = dns_relay::bind_dns().await.unwrap();
    let at = relay_udp.local_addr().unwrap();
    let log = Log::new();
    tokio::spawn(dns_relay::serve(
        relay_udp,
        relay_tcp,
        upstream,
        Duration::from_millis(200),
        log.clone(),
    ));

    // A query for _x._tcp.t SRV, and an UPDATE (opcode 5) with no sections.
    let query: Vec<u8> = [
        &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0][..],
        b"\x02_x\x04_tcp\x01t\x00",
        &[0, 33, 0, 1],
    ]
    .concat();
    let update = vec![0x56, 0x78, 5 << 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sent = std::time::Instant::now();
    client.send_to(&query, at).await.unwrap();
    let mut buf = [0u8; 512];
    let len = client.recv(&mut buf).await.unwrap();
    assert!(sent.elapsed() >= Duration::from_millis(200), "held");
    assert_eq!(buf[..len], answer(query.clone())[..]);
    let mut stream = tokio::net::TcpStream::connect(at).await.unwrap();
    stream.write_u16(update.len() as u16).await.unwrap();
    stream.write_all(&update).await.unwrap();
    let len = stream.read_u16().await.unwrap();
    let mut back = vec![0u8; usize::from(len)];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(back, answer(update));
    let entries = log.entries();
    let kinds: Vec<(&str, u16)> = entries
        .iter()
        .map(|e| (e.kind.as_str(), e.status))
        .collect();
    assert_eq!(kinds, [("dns QUERY SRV", 3), ("dns UPDATE", 3)]);
    assert!(entries.iter().all(|e| e.end - e.start >= 0.2));
    // Nothing but loopback, either side.
    let (outside, tcp) = dns_relay::bind_dns().await.unwrap();
    assert!(
        dns_relay::serve(
            outside,
            tcp,
            "192.0.2.1:53".parse().unwrap(),
            Duration::ZERO,
            Log::new()
        )
        .await
        .is_err()
    );
}

fn kinds(stats: &Stats, kind: &str) -> usize {
    stats.by_kind.get(kind).copied().unwrap_or(0)
}

/// What the chain was, for a failure message: each request's kind and time.
fn said(stats: &Stats) -> String {
    serde_json::to_string_pretty(&stats.to_json()["chain_kinds"]).unwrap()
}

/// `rigger run cluster` with nine members on EC2 (through the proxy) and `dns`, asking
/// `server` for the records.
fn nine_members(rig: Rig, dns: &str, server: std::net::SocketAddr) -> Rig {
    nine_members_at_zone_servers(rig, dns).args(&["--dns-server", &server.to_string()])
}

/// `nine_members` asking the zone's own name servers (as a new user runs it): the test
/// maps their names to a loopback server through RIGGER_NAME_SERVERS.
fn nine_members_at_zone_servers(rig: Rig, dns: &str) -> Rig {
    aws_cluster(rig, dns, &["size=9"])
}

/// `rigger destroy` of what `rig` kept, off the test's runtime; it must succeed. Returns
/// its requests alone (the log is reset first).
async fn destroy_counted(rig: Rig, log: &Log) -> Stats {
    log.reset();
    let destroyed = off_runtime(move || rig.again(&["destroy"])).await;
    destroyed.success();
    log.stats()
}

/// Runs the cluster as `rig` says, stopped just before its rollback (which follows the
/// bootstrap's failure against moto); returns the run's requests, then the rollback's
/// and how the run ended.
async fn run_then_roll_back(rig: Rig, log: Arc<Log>) -> (Stats, Stats, Outcome) {
    let rig = rig.env("RIGGER_TEST_STOP_AT", "rollback");
    tokio::task::spawn_blocking(move || {
        let mut child = Run(rig
            .command(std::path::Path::new(BIN))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap());
        wait_stopped(&mut child, "rollback");
        let run = log.stats();
        log.reset();
        kill(Pid::from_raw(child.id() as i32), Signal::SIGCONT).unwrap();
        let out = finish(child, "rollback");
        (run, log.stats(), out)
    })
    .await
    .unwrap()
}

/// Route 53 (moto) through the proxy: nine members' records (27, and a marker each) are
/// one ChangeResourceRecordSets, and their rollback one more, with one TerminateInstances,
/// in at most three sequential round trips.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_nine_members_records_are_one_change_and_their_rollback_three_rounds() {
    let moto = moto(&[]);
    let r53 = aws_sdk_route53::Client::new(&config(&moto));
    let (_, _, server) = route53_followed(
        r53.clone(),
        "example.test",
        Duration::from_millis(50),
        Duration::ZERO,
    )
    .await
    .unwrap();
    // The zone's own name servers are asked (its delegation set), mapped to the server
    // that follows moto.
    let zone = r53.list_hosted_zones().send().await.unwrap().hosted_zones()[0]
        .id()
        .to_string();
    let made = r53.get_hosted_zone().id(&zone).send().await.unwrap();
    let names = made.delegation_set().unwrap().name_servers();
    let map: Vec<String> = names.iter().map(|n| format!("{n}={server}")).collect();
    let log = Log::new();
    let via = proxy::start(&moto.url, HOLD, log.clone()).await.unwrap();
    let rig = nine_members_at_zone_servers(cloud_rig(&via, "http://127.0.0.1:9"), "route53")
        .env("RIGGER_NAME_SERVERS", &map.join(","));
    let (run, rollback, out) = run_then_roll_back(rig, log).await;
    out.failure(1).stderr_has("× parallel: 9 of 9 nodes failed");
    assert_eq!(kinds(&run, "ec2 RunInstances"), 9, "{:?}", run.by_kind);
    assert_eq!(
        kinds(&run, "route53 ChangeResourceRecordSets"),
        1,
        "{:?}",
        run.by_kind
    );
    // The zones in one listing; the check for a cluster already there beside the zone's
    // delegation set; the launches together and one poll for all nine; the change, sent
    // unread (a CREATE that Route 53 would refuse over a set already there). The five
    // round trips of issue 12's ideal client.
    assert_eq!(kinds(&run, "ec2 DescribeInstances"), 1, "{}", said(&run));
    assert_eq!(kinds(&run, "route53 GetHostedZone"), 1, "{}", said(&run));
    assert_eq!(
        kinds(&run, "route53 ListResourceRecordSets"),
        1,
        "{}",
        said(&run)
    );
    assert!(run.chain.len() <= 5, "{}", said(&run));
    assert_eq!(
        kinds(&rollback, "route53 ChangeResourceRecordSets"),
        1,
        "{:?}",
        rollback.by_kind
    );
    assert_eq!(kinds(&rollback, "ec2 TerminateInstances"), 1);
    assert!(rollback.chain.len() <= 3, "{}", said(&rollback));
    // Nothing is left: what the rollback said it removed is gone from Route 53.
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    assert!(
        sets.resource_record_sets()
            .iter()
            .all(|s| ["SOA", "NS"].contains(&s.r#type().as_str())),
        "{sets:?}"
    );
}

/// Route 53 (moto): `rigger destroy` of nine members in at most three sequential round
/// trips, as issue 12 asks: the zone, one listing of its sets (values and markers), then
/// the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route53_destroy_of_nine_members_is_at_most_three_rounds() {
    let moto = moto(&[]);
    let r53 = aws_sdk_route53::Client::new(&config(&moto));
    let (_, _, server) = route53_followed(
        r53,
        "example.test",
        Duration::from_millis(50),
        Duration::ZERO,
    )
    .await
    .unwrap();
    let log = Log::new();
    let via = proxy::start(&moto.url, HOLD, log.clone()).await.unwrap();
    let rig = nine_members(cloud_rig(&via, "http://127.0.0.1:9"), "route53", server)
        .args(&["--keep-on-error"]);
    let (rig, out) = rig.run_kept().await;
    out.failure(1)
        .stderr_has("× parallel: ")
        .stderr_has("not connecting to");
    let stats = destroy_counted(rig, &log).await;
    assert_eq!(kinds(&stats, "route53 ChangeResourceRecordSets"), 1);
    assert_eq!(kinds(&stats, "ec2 TerminateInstances"), 1);
    assert!(stats.chain.len() <= 3, "{}", said(&stats));
}

/// Cloudflare (the stand-in) and EC2 (moto), both through one proxy: `rigger destroy` of
/// nine members and the rollback of a failed run each take at most three sequential round
/// trips, one batch for the records and one TerminateInstances for the machines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudflare_destroy_and_rollback_of_nine_members_are_at_most_three_rounds() {
    let moto = moto(&[]);
    let (cf_base, api) = stand_in().await;
    let server = dns_following(api.clone()).await;
    let log = Log::new();
    let aws = proxy::start(&moto.url, HOLD, log.clone()).await.unwrap();
    let cf_origin = cf_base.trim_end_matches("/client/v4");
    let cf = proxy::start(cf_origin, HOLD, log.clone()).await.unwrap();
    let rig = || {
        nine_members(
            cloud_rig(&aws, &format!("{cf}/client/v4")),
            "cloudflare",
            server,
        )
    };
    let batch = "cloudflare POST /zones/{zone}/dns_records/batch";

    let kept = rig().args(&["--keep-on-error"]);
    let (kept, out) = kept.run_kept().await;
    out.failure(1)
        .stderr_has("× parallel: ")
        .stderr_has("not connecting to");
    let run = log.stats();
    assert_eq!(kinds(&run, batch), 1, "{:?}", run.by_kind);
    // As the ideal client of issue 12 does it: the zones (every one of the account, in
    // one page), the check for a cluster already there, the launches together, one poll
    // for all nine, one batch; no record is read before it is posted.
    assert_eq!(kinds(&run, "cloudflare GET /zones"), 1, "{:?}", run.by_kind);
    assert_eq!(
        kinds(&run, "cloudflare GET /zones/{zone}/dns_records"),
        1,
        "{:?}",
        run.by_kind
    );
    assert_eq!(kinds(&run, "ec2 DescribeInstances"), 1, "{:?}", run.by_kind);
    assert!(run.chain.len() <= 5, "{}", said(&run));
    let destroy = destroy_counted(kept, &log).await;
    assert_eq!(kinds(&destroy, batch), 1, "{:?}", destroy.by_kind);
    assert_eq!(kinds(&destroy, "ec2 TerminateInstances"), 1);
    assert!(destroy.chain.len() <= 3, "{}", said(&destroy));
    assert!(api.lock().unwrap().records.is_empty());

    log.reset();
    let (_, rollback, out) = run_then_roll_back(rig(), log).await;
    out.failure(1).stderr_has("× parallel: 9 of 9 nodes failed");
    assert_eq!(kinds(&rollback, batch), 1, "{:?}", rollback.by_kind);
    assert_eq!(kinds(&rollback, "ec2 TerminateInstances"), 1);
    assert!(rollback.chain.len() <= 3, "{}", said(&rollback));
    assert!(api.lock().unwrap().records.is_empty());
}

/// A relay on a free loopback port that holds every DNS message to `upstream` and logs it
/// to `log` (the proxy's log, so that one chain runs through EC2 and DNS alike).
async fn relay(upstream: std::net::SocketAddr, log: Arc<Log>) -> std::net::SocketAddr {
    let (udp, tcp) = dns_relay::bind_dns().await.unwrap();
    let at = udp.local_addr().unwrap();
    tokio::spawn(dns_relay::serve(udp, tcp, upstream, HOLD, log));
    at
}

/// RFC 2136 against BIND 9 on loopback, every DNS message through the relay, and EC2
/// (moto) through the proxy, all in one log. Nine members' records are one UPDATE, and
/// the run reaches the bootstrap in at most seven round trips, one each: the zone of the
/// peer owner (one SOA question: BIND names the zone in its answer), the check (the
/// owner's types at once), RunInstances, one DescribeInstances, the UPDATE (into the zone
/// the script names: no question per member name), the wait's first poll (BIND has no
/// propagation), and the doctor's reading (the zone's SOA, every owner and the members'
/// addresses at once). Its rollback and a destroy take at most three.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_nine_members_are_one_update_in_seven_rounds_and_their_teardown_in_three() {
    let moto = moto(&[]);
    let (bind, server) = Bind::on_loopback();
    let log = Log::new();
    let aws = proxy::start(&moto.url, HOLD, log.clone()).await.unwrap();
    let dns = relay(server, log.clone()).await.to_string();
    let key = bind.key().to_string_lossy().into_owned();
    let rig = || {
        cloud_rig(&aws, "http://127.0.0.1:9")
            .env("RIGGER_TSIG_KEY_FILE", &key)
            .args(&[
                "run",
                "cluster",
                "--target",
                "aws",
                "--dns",
                "rfc2136",
                "--dns-server",
                &dns,
                "--set",
                "domain=bind.test",
                "--set",
                "ami=ami-12c6146b",
                "--set",
                "size=9",
            ])
    };

    let kept = rig().args(&["--keep-on-error"]);
    let (kept, out) = kept.run_kept().await;
    out.failure(1).stderr_has("not connecting to");
    let run = log.stats();
    assert_eq!(kinds(&run, "dns UPDATE"), 1, "{:?}", run.by_kind);
    assert_eq!(kinds(&run, "ec2 DescribeInstances"), 1, "{:?}", run.by_kind);
    // The zone asked once for the check and once by the doctor; never for the member
    // names, which the script says are in the domain's zone.
    assert_eq!(kinds(&run, "dns QUERY SOA"), 2, "{:?}", run.by_kind);
    assert!(run.chain.len() <= 7, "{}", said(&run));
    assert_eq!(bind.zone_now().matches("_etcd-server-ssl").count(), 9);
    let destroy = destroy_counted(kept, &log).await;
    assert_eq!(kinds(&destroy, "dns UPDATE"), 1, "{:?}", destroy.by_kind);
    assert_eq!(kinds(&destroy, "ec2 TerminateInstances"), 1);
    assert!(destroy.chain.len() <= 3, "{}", said(&destroy));
    assert!(!bind.zone_now().contains("etcd"), "{}", bind.zone_now());

    log.reset();
    let (_, rollback, out) = run_then_roll_back(rig(), log).await;
    out.failure(1).stderr_has("× parallel: 9 of 9 nodes failed");
    assert_eq!(kinds(&rollback, "dns UPDATE"), 1, "{:?}", rollback.by_kind);
    assert_eq!(kinds(&rollback, "ec2 TerminateInstances"), 1);
    assert!(rollback.chain.len() <= 3, "{}", said(&rollback));
    assert!(!bind.zone_now().contains("etcd"), "{}", bind.zone_now());
}

/// BIND on loopback behind a relay that logs every message: BIND, the log, the relay's
/// address (the `--dns-server`) and the TSIG key file's path.
async fn bind_behind_relay() -> (Bind, Arc<Log>, String, String) {
    let (bind, server) = Bind::on_loopback();
    let log = Log::new();
    let dns = relay(server, log.clone()).await.to_string();
    let key = bind.key().to_string_lossy().into_owned();
    (bind, log, dns, key)
}

/// `rigger run FILE` of `script`, its records through RFC 2136 at `dns` with `key`
/// (`--target aws`, which it never calls: the script only publishes).
fn rfc2136_script(dns: &str, key: &str, file: &str, script: &str) -> Rig {
    cloud_rig("http://127.0.0.1:9", "http://127.0.0.1:9")
        .env("RIGGER_TSIG_KEY_FILE", key)
        .file(file, script)
        .args(&[
            "run",
            file,
            "--target",
            "aws",
            "--dns",
            "rfc2136",
            "--dns-server",
            dns,
        ])
}

/// The zone of a name three labels below its apex is found in one question, as nsupdate
/// finds it (the SOA BIND gives with its answer), not by asking each shorter name in
/// turn; the record goes into that zone and a destroy takes it back out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_finds_a_deep_name_s_zone_in_one_question() {
    let (bind, log, dns, key) = bind_behind_relay().await;
    let script =
        r#"dns_record(#{ name: "etcd-1.dc1.east.bind.test", type: "A", content: "198.18.5.1" });"#;
    let rig = rfc2136_script(&dns, &key, "deep.rhai", script);
    let (rig, out) = rig.run_kept().await;
    out.success();
    let run = log.stats();
    assert_eq!(kinds(&run, "dns QUERY SOA"), 1, "{:?}", run.by_kind);
    assert_eq!(kinds(&run, "dns UPDATE"), 1, "{:?}", run.by_kind);
    assert!(
        bind.zone_now().contains("etcd-1.dc1.east.bind.test."),
        "{}",
        bind.zone_now()
    );
    let destroy = destroy_counted(rig, &log).await;
    assert_eq!(kinds(&destroy, "dns UPDATE"), 1, "{:?}", destroy.by_kind);
    assert!(!bind.zone_now().contains("etcd-1"), "{}", bind.zone_now());
}

/// A name in no zone the server holds, and one it delegates away (`away.bind.test` has
/// NS records of other servers), are refused naming the name, before any UPDATE is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc2136_refuses_a_name_outside_its_zones_or_delegated_away_before_any_update() {
    let (bind, log, dns, key) = bind_behind_relay().await;
    for (name, said) in [
        (
            "etcd-1.other.test",
            "the RFC 2136 server has no zone etcd-1.other.test (nor other.test), which would hold etcd-1.other.test",
        ),
        (
            "etcd-1.away.bind.test",
            &*format!(
                "{dns} does not hold the zone of etcd-1.away.bind.test: it answers for it without authority (delegated to other servers)"
            ),
        ),
    ] {
        log.reset();
        let script =
            format!(r#"dns_record(#{{ name: "{name}", type: "A", content: "198.18.5.1" }});"#);
        let rig = rfc2136_script(&dns, &key, "bad.rhai", &script);
        let out = tokio::task::spawn_blocking(move || rig.run())
            .await
            .unwrap();
        out.failure(1)
            .stderr_has(said)
            .stderr_has("the server must be the zone's primary");
        let asked = log.stats();
        assert_eq!(kinds(&asked, "dns UPDATE"), 0, "{:?}", asked.by_kind);
    }
    assert!(!bind.zone_now().contains("etcd-1"), "{}", bind.zone_now());
}
