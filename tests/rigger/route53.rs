//! The Route 53 provider against moto: record sets grow and shrink one value at a time.

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
