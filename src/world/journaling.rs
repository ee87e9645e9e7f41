//! Every backend of a real world, wrapped once so that what it creates is in the run's
//! journal: an intent before the backend is asked, the resource once it answers, and
//! the resource undone again if the journal cannot take it. Nothing above the world
//! touches the journal; a new primitive cannot forget it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::journal::{Intent, Journal, Resource};
use crate::base::error::{Error, Result};
use crate::providers::{
    CaFiles, CertFiles, Compute, Dns, ExecOutput, Instance, InstanceSpec, LeafSpec, Local, Process,
    Record, RecordSpec, Transport, Zone,
};

/// The journal as the wrappers use it: its failures are the run's failures.
#[derive(Clone)]
pub struct Book(pub Arc<Journal>);

impl Book {
    fn intend(&self, intent: Intent) -> Result<u64> {
        self.0
            .intend(intent)
            .map_err(|e| Error::failed(format!("cannot write the journal: {e}")))
    }

    /// Settles an intent: the resource it became (`Some`), or nothing was made.
    fn settle(&self, seq: u64, made: Option<Resource>) -> Result<()> {
        let written = match &made {
            Some(resource) => self.0.confirm(seq, resource.clone()),
            None => self.0.abandon(seq),
        };
        written.map_err(|e| match made {
            Some(resource) => Error::failed(format!(
                "cannot record {} in the journal: {e}",
                resource.describe()
            )),
            None => Error::failed(format!("cannot write the journal: {e}")),
        })
    }

    fn gone(&self, resource: Resource) {
        // Already taken down; a journal that cannot say so leaves an entry that destroy
        // finds gone, which it treats as done.
        let _ = self.0.removed(&resource);
    }
}

pub struct JournaledCompute {
    pub inner: Arc<dyn Compute>,
    pub book: Book,
}

#[async_trait]
impl Compute for JournaledCompute {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance> {
        let seq = self.book.intend(Intent::Instance {
            name: spec.name.clone(),
        })?;
        let instance = match self.inner.launch(spec).await {
            Ok(i) => i,
            Err(e) => {
                let _ = self.book.settle(seq, None);
                return Err(e);
            }
        };
        if let Err(e) = self
            .book
            .settle(seq, Some(Resource::Instance(instance.clone())))
        {
            let _ = self.inner.terminate(&instance).await;
            return Err(e);
        }
        Ok(instance)
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        self.inner.terminate(instance).await?;
        self.book.gone(Resource::Instance(instance.clone()));
        Ok(())
    }

    async fn find(&self, name: &str) -> Result<Option<Instance>> {
        self.inner.find(name).await
    }

    async fn tagged(&self, cluster: &str) -> Result<Vec<Instance>> {
        self.inner.tagged(cluster).await
    }
}

pub struct JournaledDns {
    pub inner: Arc<dyn Dns>,
    pub book: Book,
}

#[async_trait]
impl Dns for JournaledDns {
    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        let seq = self.book.intend(Intent::DnsZone { name: name.into() })?;
        let (zone, created) = match self.inner.zone(name).await {
            Ok(z) => z,
            Err(e) => {
                let _ = self.book.settle(seq, None);
                return Err(e);
            }
        };
        let made = created.then(|| Resource::DnsZone(zone.clone()));
        if let Err(e) = self.book.settle(seq, made) {
            if created {
                let _ = self.inner.delete_zone(&zone).await;
            }
            return Err(e);
        }
        Ok((zone, created))
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        self.inner.find_zone(name).await
    }

    fn creates_zones(&self) -> bool {
        self.inner.creates_zones()
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        let seq = self.book.intend(Intent::DnsRecord { spec: spec.clone() })?;
        let (record, created) = match self.inner.create(spec).await {
            Ok(r) => r,
            Err(e) => {
                let _ = self.book.settle(seq, None);
                return Err(e);
            }
        };
        // An adopted record was there before this run: it is not this run's to remove.
        let made = created.then(|| Resource::DnsRecord(record.clone()));
        if let Err(e) = self.book.settle(seq, made) {
            if created {
                let _ = self.inner.delete(&record).await;
            }
            return Err(e);
        }
        Ok((record, created))
    }

    async fn delete(&self, record: &Record) -> Result<()> {
        self.inner.delete(record).await?;
        self.book.gone(Resource::DnsRecord(record.clone()));
        Ok(())
    }

    async fn delete_zone(&self, zone: &Zone) -> Result<()> {
        self.inner.delete_zone(zone).await?;
        self.book.gone(Resource::DnsZone(zone.clone()));
        Ok(())
    }

    async fn list(&self, name: &str) -> Result<Vec<Record>> {
        self.inner.list(name).await
    }

    async fn authoritative(&self, zone: &str) -> Result<Vec<SocketAddr>> {
        self.inner.authoritative(zone).await
    }
}

