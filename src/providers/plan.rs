//! The world of `--dry-run`: providers that write down what they would do and do none
//! of it. No credentials, no privileges, no network. Addresses are from 192.0.2.0/24
//! (TEST-NET-1, for documentation): nothing would ever dial them, and nothing does.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::discovery::{Diagnosis, DiscoveryCheck};
use super::etcd_api::{ClusterAt, Report, Snapshot, Status};
use super::members::{MemberCall, Membership};
use super::probe::show;
use super::{
    CaFiles, CertFiles, Compute, Dns, DnsWait, EtcdApi, ExecOutput, Instance, InstanceSpec,
    LeafSpec, Local, Probe, Process, Record, RecordSpec, Result, Transport, Zone,
};

/// The folder a machine launched as a spec would have, and whether it boots.
pub type NodeDir = Box<dyn Fn(&InstanceSpec) -> (String, bool) + Send + Sync>;

pub struct Plan {
    actions: Mutex<Vec<String>>,
    records: Mutex<Vec<Record>>,
    launched: Mutex<u32>,
    /// The machines the plan launched, for a later terminate of one of them.
    planned: Mutex<Vec<Instance>>,
    /// The real DNS backend, when it can be read: a plan sees the records that exist
    /// (and so refuses what the real run would refuse), and changes none of them.
    reader: Option<Arc<dyn Dns>>,
    /// Where the real run would keep its certificates (asked for paths only).
    local: Arc<dyn Local>,
    /// The folder the real run's machine launched so would have, and whether it boots.
    node_dir: NodeDir,
}

impl Plan {
    /// A plan that reads existing records through `reader` and names files where
    /// `local` would write them.
    pub fn new(reader: Option<Arc<dyn Dns>>, local: Arc<dyn Local>, node_dir: NodeDir) -> Self {
        Self {
            actions: Mutex::default(),
            records: Mutex::default(),
            launched: Mutex::default(),
            planned: Mutex::default(),
            reader,
            local,
            node_dir,
        }
    }

    pub fn record(&self, action: impl Into<String>) {
        self.actions.lock().expect("plan lock").push(action.into());
    }

    pub fn actions(&self) -> Vec<String> {
        self.actions.lock().expect("plan lock").clone()
    }

    /// The plan as people read it: every action, numbered, none taken.
    pub fn print(&self) {
        let actions = self.actions();
        let mut text = format!("dry run: {} actions, none taken\n", actions.len());
        for (i, action) in actions.iter().enumerate() {
            // Multi-line commands stay readable under their number.
            text.push_str(&format!(
                "{:>4}. {}\n",
                i + 1,
                action.replace('\n', "\n      ")
            ));
        }
        crate::base::output::data(&text);
    }
}

#[async_trait]
impl Compute for Plan {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance> {
        let index = {
            let mut n = self.launched.lock().expect("plan lock");
            *n += 1;
            *n
        };
        let mut details: Vec<String> = Vec::new();
        for (k, v) in [
            ("ami", &spec.ami),
            ("instance_type", &spec.instance_type),
            ("key_name", &spec.key_name),
            ("subnet_id", &spec.subnet_id),
        ] {
            if let Some(v) = v {
                details.push(format!("{k}={v}"));
            }
        }
        let details = if details.is_empty() {
            String::new()
        } else {
            format!(" ({})", details.join(", "))
        };
        self.record(format!("launch instance {}{details}", spec.name));
        let (dir, booted) = (self.node_dir)(spec);
        let instance = Instance {
            id: format!("planned-{index}"),
            name: spec.name.clone(),
            private_ip: format!("192.0.2.{}", index.min(254)),
            public_ip: None,
            dir,
            booted,
        };
        self.planned
            .lock()
            .expect("plan lock")
            .push(instance.clone());
        Ok(instance)
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        self.record(format!("terminate instance {}", instance.name));
        Ok(())
    }

