//! The Route 53 provider against moto: record sets grow and shrink one value at a time.

use rigger::providers::dns::name_servers::NameServers;
use rigger::providers::dns::route53::Route53;
use rigger::providers::dns::zone_api::Api;
use rigger::providers::{Dns, RecordData, RecordSpec};

use crate::aws::{config, moto};

fn srv(target: &str) -> RecordSpec {
    RecordSpec {
        name: "_etcd-server-ssl._tcp.example.test".into(),
        ttl: 300,
        data: RecordData::SRV {
            priority: 0,
            weight: 0,
            port: 2380,
            target: target.into(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_values_share_one_record_set_and_leave_it_one_by_one() {
    let moto = moto(&[]);
    let cfg = config(&moto);
    let r53 = aws_sdk_route53::Client::new(&cfg);
    r53.create_hosted_zone()
        .name("example.test.")
        .caller_reference("rigger-test")
        .send()
        .await
        .unwrap();
    let dns = Api(Route53::new(&cfg, vec![]));

    let (zone, created) = dns.zone("example.test").await.unwrap();
    assert!(!created);
    let (a, created) = dns.create(&srv("etcd-1.example.test")).await.unwrap();
    assert!(created);
    let (b, _) = dns.create(&srv("etcd-2.example.test")).await.unwrap();
    let (again, created) = dns.create(&srv("etcd-1.example.test")).await.unwrap();
    assert!(!created, "an identical record is adopted");
    assert_eq!(again, a);

    // Through Route 53's own API: one set, two values, in its form.
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .send()
        .await
        .unwrap();
    let set = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == "_etcd-server-ssl._tcp.example.test." && s.r#type().as_str() == "SRV")
        .expect("the SRV set");
    let mut values: Vec<&str> = set.resource_records().iter().map(|r| r.value()).collect();
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
    let sets = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .send()
        .await
        .unwrap();
    assert!(
        !sets
            .resource_record_sets()
            .iter()
            .any(|s| s.r#type().as_str() == "SRV"),
        "the empty set is gone"
    );
}

#[tokio::test]
async fn a_missing_hosted_zone_is_named() {
    let moto = moto(&[]);
    let dns = Api(Route53::new(&config(&moto), vec![]));
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
    let dns =
        Api(Route53::new(&cfg, vec![]).with_lookup(NameServers::parse(&map.join(",")).unwrap()));
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

    let partial = Api(Route53::new(&cfg, vec![])
        .with_lookup(NameServers::parse("ns9.other.test=127.0.0.1:9").unwrap()));
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
    let fixed = Api(Route53::new(&cfg, vec![given]));
    assert_eq!(
        fixed.authoritative("example.test").await.unwrap(),
        vec![given]
    );
}
