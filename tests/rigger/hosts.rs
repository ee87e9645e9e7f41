//! Machines that exist already (issue 28): `rigger lab hosts add` makes booted lab
//! machines outside any run and prints their inventory; `--target hosts --inventory`
//! builds a cluster on them with the lab's DNS and with BIND over RFC 2136 (its primary
//! found from the SOA), grows and shrinks it, and `rigger destroy` gives the machines
//! back with nothing of rigger's on them. A bad inventory is refused, naming its line,
//! before anything is made. Machines are judged from inside them, over plain `ssh`.

use std::process::Command;

use crate::download::{GENUINE, Release, Tarball};
use crate::harness::bind::{ADDR, Bind, ZONE};
use crate::harness::{LabRig, Outcome};

/// The machines of an inventory `lab hosts add` printed: (name, address).
fn listed(inventory: &str) -> Vec<(String, String)> {
    let value = |l: &str| l.split('"').nth(1).unwrap().to_string();
    let names = inventory
        .lines()
        .filter(|l| l.starts_with("name = "))
        .map(value);
    let addresses = inventory
        .lines()
        .filter(|l| l.starts_with("address = "))
        .map(value);
    names.zip(addresses).collect()
}

/// The lab's namespace, from which its machines are reached.
fn lab_netns(lab: &LabRig) -> String {
    lab.status()["netns"].as_str().unwrap().to_string()
}

/// ssh to root on the machine at `ip` from inside the lab, with the lab's key and host
/// keys checked; the command to run is the caller's to add.
fn ssh_to(lab: &LabRig, ip: &str) -> Command {
    let mut ssh = Command::new("ip");
    ssh.args(["netns", "exec", &lab_netns(lab), "ssh", "-i"])
        .arg(lab.path("state/lab/ssh/id_ed25519"))
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            lab.path("state/lab/ssh/known_hosts").display()
        ))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args(["-o", "ConnectTimeout=2"])
        .arg(format!("root@{ip}"));
    ssh
}

/// Runs `command` on the machine at `ip` over ssh (the lab's key, host keys checked),
/// from inside the lab: its last line of output.
fn on_machine(lab: &LabRig, ip: &str, command: &str) -> String {
    let out = ssh_to(lab, ip).arg(command).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.code() != Some(255),
        "ssh to {ip} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().last().unwrap_or_default().to_string()
}

/// What rigger leaves on a machine: its unit, data dir, certificates, folder, user
/// and any etcd process. A machine given back says `clean`.
const FOOTPRINT: &str = "for p in /etc/systemd/system/etcd.service /var/lib/etcd /etc/etcd /var/lib/rigger; do [ -e $p ] && echo -n \"$p \"; done; getent passwd etcd >/dev/null && echo -n 'etcd-user '; pgrep -x etcd >/dev/null && echo -n 'etcd-running '; echo clean";

/// A successful health report of the members named `names` under `domain`.
fn healthy_on(out: &Outcome, names: &[String], domain: &str) {
    out.success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), names.len() + 1, "{}", out.stdout);
    let suffix = format!(".{domain}:2379");
    let mut seen: Vec<String> = lines[..names.len()]
        .iter()
        .map(|line| {
            let (head, url) = line
                .split_once(" is healthy: got healthy result from https://")
                .expect(line);
            assert!(head.starts_with("member "), "{line}");
            url.strip_suffix(&suffix).expect(line).to_string()
        })
        .collect();
    seen.sort();
    assert_eq!(seen, names);
    assert_eq!(lines[names.len()], "cluster is healthy");
}

fn makes_machines(lab: &LabRig, count: usize, more: &[&str]) -> (String, Vec<(String, String)>) {
    let count = count.to_string();
    let out = lab.run(&[&["lab", "hosts", "add", "--count", &count], more].concat());
    out.success();
    let machines = listed(&out.stdout);
    assert_eq!(machines.len().to_string(), count, "{}", out.stdout);
    (out.stdout.clone(), machines)
}

/// The members' names, as `rigger members` lists them (etcdctl's simple lines).
fn member_names(lab: &LabRig, on: &[&str]) -> Vec<String> {
    let out = lab.run(&[&["members", "--discovery-srv", "example.test"], on].concat());
    out.success();
    let mut names: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.split(", ").nth(2).map(String::from))
        .collect();
    names.sort();
    names
}

