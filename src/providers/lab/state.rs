//! `lab/lab.json`: the lab's namespaces, hosts and zones. Read and written under the
//! `lab` lock; the DNS daemon reads the zones from it on every reload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::providers::{Instance, Record};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LabFile {
    /// Short random id: namespaces are `rigger-<id>` and `rigger-<id>-<n>`, so two labs
    /// (two state dirs) never share one.
    pub id: String,
    pub next_index: u32,
    pub hosts: Vec<LabHost>,
    pub zones: BTreeMap<String, Vec<Record>>,
    /// Zones whose run let go of them while records of a later run were still in them
    /// (a member added): the last of those records takes the zone with it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub released: std::collections::BTreeSet<String>,
    #[serde(default)]
    pub daemon_pid: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LabHost {
    pub name: String,
    pub index: u32,
    pub netns: String,
    pub ip: String,
    pub dir: String,
    /// A machine booted from the image (`machine.rs`) rather than a bare namespace.
    #[serde(default)]
    pub booted: bool,
    /// Being taken down: a machine not booted yet must not boot any more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaving: bool,
    /// Made outside any run (`rigger lab hosts add`), as a machine of the user's own
    /// for `--target hosts`: no run takes it down, and the lab stays up for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own: bool,
}

impl LabHost {
    /// The host as scripts see it.
    pub fn instance(&self) -> Instance {
        Instance {
            id: self.netns.clone(),
            name: self.name.clone(),
            private_ip: self.ip.clone(),
            public_ip: None,
            // A booted machine keeps rigger's files where a cloud machine does, on its
            // own disk; a namespace shares this machine's, under its host dir.
            dir: if self.booted {
                crate::providers::compute::ec2::NODE_DIR.to_string()
            } else {
                self.dir.clone()
            },
            booted: self.booted,
            ssh: None,
        }
    }
}

impl LabFile {
    /// Removes the zones their run let go of that hold no record any more.
    pub fn drop_released_zones(&mut self) {
        let empty: Vec<String> = self
            .released
            .iter()
            .filter(|z| self.zones.get(*z).is_none_or(Vec::is_empty))
            .cloned()
            .collect();
        for zone in empty {
            self.zones.remove(&zone);
            self.released.remove(&zone);
        }
    }

    pub fn netns(&self) -> String {
        format!("rigger-{}", self.id)
    }

    pub fn host(&self, name: &str) -> Option<&LabHost> {
        self.hosts.iter().find(|h| h.name == name)
    }

    /// The zone that holds `name`: the longest zone name it ends with.
    pub fn zone_of(&self, name: &str) -> Option<&str> {
        self.zones
            .keys()
            .filter(|z| crate::base::names::in_zone(name, z))
            .max_by_key(|z| z.len())
            .map(String::as_str)
    }
}
