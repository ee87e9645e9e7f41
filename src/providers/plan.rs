//! The world of `--dry-run`: providers that write down what they would do and do none
//! of it. No credentials, no privileges, no network. Addresses are from 192.0.2.0/24
//! (TEST-NET-1, for documentation): nothing would ever dial them, and nothing does.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Compute, Dns, ExecOutput, Instance, InstanceSpec, Process, Record, RecordSpec, Result,
    Transport, Zone,
};

#[derive(Default)]
pub struct Plan {
    actions: Mutex<Vec<String>>,
    records: Mutex<Vec<Record>>,
    launched: Mutex<u32>,
}

impl Plan {
    pub fn record(&self, action: impl Into<String>) {
        self.actions.lock().expect("plan lock").push(action.into());
    }

    pub fn actions(&self) -> Vec<String> {
        self.actions.lock().expect("plan lock").clone()
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
        Ok(Instance {
            id: format!("planned-{index}"),
            name: spec.name.clone(),
            private_ip: format!("192.0.2.{}", index.min(254)),
            public_ip: None,
            dir: "/var/lib/rigger".into(),
        })
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        self.record(format!("terminate instance {}", instance.name));
        Ok(())
    }
}

#[async_trait]
impl Dns for Plan {
    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        self.record(format!("use DNS zone {name}"));
        Ok((
            Zone {
                id: name.into(),
                name: name.into(),
            },
            false,
        ))
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        self.record(format!(
            "publish {} {} -> {}",
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
        Ok(self
            .records
            .lock()
            .expect("plan lock")
            .iter()
            .filter(|r| r.spec.name == name)
            .cloned()
            .collect())
    }

    fn authoritative(&self, _zone: &str) -> Vec<SocketAddr> {
        Vec::new()
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
