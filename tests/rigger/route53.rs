//! The Route 53 provider against moto: record sets grow and shrink one value at a time.

use aws_sdk_route53::types::RrType;
use rigger::providers::dns::name_servers::NameServers;
use rigger::providers::dns::route53::Route53;
use rigger::providers::dns::zone_api::Api;
use rigger::providers::{Dns, Record, RecordData, RecordSpec};

use crate::harness::cloud::{Moto, config, hosted_zone, moto, peer_srv, record_sets, upsert};

fn srv(target: &str) -> RecordSpec {
    peer_srv(2380, target)
}

/// moto with a hosted zone for example.test (made under `reference`), a client of its
/// Route 53, and rigger's provider on it. moto stops when the first is dropped.
async fn zone_on_moto(reference: &str) -> (Moto, aws_sdk_route53::Client, Api<Route53>) {
    let moto = moto(&[]);
    let cfg = config(&moto);
    let r53 = aws_sdk_route53::Client::new(&cfg);
    hosted_zone(&r53, reference).await;
    let dns = Api::new(Route53::new(&cfg, vec![]));
    (moto, r53, dns)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_values_share_one_record_set_and_leave_it_one_by_one() {
    let (_moto, r53, dns) = zone_on_moto("rigger-test").await;

    let (zone, created) = dns.zone("example.test").await.unwrap();
    assert!(!created);
    let (a, created) = dns.create(&srv("etcd-1.example.test")).await.unwrap();
    assert!(created);
    let (b, _) = dns.create(&srv("etcd-2.example.test")).await.unwrap();
    let (again, created) = dns.create(&srv("etcd-1.example.test")).await.unwrap();
    assert!(!created, "an identical record is adopted");
    assert_eq!(again, a);

    // Through Route 53's own API: one set, two values, in its form.
    let sets = record_sets(&r53, &zone.id).await;
    let (.., values) = sets
        .iter()
        .find(|(name, t, _)| name == "_etcd-server-ssl._tcp.example.test." && t == "SRV")
        .expect("the SRV set");
    let mut values = values.clone();
    values.sort();
    assert_eq!(
        values,
        [
            "0 0 2380 etcd-1.example.test.",
            "0 0 2380 etcd-2.example.test."
        ]
    );
    assert_eq!(
        dns.list("_etcd-server-ssl._tcp.example.test")
            .await
            .unwrap()
            .len(),
        2
    );

    dns.delete(&a).await.unwrap();
    assert_eq!(
        dns.list("_etcd-server-ssl._tcp.example.test")
            .await
            .unwrap(),
        vec![b.clone()]
    );
    dns.delete(&b).await.unwrap();
    assert!(
        dns.list("_etcd-server-ssl._tcp.example.test")
            .await
            .unwrap()
            .is_empty()
    );
    let sets = record_sets(&r53, &zone.id).await;
    assert!(
        !sets.iter().any(|(_, t, _)| t == "SRV"),
        "the empty set is gone"
    );
}

#[tokio::test]
async fn a_missing_hosted_zone_is_named() {
    let moto = moto(&[]);
    let dns = Api::new(Route53::new(&config(&moto), vec![]));
    let err = dns.zone("nowhere.test").await.unwrap_err();
    assert_eq!(err.message, "zone \"nowhere.test\" not found in Route 53");
}

/// Without `--dns-server`, the servers asked are the hosted zone's delegation set (as
/// GetHostedZone lists it), each name looked up; here the names map to loopback
/// stand-ins, and a name that cannot be found is said so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_dns_server_the_delegation_set_is_asked() {
    let moto = moto(&[]);
    let cfg = config(&moto);
    let r53 = aws_sdk_route53::Client::new(&cfg);
    let made = r53
        .create_hosted_zone()
        .name("example.test.")
        .caller_reference("rigger-test")
        .send()
        .await
        .unwrap();
    let names: Vec<String> = made
        .delegation_set()
        .expect("moto assigns a delegation set")
        .name_servers()
        .to_vec();
    assert!(names.len() >= 2, "{names:?}");
    let map: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{n}=127.0.0.{}:53{i}", i + 1))
        .collect();
    let dns = Api::new(
        Route53::new(&cfg, vec![]).with_lookup(NameServers::parse(&map.join(",")).unwrap()),
    );
    let mut want: Vec<std::net::SocketAddr> = (0..names.len())
        .map(|i| format!("127.0.0.{}:53{i}", i + 1).parse().unwrap())
        .collect();
    want.sort();
    // Asked for a name under the zone, as wait_resolves asks.
    assert_eq!(
        dns.authoritative("_etcd-server-ssl._tcp.example.test")
            .await
            .unwrap(),
        want
    );

    let partial = Api::new(
        Route53::new(&cfg, vec![])
            .with_lookup(NameServers::parse("ns9.other.test=127.0.0.1:9").unwrap()),
    );
    let err = partial.authoritative("example.test").await.unwrap_err();
    assert!(
        err.message
            .contains("none of the name servers of example.test could be found"),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains(&format!("{}: not in RIGGER_NAME_SERVERS", names[0]))
    );

    // --dns-server wins: the delegation set is not even read.
    let given: std::net::SocketAddr = "127.0.0.9:5300".parse().unwrap();
    let fixed = Api::new(Route53::new(&cfg, vec![given]));
    assert_eq!(
        fixed.authoritative("example.test").await.unwrap(),
        vec![given]
    );
}