pub struct JournaledTransport {
    pub inner: Arc<dyn Transport>,
    pub book: Book,
}

#[async_trait]
impl Transport for JournaledTransport {
    async fn run(&self, node: &Instance, command: &str, timeout: Duration) -> Result<ExecOutput> {
        self.inner.run(node, command, timeout).await
    }

    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        self.inner.upload(node, path, bytes, mode).await
    }

    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process> {
        let seq = self.book.intend(Intent::Process {
            node: node.name.clone(),
            name: name.into(),
        })?;
        let process = match self.inner.spawn(node, name, argv).await {
            Ok(p) => p,
            Err(e) => {
                let _ = self.book.settle(seq, None);
                return Err(e);
            }
        };
        if let Err(e) = self
            .book
            .settle(seq, Some(Resource::Process(process.clone())))
        {
            let _ = self.inner.stop(&process).await;
            return Err(e);
        }
        Ok(process)
    }

    async fn stop(&self, process: &Process) -> Result<()> {
        self.inner.stop(process).await?;
        self.book.gone(Resource::Process(process.clone()));
        Ok(())
    }
}

pub struct JournaledLocal {
    pub inner: Arc<dyn Local>,
    pub book: Book,
}

impl JournaledLocal {
    /// Writes files through `make`, journaled as one intent and then a file each.
    fn write<T>(&self, files: &CertFiles, make: impl FnOnce() -> Result<(T, bool)>) -> Result<T> {
        let paths = [&files.cert, &files.key].map(|p| p.to_string_lossy().into_owned());
        let seq = self.book.intend(Intent::Files {
            paths: paths.to_vec(),
        })?;
        let (value, created) = match make() {
            Ok(v) => v,
            Err(e) => {
                let _ = self.book.settle(seq, None);
                return Err(e);
            }
        };
        if !created {
            self.book.settle(seq, None)?;
            return Ok(value);
        }
        let undo = |e: Error| {
            for p in &paths {
                let _ = self.inner.remove(Path::new(p));
            }
            e
        };
        // The intent stands for both files until each has its own entry.
        for path in &paths[1..] {
            self.book
                .0
                .created(Resource::File { path: path.clone() })
                .map_err(|e| undo(Error::failed(format!("cannot write the journal: {e}"))))?;
        }
        self.book
            .settle(
                seq,
                Some(Resource::File {
                    path: paths[0].clone(),
                }),
            )
            .map_err(undo)?;
        Ok(value)
    }
}

impl Local for JournaledLocal {
    fn ca(&self, name: &str) -> CaFiles {
        self.inner.ca(name)
    }

    fn ensure_ca(&self, ca: &CaFiles) -> Result<bool> {
        self.write(&ca.files, || {
            let created = self.inner.ensure_ca(ca)?;
            Ok((created, created))
        })
    }

    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> Result<CertFiles> {
        let files = CertFiles::in_dir(&ca.dir, &leaf.name);
        self.write(&files, || Ok((self.inner.issue(ca, leaf)?, true)))
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>> {
        self.inner.read(path)
    }

    fn remove(&self, path: &Path) -> Result<()> {
        self.inner.remove(path)?;
        self.book.gone(Resource::File {
            path: path.to_string_lossy().into_owned(),
        });
        Ok(())
    }
}