#[test]
fn a_cluster_on_an_inventory_with_the_labs_dns_grows_shrinks_and_gives_the_machines_back_clean() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[GENUINE]);
    let (inventory, machines) = makes_machines(&lab, 4, &[]);
    lab.file("hosts.toml", &inventory);
    let file = lab.path("hosts.toml").to_string_lossy().into_owned();
    let on = ["--target", "hosts", "--inventory", &file, "--dns", "lab"];
    let url = release.url_param();
    let sets = ["--set", &url, "--set", "etcd_version=3.5.1"];
    let out = lab.run(&[&["run", "cluster"], &on[..], &sets[..]].concat());
    // The first three machines, in the inventory's order, members under their own names.
    let names: Vec<String> = machines.iter().map(|m| m.0.clone()).collect();
    healthy_on(&out, &names[..3], "example.test");
    assert_eq!(member_names(&lab, &on), names[..3]);
    let first = &machines[0].1;
    assert_eq!(
        on_machine(&lab, first, "systemctl is-active etcd; "),
        "active"
    );
    assert_eq!(
        on_machine(
            &lab,
            first,
            "command -v etcd || readlink -f /proc/$(pgrep -x etcd)/exe"
        ),
        "/var/lib/rigger/bin/etcd"
    );

    // Grown to four on the free machine, then shrunk: the member removed gives its
    // machine back clean.
    let add = lab.run(&[&["run", "member-add"], &on[..], &sets[..]].concat());
    add.success()
        .stdout_has(&format!("added {} ", machines[3].0));
    assert_eq!(member_names(&lab, &on), names);
    let out = lab.run(&[&["run", "member-add"], &on[..], &sets[..]].concat());
    out.failure(1)
        .stderr_has("this needs 1 machine and the inventory has 0 free");
    let gone = &machines[1];
    let set = format!("member={}", gone.0);
    lab.run(&[&["run", "member-remove"], &on[..], &["--set", &set]].concat())
        .success();
    let kept: Vec<String> = names.iter().filter(|n| **n != gone.0).cloned().collect();
    assert_eq!(member_names(&lab, &on), kept);
    assert_eq!(on_machine(&lab, &gone.1, FOOTPRINT), "clean");
    lab.run(&[
        "health",
        "--discovery-srv",
        "example.test",
        "--target",
        "hosts",
        "--inventory",
        &file,
        "--dns",
        "lab",
    ])
    .success()
    .stdout_has("cluster is healthy");

    // A machine a cluster holds is not taken down from under it.
    lab.run(&["lab", "hosts", "remove", "--all"])
        .failure(1)
        .stderr_has("host-1, host-3, host-4 held by a cluster");

    // Destroyed: the machines are still there, each as it was given, and the zone has
    // none of rigger's records.
    lab.destroy();
    let left = lab.run(&["lab", "hosts", "list"]);
    left.success();
    assert_eq!(listed(&left.stdout), machines);
    for (name, ip) in &machines {
        assert_eq!(on_machine(&lab, ip, FOOTPRINT), "clean", "{name}");
    }
    let zones = lab.status()["zones"].clone();
    assert_eq!(zones, serde_json::json!([]), "records left");
    lab.run(&["lab", "down"]).success();
    // The snapshot member-remove took first is the user's, and stays.
    assert_eq!(crate::upgrade::snapshots(&lab).len(), 1);
    std::fs::remove_dir_all(lab.path("state/snapshots")).unwrap();
    lab.destroy();
    lab.leaves_nothing();
}

