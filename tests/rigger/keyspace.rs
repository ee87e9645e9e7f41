//! A keyspace that stays small (issue 26): a key written 10,000 times is compacted away
//! and `rigger run defrag` gives the space back to the disk; a cluster without compaction
//! and with a tiny quota raises NOSPACE, which health and the doctor name.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{LabRig, Outcome, figure};

/// Puts through etcd's gateway from a lab host, over one TLS connection: `count` puts of
/// a `size`-byte value, to the key `same` (`keys` "same") or each to a key of its own.
/// Stops at the first refusal, printing it.
const PUT: &str = r#"
import base64, http.client, json, ssl, sys
host, ca, cert, key, count, size, keys = sys.argv[1:5] + [int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
conn = http.client.HTTPSConnection(host, 2379, context=ctx)
b64 = lambda b: base64.b64encode(b).decode()
value = b64(b"v" * size)
for i in range(count):
    key_ = b"same" if keys == "same" else b"big%d" % i
    conn.request("POST", "/v3/kv/put", json.dumps({"key": b64(key_), "value": value}))
    resp = conn.getresponse()
    text = resp.read()
    if resp.status != 200 or b"error" in text:
        print("stopped at", i, text.decode()[:300])
        sys.exit(1)
print("wrote", count)
"#;

/// Runs `PUT` in lab host 0 against its own member, by address.
fn put(lab: &LabRig, count: usize, size: usize, keys: &str) -> std::process::Output {
    lab.file("put.py", PUT);
    let ip = lab.hosts()[0]["ip"].as_str().unwrap().to_string();
    let pki = lab.path("state/pki/example.test");
    let file = |n: &str| pki.join(n).display().to_string();
    let script = lab.path("put.py").display().to_string();
    let (count, size) = (count.to_string(), size.to_string());
    lab.in_host(
        0,
        &[
            "python3",
            "-B",
            &script,
            &ip,
            &file("ca.crt"),
            &file("client.crt"),
            &file("client.key"),
            &count,
            &size,
            keys,
        ],
    )
}

/// `rigger health --json`, whatever it exits with.
fn health(lab: &LabRig) -> (Outcome, Value) {
    let out = lab.run(&["health", "--discovery-srv", "example.test", "--json"]);
    let v = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

/// Each member's (database file size, in use), by endpoint order.
fn sizes(report: &Value) -> Vec<(u64, u64)> {
    let members = report["members"].as_array().cloned().unwrap_or_default();
    members
        .iter()
        .map(|m| {
            let size = m["db_size"].as_u64().unwrap_or(0);
            (size, m["db_size_in_use"].as_u64().unwrap_or(size))
        })
        .collect()
}

#[test]
fn a_key_written_ten_thousand_times_is_compacted_and_defrag_gives_the_space_back() {
    let Some(lab) = LabRig::new() else { return };
    // Periodic compaction as by default, with seconds of history instead of an hour: a
    // test cannot wait the hour.
    lab.run_cluster(&["compaction=periodic:2s", "quota=256MiB"])
        .reports_healthy(3, "example.test");
    let wrote = put(&lab, 10_000, 100, "same");
    assert!(
        wrote.status.success(),
        "{}",
        String::from_utf8_lossy(&wrote.stdout)
    );

    // Compaction frees the history inside each file, which keeps its size.
    let start = Instant::now();
    let before = loop {
        let (_, report) = health(&lab);
        let s = sizes(&report);
        if s.len() == 3 && s.iter().all(|(size, used)| used * 2 < *size) {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never compacted: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let out = lab.run(&["run", "defrag"]);
    out.success()
        .stdout_has("defragmented 3 members of example.test");
    let (out, report) = health(&lab);
    out.success();
    let after = sizes(&report);
    figure(
        "keyspace",
        "database files before and after defrag (bytes)",
        format!("{before:?} -> {after:?}"),
    );
    for ((was, _), (now, _)) in before.iter().zip(&after) {
        assert!(now * 2 < *was, "{was} -> {now}");
    }
    lab.destroy().leaves_nothing();
}

#[test]
fn a_tiny_quota_without_compaction_raises_nospace_which_health_and_the_doctor_name() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&["compaction=off", "quota=1MiB"])
        .reports_healthy(3, "example.test");
    // One key written over and over: its history fills the database.
    let wrote = put(&lab, 200, 20_000, "same");
    let said = String::from_utf8_lossy(&wrote.stdout);
    assert!(!wrote.status.success(), "{said}");
    assert!(said.contains("database space exceeded"), "{said}");

    let (out, report) = health(&lab);
    out.failure(4);
    assert_eq!(report["status"], "unavailable");
    assert_eq!(report["alarms"][0]["alarm"], "NOSPACE", "{report}");
    lab.run(&["health", "--discovery-srv", "example.test"])
        .failure(4)
        .stdout_has("alarm: NOSPACE raised by member ")
        .stdout_has("cluster is unavailable: alarm NOSPACE raised, no writes until it is cleared");
    let doctor = lab.run(&["doctor", "--discovery-srv", "example.test", "--json"]);
    let found: Value = serde_json::from_str(&doctor.stdout).unwrap();
    let ids: Vec<&str> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"cluster-alarm"), "{ids:?}");
    assert!(ids.contains(&"member-near-quota"), "{ids:?}");

    // Compact, defragment, disarm: the cluster takes writes again.
    let member = report["alarms"][0]["member"].as_str().unwrap().to_string();
    lab.run(&["run", "defrag", "--set", "compact=true"])
        .success()
        .stdout_has("alarm NOSPACE raised by member ")
        .stdout_has("compacted the keyspace of example.test to revision ")
        .stdout_has("defragmented 3 members of example.test")
        .stdout_has(&format!("cleared the alarm NOSPACE of member {member}"))
        .stdout_has("the cluster example.test takes writes again");
    let (out, report) = health(&lab);
    out.success();
    assert!(report.get("alarms").is_none(), "{report}");
    let wrote = put(&lab, 5, 20_000, "same");
    assert!(
        wrote.status.success(),
        "{}",
        String::from_utf8_lossy(&wrote.stdout)
    );
    lab.destroy().leaves_nothing();
}