    async fn find(&self, name: &str) -> Result<Option<Instance>> {
        let planned = self.planned.lock().expect("plan lock");
        Ok(planned.iter().find(|i| i.name == name).cloned())
    }
}

#[async_trait]
impl Dns for Plan {
    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        if let Some(reader) = &self.reader {
            match reader.find_zone(name).await? {
                Some(zone) => {
                    self.record(format!("use DNS zone {name}"));
                    return Ok((zone, false));
                }
                // As the real run would: a backend that does not create zones refuses.
                None if !reader.creates_zones() => return reader.zone(name).await,
                None => {}
            }
        }
        self.record(format!("use DNS zone {name} (created if missing)"));
        Ok((
            Zone {
                id: name.into(),
                name: name.into(),
            },
            false,
        ))
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        match &self.reader {
            Some(reader) => reader.find_zone(name).await,
            None => Ok(None),
        }
    }

    /// Checked as the real run would, where the zones can be read; a plan with nothing
    /// to read has no zones to check against (the lab's are made by the run).
    async fn hold_in(&self, zone: &str, names: &[String]) -> Result<()> {
        match &self.reader {
            Some(reader) if !reader.creates_zones() => reader.hold_in(zone, names).await,
            _ => Ok(()),
        }
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        let mark = spec
            .cluster
            .as_ref()
            .map(|c| format!(" (marked as {c}'s)"))
            .unwrap_or_default();
        self.record(format!(
            "publish {} {} -> {}{mark}",
            spec.data.type_name(),
            spec.name,
            spec.data.content()
        ));
        let mut records = self.records.lock().expect("plan lock");
        let record = Record {
            id: format!("planned-{}", records.len() + 1),
            zone: String::new(),
            spec: spec.clone(),
        };
        records.push(record.clone());
        Ok((record, true))
    }

    async fn delete(&self, record: &Record) -> Result<()> {
        self.record(format!(
            "remove {} {}",
            record.spec.data.type_name(),
            record.spec.name
        ));
        self.records
            .lock()
            .expect("plan lock")
            .retain(|r| r.id != record.id);
        Ok(())
    }

    async fn delete_zone(&self, _zone: &Zone) -> Result<()> {
        Ok(())
    }

    async fn list(&self, name: &str) -> Result<Vec<Record>> {
        let mut found = match &self.reader {
            Some(reader) => reader.list(name).await?,
            None => Vec::new(),
        };
        found.extend(
            self.records
                .lock()
                .expect("plan lock")
                .iter()
                .filter(|r| r.spec.name == name)
                .cloned(),
        );
        Ok(found)
    }

    async fn authoritative(&self, zone: &str) -> Result<Vec<SocketAddr>> {
        // Finding them only reads: a plan refuses a zone whose servers cannot be found,
        // as the real run does. Without a reader (no lab yet) there is nothing to ask.
        match &self.reader {
            Some(reader) => reader.authoritative(zone).await,
            None => Ok(Vec::new()),
        }
    }
}

#[async_trait]
impl Transport for Plan {
    async fn run(&self, node: &Instance, command: &str, _timeout: Duration) -> Result<ExecOutput> {
        self.record(format!("run on {}: {command}", node.name));
        Ok(ExecOutput {
            status: 0,
            stdout: String::new(),
            stderr: String::new(),
        })
    }

    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        self.record(format!(
            "upload {path} to {} ({} bytes, mode {mode:o})",
            node.name,
            bytes.len()
        ));
        Ok(())
    }

    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process> {
        self.record(format!("start {name} on {}: {}", node.name, argv.join(" ")));
        Ok(Process {
            node: node.name.clone(),
            name: name.into(),
            pid: 0,
            log: String::new(),
            address: None,
        })
    }

    async fn stop(&self, process: &Process) -> Result<()> {
        self.record(format!("stop {} on {}", process.name, process.node));
        Ok(())
    }
}

