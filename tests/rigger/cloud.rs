//! `rigger run cluster --target aws --dns cloudflare`, end to end against moto and the
//! Cloudflare stand-in, with a local DNS server answering from the stand-in's records so
//! that `wait_resolves` waits for real. moto's addresses are fiction: the run must stop
//! before connecting to any of them.

use serde_json::Value;

use crate::cloudflare::stand_in;
use crate::follow::dns_following;
use crate::harness::cloud::{all_terminated, aws_cluster, cloud_rig, config, moto};
use crate::harness::off_runtime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_script_creates_instances_and_records_then_stops_before_dialling_moto() {
    let moto = moto(&[]);
    let (cf_base, api) = stand_in().await;
    let dns = dns_following(api.clone()).await;
    let rig = aws_cluster(
        cloud_rig(&moto.url, &cf_base),
        "cloudflare",
        &["instance_type=t3.small"],
    )
    .args(&["--dns-server", &dns.to_string(), "--keep-on-error"]);
    let out = rig.run_kept().await;
    let (rig, out) = out;
    out.failure(1)
        .stderr_has(&format!(
            "its address comes from an overridden EC2 endpoint ({}), such as a local stand-in, and may not be real",
            moto.url
        ))
        .stderr_has("× parallel: 3 of 3 nodes failed:");
    assert!(!out.stderr.contains("Connection refused"), "{}", out.stderr);

    // The instances, through EC2's own API.
    let ec2 = aws_sdk_ec2::Client::new(&config(&moto));
    let described = ec2.describe_instances().send().await.unwrap();
    let running: Vec<_> = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("running"))
        .collect();
    assert_eq!(running.len(), 3);
    let names: Vec<String> = running
        .iter()
        .map(|i| {
            i.tags()
                .iter()
                .find(|t| t.key() == Some("Name"))
                .unwrap()
                .value()
                .unwrap()
                .to_string()
        })
        .collect();
    // Each machine's phases as EC2 takes it through them; the start fails at the first
    // command (an address of moto's is never dialled), so none gets past installing.
    for name in &names {
        out.says_phases(name, &["launching", "booting", "up", "installing"]);
    }
    for i in &running {
        assert!(
            i.tags()
                .iter()
                .any(|t| t.key() == Some("rigger:cluster") && t.value() == Some("example.test"))
        );
    }

    // The records, through the stand-in's state.
    let records: Vec<Value> = api.lock().unwrap().records.clone();
    let count = |t: &str, n: &str| {
        records
            .iter()
            .filter(|r| r["type"] == t && r["name"] == n)
            .count()
    };
    assert_eq!(count("SRV", "_etcd-server-ssl._tcp.example.test"), 3);
    assert_eq!(count("SRV", "_etcd-client-ssl._tcp.example.test"), 3);
    for name in &names {
        assert_eq!(
            count("A", &format!("{name}.example.test")),
            1,
            "{name}: {records:?}"
        );
    }

    // destroy removes all of it.
    let destroyed = off_runtime(move || {
        let out = rig.again(&["destroy"]);
        (rig, out)
    })
    .await;
    destroyed.1.success();
    assert!(api.lock().unwrap().records.is_empty());
    assert!(all_terminated(&config(&moto)).await);
    assert!(!destroyed.0.path("state").exists());
}

/// Without `--dns-server`, `wait_resolves` asks the zone's own name servers, found in
/// Cloudflare's zone object (`name_servers`) and asked directly. Here the stand-in lists
/// ns1.example.test, and RIGGER_NAME_SERVERS maps it to the local server: no question
/// leaves this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dns_server_the_zones_own_name_servers_are_asked() {
    let moto = moto(&[]);
    let (cf_base, api) = stand_in().await;
    let dns = dns_following(api.clone()).await;
    let script = "print(dns_zone(\"example.test\").servers);\n\
                  dns_record(#{ name: \"probe.example.test\", type: \"A\", content: \"10.0.0.5\" });\n\
                  wait_resolves(\"probe.example.test\", \"10.0.0.5\", #{ timeout: 20 });\n\
                  print(\"resolved\");\n";
    let rig = |names: &str| {
        cloud_rig(&moto.url, &cf_base)
            .file("p.rhai", script)
            .env("RIGGER_NAME_SERVERS", names)
            .args(&["run", "p.rhai", "--target", "aws", "--dns", "cloudflare"])
    };
    let found = rig(&format!("ns1.example.test={dns}"));
    let (found, out) = found.run_kept().await;
    // dns_zone says which servers the wait asks.
    out.success().stdout_is(&format!("[\"{dns}\"]\nresolved\n"));
    let destroyed = off_runtime(move || found.again(&["destroy"])).await;
    destroyed.success();
    assert!(api.lock().unwrap().records.is_empty());

    // A name server that cannot be found is said so, naming it; the record made before
    // the wait is rolled back.
    let lost = rig("ns9.other.test=127.0.0.1:9");
    let out = off_runtime(move || lost.run()).await;
    out.failure(1)
        .stderr_has("none of the name servers of example.test could be found")
        .stderr_has("ns1.example.test: not in RIGGER_NAME_SERVERS");
    assert!(api.lock().unwrap().records.is_empty());
}

