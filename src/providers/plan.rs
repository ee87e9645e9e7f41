//! The world of `--dry-run`: providers that write down what they would do and do none
//! of it. What exists is read where it can be (the records through the real DNS
//! backend, a live cluster's health and membership through `live`), until the plan's
//! first change: after it, what a read would find is no longer the world as it is.
//! Addresses of planned machines are from 192.0.2.0/24 (TEST-NET-1, for
//! documentation): nothing would ever dial them, and nothing does.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Live clusters as they answer (health, membership), when they can be reached: a
    /// plan reads the members' releases and refuses what the real run would refuse.
    live: Option<Arc<dyn EtcdApi>>,
    /// Whether the plan has written down a change: reads of live clusters stop there.
    changed: AtomicBool,
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
            live: None,
            changed: AtomicBool::new(false),
        }
    }

    /// A plan that asks live clusters through `live` until its first change.
    pub fn reading(mut self, live: Arc<dyn EtcdApi>) -> Self {
        self.live = Some(live);
        self
    }

    /// Writes down an action that changes something.
    pub fn record(&self, action: impl Into<String>) {
        self.changed.store(true, Ordering::SeqCst);
        self.note(action);
    }

    /// Writes down an action that only reads or waits.
    fn note(&self, action: impl Into<String>) {
        self.actions.lock().expect("plan lock").push(action.into());
    }

    /// The live clusters, while the plan has changed nothing they would show.
    fn live(&self) -> Option<&Arc<dyn EtcdApi>> {
        self.live
            .as_ref()
            .filter(|_| !self.changed.load(Ordering::SeqCst))
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
            ssh: None,
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
                    self.note(format!("use DNS zone {name}"));
                    return Ok((zone, false));
                }
                // As the real run would: a backend that does not create zones refuses.
                None if !reader.creates_zones() => return reader.zone(name).await,
                None => {}
            }
        }
        self.note(format!("use DNS zone {name} (created if missing)"));
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
            ssh: None,
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

    fn ensure_ca(&self, ca: &CaFiles, _days: Option<u32>) -> Result<bool> {
        // One that exists is used as it is, as the real run does: nothing changes.
        if ca.files.cert.exists() && ca.files.key.exists() {
            self.note(format!(
                "use the certificate authority for {} in {}",
                ca.name,
                ca.dir.display()
            ));
        } else {
            self.record(format!(
                "create the certificate authority for {} in {}",
                ca.name,
                ca.dir.display()
            ));
        }
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

    fn next_ca(&self, ca: &CaFiles, _days: Option<u32>) -> Result<CaFiles> {
        self.record(format!(
            "create the CA to follow {}'s in {} (ca-next.crt)",
            ca.name,
            ca.dir.display()
        ));
        Ok(CaFiles {
            name: ca.name.clone(),
            dir: ca.dir.clone(),
            files: CertFiles::in_dir(&ca.dir, "ca-next"),
        })
    }

    fn trust(&self, ca: &CaFiles, also: &[std::path::PathBuf]) -> Result<()> {
        let also: Vec<String> = also.iter().map(|p| p.display().to_string()).collect();
        self.record(format!(
            "write {} as the CA that signs followed by {}",
            ca.files.cert.display(),
            if also.is_empty() {
                "nothing".to_string()
            } else {
                also.join(", ")
            }
        ));
        Ok(())
    }

    fn promote(&self, ca: &CaFiles, next: &CaFiles) -> Result<()> {
        self.record(format!(
            "make {} the CA of {} that signs",
            next.files.cert.display(),
            ca.name
        ));
        Ok(())
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
        self.note(format!(
            "wait until {} {} resolves to {}",
            w.name,
            w.rtype,
            show(&w.want)
        ));
        Ok(())
    }

    async fn wait_tcp(&self, address: &str, _timeout: Duration, _interval: Duration) -> Result<()> {
        self.note(format!("wait until {address} accepts TCP connections"));
        Ok(())
    }

    /// A plan publishes nothing, so there is nothing to read yet: the check is written
    /// down and assumed clean.
    async fn discovery(&self, check: &DiscoveryCheck) -> Result<Diagnosis> {
        let domain = &check.domain;
        self.note(format!(
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
    /// A live cluster answers as it is, until the plan changes something; otherwise the
    /// check is written down and assumed healthy.
    async fn health(&self, at: &ClusterAt) -> Result<Report> {
        let domain = &at.domain;
        if let Some(live) = self.live() {
            match live.health(at).await {
                Ok(report) => {
                    let healthy = report.members.iter().filter(|m| m.healthy).count();
                    self.note(format!(
                        "check the health of the cluster under {domain}: read live, {healthy} of {} members healthy",
                        report.members.len()
                    ));
                    return Ok(report);
                }
                Err(e) => tracing::debug!("the plan cannot read the cluster under {domain}: {e}"),
            }
        }
        self.note(format!("check the health of the cluster under {domain}"));
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
            cluster_id: None,
            alarms: Vec::new(),
            certificates: Vec::new(),
        })
    }
    async fn snapshot(&self, at: &ClusterAt, to: &std::path::Path) -> Result<Snapshot> {
        self.note(format!(
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
            hash: String::new(),
            total_key: 0,
            keys: 0,
            total_size: 0,
        })
    }

    /// What a live member says, while the plan has changed nothing; else unknown.
    async fn quota(&self, at: &ClusterAt, endpoint: &str) -> Result<Option<u64>> {
        match self.live() {
            Some(live) => live.quota(at, endpoint).await,
            None => Ok(None),
        }
    }

    /// A plan starts no member: the wait is written down and assumed to end healthy.
    async fn wait_healthy(&self, at: &ClusterAt, within: Duration) -> Result<bool> {
        self.note(format!(
            "wait up to {} for every member under {} to be healthy",
            crate::base::human::duration(within),
            at.domain
        ));
        Ok(true)
    }
    /// The membership of a live cluster is read as it is, until the plan changes
    /// something. A change of it, or a membership that cannot be read, is not something
    /// a plan can make up: the call is written down, and the plan stops there, saying so.
    async fn membership(
        &self,
        at: &ClusterAt,
        call: &MemberCall,
        patience: Duration,
    ) -> Result<Membership> {
        let domain = &at.domain;
        let said = call.describe();
        let list = matches!(call, MemberCall::List);
        if let (true, Some(live)) = (list, self.live()) {
            let read = live.membership(at, call, patience).await;
            self.note(format!(
                "ask the cluster under {domain}: {said} (read live)"
            ));
            return read.map_err(|e| {
                crate::base::error::Error::failed(format!(
                    "the dry run could not read the membership of the cluster under {domain} ({said}), so the plan ends here: {e}"
                ))
            });
        }
        self.note(format!("ask the cluster under {domain}: {said}"));
        let asked = if !list {
            "to change its membership"
        } else if self.live.is_some() {
            "for its membership after the changes above"
        } else {
            "for its membership"
        };
        Err(crate::base::error::Error::invalid(format!(
            "a dry run does not ask the cluster under {domain} {asked} ({said}), so the plan ends here"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::etcd_api::Member;

    /// A cluster that answers with one healthy member, counting the questions.
    #[derive(Default)]
    struct Live {
        asked: Mutex<u32>,
    }

    #[async_trait]
    impl EtcdApi for Live {
        async fn health(&self, at: &ClusterAt) -> Result<Report> {
            *self.asked.lock().unwrap() += 1;
            Ok(Report {
                domain: at.domain.clone(),
                status: Status::Healthy,
                members: vec![Member {
                    id: Some("a".into()),
                    endpoint: "https://a.example.test:2379".into(),
                    healthy: true,
                    electing: false,
                    detail: String::new(),
                    took: Duration::ZERO,
                    version: Some("3.5.30".into()),
                    raft_index: Some(1),
                    applied_index: Some(1),
                    is_leader: true,
                    db_size: None,
                    db_size_in_use: None,
                }],
                assumed: None,
                drift: Vec::new(),
                membership_read: true,
                cluster_version: Some("3.5.0".into()),
                cluster_id: Some("c1".into()),
                alarms: Vec::new(),
                certificates: Vec::new(),
            })
        }
        async fn wait_healthy(&self, _: &ClusterAt, _: Duration) -> Result<bool> {
            unreachable!("a plan waits for nothing")
        }
        async fn quota(&self, _: &ClusterAt, _: &str) -> Result<Option<u64>> {
            Ok(None)
        }
        async fn snapshot(&self, _: &ClusterAt, _: &Path) -> Result<Snapshot> {
            unreachable!("a plan saves nothing")
        }
        async fn membership(
            &self,
            _: &ClusterAt,
            _: &MemberCall,
            _: Duration,
        ) -> Result<Membership> {
            *self.asked.lock().unwrap() += 1;
            Ok(Membership {
                members: Vec::new(),
                header: None,
                added: None,
                asked: "https://a.example.test:2379".into(),
                retries: 0,
                compacted: None,
                done: Vec::new(),
            })
        }
    }

    struct NoFiles;

    impl Local for NoFiles {
        fn ca(&self, name: &str) -> CaFiles {
            CaFiles::at(name, Path::new("/nonexistent/pki"))
        }
        fn ensure_ca(&self, _: &CaFiles, _: Option<u32>) -> Result<bool> {
            Ok(false)
        }
        fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> Result<CertFiles> {
            Ok(CertFiles::in_dir(&ca.dir, &leaf.name))
        }
        fn next_ca(&self, ca: &CaFiles, _: Option<u32>) -> Result<CaFiles> {
            Ok(ca.clone())
        }
        fn trust(&self, _: &CaFiles, _: &[std::path::PathBuf]) -> Result<()> {
            Ok(())
        }
        fn promote(&self, _: &CaFiles, _: &CaFiles) -> Result<()> {
            Ok(())
        }
        fn read(&self, _: &Path) -> Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn remove(&self, _: &Path) -> Result<()> {
            Ok(())
        }
    }

    fn plan(live: &Arc<Live>) -> Plan {
        let node_dir: NodeDir = Box::new(|_| ("/planned".into(), false));
        Plan::new(None, Arc::new(NoFiles), node_dir).reading(live.clone())
    }

    fn at() -> ClusterAt {
        ClusterAt {
            domain: "example.test".into(),
            service_name: None,
            tls: None,
            servers: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_live_cluster_is_read_until_the_plan_changes_something() {
        let live = Arc::new(Live::default());
        let plan = plan(&live);
        let list = plan
            .membership(&at(), &MemberCall::List, Duration::ZERO)
            .await;
        assert_eq!(list.unwrap().asked, "https://a.example.test:2379");
        let before = plan.health(&at()).await.unwrap();
        assert_eq!(before.members.len(), 1);
        assert!(before.assumed.is_none());
        // A read changes nothing; reads go on.
        plan.wait_tcp("192.0.2.1:2379", Duration::ZERO, Duration::ZERO)
            .await
            .unwrap();
        assert!(plan.health(&at()).await.unwrap().assumed.is_none());
        assert_eq!(*live.asked.lock().unwrap(), 3);

        plan.launch(&InstanceSpec::default()).await.unwrap();
        let after = plan.health(&at()).await.unwrap();
        assert!(after.members.is_empty());
        assert!(after.assumed.unwrap().contains("would be checked here"));
        let list = plan
            .membership(&at(), &MemberCall::List, Duration::ZERO)
            .await;
        let why = list.unwrap_err().to_string();
        assert!(
            why.contains("for its membership after the changes above"),
            "{why}"
        );
        assert_eq!(*live.asked.lock().unwrap(), 3, "asked after a change");
    }

    #[tokio::test]
    async fn a_change_of_the_membership_ends_the_plan_without_asking() {
        let live = Arc::new(Live::default());
        let plan = plan(&live);
        let add = MemberCall::Add {
            peer_urls: vec!["https://b.example.test:2380".into()],
            learner: true,
        };
        let why = plan
            .membership(&at(), &add, Duration::ZERO)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            why.contains("to change its membership (member add --learner"),
            "{why}"
        );
        assert_eq!(*live.asked.lock().unwrap(), 0);
    }
}
