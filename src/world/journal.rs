//! What a run created, written down before the primitive that created it returns, so a
//! failed run can be rolled back and `rigger destroy` can remove everything later.
//!
//! One JSON-lines file per run under `<state>/runs/`: an `intent` entry before a
//! resource is asked for, `created` once it exists (or `removed` when it turned out
//! not to be made), and `removed` when it is taken away again. A run killed at any
//! moment leaves nothing, or an entry that `destroy` can act on.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::spec::WorldSpec;
use crate::base::state_dir::StateDir;
use crate::providers::members::JoinedMember;
use crate::providers::{Instance, Process, Record, RecordSpec, Zone};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    Instance(Instance),
    DnsZone(Zone),
    DnsRecord(Record),
    Process(Process),
    /// A file rigger wrote on this machine (a CA, a client certificate).
    File {
        path: String,
    },
    /// A member added to an etcd cluster (`member add`).
    EtcdMember(JoinedMember),
    /// Something that was being made when the run stopped: it may exist or not.
    Pending(Intent),
}

/// What a run is about to create, known before the backend is asked: enough to find it
/// again if the run dies before the backend answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Intent {
    Instance {
        name: String,
    },
    DnsZone {
        name: String,
    },
    DnsRecord {
        spec: RecordSpec,
    },
    Process {
        node: String,
        name: String,
    },
    Files {
        paths: Vec<String>,
    },
    EtcdMember {
        domain: String,
        peer_urls: Vec<String>,
        tls: Option<crate::providers::TlsFiles>,
    },
}

impl Intent {
    /// The kind of thing intended, in one word.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Instance { .. } => "instance",
            Self::DnsZone { .. } => "zone",
            Self::DnsRecord { .. } => "record",
            Self::Process { .. } => "process",
            Self::Files { .. } => "files",
            Self::EtcdMember { .. } => "member",
        }
    }
}

impl Resource {
    pub fn describe(&self) -> String {
        match self {
            Self::Instance(i) => format!("instance {} ({})", i.name, i.private_ip),
            Self::DnsZone(z) => format!("zone {}", z.name),
            Self::DnsRecord(r) => format!(
                "{} record {} -> {}",
                r.spec.data.type_name(),
                r.spec.name,
                r.spec.data.content()
            ),
            Self::Process(p) => format!("{} (pid {}) on {}", p.name, p.pid, p.node),
            Self::File { path } => format!("file {path}"),
            Self::EtcdMember(m) => format!(
                "etcd member {} ({}) of {}",
                m.id,
                m.peer_urls.join(","),
                m.domain
            ),
            Self::Pending(intent) => match intent {
                Intent::Instance { name } => format!("instance {name} (being launched)"),
                Intent::DnsZone { name } => format!("zone {name} (being created)"),
                Intent::DnsRecord { spec } => format!(
                    "{} record {} -> {} (being published)",
                    spec.data.type_name(),
                    spec.name,
                    spec.data.content()
                ),
                Intent::Process { node, name } => format!("{name} on {node} (being started)"),
                Intent::Files { paths } => format!("files {} (being written)", paths.join(", ")),
                Intent::EtcdMember {
                    domain, peer_urls, ..
                } => {
                    format!(
                        "etcd member {} of {domain} (being added)",
                        peer_urls.join(",")
                    )
                }
            },
        }
    }
}