#[test]
fn a_cluster_on_an_ansible_inventory_with_bind_finds_the_primary_from_the_soa() {
    let Some(lab) = LabRig::new() else { return };
    let up = lab.run(&["lab", "up"]);
    up.success();
    let bind = Bind::start(up.stdout.trim());
    let lab = lab.with_env("RIGGER_TSIG_KEY_FILE", &bind.key.to_string_lossy());
    let resolver = format!("{ADDR}:53");
    let (_, machines) = makes_machines(&lab, 3, &["--resolver", &resolver]);
    // The same machines as Ansible lists them: a group, and the SSH settings in vars.
    let mut yaml = format!(
        "all:\n  vars:\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    known_hosts: {}\n  children:\n    etcd:\n      hosts:\n",
        lab.path("state/lab/ssh/id_ed25519").display(),
        lab.path("state/lab/ssh/known_hosts").display()
    );
    for (name, ip) in &machines {
        yaml += &format!("        {name}:\n          ansible_host: {ip}\n");
    }
    lab.file("hosts.yml", &yaml);
    let file = lab.path("hosts.yml").to_string_lossy().into_owned();
    let domain = format!("domain={ZONE}");
    // etcd copied from here (the lab's ladder), as for machines without internet.
    let etcd = format!(
        "etcd={}",
        crate::download::on_the_ladder("3.5.30", "etcd").display()
    );
    let args = [
        "-v",
        "run",
        "cluster",
        "--target",
        "hosts",
        "--inventory",
        &file,
        "--dns",
        "rfc2136",
        "--resolver",
        &resolver,
        "--set",
        "install=upload",
        "--set",
        &etcd,
        "--set",
        &domain,
    ];
    let out = lab.run(&args);
    let names: Vec<String> = machines.iter().map(|m| m.0.clone()).collect();
    healthy_on(&out, &names, ZONE);
    assert_eq!(
        on_machine(
            &lab,
            &machines[0].1,
            "readlink -f /proc/$(pgrep -x etcd)/exe"
        ),
        "/var/lib/rigger/bin/etcd"
    );
    out.stderr_has(&format!("the primary of {ZONE} is ns1.{ZONE} at {ADDR}:53"));
    assert!(
        bind.zone_now().contains("_etcd-server-ssl._tcp"),
        "{}",
        bind.zone_now()
    );

    lab.destroy();
    let zone = bind.zone_now();
    for (name, ip) in &machines {
        assert!(
            !zone.contains(name.as_str()),
            "{name} left in the zone:\n{zone}"
        );
        assert_eq!(on_machine(&lab, ip, FOOTPRINT), "clean", "{name}");
    }
    assert!(!zone.contains("_etcd-"), "records left:\n{zone}");
    lab.run(&["lab", "down"]).success();
}

/// A bad inventory fails before anything is made: no claim, no zone, no record.
fn refused(lab: &LabRig, name: &str, text: &str, args: &[&str], said: &str) -> Outcome {
    lab.file(name, text);
    let file = lab.path(name).to_string_lossy().into_owned();
    let on = [
        "run",
        "cluster",
        "--target",
        "hosts",
        "--inventory",
        &file,
        "--dns",
        "lab",
    ];
    let out = lab.run(&[&on[..], args].concat());
    out.failure(1).stderr_has(&said.replace("FILE", &file));
    assert!(
        !lab.path("state/hosts/claims.json").exists(),
        "{name}: a machine was taken"
    );
    let zones = lab.status()["zones"].clone();
    assert_eq!(zones, serde_json::json!([]), "{name}: a zone was made");
    out
}

