//! `rigger doctor` outside the lab, needing no root: a Cloudflare zone (the stand-in)
//! read through the zone's own name server (a local server following the stand-in, as
//! RIGGER_NAME_SERVERS maps it), and a server given with --dns-server whose answer
//! compresses an SRV target in its bytes, which no provider's credentials are needed
//! to ask.

use std::net::SocketAddr;
use std::str::FromStr;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde_json::{Value, json};

use crate::cloudflare::{Shared, TOKEN, stand_in};
use crate::follow::dns_following;
use crate::harness::{Outcome, Rig, off_runtime, text_has, text_starts};

fn srv(api: &Shared, id: &str, owner: &str, priority: u16, port: u16, target: &str) {
    api.lock().unwrap().records.push(json!({
        "id": id, "zone_id": "zone1", "type": "SRV", "name": owner, "ttl": 60,
        "data": { "priority": priority, "weight": 0, "port": port, "target": target },
    }));
}

/// The peer records of m1..m3, ids `{id}1`..`{id}3`, with `priority` and `port`.
fn peers(api: &Shared, id: &str, priority: u16, port: u16) {
    for i in 1..=3 {
        let (id, target) = (format!("{id}{i}"), format!("m{i}.example.test"));
        let owner = "_etcd-server-ssl._tcp.example.test";
        srv(api, &id, owner, priority, port, &target);
    }
}

fn a(api: &Shared, id: &str, name: &str, ip: &str) {
    api.lock().unwrap().records.push(json!({
        "id": id, "zone_id": "zone1", "type": "A", "name": name, "content": ip, "ttl": 60,
    }));
}

fn doctor(cf_base: &str, dns: SocketAddr) -> (Outcome, Value) {
    doctor_for("example.test", cf_base, dns)
}

fn doctor_for(domain: &str, cf_base: &str, dns: SocketAddr) -> (Outcome, Value) {
    let out = Rig::new()
        .own_state()
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_API_BASE_URL", cf_base)
        .env("RIGGER_NAME_SERVERS", &format!("ns1.example.test={dns}"))
        .args(&[
            "doctor",
            "--discovery-srv",
            domain,
            "--target",
            "aws",
            "--dns",
            "cloudflare",
            "--json",
        ])
        .run()
        .asks_no_metadata_service();
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    (out, report)
}

