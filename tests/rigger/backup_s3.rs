//! Backups in S3 (issue 26), against moto on loopback: a backup larger than a part goes
//! up as a multipart upload (its requests counted from moto's log), the manifest last;
//! the disaster is restored from there; and an S3 that cannot be reached, or that
//! refuses a part midway, is a clear error that leaves nothing behind.

use aws_sdk_s3::Client;

use crate::day2::{dns_equals_membership, every_member_holds, write_keys};
use crate::harness::cloud::{Moto, config, moto_logging};
use crate::harness::{LabRig, Outcome, free_port};
use crate::upgrade::destroy_keeping_snapshots;

/// The SDK's settings rigger reads, pointed at `endpoint`.
fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL_S3", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

fn run_with(lab: &LabRig, endpoint: &str, args: &[&str]) -> Outcome {
    let env = aws_env(endpoint);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    lab.run_with_env(&env, args)
}

async fn s3(moto: &Moto) -> Client {
    let conf = aws_sdk_s3::config::Builder::from(&config(moto))
        .force_path_style(true)
        .build();
    let s3 = Client::from_conf(conf);
    s3.create_bucket().bucket("backups").send().await.unwrap();
    s3
}

/// The object keys under `prefix`, and the multipart uploads left open there.
async fn objects(s3: &Client, prefix: &str) -> (Vec<String>, usize) {
    let listed = s3
        .list_objects_v2()
        .bucket("backups")
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    let keys = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect();
    let open = s3
        .list_multipart_uploads()
        .bucket("backups")
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    (keys, open.uploads().len())
}

/// Requests in moto's log whose line holds `part` (e.g. `x-id=UploadPart`).
fn requests(log: &std::path::Path, part: &str) -> usize {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .filter(|l| l.contains("HTTP/1.1") && l.contains(part))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_goes_to_s3_in_parts_and_the_disaster_is_restored_from_there() {
    let Some(lab) = LabRig::new() else { return };
    let log = lab.path("moto.log");
    // moto takes parts as small as S3's smallest would be in proportion.
    let moto = moto_logging(&[("S3_UPLOAD_PART_MIN_SIZE", "1024")], &log);
    let s3 = s3(&moto).await;
    let url = moto.url.clone();
    // A second S3 that refuses the second part of every multipart upload.
    let refusing_log = lab.path("moto-refusing.log");
    let refusing = moto_logging(
        &[
            ("S3_UPLOAD_PART_MIN_SIZE", "1024"),
            ("RIGGER_TEST_REFUSE_PART", "2"),
        ],
        &refusing_log,
    );
    let refusing_s3 = self::s3(&refusing).await;
    let refusing_url = refusing.url.clone();
    let lab = tokio::task::spawn_blocking(move || {
        lab.run_cluster(&[]).reports_healthy(3, "example.test");
        let keys = write_keys(&lab, 0);
        let out = run_with(
            &lab,
            &url,
            &[
                "run",
                "backup",
                "--set",
                "to=s3://backups/etcd",
                "--set",
                "part_size=65536",
            ],
        );
        out.success()
            .stdout_has("backed up example.test to s3://backups/etcd/");
        (lab, keys, out)
    })
    .await
    .unwrap();
    let (lab, keys, out) = lab;
    let (listed, open) = objects(&s3, "etcd/").await;
    assert_eq!(open, 0, "a multipart upload was left open");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed[0].ends_with(".db") && listed[1].ends_with(".json"),
        "{listed:?}"
    );
    let bytes: u64 = out
        .stdout
        .split(", ")
        .find_map(|p| p.strip_suffix(" bytes"))
        .unwrap()
        .parse()
        .unwrap();
    // One upload made, a request per part of 64 KiB, one completion; the manifest in
    // one put after it; nothing staged is left here.
    assert!(bytes > 65536, "{bytes} bytes is too small to go in parts");
    assert_eq!(
        requests(&log, "POST /backups/etcd/"),
        2,
        "a create and a completion"
    );
    assert_eq!(requests(&log, ".db?uploads "), 1, "one upload made");
    assert_eq!(
        requests(&log, "x-id=UploadPart"),
        bytes.div_ceil(65536) as usize
    );
    assert_eq!(
        requests(&log, "POST /backups/etcd/") - 1,
        1,
        "one completion"
    );
    assert_eq!(requests(&log, "x-id=PutObject"), 1);
    let staging = lab.path("state/snapshots/example.test/staging");
    assert_eq!(std::fs::read_dir(&staging).map_or(0, |d| d.count()), 0);

    let url = moto.url.clone();
    tokio::task::spawn_blocking(move || {
        for pid in lab.etcd_pids() {
            lab.kill(pid);
        }
        for name in lab.host_names() {
            std::fs::remove_dir_all(lab.path(&format!("state/lab/hosts/{name}/data"))).unwrap();
        }
        lab.health_settles_at(4);
        run_with(
            &lab,
            &url,
            &[
                "run",
                "restore",
                "--set",
                "store=s3://backups/etcd",
                "--set",
                "from=latest",
            ],
        )
        .success()
        .stdout_has("cluster is healthy");
        let names = dns_equals_membership(&lab, 0, 3);
        every_member_holds(&lab, 0, &names, "k", &keys);

        // An S3 nobody answers at: a clear error, and nothing kept or staged.
        let nowhere = format!("http://127.0.0.1:{}", free_port());
        let out = run_with(
            &lab,
            &nowhere,
            &["run", "backup", "--set", "to=s3://backups/etcd"],
        );
        out.failure(1)
            .stderr_has("S3: ")
            .stderr_has("s3://backups/etcd/");
        let staged = std::fs::read_dir(lab.path("state/snapshots/example.test/staging"))
            .map_or(0, |d| d.count());
        assert_eq!(staged, 0);

        // An upload refused midway: a clear error naming the call, the upload aborted.
        run_with(
            &lab,
            &refusing_url,
            &[
                "run",
                "backup",
                "--set",
                "to=s3://backups/etcd",
                "--set",
                "part_size=65536",
            ],
        )
        .failure(1)
        .stderr_has("UploadPart s3://backups/etcd/")
        .stderr_has("part 2 refused");
        assert_eq!(
            requests(&refusing_log, "x-id=UploadPart"),
            2,
            "part 1, and part 2 refused once: a 400 is not tried again"
        );
        assert_eq!(
            requests(&refusing_log, "DELETE /backups/etcd/"),
            1,
            "one abort"
        );
        let staged = std::fs::read_dir(lab.path("state/snapshots/example.test/staging"))
            .map_or(0, |d| d.count());
        assert_eq!(staged, 0);
        destroy_keeping_snapshots(&lab);
    })
    .await
    .unwrap();
    let (listed, _) = objects(&s3, "etcd/").await;
    assert_eq!(listed.len(), 2, "the failed backup left {listed:?}");
    // The refused upload left no object, no manifest and no open upload: it was
    // aborted, once (its parts go with it).
    let (listed, open) = objects(&refusing_s3, "etcd/").await;
    assert_eq!((listed.len(), open), (0, 0), "{listed:?}");
}