#[test]
fn bad_inventories_are_refused_naming_the_line_before_anything_is_made() {
    let Some(lab) = LabRig::new() else { return };
    let (inventory, machines) = makes_machines(&lab, 2, &[]);
    let header = inventory.split("\n[[hosts]]").next().unwrap().to_string();
    let host =
        |name: &str, ip: &str| format!("\n[[hosts]]\nname = \"{name}\"\naddress = \"{ip}\"\n");
    let (one, two) = (&machines[0], &machines[1]);

    // Lines: the header is 5 lines, each machine 4 (a blank line, [[hosts]], its name
    // and its address), so the second machine's name is on line 12.
    let text = format!(
        "{header}{}\n[[hosts]]\nname = \"db9\"\n",
        host(&one.0, &one.1)
    );
    refused(
        &lab,
        "missing.toml",
        &text,
        &[],
        "FILE:12: db9 has no address",
    );
    let text = format!("{header}{}{}", host(&one.0, &one.1), host(&one.0, &two.1));
    refused(
        &lab,
        "twice.toml",
        &text,
        &[],
        &format!("FILE:12: {} is listed twice (first on line 8)", one.0),
    );
    // An address of the lab where no machine answers.
    let text = format!(
        "{header}{}{}",
        host(&one.0, &one.1),
        host("ghost", "198.18.0.250")
    );
    refused(
        &lab,
        "ghost.toml",
        &text,
        &[],
        "FILE:12: ghost (198.18.0.250) cannot be reached",
    );
    // More machines asked for than listed.
    let text = format!("{header}{}{}", host(&one.0, &one.1), host(&two.0, &two.1));
    refused(
        &lab,
        "few.toml",
        &text,
        &[],
        "this needs 3 machines and the inventory has 2 free",
    );
    // Labels pick machines: counted before anything is made, then the one carrying them
    // taken, though it is listed second.
    let labelled = |name: &str, ip: &str, rack: &str| {
        format!("{}labels = {{ rack = \"{rack}\" }}\n", host(name, ip))
    };
    let text = format!(
        "{header}{}{}",
        labelled(&one.0, &one.1, "a"),
        labelled(&two.0, &two.1, "b")
    );
    let rack = ["--set", "size=2", "--set", "labels=#{ rack: \"b\" }"];
    refused(
        &lab,
        "racks.toml",
        &text,
        &rack,
        "this needs 2 machines with the labels #{\"rack\": \"b\"} and the inventory has 1 free",
    );
    let file = lab.path("racks.toml").to_string_lossy().into_owned();
    let etcd = format!(
        "etcd={}",
        crate::download::on_the_ladder("3.5.30", "etcd").display()
    );
    let on = ["--target", "hosts", "--inventory", &file, "--dns", "lab"];
    let sets = [
        "--set",
        "size=1",
        "--set",
        "labels=#{ rack: \"b\" }",
        "--set",
        "install=upload",
        "--set",
        &etcd,
    ];
    let out = lab.run(&[&["run", "cluster"], &on[..], &sets[..]].concat());
    healthy_on(&out, std::slice::from_ref(&two.0), "example.test");
    lab.run(&["destroy", "--discovery-srv", "example.test", "--yes"])
        .success();
    assert!(!lab.path("state/hosts/claims.json").exists());

    // A machine already running an etcd of its own (a real one, the ladder's).
    let etcd = crate::download::on_the_ladder("3.5.30", "etcd");
    let netns = lab_netns(&lab);
    let copy = Command::new("ip")
        .args(["netns", "exec", &netns, "scp", "-i"])
        .arg(lab.path("state/lab/ssh/id_ed25519"))
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            lab.path("state/lab/ssh/known_hosts").display()
        ))
        .arg(&etcd)
        .arg(format!("root@{}:/root/etcd", two.1))
        .status()
        .unwrap();
    assert!(copy.success());
    on_machine(
        &lab,
        &two.1,
        "nohup /root/etcd --data-dir /root/theirs.etcd >/root/etcd.log 2>&1 </dev/null & echo started",
    );
    let running = "sleep 1; pgrep -x etcd >/dev/null && echo running";
    assert_eq!(on_machine(&lab, &two.1, running), "running");
    let text = format!("{header}{}{}", host(&one.0, &one.1), host(&two.0, &two.1));
    refused(
        &lab,
        "busy.toml",
        &text,
        &["--set", "size=1"],
        &format!("FILE:12: {} ({}): it already runs etcd", two.0, two.1),
    );
    on_machine(
        &lab,
        &two.1,
        "pkill -x etcd; rm -rf /root/etcd /root/theirs.etcd; echo ok",
    );
    // An etcd package's user, its etcd stopped: giving the machine back would remove it.
    on_machine(&lab, &two.1, "useradd --system etcd; echo ok");
    refused(
        &lab,
        "user.toml",
        &text,
        &["--set", "size=1"],
        &format!(
            "FILE:12: {} ({}): it already has an etcd user or group",
            two.0, two.1
        ),
    );
    on_machine(&lab, &two.1, "userdel etcd; echo ok");

    // A host key that does not match: another key for the second machine.
    let known = std::fs::read_to_string(lab.path("state/lab/ssh/known_hosts")).unwrap();
    let other = lab.path("other_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(keygen.success());
    let public = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let key: Vec<&str> = public.split_whitespace().take(2).collect();
    let forged: String = known
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{} ", two.1)) {
                format!("{} {}", two.1, key.join(" "))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    lab.file("forged_known_hosts", &(forged + "\n"));
    let header = header.replace(
        &lab.path("state/lab/ssh/known_hosts").display().to_string(),
        &lab.path("forged_known_hosts").display().to_string(),
    );
    let text = format!("{header}{}{}", host(&one.0, &one.1), host(&two.0, &two.1));
    refused(
        &lab,
        "forged.toml",
        &text,
        &["--set", "size=1"],
        &format!("FILE:12: {} ({}) cannot be reached", two.0, two.1),
    )
    .stderr_has("Host key verification failed");

    lab.run(&["lab", "down"]).success();
    lab.leaves_nothing();
}

