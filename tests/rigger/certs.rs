//! Certificates that age (issue 27): a fresh cluster's certificates live a year (members,
//! client) and ten years (the CA), as openssl reads them and as `rigger certs` says; a
//! rotation under a writer renews every member's certificate in place, each seen served
//! on both ports by openssl, with health at 0 throughout and no acknowledged write lost;
//! certificates near their end are warned about, and one past it is named.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use crate::day2::{dns_equals_membership, every_member_holds, stop_writer, writer};
use crate::harness::{BIN, LabRig, figure};

/// `openssl x509` of the PEM file `path`: (notAfter, serial in lowercase hex).
fn openssl_end(path: &std::path::Path) -> (OffsetDateTime, String) {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-serial", "-in"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    (
        openssl_date(&field("notAfter=")),
        field("serial=").to_lowercase(),
    )
}

fn openssl_date(s: &str) -> OffsetDateTime {
    let format = time::format_description::parse_borrowed::<2>(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT",
    )
    .unwrap();
    time::PrimitiveDateTime::parse(s, &format)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .assume_utc()
}

/// The certificate a member serves on `port` (PEM), read by openssl in lab host `host`
/// (the lab's resolver and network), presenting rigger's client certificate.
fn served_pem(lab: &LabRig, host: usize, fqdn: &str, port: u16) -> String {
    let pki = lab.path("state/pki/example.test");
    let f = |n: &str| pki.join(n).display().to_string();
    let script = format!(
        "openssl s_client -connect {fqdn}:{port} -servername {fqdn} -cert {} -key {} </dev/null 2>/dev/null | openssl x509",
        f("client.crt"),
        f("client.key"),
    );
    lab.run_in_host(host, &["sh", "-c", &script])
}

/// The serial of what a member serves on `port`, as openssl reads it.
fn s_client_serial(lab: &LabRig, host: usize, fqdn: &str, port: u16) -> String {
    let served = lab.path("serial.pem");
    std::fs::write(&served, served_pem(lab, host, fqdn, port)).unwrap();
    let (_, serial) = openssl_end(&served);
    serial
}

/// `rigger health` asked every 100 ms by a shell of its own (the environment rigger gets
/// in this lab), each exit status appended to `health.codes`, until `health.stop` exists.
fn health_poller(lab: &LabRig) -> Child {
    let base = lab.rig().command(Path::new(BIN));
    let mut sh = Command::new("sh");
    sh.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            sh.env(k, v);
        }
    }
    if let Some(dir) = base.get_current_dir() {
        sh.current_dir(dir);
    }
    let script = format!(
        "while [ ! -e {stop} ]; do {BIN} health --discovery-srv example.test >/dev/null 2>&1; echo $? >> {codes}; sleep 0.1; done",
        stop = lab.path("health.stop").display(),
        codes = lab.path("health.codes").display(),
    );
    sh.args(["-c", &script]).stdin(Stdio::null());
    sh.spawn().unwrap()
}

/// Stops the poller; the exit statuses it saw.
fn stop_health_poller(lab: &LabRig, mut child: Child) -> Vec<String> {
    std::fs::write(lab.path("health.stop"), "").unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_file(lab.path("health.stop"));
    let codes = std::fs::read_to_string(lab.path("health.codes")).unwrap_or_default();
    codes.lines().map(String::from).collect()
}

/// Every key file under the state dir (the PKI's, the lab machines' copies) is 0600,
/// and no key's secret appears in `said` (a run's output) or in any file of the state's
/// runs (the journals).
fn keys_are_private_and_unsaid(lab: &LabRig, said: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mut keys = Vec::new();
    let mut todo = vec![lab.path("state")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() && !path.ends_with("data") {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "key") {
                assert_eq!(
                    meta.permissions().mode() & 0o777,
                    0o600,
                    "{}",
                    path.display()
                );
                keys.push(path);
            }
        }
    }
    assert!(keys.len() >= 5, "{keys:?}");
    let journals: String = std::fs::read_dir(lab.path("state/runs"))
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    for key in keys {
        let text = std::fs::read_to_string(&key).unwrap();
        let secret = text.lines().nth(1).unwrap();
        assert!(!said.contains(secret), "{} was said", key.display());
        assert!(
            !journals.contains(secret),
            "{} is in a journal",
            key.display()
        );
    }
    assert!(!said.contains("PRIVATE KEY") && !journals.contains("PRIVATE KEY"));
}