/// The cluster script finds the servers `wait_resolves` will ask before it launches
/// anything: a zone none of whose name servers can be found is refused with no instance
/// started and no record made, and its dry run refuses the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_name_servers_are_refused_before_any_instance_in_the_dry_run_too() {
    let moto = moto(&[]);
    let (cf_base, api) = stand_in().await;
    let cluster = |dry: bool| {
        let rig =
            cloud_rig(&moto.url, &cf_base).env("RIGGER_NAME_SERVERS", "ns9.other.test=127.0.0.1:9");
        let rig = aws_cluster(rig, "cloudflare", &[]);
        if dry { rig.args(&["--dry-run"]) } else { rig }
    };
    for dry in [true, false] {
        let rig = cluster(dry);
        let out = off_runtime(move || rig.run()).await;
        out.failure(1)
            .stderr_has("dns_zone: none of the name servers of example.test could be found")
            .stderr_has("ns1.example.test: not in RIGGER_NAME_SERVERS")
            .stderr_has("--dns-server");
        if dry {
            assert!(!out.stdout.contains("launch"), "dry run {}", out.stdout);
        }
    }
    let ec2 = aws_sdk_ec2::Client::new(&config(&moto));
    let described = ec2.describe_instances().send().await.unwrap();
    assert_eq!(
        described
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .count(),
        0,
        "no instance was launched"
    );
    assert!(api.lock().unwrap().records.is_empty());
}

/// Counts of one kind of request: (method, path) pairs as the stand-in saw them.
fn count(calls: &[(String, String, Option<Value>)], method: &str, path: &str) -> usize {
    calls
        .iter()
        .filter(|(m, p, _)| m == method && p == path)
        .count()
}

/// Nine members' records are one Cloudflare request to publish and one to remove (the
/// batch endpoint); an account without it gets one request per record, and still all
/// of them. Counts, not times: they do not depend on the machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_members_records_are_one_batch_to_publish_and_one_to_remove() {
    for refuse_batch in [false, true] {
        let moto = moto(&[]);
        let (cf_base, api) = stand_in().await;
        api.lock().unwrap().refuse_batch = refuse_batch;
        let dns = dns_following(api.clone()).await;
        let rig = aws_cluster(cloud_rig(&moto.url, &cf_base), "cloudflare", &["size=9"]).args(&[
            "--dns-server",
            &dns.to_string(),
            "--keep-on-error",
        ]);
        let (rig, out) = rig.run_kept().await;
        // It stops at the bootstrap (moto's machines are never dialled), records made.
        out.failure(1)
            .stderr_has("× parallel: ")
            .stderr_has("not connecting to");
        assert_eq!(api.lock().unwrap().records.len(), 27);
        let calls = api.lock().unwrap().take_calls();
        let batch = "/zones/zone1/dns_records/batch";
        let single = "/zones/zone1/dns_records";
        if refuse_batch {
            assert_eq!(count(&calls, "POST", batch), 1, "tried once");
            assert_eq!(count(&calls, "POST", single), 27);
        } else {
            assert_eq!(count(&calls, "POST", batch), 1);
            assert_eq!(count(&calls, "POST", single), 0);
            let body = calls
                .iter()
                .find(|(m, p, _)| m == "POST" && p == batch)
                .and_then(|(.., b)| b.clone())
                .unwrap();
            assert_eq!(body["posts"].as_array().unwrap().len(), 27);
        }
        // The account's zones are read once, in one page, which answers every lookup
        // (the domain, and each member's own name, which could be a zone of its own).
        assert_eq!(count(&calls, "GET", "/zones"), 1, "{calls:?}");

        let destroyed = off_runtime(move || rig.again(&["destroy"])).await;
        destroyed.success();
        assert!(api.lock().unwrap().records.is_empty());
        let calls = api.lock().unwrap().take_calls();
        let deletes = calls.iter().filter(|(m, ..)| m == "DELETE").count();
        if refuse_batch {
            assert_eq!(deletes, 27);
        } else {
            assert_eq!(count(&calls, "POST", batch), 1, "{calls:?}");
            assert_eq!(deletes, 0, "{calls:?}");
        }
    }
}
