//! `--dns rfc2136` without `--dns-server` (issue 28): the zone's primary is found from
//! the SOA MNAME, asked of `--resolver`, and `wait_resolves` waits on every server of
//! the zone's NS set. A BIND primary (ns1) and a BIND secondary (ns2, which transfers
//! the zone on NOTIFY) run in the lab; the secondary is paused while the run waits, and
//! the run goes on only once it answers.

use std::time::{Duration, Instant};

use crate::harness::bind::{ADDR, Bind, SECONDARY, ZONE};
use crate::harness::{LabRig, Outcome};

fn lab_up() -> Option<(LabRig, String)> {
    let lab = LabRig::new()?;
    let up = lab.run(&["lab", "up"]);
    up.success();
    let netns = up.stdout.trim().to_string();
    Some((lab, netns))
}

/// How many records BIND's log says it added to the zone.
fn added(bind: &Bind) -> usize {
    let log = bind.log();
    log.lines()
        .filter(|l| l.contains("updating zone 'bind.test/IN': adding an RR"))
        .count()
}

#[test]
fn the_primary_comes_from_the_soa_and_the_wait_ends_only_when_the_secondary_answers() {
    let Some((lab, netns)) = lab_up() else { return };
    let (bind, secondary) = Bind::with_secondary(&netns);
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    // The resolver is the secondary's address; paused, it could not tell the primary, so
    // the primary is asked instead: its SOA names itself (ns1), its NS set both.
    secondary.pause(true);
    let resolver = format!("{ADDR}:53");
    let args = [
        "-v",
        "run",
        "cluster",
        "--dns",
        "rfc2136",
        "--resolver",
        &resolver,
        "--set",
        &format!("domain={ZONE}"),
    ];
    let mut child = lab.spawn(&[], &args);
    let start = Instant::now();
    while added(&bind) < 9 {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the records never reached the primary:\n{}",
            bind.log()
        );
        assert!(child.try_wait().unwrap().is_none(), "rigger ended early");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Published at the primary, and the secondary silent: the run waits for it.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run went on while a server of the NS set had not answered"
    );
    secondary.pause(false);
    let out = Outcome::from(child.wait_with_output().unwrap());
    out.success()
        .stdout_has("cluster is healthy")
        .stderr_has("the primary of bind.test is ns1.bind.test at 198.18.0.53:53");
    // Both servers of the NS set serve the three members' SRV set.
    for server in [ADDR, SECONDARY] {
        let srv = lab.run_in_host(
            0,
            &[
                "dig",
                "+short",
                &format!("@{server}"),
                "SRV",
                "_etcd-server-ssl._tcp.bind.test",
            ],
        );
        assert_eq!(srv.lines().count(), 3, "{server}: {srv}");
    }
    // destroy finds the primary the same way (the run's choices are in its journal).
    lab.destroy().leaves_nothing();
    let zone = bind.zone_now();
    assert!(!zone.contains("_etcd"), "left in BIND:\n{zone}");
}

#[test]
fn a_primary_without_an_address_or_refusing_the_key_is_named_and_nothing_is_left() {
    let Some((lab, netns)) = lab_up() else { return };
    let bind = Bind::with_unknown_primary(&netns);
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    let resolver = format!("{ADDR}:53");
    let dns = ["--dns", "rfc2136", "--resolver", &resolver];
    let out = lab.run_cluster(&[&dns[..], &[&format!("domain={ZONE}")]].concat());
    out.failure(1).stderr_has(
        "the SOA of bind.test names ghost.bind.test as its primary, and the resolver \
         198.18.0.53:53 has no address for it",
    );
    assert!(!bind.zone_now().contains("etcd"), "{}", bind.zone_now());
    drop(bind);

    // The primary found (ns1, itself) refuses a key it does not know.
    let bind = Bind::start(&netns);
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.wrong_key.to_string_lossy());
    let out = lab.run_cluster(&[&dns[..], &[&format!("domain={ZONE}")]].concat());
    out.failure(1).stderr_has(
        "198.18.0.53:53 refused the update for bind.test: NOTAUTH (TSIG error BADSIG) \
         (the primary ns1.bind.test, as the SOA of bind.test names it)",
    );
    assert!(!bind.zone_now().contains("etcd"), "{}", bind.zone_now());
    lab.run(&["lab", "down"]).success();
    lab.leaves_nothing();
}