fn fqdns(lab: &LabRig) -> Vec<String> {
    lab.host_names()
        .iter()
        .map(|n| format!("{n}.example.test"))
        .collect()
}

#[test]
fn a_new_clusters_certificates_live_a_year_and_its_ca_ten_as_rigger_certs_says() {
    let Some(lab) = LabRig::new() else { return };
    // Lives out of bounds, or a leaf outliving its CA: refused before anything is made.
    for (sets, says) in [
        (
            &["cert_days=0"][..],
            "--set cert_days=0: not a certificate's life: 1 to 3650 days",
        ),
        (&["ca_days=40000"], "not a CA's life: 1 to 36500 days"),
        (
            &["cert_days=400", "ca_days=300"],
            "it would outlive its CA (ca_days 300)",
        ),
    ] {
        lab.run_cluster(sets).failure(1).stderr_has(says);
        lab.created_nothing();
    }
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let now = OffsetDateTime::now_utc();
    let year = now.replace_year(now.year() + 1).unwrap();
    let ten = now.replace_year(now.year() + 10).unwrap();
    let near = |a: OffsetDateTime, b: OffsetDateTime| (a - b).abs() <= time::Duration::days(1);

    let out = lab.run(&["certs", "--discovery-srv", "example.test", "--json"]);
    out.success();
    let listed: Value = serde_json::from_str(&out.stdout).unwrap();
    let files = listed["files"].as_array().unwrap();
    assert_eq!(files.len(), 5, "the CA, the client and 3 members: {listed}");
    let pki = lab.path("state/pki/example.test");
    for f in files {
        let path = std::path::PathBuf::from(f["file"].as_str().unwrap());
        assert!(path.starts_with(&pki), "{}", path.display());
        let (end, serial) = openssl_end(&path);
        let want = if f["role"] == "ca" { ten } else { year };
        assert!(near(end, want), "{}: {end}, not {want}", path.display());
        // rigger says what openssl reads.
        let said = OffsetDateTime::parse(
            f["not_after"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert_eq!(said, end, "{}", path.display());
        assert_eq!(f["serial"].as_str().unwrap(), serial);
        assert_eq!(f["expiry"], "valid");
    }
    // What each member serves on both ports is its file, and a year long.
    let served = listed["served"].as_array().unwrap();
    assert_eq!(served.len(), 6, "3 members, 2 ports: {listed}");
    for s in served {
        assert_eq!(s["matches_file"], true, "{s}");
        assert!(s["days_left"].as_i64().unwrap() >= 364, "{s}");
    }
    // The certificates on the machines are the ones listed.
    for name in lab.host_names() {
        let (end, serial) = openssl_end(&lab.path(&format!("state/lab/hosts/{name}/etcd.crt")));
        assert!(near(end, year));
        assert!(files.iter().any(|f| f["serial"] == serial.as_str()));
    }
    lab.run(&["certs", "--discovery-srv", "example.test"])
        .success()
        .stdout_has("| ca.crt ")
        .stdout_has("| client.crt ")
        .stdout_has("served by the members:");
    lab.destroy().leaves_nothing();
}

#[test]
fn a_rotation_under_writes_serves_new_serials_with_health_healthy_throughout() {
    let Some(lab) = LabRig::new() else { return };
    lab.run_cluster(&[]).reports_healthy(3, "example.test");
    let names = fqdns(&lab);
    let before: Vec<(String, String)> = names
        .iter()
        .map(|n| {
            (
                s_client_serial(&lab, 0, n, 2379),
                s_client_serial(&lab, 0, n, 2380),
            )
        })
        .collect();

    // A writer, and health asked over and over (its exit statuses logged), while the
    // rotation runs.
    let child = writer(&lab, 0);
    let poller = health_poller(&lab);
    std::thread::sleep(Duration::from_millis(500));
    let out = lab.run(&["run", "rotate-certs"]);
    std::thread::sleep(Duration::from_millis(500));
    let codes = stop_health_poller(&lab, poller);
    let (acked, longest, tried) = stop_writer(&lab, child);
    out.success()
        .stdout_has("renewed rigger's client certificate")
        .stdout_has("cluster is healthy");

    // Each member now serves the serial the rotation said, on both ports, as openssl
    // sees it; and none serves its old one.
    let said: Vec<(String, String)> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("renewed etcd-")?;
            let (name, rest) = rest.split_once(": serial ")?;
            Some((format!("etcd-{name}"), rest.split(',').next()?.to_string()))
        })
        .collect();
    assert_eq!(said.len(), 3, "{}", out.stdout);
    for (i, fqdn) in names.iter().enumerate() {
        let name = fqdn.split('.').next().unwrap();
        let serial = &said.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(&s_client_serial(&lab, 0, fqdn, 2379), serial, "{fqdn}:2379");
        assert_eq!(&s_client_serial(&lab, 0, fqdn, 2380), serial, "{fqdn}:2380");
        assert_ne!(&before[i].0, serial);
    }
    assert!(codes.len() >= 3, "health was asked {} times", codes.len());
    assert!(
        codes.iter().all(|c| c == "0"),
        "health during the rotation: {codes:?}"
    );
    let names = dns_equals_membership(&lab, 0, 3);
    every_member_holds(&lab, 0, &names, "w", &acked);
    assert!(
        acked.len() > 5,
        "the writer wrote {} of {tried}",
        acked.len()
    );
    figure(
        "certs",
        "rotation under writes: longest write stall",
        format!(
            "{:.2} s ({} writes acknowledged of {tried}; health asked {} times, all 0)",
            longest.as_secs_f64(),
            acked.len(),
            codes.len()
        ),
    );
    lab.run(&["certs", "--discovery-srv", "example.test"])
        .success();

    // Then the CA itself, under the same writer and health. Members restart (twice each),
    // so health may say degraded for a moment, never unavailable.
    let pki = lab.path("state/pki/example.test");
    let old = lab.path("old");
    std::fs::create_dir_all(&old).unwrap();
    for f in ["ca.crt", "client.crt", "client.key"] {
        std::fs::copy(pki.join(f), old.join(f)).unwrap();
    }
    let _ = std::fs::remove_file(lab.path("health.codes"));
    let child = writer(&lab, 0);
    let poller = health_poller(&lab);
    std::thread::sleep(Duration::from_millis(500));
    let out = lab.run(&["-v", "run", "rotate-certs", "--set", "ca=true"]);
    std::thread::sleep(Duration::from_millis(500));
    let codes = stop_health_poller(&lab, poller);
    let (acked, longest, tried) = stop_writer(&lab, child);
    out.success()
        .stdout_has("the new CA of example.test signs from now on")
        .stdout_has("the old CA of example.test is trusted no more")
        .stdout_has("cluster is healthy");
    assert!(!codes.is_empty());
    assert!(
        codes.iter().all(|c| c == "0" || c == "3"),
        "health during the CA rotation: {codes:?}"
    );
    let degraded = codes.iter().filter(|c| *c == "3").count();
    // What each member serves on both ports: the new CA verifies it, the old one does not.
    for fqdn in fqdns(&lab) {
        for port in [2379, 2380] {
            let pem = served_pem(&lab, 0, &fqdn, port);
            let served = lab.path("served.pem");
            std::fs::write(&served, pem).unwrap();
            let verify = |ca: &Path| {
                Command::new("openssl")
                    .args(["verify", "-CAfile"])
                    .arg(ca)
                    .arg(&served)
                    .output()
                    .unwrap()
                    .status
                    .success()
            };
            assert!(
                verify(&pki.join("ca.crt")),
                "{fqdn}:{port}: not the new CA's"
            );
            assert!(
                !verify(&old.join("ca.crt")),
                "{fqdn}:{port}: the old CA verifies it"
            );
        }
    }
    // The old client certificate is refused by the members.
    let ip = lab.hosts()[0]["ip"].as_str().unwrap().to_string();
    let refused = lab.in_host(
        0,
        &[
            "etcdctl",
            &format!("--endpoints=https://{ip}:2379"),
            "--cacert",
            &pki.join("ca.crt").display().to_string(),
            "--cert",
            &old.join("client.crt").display().to_string(),
            "--key",
            &old.join("client.key").display().to_string(),
            "--command-timeout=3s",
            "get",
            "w1",
        ],
    );
    assert!(
        !refused.status.success(),
        "the old client certificate was taken"
    );
    keys_are_private_and_unsaid(&lab, &format!("{}{}", out.stdout, out.stderr));
    let names = dns_equals_membership(&lab, 0, 3);
    every_member_holds(&lab, 0, &names, "w", &acked);
    assert!(
        acked.len() > 5,
        "the writer wrote {} of {tried}",
        acked.len()
    );
    figure(
        "certs",
        "CA rotation under writes: longest write stall",
        format!(
            "{:.2} s ({} writes acknowledged of {tried}; health asked {} times, {degraded} degraded while a member restarted, never unavailable)",
            longest.as_secs_f64(),
            acked.len(),
            codes.len()
        ),
    );
    lab.destroy().leaves_nothing();
}