/// `create_all`, every record of which must be made or adopted.
async fn create_all(dns: &Api<Route53>, specs: &[RecordSpec]) -> Vec<(Record, bool)> {
    let outcomes = dns.create_all(specs).await.into_iter();
    outcomes.map(|o| o.unwrap()).collect()
}

/// The TXT records of the zone, by name, as Route 53 itself lists them.
async fn txt_sets(r53: &aws_sdk_route53::Client, zone: &str) -> Vec<(String, Vec<String>)> {
    let sets = record_sets(r53, zone).await.into_iter();
    let txt = sets.filter(|(_, t, _)| t == "TXT");
    txt.map(|(name, _, values)| (name, values)).collect()
}

/// A value of a cluster's gets a TXT marker of its own, beside a value of someone
/// else's in the same set; each marker goes with its value, and `marked` finds exactly
/// the cluster's values, a marker whose value was removed by hand among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_marked_value_has_a_txt_marker_that_goes_with_it() {
    let (_moto, r53, dns) = zone_on_moto("rigger-markers").await;
    let (zone, _) = dns.zone("example.test").await.unwrap();
    let mine = |target: &str| RecordSpec {
        cluster: Some("example.test".into()),
        ..srv(target)
    };

    let (a, _) = dns.create(&mine("etcd-1.example.test")).await.unwrap();
    let (theirs, _) = dns.create(&srv("legacy.example.test")).await.unwrap();
    let (b, _) = dns.create(&mine("etcd-2.example.test")).await.unwrap();
    let (other, _) = dns
        .create(&RecordSpec {
            cluster: Some("other.test".into()),
            ..srv("etcd-9.example.test")
        })
        .await
        .unwrap();
    let marker = |spec: &RecordSpec| {
        format!(
            "{}.",
            rigger::providers::dns::marker::txt_name(spec).unwrap()
        )
    };
    let mut txt = txt_sets(&r53, &zone.id).await;
    txt.sort();
    let mut expected = vec![
        (
            marker(&a.spec),
            vec!["\"heritage=rigger,rigger/cluster=example.test\"".to_string()],
        ),
        (
            marker(&b.spec),
            vec!["\"heritage=rigger,rigger/cluster=example.test\"".to_string()],
        ),
        (
            marker(&other.spec),
            vec!["\"heritage=rigger,rigger/cluster=other.test\"".to_string()],
        ),
    ];
    expected.sort();
    assert_eq!(
        txt, expected,
        "one marker per marked value, none for theirs"
    );

    // The cluster's values, and nothing else; values are found, markers are not listed.
    let mut found = dns.marked("example.test", "example.test").await.unwrap();
    found.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(found, vec![a.clone(), b.clone()]);

    // Deleting a value takes its marker in the same batch.
    dns.delete(&a).await.unwrap();
    assert!(
        !txt_sets(&r53, &zone.id)
            .await
            .iter()
            .any(|(n, _)| *n == marker(&a.spec))
    );

    // b's value removed by hand (outside rigger): its marker alone is found, and goes.
    let values = [
        "0 0 2380 legacy.example.test.",
        "0 0 2380 etcd-9.example.test.",
    ];
    let name = "_etcd-server-ssl._tcp.example.test.";
    upsert(&r53, &zone.id, name, RrType::Srv, 300, &values).await;
    assert!(
        txt_sets(&r53, &zone.id)
            .await
            .iter()
            .any(|(n, _)| *n == marker(&b.spec)),
        "the test needs b's marker still there"
    );
    let orphan = dns.marked("example.test", "example.test").await.unwrap();
    assert_eq!(orphan.len(), 1);
    assert_eq!(format!("{}.", orphan[0].spec.name), marker(&b.spec));
    dns.delete(&orphan[0]).await.unwrap();
    assert!(
        dns.marked("example.test", "example.test")
            .await
            .unwrap()
            .is_empty()
    );

    // Theirs and the other cluster's are untouched.
    let left = dns
        .list("_etcd-server-ssl._tcp.example.test")
        .await
        .unwrap();
    let mut targets: Vec<String> = left
        .iter()
        .map(|r| match &r.spec.data {
            RecordData::SRV { target, .. } => target.clone(),
            _ => unreachable!(),
        })
        .collect();
    targets.sort();
    assert_eq!(targets, ["etcd-9.example.test", "legacy.example.test"]);
    assert_eq!(left.iter().filter(|r| r.id == theirs.id).count(), 1);
    assert_eq!(
        dns.marked("example.test", "other.test").await.unwrap(),
        vec![other]
    );
}