#[test]
fn the_upgrade_backup_and_certificate_scripts_run_on_an_inventory() {
    let Some(lab) = LabRig::new() else { return };
    let release = Release::serve(&lab, &[Tarball::of("3.5.16"), Tarball::of("3.5.30")]);
    let (inventory, machines) = makes_machines(&lab, 3, &[]);
    lab.file("hosts.toml", &inventory);
    let file = lab.path("hosts.toml").to_string_lossy().into_owned();
    let on = ["--target", "hosts", "--inventory", &file, "--dns", "lab"];
    let url = release.url_param();
    let names: Vec<String> = machines.iter().map(|m| m.0.clone()).collect();
    let cluster = [
        "run",
        "cluster",
        "--set",
        &url,
        "--set",
        "etcd_version=3.5.16",
    ];
    healthy_on(
        &lab.run(&[&cluster[..], &on[..]].concat()),
        &names,
        "example.test",
    );

    // A rolling upgrade by download: the new release beside the old one, in rigger's
    // folder, run by the rewritten unit.
    let upgrade = [
        "run",
        "upgrade",
        "--set",
        "etcd_version=3.5.30",
        "--set",
        &url,
    ];
    lab.run(&[&upgrade[..], &on[..]].concat())
        .success()
        .stdout_has("every member runs 3.5.30; the cluster version is 3.5");
    for (name, ip) in &machines {
        let running = on_machine(&lab, ip, "readlink -f /proc/$(pgrep -x etcd)/exe");
        assert_eq!(running, "/var/lib/rigger/etcd-3.5.30/etcd", "{name}");
    }

    // A backup from the leader, and every member's certificate renewed in place.
    lab.run(&[&["run", "backup"], &on[..]].concat())
        .success()
        .stdout_has("backed up example.test to ");
    let sum = "sha256sum /etc/etcd/etcd.crt | cut -c1-64";
    let before = on_machine(&lab, &machines[0].1, sum);
    lab.run(&[&["run", "rotate-certs"], &on[..]].concat())
        .success()
        .stdout_has("cluster is healthy");
    let after = on_machine(&lab, &machines[0].1, sum);
    assert!(
        before.len() == 64 && after.len() == 64 && after != before,
        "{before} -> {after}"
    );
    // A new CA: trusted beside the old one by a rolling restart of the units, the
    // members' certificates renewed from it, the old one dropped by another.
    let ca = "sha256sum /etc/etcd/ca.crt | cut -c1-64";
    let old_ca = on_machine(&lab, &machines[0].1, ca);
    lab.run(&[&["run", "rotate-certs", "--set", "ca=true"], &on[..]].concat())
        .success()
        .stdout_has("the old CA of example.test is trusted no more")
        .stdout_has("cluster is healthy");
    assert_ne!(on_machine(&lab, &machines[0].1, ca), old_ca);

    // `lab down` takes the cluster down with the machines it stands on.
    lab.run(&["lab", "down"]).success();
    assert!(!lab.path("state/hosts/claims.json").exists());
    assert_eq!(crate::upgrade::snapshots(&lab).len(), 2);
    std::fs::remove_dir_all(lab.path("state/snapshots")).unwrap();
    lab.destroy();
    lab.leaves_nothing();
}

