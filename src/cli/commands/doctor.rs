//! `rigger doctor --discovery-srv DOMAIN`: the discovery records checked the way etcd
//! will read them, before etcd ever sees them.

use std::net::IpAddr;

use crate::cli::exit;
use crate::providers::TlsFiles;
use crate::providers::discovery::{DiscoveryCheck, Verdict};
use crate::world::WorldConfig;
use crate::world::doctor::AskCluster;
use crate::world::query::Query;

/// The check as given on the command line: its domain not yet checked, its `certs`
/// none unless `--certs` (the default, those rigger made, is found here), its
/// `servers` the `--dns-server`s, asked whoever serves the zone.
pub struct DoctorArgs {
    pub check: DiscoveryCheck,
    pub json: bool,
}

pub fn doctor(config: &WorldConfig, args: DoctorArgs) -> u8 {
    let mut check = args.check;
    let domain = match super::discovery_domain(&check.domain) {
        Ok(d) => d,
        Err(status) => return status,
    };
    check.domain = domain.clone();
    // Servers given and no lab to ask them from: this machine asks them itself, with no
    // target, lab or credentials needed (a company's BIND, a resolver, a dnsmasq).
    let lab = config.spec.is_lab() && crate::providers::lab::exists(&config.state);
    let outside = |s: &std::net::SocketAddr| !reachable_from_lab(s.ip());
    let from_here = !check.servers.is_empty() && (!lab || check.servers.iter().all(outside));
    if from_here && let Some(server) = check.servers.iter().find(|s| in_lab_range(s.ip())) {
        return super::fail(
            format!(
                "--dns-server {server} is a lab address, and there is no lab in {}",
                config.state.root().display()
            ),
            Some("`rigger lab up` brings one up".into()),
        );
    }
    if lab
        && !from_here
        && let Some(server) = check.servers.iter().find(|s| outside(s))
    {
        return super::fail(
            format!(
                "--dns-server {server}: the lab's servers and others cannot be asked together; the lab reaches only its own addresses (198.18.0.0/15) and this machine's loopback"
            ),
            Some("ask the lab's servers and the others in two runs of the doctor".into()),
        );
    }
    let key = match super::cluster_key(&domain, check.service_name.as_deref()) {
        Ok(k) => k,
        Err(status) => return status,
    };
    let made = config.state.root().join("pki").join(&key);
    check.certs = match check.certs.take() {
        Some(dir) if !dir.is_dir() => {
            return super::fail(
                format!("--certs {}: there is no such folder", dir.display()),
                Some("it takes the folder of the members' certificates, NAME.crt for the target NAME.DOMAIN".into()),
            );
        }
        Some(dir) => Some(dir),
        None => made.is_dir().then(|| made.clone()),
    };

    // The cluster, if it answers, is asked for its membership: with the client
    // certificate rigger made for the domain, or over plain HTTP when it made none.
    let client = |f: &str| made.join(f);
    let tls = client("client.crt").is_file().then(|| TlsFiles {
        ca: client("ca.crt"),
        cert: client("client.crt"),
        key: client("client.key"),
    });
    let cluster = |etcd| AskCluster {
        tls,
        etcd,
        nodes: Vec::new(),
        transport: None,
    };
    let diagnosis = if from_here {
        let network = crate::world::machine_network();
        crate::base::runtime::block_on(crate::world::doctor::check_discovery(
            None,
            network.clone(),
            check,
            Some(cluster(network)),
        ))
    } else {
        let world = match Query::open(config) {
            Ok(Some(w)) => w,
            Ok(None) => {
                return super::fail(
                    format!("there is no lab in {}", config.state.root().display()),
                    Some(
                        "`rigger lab up` brings one up, `rigger run cluster` a cluster in it"
                            .into(),
                    ),
                );
            }
            Err(e) => return super::fail(e.message, e.help),
        };
        let (dns, probe) = (world.dns.clone(), world.probe.clone());
        let mut cluster = cluster(world.etcd.clone());
        // The machines rigger made for the domain, whose own resolvers are asked too.
        let world = std::sync::Arc::new(world);
        let w = world.clone();
        let asked = crate::base::names::ClusterKey::parse(&key);
        if let Ok(asked) = asked
            && let Ok(standing) = world.block_on(async move { w.standing(&asked).await })
            && !standing.machines.is_empty()
        {
            match world.transport() {
                Ok(transport) => {
                    cluster.nodes = standing.machines;
                    cluster.transport = Some(transport);
                }
                Err(e) => tracing::warn!("cannot ask the machines their own resolvers: {e}"),
            }
        }
        world.block_on(crate::world::doctor::check_discovery(
            Some(dns),
            probe,
            check,
            Some(cluster),
        ))
    };
    let diagnosis = match diagnosis {
        Ok(d) => d,
        Err(e) => return super::fail(format!("doctor: {}", e.message), e.help),
    };
    let text = if args.json {
        super::json_text(&diagnosis)
    } else {
        diagnosis.text()
    };
    crate::base::output::data(&text);
    match diagnosis.status {
        Verdict::Clean => exit::OK,
        Verdict::Warning => exit::WARNING,
        Verdict::Error => exit::ERROR,
    }
}

fn in_lab_range(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V4(v4) if crate::providers::lab::netns::in_lab_range(v4))
}

fn reachable_from_lab(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || crate::providers::lab::netns::in_lab_range(v4),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}