impl Local for Plan {
    fn ca(&self, name: &str) -> CaFiles {
        self.local.ca(name)
    }

    fn ensure_ca(&self, ca: &CaFiles) -> Result<bool> {
        self.record(format!(
            "create the certificate authority for {} in {}",
            ca.name,
            ca.dir.display()
        ));
        Ok(false)
    }

    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> Result<CertFiles> {
        let sans: Vec<String> = leaf
            .dns
            .iter()
            .cloned()
            .chain(leaf.ips.iter().map(ToString::to_string))
            .collect();
        self.record(format!(
            "issue the certificate {} ({}) in {}",
            leaf.name,
            sans.join(", "),
            ca.dir.display()
        ));
        Ok(CertFiles::in_dir(&ca.dir, &leaf.name))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        // A planned certificate does not exist yet, and its contents do not matter.
        Ok(std::fs::read(path)
            .unwrap_or_else(|_| format!("(the contents of {})", path.display()).into_bytes()))
    }

    fn remove(&self, _path: &Path) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Probe for Plan {
    async fn wait_resolves(&self, w: &DnsWait) -> Result<()> {
        self.record(format!(
            "wait until {} {} resolves to {}",
            w.name,
            w.rtype,
            show(&w.want)
        ));
        Ok(())
    }

    async fn wait_tcp(&self, address: &str, _timeout: Duration, _interval: Duration) -> Result<()> {
        self.record(format!("wait until {address} accepts TCP connections"));
        Ok(())
    }

    /// A plan publishes nothing, so there is nothing to read yet: the check is written
    /// down and assumed clean.
    async fn discovery(&self, check: &DiscoveryCheck) -> Result<Diagnosis> {
        let domain = &check.domain;
        self.record(format!(
            "check the discovery records under {domain} as etcd will read them"
        ));
        let mut diagnosis = Diagnosis::new(domain, check.servers.clone(), Vec::new(), Vec::new());
        diagnosis.assumed = Some(format!(
            "(dry run) the discovery records under {domain} would be checked here"
        ));
        Ok(diagnosis)
    }
}

#[async_trait]
impl EtcdApi for Plan {
    async fn health(&self, at: &ClusterAt) -> Result<Report> {
        let domain = &at.domain;
        self.record(format!("check the health of the cluster under {domain}"));
        Ok(Report {
            domain: domain.into(),
            status: Status::Healthy,
            members: Vec::new(),
            assumed: Some(format!(
                "(dry run) the health of the cluster under {domain} would be checked here"
            )),
            drift: Vec::new(),
            membership_read: false,
            cluster_version: None,
        })
    }
    async fn snapshot(&self, at: &ClusterAt, to: &std::path::Path) -> Result<Snapshot> {
        self.record(format!(
            "save a snapshot of the cluster under {} from its leader to {}",
            at.domain,
            to.display()
        ));
        Ok(Snapshot {
            path: to.to_path_buf(),
            bytes: 0,
            from: String::new(),
            version: None,
            revision: 0,
            sha256: String::new(),
        })
    }

    /// A plan starts no member: the wait is written down and assumed to end healthy.
    async fn wait_healthy(&self, at: &ClusterAt, within: Duration) -> Result<bool> {
        self.record(format!(
            "wait up to {} for every member under {} to be healthy",
            crate::base::human::duration(within),
            at.domain
        ));
        Ok(true)
    }
    /// A live cluster's membership is not something a plan can make up: the call is
    /// written down, and the plan stops there, saying so.
    async fn membership(
        &self,
        at: &ClusterAt,
        call: &MemberCall,
        _: Duration,
    ) -> Result<Membership> {
        let domain = &at.domain;
        self.record(format!(
            "ask the cluster under {domain}: {}",
            call.describe()
        ));
        Err(crate::base::error::Error::invalid(format!(
            "a dry run does not ask the cluster under {domain} for its membership ({}), so the plan ends here",
            call.describe()
        )))
    }
}