/// Waits until the machine at `ip` answers over ssh again (a reboot), up to 60 s.
fn answers_again(lab: &LabRig, ip: &str) {
    let start = std::time::Instant::now();
    loop {
        let out = ssh_to(lab, ip)
            .arg("systemctl is-system-running --wait >/dev/null; true")
            .output()
            .unwrap();
        if out.status.success() {
            return;
        }
        assert!(start.elapsed().as_secs() < 60, "{ip} did not come back");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// A member whose machine died is replaced on a free machine of the inventory: the
/// dead one stays taken (it cannot be cleaned) until it answers again, and the next run
/// that takes machines cleans it and may take it. A restore over the cluster, and a
/// recovery from a lost quorum, run on the inventory as elsewhere; after destroy every
/// machine is clean.
#[test]
fn a_dead_machine_is_replaced_and_restore_and_recover_run_on_an_inventory() {
    let Some(lab) = LabRig::new() else { return };
    // A restore bumps revisions with etcdutl, which 3.5.16 and later can.
    let release = Release::serve(&lab, &[Tarball::of("3.5.30")]);
    let (inventory, machines) = makes_machines(&lab, 6, &[]);
    lab.file("hosts.toml", &inventory);
    let file = lab.path("hosts.toml").to_string_lossy().into_owned();
    let on = ["--target", "hosts", "--inventory", &file, "--dns", "lab"];
    let url = release.url_param();
    let sets = ["--set", &url, "--set", "etcd_version=3.5.30"];
    let names: Vec<String> = machines.iter().map(|m| m.0.clone()).collect();
    let out = lab.run(&[&["run", "cluster"], &on[..], &sets[..]].concat());
    healthy_on(&out, &names[..3], "example.test");
    lab.run(&[&["run", "backup"], &on[..]].concat()).success();

    // The second machine dies: nothing answers there any more.
    let (dead, dead_ip) = &machines[1];
    on_machine(&lab, dead_ip, "systemctl stop etcd ssh.socket ssh; true");
    let replace = ["run", "member-replace", "--set", &format!("member={dead}")];
    lab.run(&[&replace[..], &on[..], &sets[..]].concat())
        .success()
        .stderr_has(&format!(
            "{dead}: cannot be reached to take rigger's files off it"
        ))
        .stdout_has(&format!("added {} ", names[3]));
    let members = [names[0].clone(), names[2].clone(), names[3].clone()];
    assert_eq!(member_names(&lab, &on), members);
    let claims = std::fs::read_to_string(lab.path("state/hosts/claims.json")).unwrap();
    assert!(claims.contains("\"stranded\""), "{claims}");

    // It comes back; the restore's machines are taken after it is cleaned, so it is
    // one of them.
    lab.run(&["lab", "reboot", dead]).success();
    answers_again(&lab, dead_ip);
    lab.run(
        &[
            &["run", "restore", "--set", "replace=true"],
            &on[..],
            &sets[..],
        ]
        .concat(),
    )
    .success()
    .stderr_has(&format!("{dead}: answers again, cleaned and free"))
    .stdout_has("restored example.test from ");
    let restored = [names[1].clone(), names[4].clone(), names[5].clone()];
    assert_eq!(member_names(&lab, &on), restored);

    // Two of the three lose their etcd: the third carries on, the two come back.
    for (_, ip) in &machines[4..6] {
        on_machine(&lab, ip, "systemctl stop etcd; true");
    }
    lab.run(&[&["run", "recover"], &on[..], &sets[..]].concat())
        .success()
        .stdout_has(&format!("{dead} holds the most of the log"))
        .stdout_has("recovered example.test: 3 voting members");
    assert_eq!(member_names(&lab, &on).len(), 3);
    lab.run(&["health", "--discovery-srv", "example.test"])
        .success();

    lab.run(
        &[
            &["destroy", "--yes"][..],
            &["--discovery-srv", "example.test"],
        ]
        .concat(),
    )
    .success();
    for (name, ip) in &machines {
        assert_eq!(on_machine(&lab, ip, FOOTPRINT), "clean", "{name}");
    }
    assert!(!lab.path("state/hosts/claims.json").exists());
    lab.run(&["lab", "down"]).success();
    assert_eq!(crate::upgrade::snapshots(&lab).len(), 2);
    std::fs::remove_dir_all(lab.path("state/snapshots")).unwrap();
    lab.destroy();
    lab.leaves_nothing();
}