/// Many records in one go: each set once with all its new values, and their markers;
/// then out again together, even when one of them was already removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_goes_in_and_out_as_whole_sets_with_their_markers() {
    let (_moto, r53, dns) = zone_on_moto("rigger-batch").await;
    let (zone, _) = dns.zone("example.test").await.unwrap();
    let marked = |mut s: RecordSpec| {
        s.cluster = Some("example.test".into());
        s
    };
    let a = RecordSpec {
        name: "etcd-1.example.test".into(),
        ttl: 300,
        data: RecordData::A {
            content: "198.18.1.1".parse().unwrap(),
        },
        cluster: None,
    };
    let specs = vec![
        marked(srv("etcd-1.example.test")),
        marked(srv("etcd-2.example.test")),
        marked(a.clone()),
    ];
    let made = create_all(&dns, &specs).await;
    assert!(made.iter().all(|(_, created)| *created));
    let mut values: Vec<String> = dns
        .list("_etcd-server-ssl._tcp.example.test")
        .await
        .unwrap()
        .iter()
        .map(|r| r.spec.data.content())
        .collect();
    values.sort();
    assert_eq!(values.len(), 2, "{values:?}");
    assert_eq!(
        txt_sets(&r53, &zone.id).await.len(),
        3,
        "one marker per value"
    );
    // Again: all adopted, nothing added.
    let again = create_all(&dns, &specs).await;
    assert!(again.iter().all(|(_, created)| !*created));

    // A batch sent unread is a CREATE of each set, which Route 53 refuses whole when a set
    // is there already (tests/moto_server.py refuses as Route 53 does): the SRV set then
    // grows by the new value, read and written back whole, never a second set beside it.
    let a3 = RecordSpec {
        name: "etcd-3.example.test".into(),
        data: RecordData::A {
            content: "198.18.1.3".parse().unwrap(),
        },
        ..a.clone()
    };
    let grown: Vec<_> = dns
        .create_all(&[marked(srv("etcd-3.example.test")), marked(a3)])
        .await
        .into_iter()
        .map(|o| o.unwrap())
        .collect();
    assert!(grown.iter().all(|(_, created)| *created));
    let listed = record_sets(&r53, &zone.id).await;
    let srv_sets: Vec<_> = listed.iter().filter(|(_, t, _)| t == "SRV").collect();
    assert_eq!(srv_sets.len(), 1, "{srv_sets:?}");
    assert_eq!(srv_sets[0].2.len(), 3, "{srv_sets:?}");
    assert_eq!(
        txt_sets(&r53, &zone.id).await.len(),
        5,
        "one marker per value"
    );

    // One removed before: the batch changes only what is still there, and all go.
    let records: Vec<_> = made.into_iter().chain(grown).map(|(r, _)| r).collect();
    dns.delete(&records[1]).await.unwrap();
    let outcomes = dns.delete_all(&records).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert!(
        dns.list("_etcd-server-ssl._tcp.example.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(dns.list("etcd-1.example.test").await.unwrap().is_empty());
    assert!(
        txt_sets(&r53, &zone.id).await.is_empty(),
        "the markers went too"
    );
}