impl Resource {
    /// Whether `self` and `other` are the same thing in the world, however each was
    /// read (a record listed by the provider may carry what its creation did not).
    pub fn same(&self, other: &Resource) -> bool {
        match (self, other) {
            (Self::Instance(a), Self::Instance(b)) => a.id == b.id,
            (Self::DnsRecord(a), Self::DnsRecord(b)) => a.zone == b.zone && a.id == b.id,
            (Self::Process(a), Self::Process(b)) => a.node == b.node && a.pid == b.pid,
            (Self::EtcdMember(a), Self::EtcdMember(b)) => a.domain == b.domain && a.id == b.id,
            (a, b) => a == b,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Line {
    /// The first line: which providers made what follows.
    World(WorldSpec),
    Intent {
        seq: u64,
        intent: Intent,
    },
    Created {
        seq: u64,
        resource: Resource,
    },
    Removed {
        seq: u64,
    },
}

pub struct Journal {
    path: PathBuf,
    /// Where to write, or `None` for a journal that is never written (dry runs,
    /// commands that only look).
    persist: Option<StateDir>,
    /// The state dir it belongs to, written or not: where the other runs' journals are.
    state: StateDir,
    world: WorldSpec,
    inner: Mutex<Vec<(u64, Resource)>>,
    /// The highest sequence number handed out: never reused, even after removals.
    last: Mutex<u64>,
}

impl Journal {
    /// A new journal for a run starting now. The file appears with the first entry;
    /// `in_state_dir: false` gives a journal that is never written (for commands that
    /// only look).
    pub fn create(
        state: &StateDir,
        in_state_dir: bool,
        world: &WorldSpec,
    ) -> std::io::Result<Self> {
        // The folder is made with the first entry: opening a journal touches nothing, so
        // a run that fails before creating anything (no privileges, say) leaves nothing.
        let dir = state.root().join("runs");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let id = &uuid::Uuid::new_v4().simple().to_string()[..6];
        Ok(Self {
            path: dir.join(format!("{stamp}-{id}.jsonl")),
            persist: in_state_dir.then(|| state.clone()),
            state: state.clone(),
            world: world.clone(),
            inner: Mutex::default(),
            last: Mutex::default(),
        })
    }

    /// Every journal in the state dir, oldest first.
    pub fn all(state: &StateDir) -> std::io::Result<Vec<Self>> {
        let dir = state.root().join("runs");
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        paths.sort();
        paths.into_iter().map(|p| Self::open(state, &p)).collect()
    }

    fn open(state: &StateDir, path: &Path) -> std::io::Result<Self> {
        let mut live: Vec<(u64, Resource)> = Vec::new();
        let mut world = WorldSpec::default();
        let mut last = 0;
        for line in BufReader::new(std::fs::File::open(path)?).lines() {
            let line = line?;
            if let Some(seq) = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
            {
                last = last.max(seq);
            }
            // A line cut short by a crash is the only kind that fails to parse.
            match serde_json::from_str::<Line>(&line) {
                Ok(Line::World(spec)) => world = spec,
                Ok(Line::Intent { seq, intent }) => live.push((seq, Resource::Pending(intent))),
                // What was intended now exists: the entry takes its final form.
                Ok(Line::Created { seq, resource }) => {
                    live.retain(|(s, _)| *s != seq);
                    live.push((seq, resource));
                }
                Ok(Line::Removed { seq }) => live.retain(|(s, _)| *s != seq),
                Err(_) => {}
            }
        }
        live.sort_by_key(|(s, _)| *s);
        Ok(Self {
            path: path.to_path_buf(),
            persist: Some(state.clone()),
            state: state.clone(),
            world,
            inner: Mutex::new(live),
            last: Mutex::new(last),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The providers this run used.
    pub fn world(&self) -> &WorldSpec {
        &self.world
    }

    /// A name for the run, unique in this state dir (client tokens derive from it).
    pub fn run_id(&self) -> String {
        self.path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
    }

    fn append(&self, line: &Line) -> std::io::Result<()> {
        let Some(state) = &self.persist else {
            return Ok(());
        };
        let fresh = !self.path.exists();
        if fresh {
            state.dir("runs")?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)?;
        let mut text = String::new();
        if fresh {
            text = serde_json::to_string(&Line::World(self.world.clone()))
                .map_err(std::io::Error::other)?;
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(line).map_err(std::io::Error::other)?);
        text.push('\n');
        f.write_all(text.as_bytes())?;
        f.sync_data()
    }

    fn next_seq(live: &[(u64, Resource)], last: &mut u64) -> u64 {
        *last = (*last).max(live.iter().map(|(s, _)| *s).max().unwrap_or(0)) + 1;
        *last
    }

    /// Writes down what is about to be created, before the backend is asked (flushed to
    /// disk); returns the entry's sequence number for [`Journal::confirm`].
    pub fn intend(&self, intent: Intent) -> std::io::Result<u64> {
        let mut live = self.inner.lock().expect("journal lock");
        let seq = Self::next_seq(&live, &mut self.last.lock().expect("journal lock"));
        self.append(&Line::Intent {
            seq,
            intent: intent.clone(),
        })?;
        live.push((seq, Resource::Pending(intent.clone())));
        drop(live);
        crate::base::hook::point(&format!("intent:{}", intent.kind()));
        Ok(seq)
    }

    /// The intended resource exists: records it in its final form.
    pub fn confirm(&self, seq: u64, resource: Resource) -> std::io::Result<()> {
        let mut live = self.inner.lock().expect("journal lock");
        self.append(&Line::Created {
            seq,
            resource: resource.clone(),
        })?;
        match live.iter_mut().find(|(s, _)| *s == seq) {
            Some(entry) => entry.1 = resource,
            None => live.push((seq, resource)),
        }
        Ok(())
    }

    /// The intended resource was not made (the backend failed, or adopted one that was
    /// there already).
    pub fn abandon(&self, seq: u64) -> std::io::Result<()> {
        let mut live = self.inner.lock().expect("journal lock");
        if let Some(i) = live.iter().position(|(s, _)| *s == seq) {
            live.remove(i);
            self.append(&Line::Removed { seq })?;
        }
        Ok(())
    }

    /// Records a resource that exists now; returns its sequence number.
    pub fn created(&self, resource: Resource) -> std::io::Result<u64> {
        let mut live = self.inner.lock().expect("journal lock");
        let seq = Self::next_seq(&live, &mut self.last.lock().expect("journal lock"));
        self.append(&Line::Created {
            seq,
            resource: resource.clone(),
        })?;
        live.push((seq, resource));
        Ok(seq)
    }

    /// Marks a resource as gone (it was deleted by the script or undone).
    pub fn removed(&self, resource: &Resource) -> std::io::Result<()> {
        let mut live = self.inner.lock().expect("journal lock");
        if let Some(i) = live.iter().position(|(_, r)| r == resource) {
            let (seq, _) = live.remove(i);
            self.append(&Line::Removed { seq })?;
        }
        Ok(())
    }

    /// Marks a resource as gone in this journal and in every other journal of the state
    /// dir that names it: a later run may take down what an earlier one made (a member
    /// removed, its records deleted), and the earlier run's journal must not list it
    /// as standing any more.
    pub fn removed_anywhere(&self, resource: &Resource) -> std::io::Result<()> {
        self.removed_same(resource)?;
        // A journal that is never written (a plan, a command that only looks) changes
        // no other either.
        if self.persist.is_none() {
            return Ok(());
        }
        for other in self.others()? {
            other.removed_same(resource)?;
        }
        Ok(())
    }

    /// Every other journal of the state dir, as its file says now (a plan reads them too:
    /// what a day-2 script finds is what exists).
    pub fn others(&self) -> std::io::Result<Vec<Self>> {
        let all = Self::all(&self.state)?;
        Ok(all.into_iter().filter(|j| j.path != self.path).collect())
    }

    /// [`Journal::removed`] for the entry that is the same thing as `resource`.
    fn removed_same(&self, resource: &Resource) -> std::io::Result<()> {
        let entry = {
            let live = self.inner.lock().expect("journal lock");
            live.iter()
                .find(|(_, r)| r.same(resource))
                .map(|(_, r)| r.clone())
        };
        match entry {
            Some(entry) => self.removed(&entry),
            None => Ok(()),
        }
    }

    /// What is still standing, newest first: the order to take it down in.
    pub fn live_newest_first(&self) -> Vec<Resource> {
        let live = self.inner.lock().expect("journal lock");
        live.iter().rev().map(|(_, r)| r.clone()).collect()
    }

    /// The state dir it belongs to.
    pub fn state_dir(&self) -> &StateDir {
        &self.state
    }

    /// Whether it is written to disk (a plan's and a query's journal are not).
    pub fn persists(&self) -> bool {
        self.persist.is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.lock().expect("journal lock").is_empty()
    }

    /// Deletes the journal file once nothing in it stands any more.
    pub fn discard_if_empty(&self) -> std::io::Result<()> {
        if self.is_empty() {
            match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_reopened_shows_what_still_stands_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::locate(Some(tmp.path().to_path_buf()));
        let j = Journal::create(&state, true, &WorldSpec::default()).unwrap();
        let a = Resource::File { path: "/a".into() };
        let b = Resource::File { path: "/b".into() };
        let c = Resource::File { path: "/c".into() };
        j.created(a.clone()).unwrap();
        j.created(b.clone()).unwrap();
        j.created(c.clone()).unwrap();
        j.removed(&b).unwrap();
        let again = Journal::all(&state).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].world(), &WorldSpec::default());
        assert_eq!(again[0].live_newest_first(), vec![c, a]);
    }

    #[test]
    fn an_intent_stands_until_confirmed_or_abandoned() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::locate(Some(tmp.path().to_path_buf()));
        let j = Journal::create(&state, true, &WorldSpec::default()).unwrap();
        let pending = Intent::Instance { name: "n1".into() };
        let made = j.intend(pending.clone()).unwrap();
        let dropped = j.intend(Intent::DnsZone { name: "z".into() }).unwrap();
        let killed = j
            .intend(Intent::Files {
                paths: vec!["/k".into()],
            })
            .unwrap();
        let file = Resource::File { path: "/n1".into() };
        j.confirm(made, file.clone()).unwrap();
        j.abandon(dropped).unwrap();
        // `killed` is never answered: the run died while it was being made.
        let again = &Journal::all(&state).unwrap()[0];
        assert_eq!(
            again.live_newest_first(),
            vec![
                Resource::Pending(Intent::Files {
                    paths: vec!["/k".into()]
                }),
                file
            ]
        );
        assert!(killed > dropped && dropped > made);
    }
}