/// A certificate for `name` signed by the cluster's CA (read from the state dir) that
/// ended yesterday, written as `<dir>/<file>.crt` and `.key`.
fn expired(lab: &LabRig, dns: &[String], ips: &[&str], dir: &std::path::Path, file: &str) {
    let pki = lab.path("state/pki/example.test");
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(pki.join("ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        &std::fs::read_to_string(pki.join("ca.crt")).unwrap(),
        ca_key,
    )
    .unwrap();
    let mut sans: Vec<String> = dns.to_vec();
    sans.extend(ips.iter().map(|s| s.to_string()));
    let mut p = rcgen::CertificateParams::new(sans).unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, file.to_string());
    let now = OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(30);
    p.not_after = now - time::Duration::days(1);
    p.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).unwrap();
    std::fs::write(dir.join(format!("{file}.crt")), cert.pem()).unwrap();
}

fn doctor_ids(lab: &LabRig) -> (Option<i32>, Vec<(String, String)>) {
    let out = lab.run(&["doctor", "--discovery-srv", "example.test", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let found = v["findings"].as_array().unwrap().iter();
    let ids = found
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (out.code, ids)
}

#[test]
fn certificates_near_their_end_are_warned_about_and_one_past_it_is_named() {
    let Some(lab) = LabRig::new() else { return };
    // Two days: within the 30 days warned about.
    lab.run_cluster(&["cert_days=2"])
        .success()
        .stdout_has("expires on ")
        .stdout_has("cluster is healthy");
    let pki = lab.path("state/pki/example.test");
    let client = pki.join("client.crt").display().to_string();
    let (end, _) = openssl_end(&pki.join("client.crt"));
    let date = format!(
        "{:04}-{:02}-{:02}",
        end.year(),
        u8::from(end.month()),
        end.day()
    );

    let out = lab.run(&["health", "--discovery-srv", "example.test"]);
    out.success()
        .stdout_has(&format!(
            "warning: the certificate {client} expires on {date}"
        ))
        .stdout_has("serves a certificate that expires on ")
        .stdout_has("cluster is healthy");
    let (code, ids) = doctor_ids(&lab);
    assert_eq!(code, Some(3), "{ids:?}");
    let expiring: Vec<&String> = ids
        .iter()
        .filter(|(id, _)| id == "cert-expiring")
        .map(|(_, s)| s)
        .collect();
    assert_eq!(expiring.len(), 4, "the client and three served: {ids:?}");
    assert!(expiring.contains(&&client), "{ids:?}");
    lab.run(&["certs", "--discovery-srv", "example.test"])
        .failure(3)
        .stdout_has(&format!("warning: {client} expires on {date}"));

    // One member made to serve a certificate that ended yesterday (etcd reads it at the
    // next handshake): health names it and the member, the doctor errs.
    let hosts = lab.hosts();
    let victim = hosts[1]["name"].as_str().unwrap().to_string();
    let ip = hosts[1]["ip"].as_str().unwrap().to_string();
    let fqdn = format!("{victim}.example.test");
    let dir = lab.path(&format!("state/lab/hosts/{victim}"));
    expired(
        &lab,
        &[fqdn.clone(), "example.test".into()],
        &[&ip],
        &dir,
        "etcd",
    );
    let (end, _) = openssl_end(&dir.join("etcd.crt"));
    let date = format!(
        "{:04}-{:02}-{:02}",
        end.year(),
        u8::from(end.month()),
        end.day()
    );
    let out = lab.run(&["health", "--discovery-srv", "example.test"]);
    out.failure(3)
        .stdout_has(&format!(
            "{fqdn}:2379 serves a certificate that expired on {date}"
        ))
        .stdout_has("cluster is degraded");
    let (code, ids) = doctor_ids(&lab);
    assert_eq!(code, Some(4), "{ids:?}");
    assert!(
        ids.contains(&("cert-expired".to_string(), format!("{fqdn}:2379"))),
        "{ids:?}"
    );
    // `rigger certs` shows the member serving what is not its file, and exits 4.
    let out = lab.run(&["certs", "--discovery-srv", "example.test", "--json"]);
    out.failure(4);
    let listed: Value = serde_json::from_str(&out.stdout).unwrap();
    for s in listed["served"].as_array().unwrap() {
        let theirs = s["endpoint"].as_str().unwrap().starts_with(&fqdn);
        assert_eq!(s["matches_file"], !theirs, "{s}");
        if theirs {
            assert_eq!(s["expiry"], "expired", "{s}");
        }
    }

    // An expired client certificate given by hand: refused, named with its date.
    let mine = lab.path("mine");
    std::fs::create_dir_all(&mine).unwrap();
    expired(&lab, &[], &[], &mine, "client");
    let cert = mine.join("client.crt").display().to_string();
    let key = mine.join("client.key").display().to_string();
    lab.run(&[
        "health",
        "--discovery-srv",
        "example.test",
        "--cert",
        &cert,
        "--key",
        &key,
    ])
    .failure(1)
    .stderr_has(&format!("the certificate {cert} expired on "))
    .stderr_has("rotate-certs");

    // A rotation mends the member: it serves a new certificate and health is 0.
    lab.run(&["run", "rotate-certs"]).success();
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success();
    lab.destroy().leaves_nothing();
}

#[test]
fn a_rotation_with_the_ca_runs_over_ssh_as_against_cloud_machines() {
    let Some(lab) = LabRig::new() else { return };
    let over_ssh = |script: &str, sets: &[&str]| {
        let mut args = vec!["run", "--transport", "ssh", "--ssh-accept-new", script];
        for s in sets {
            args.extend(["--set", s]);
        }
        lab.run(&args)
    };
    over_ssh("cluster", &[]).reports_healthy(3, "example.test");
    let before: Value = serde_json::from_str(
        &lab.run(&["certs", "--discovery-srv", "example.test", "--json"])
            .stdout,
    )
    .unwrap();
    over_ssh("rotate-certs", &["ca=true"])
        .success()
        .stdout_has("the old CA of example.test is trusted no more")
        .stdout_has("cluster is healthy");
    let out = lab.run(&["certs", "--discovery-srv", "example.test", "--json"]);
    out.success();
    let after: Value = serde_json::from_str(&out.stdout).unwrap();
    let serials = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["serial"].as_str().unwrap_or("").to_string())
            .collect()
    };
    // Every file and every served certificate is new, and each member serves its file.
    for s in serials(&after, "files") {
        assert!(!serials(&before, "files").contains(&s), "{s} was kept");
    }
    let served = after["served"].as_array().unwrap();
    assert_eq!(served.len(), 6);
    assert!(served.iter().all(|s| s["matches_file"] == true), "{after}");
    lab.destroy().leaves_nothing();
}