/// The doctor once its first finding is `want` (or the zone is clean, for "clean"): the
/// server following the stand-in picks up new records within a reload (every 50 ms),
/// later on a busy machine.
fn settled(cf_base: &str, dns: SocketAddr, want: &str) -> (Outcome, Value) {
    let start = std::time::Instant::now();
    loop {
        let (out, report) = doctor(cf_base, dns);
        let first = report["findings"][0]["id"].as_str().unwrap_or("clean");
        if first == want || start.elapsed() > std::time::Duration::from_secs(10) {
            return (out, report);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloudflare_zone_is_read_through_its_own_name_server() {
    let (cf_base, api) = stand_in().await;
    let dns = dns_following(api.clone()).await;
    // Addresses from TEST-NET-2: written in records, never dialled.
    for i in 1..=3 {
        let name = format!("m{i}.example.test");
        a(&api, &format!("a{i}"), &name, &format!("198.51.100.{i}"));
        srv(
            &api,
            &format!("c{i}"),
            "_etcd-client-ssl._tcp.example.test",
            0,
            2379,
            &name,
        );
    }
    // The peer records with priority and port swapped, as in etcd-io/etcd#11335.
    peers(&api, "s", 2380, 0);
    let base = cf_base.clone();
    let (out, report) = off_runtime(move || settled(&base, dns, "srv-fields-swapped")).await;
    out.failure(4);
    assert_eq!(report["servers"], json!([dns.to_string()]), "{report:#}");
    let f = &report["findings"][0];
    assert_eq!(
        (&f["id"], &f["severity"]),
        (&json!("srv-fields-swapped"), &json!("error")),
        "{report:#}"
    );
    // Fixed, the zone is clean.
    {
        let mut api = api.lock().unwrap();
        api.records
            .retain(|r| !r["id"].as_str().unwrap().starts_with('s'));
    }
    peers(&api, "t", 0, 2380);
    let (out, report) = off_runtime(move || settled(&cf_base, dns, "clean")).await;
    out.success();
    assert_eq!(report["status"], "clean", "{report:#}");
}

/// The answer to `SRV _etcd-server-ssl._tcp.d.test`, one record whose target `n1.d.test`
/// is written as `n1` and a pointer to `d.test` in the question: the bytes Go's resolver
/// refuses (golang/go#27546) and hickory's encoder never writes.
fn compressed_srv_answer(id: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    // A response, authoritative; NOERROR; one question, one answer.
    m.extend_from_slice(&[0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0]);
    let question = m.len();
    for label in ["_etcd-server-ssl", "_tcp", "d", "test"] {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 33, 0, 1]);
    // The owner: a pointer to the question's name (compressing owners is fine).
    m.extend_from_slice(&[0xC0, question as u8, 0, 33, 0, 1, 0, 0, 1, 44]);
    let d = question + 1 + "_etcd-server-ssl".len() + 1 + "_tcp".len();
    let data = [0, 0, 0, 0, 0x09, 0x4C, 2, b'n', b'1', 0xC0, d as u8];
    m.extend_from_slice(&(data.len() as u16).to_be_bytes());
    m.extend_from_slice(&data);
    m
}

/// A zone `d.test` with one member on a loopback port, every answer hickory's but the
/// peer SRV answer.
async fn compressing_server() -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, from) = socket.recv_from(&mut buf).await.unwrap();
            let request = Message::from_vec(&buf[..n]).unwrap();
            let query = request.queries[0].clone();
            let id = request.metadata.id;
            let name = query.name().to_string();
            let reply = if name == "_etcd-server-ssl._tcp.d.test." {
                compressed_srv_answer(id)
            } else {
                let mut m = Message::response(id, OpCode::Query);
                m.metadata.authoritative = true;
                m.add_query(query.clone());
                let owner = query.name().clone();
                let n1 = Name::from_str("n1.d.test.").unwrap();
                match (name.as_str(), query.query_type()) {
                    ("d.test.", RecordType::SOA) => {}
                    ("_etcd-client-ssl._tcp.d.test.", RecordType::SRV) => {
                        let data = RData::SRV(SRV::new(0, 0, 2379, n1));
                        m.add_answer(Record::from_rdata(owner, 300, data));
                    }
                    ("n1.d.test.", RecordType::A) => {
                        let data = RData::A(A::new(192, 0, 2, 1));
                        m.add_answer(Record::from_rdata(owner, 300, data));
                    }
                    ("n1.d.test.", _) => {}
                    _ => m.metadata.response_code = ResponseCode::NXDomain,
                }
                m.to_vec().unwrap()
            };
            socket.send_to(&reply, from).await.unwrap();
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_srv_target_on_the_wire_is_an_error_with_no_credentials_needed() {
    let server = compressing_server().await.to_string();
    let out = tokio::task::spawn_blocking(move || {
        // No Cloudflare or AWS settings: a given server is asked directly.
        let args = [
            "doctor",
            "--discovery-srv",
            "d.test",
            "--target",
            "aws",
            "--dns-server",
            &server,
        ];
        Rig::new().own_state().args(&args).run()
    })
    .await
    .unwrap();
    out.failure(4);
    text_starts(
        &out.stdout,
        "error[srv-target-compressed] _etcd-server-ssl._tcp.d.test\n",
    );
    text_has(&out.stdout, "golang/go#27546");
    text_has(
        &out.stdout,
        "  served: _etcd-server-ssl._tcp.d.test. 300 IN SRV 0 0 2380 n1.d.test.\n",
    );
    assert!(
        out.stdout
            .contains("\nd.test: 1 error, 0 warnings (asked 127.0.0.1:"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_the_account_has_no_zone_for_is_a_finding() {
    let (cf_base, api) = stand_in().await;
    let dns = dns_following(api).await;
    let (out, report) =
        tokio::task::spawn_blocking(move || doctor_for("elsewhere.test", &cf_base, dns))
            .await
            .unwrap();
    out.failure(4);
    let f = &report["findings"][0];
    assert_eq!(
        (&f["id"], &f["subject"]),
        (&json!("no-zone"), &json!("elsewhere.test")),
        "{report:#}"
    );
    assert_eq!(report["servers"], json!([]), "{report:#}");
    assert_eq!(
        f["evidence"],
        json!([
            "this Cloudflare account has no zone elsewhere.test, which would hold elsewhere.test"
        ])
    );
}

/// The doctor against the stand-in with `env` (the token's variables) added.
fn doctor_with(cf_base: &str, dns: SocketAddr, env: &[(&str, &str)]) -> Outcome {
    let mut rig = Rig::new()
        .own_state()
        .env("CLOUDFLARE_API_BASE_URL", cf_base)
        .env("RIGGER_NAME_SERVERS", &format!("ns1.example.test={dns}"));
    for (k, v) in env {
        rig = rig.env(k, v);
    }
    rig.args(&[
        "doctor",
        "--discovery-srv",
        "example.test",
        "--target",
        "aws",
        "--dns",
        "cloudflare",
        "--json",
    ])
    .run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_may_come_from_a_file_and_one_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let (cf_base, api) = stand_in().await;
    let dns = dns_following(api.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cloudflare-token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = file.display().to_string();
    let out = off_runtime({
        let (base, path) = (cf_base.clone(), path.clone());
        move || doctor_with(&base, dns, &[("CLOUDFLARE_API_TOKEN_FILE", &path)])
    })
    .await;
    // The stand-in took the token (it refuses any other): the zone was read.
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", out.stdout, out.stderr));
    assert_eq!(report["servers"], json!([dns.to_string()]), "{report:#}");
    out.stderr_has(&format!(
        "CLOUDFLARE_API_TOKEN_FILE: {path} is readable by every user of this machine (mode 644)"
    ))
    .stderr_lacks(TOKEN);
    assert!(!out.stdout.contains(TOKEN));
    // Made private, nothing is said.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = off_runtime({
        let (base, path) = (cf_base.clone(), path.clone());
        move || doctor_with(&base, dns, &[("CLOUDFLARE_API_TOKEN_FILE", &path)])
    })
    .await;
    out.stderr_lacks("readable by every user");
    // Both at once: refused before anything is asked, naming both.
    let out = off_runtime({
        let (base, path) = (cf_base.clone(), path.clone());
        move || {
            doctor_with(
                &base,
                dns,
                &[
                    ("CLOUDFLARE_API_TOKEN_FILE", &path),
                    ("CLOUDFLARE_API_TOKEN", TOKEN),
                ],
            )
        }
    })
    .await;
    out.failure(1)
        .stderr_has("both CLOUDFLARE_API_TOKEN and CLOUDFLARE_API_TOKEN_FILE are set");
    drop(api);
}
