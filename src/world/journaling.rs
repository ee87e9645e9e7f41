//! Every backend of a real world, wrapped once so that what it creates is in the run's
//! journal: an intent before the backend is asked, the resource once it answers, and
//! the resource undone again if the journal cannot take it. Nothing above the world
//! touches the journal; a new primitive cannot forget it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::journal::{Intent, Journal, Resource};
use crate::base::error::{Error, Result};
use crate::providers::{
    CaFiles, CertFiles, Compute, Dns, ExecOutput, Instance, InstanceSpec, LeafSpec, Local,
    NodeResolver, Process, Record, RecordSpec, Transport, Zone,
};

/// A backend of a real world, wrapped: each trait's implementation below journals what
/// the backend makes and removes, and passes every question through as it is.
pub struct Journaled<B: ?Sized> {
    pub(super) inner: Arc<B>,
    pub(super) book: Book,
}

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

    /// Journals `intent`, runs `make`, and settles the intent with what `made` says it
    /// created. When the journal cannot take what was created, `undo` takes it down
    /// again and the journal's error is the result, so nothing exists unjournaled.
    pub(super) async fn record<T, Undone: Future>(
        &self,
        intent: Intent,
        make: impl Future<Output = Result<T>>,
        made: impl FnOnce(&T) -> Option<Resource>,
        undo: impl FnOnce(T) -> Undone,
    ) -> Result<T> {
        let seq = self.intend(intent)?;
        let value = match make.await {
            Ok(v) => v,
            Err(e) => {
                let _ = self.settle(seq, None);
                return Err(e);
            }
        };
        let resource = made(&value);
        let created = resource.is_some();
        match self.settle(seq, resource) {
            Ok(()) => Ok(value),
            Err(e) if created => {
                undo(value).await;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Wraps a backend so that what it makes and removes is journaled here.
    pub(super) fn wrap<B: ?Sized>(&self, inner: Arc<B>) -> Arc<Journaled<B>> {
        Arc::new(Journaled {
            inner,
            book: self.clone(),
        })
    }

    /// Runs `remove` and, once it has worked, marks `resource` gone.
    async fn removing(
        &self,
        resource: Resource,
        remove: impl Future<Output = Result<()>>,
    ) -> Result<()> {
        remove.await?;
        self.gone(resource);
        Ok(())
    }

    pub(super) fn gone(&self, resource: Resource) {
        // Already taken down; a journal that cannot say so leaves an entry that destroy
        // finds gone, which it treats as done. Whichever run made it, its journal says so.
        let _ = self.0.removed_anywhere(&resource);
    }
}

#[async_trait]
impl Compute for Journaled<dyn Compute> {
    async fn launch(&self, spec: &InstanceSpec) -> Result<Instance> {
        let intent = Intent::Instance {
            name: spec.name.clone(),
        };
        let made = |i: &Instance| Some(Resource::Instance(i.clone()));
        let undo = |i: Instance| async move { self.inner.terminate(&i).await };
        let launch = self.inner.launch(spec);
        let instance = self.book.record(intent, launch, made, undo).await?;
        // Said here, where it really happened: a plan never says it.
        tracing::info!("launched {} ({})", instance.name, instance.private_ip);
        Ok(instance)
    }

    async fn terminate(&self, instance: &Instance) -> Result<()> {
        let gone = Resource::Instance(instance.clone());
        self.book
            .removing(gone, self.inner.terminate(instance))
            .await
    }

    async fn find(&self, name: &str) -> Result<Option<Instance>> {
        self.inner.find(name).await
    }

    async fn tagged(&self, cluster: &str) -> Result<Vec<Instance>> {
        self.inner.tagged(cluster).await
    }

    async fn free_count(
        &self,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<Option<usize>> {
        self.inner.free_count(labels).await
    }
}

#[async_trait]
impl Dns for Journaled<dyn Dns> {
    async fn zone(&self, name: &str) -> Result<(Zone, bool)> {
        // A backend that never creates zones only looks one up: nothing to journal.
        if !self.inner.creates_zones() {
            return self.inner.zone(name).await;
        }
        let intent = Intent::DnsZone { name: name.into() };
        let made = |(z, created): &(Zone, bool)| created.then(|| Resource::DnsZone(z.clone()));
        let undo = |(z, _): (Zone, bool)| async move { self.inner.delete_zone(&z).await };
        let zone = self.inner.zone(name);
        self.book.record(intent, zone, made, undo).await
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>> {
        self.inner.find_zone(name).await
    }

    /// Changes nothing in the world: nothing to journal.
    async fn hold_in(&self, zone: &str, names: &[String]) -> Result<()> {
        self.inner.hold_in(zone, names).await
    }

    fn creates_zones(&self) -> bool {
        self.inner.creates_zones()
    }

    async fn create(&self, spec: &RecordSpec) -> Result<(Record, bool)> {
        let intent = Intent::DnsRecord { spec: spec.clone() };
        // An adopted record was there before this run: it is not this run's to remove.
        let made = |(r, created): &(Record, bool)| created.then(|| Resource::DnsRecord(r.clone()));
        let undo = |(r, _): (Record, bool)| async move { self.inner.delete(&r).await };
        let create = self.inner.create(spec);
        self.book.record(intent, create, made, undo).await
    }

    /// Every record's intent is in the journal before the one call that makes them all;
    /// each is then settled by its own outcome, so a batch that half worked leaves the
    /// journal saying exactly what exists.
    async fn create_all(&self, specs: &[RecordSpec]) -> Vec<Result<(Record, bool)>> {
        let mut seqs = Vec::with_capacity(specs.len());
        for spec in specs {
            match self.book.intend(Intent::DnsRecord { spec: spec.clone() }) {
                Ok(seq) => seqs.push(seq),
                Err(e) => {
                    // Nothing is made unless everything can be journaled first.
                    for seq in seqs {
                        let _ = self.book.settle(seq, None);
                    }
                    return specs.iter().map(|_| Err(e.clone())).collect();
                }
            }
        }
        for spec in specs {
            tracing::debug!(
                "publishing {} record {} -> {}",
                spec.data.type_name(),
                spec.name,
                spec.data.content()
            );
        }
        let outcomes = self.inner.create_all(specs).await;
        let published = outcomes.iter().filter(|o| o.is_ok()).count();
        tracing::info!("published {published} of {} DNS records", specs.len());
        let mut out = Vec::with_capacity(outcomes.len());
        for (seq, outcome) in seqs.into_iter().zip(outcomes) {
            out.push(match outcome {
                Ok((record, created)) => {
                    // An adopted record was there before this run: not this run's.
                    let made = created.then(|| Resource::DnsRecord(record.clone()));
                    match self.book.settle(seq, made) {
                        Ok(()) => Ok((record, created)),
                        Err(e) if created => {
                            let _ = self.inner.delete(&record).await;
                            Err(e)
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => {
                    let _ = self.book.settle(seq, None);
                    Err(e)
                }
            });
        }
        out
    }

    async fn delete(&self, record: &Record) -> Result<()> {
        let gone = Resource::DnsRecord(record.clone());
        self.book.removing(gone, self.inner.delete(record)).await
    }

    async fn delete_all(&self, records: &[Record]) -> Vec<Result<()>> {
        let outcomes = self.inner.delete_all(records).await;
        for (record, outcome) in records.iter().zip(&outcomes) {
            if outcome.is_ok() {
                self.book.gone(Resource::DnsRecord(record.clone()));
            }
        }
        outcomes
    }

    async fn delete_zone(&self, zone: &Zone) -> Result<()> {
        let gone = Resource::DnsZone(zone.clone());
        self.book.removing(gone, self.inner.delete_zone(zone)).await
    }

    async fn list(&self, name: &str) -> Result<Vec<Record>> {
        self.inner.list(name).await
    }

    async fn authoritative(&self, zone: &str) -> Result<Vec<SocketAddr>> {
        self.inner.authoritative(zone).await
    }

    async fn marked(&self, domain: &str, cluster: &str) -> Result<Vec<Record>> {
        self.inner.marked(domain, cluster).await
    }
}

#[async_trait]
impl Transport for Journaled<dyn Transport> {
    fn resolver(&self, node: &Instance) -> Result<Option<NodeResolver>> {
        self.inner.resolver(node)
    }

    async fn run(&self, node: &Instance, command: &str, timeout: Duration) -> Result<ExecOutput> {
        // The first line: a script sent as a command (the download) is long.
        let first = command.lines().next().unwrap_or("");
        let more = if command.contains('\n') { " ..." } else { "" };
        tracing::debug!("on {}: {first}{more}", node.name);
        self.inner.run(node, command, timeout).await
    }

    async fn upload(&self, node: &Instance, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        say_writing(node, path, bytes, mode);
        self.inner.upload(node, path, bytes, mode).await
    }

    async fn upload_together(
        &self,
        node: &Instance,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<()> {
        for (path, bytes, mode) in files {
            say_writing(node, path, bytes, *mode);
        }
        self.inner.upload_together(node, files).await
    }

    async fn spawn(&self, node: &Instance, name: &str, argv: &[String]) -> Result<Process> {
        let intent = Intent::Process {
            node: node.name.clone(),
            name: name.into(),
        };
        let made = |p: &Process| Some(Resource::Process(p.clone()));
        let undo = |p: Process| async move { self.inner.stop(&p).await };
        let spawn = self.inner.spawn(node, name, argv);
        let process = self.book.record(intent, spawn, made, undo).await?;
        tracing::info!("started {name} on {} (pid {})", node.name, process.pid);
        Ok(process)
    }

    async fn stop(&self, process: &Process) -> Result<()> {
        let gone = Resource::Process(process.clone());
        self.book.removing(gone, self.inner.stop(process)).await
    }
}

impl Journaled<dyn Local> {
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
        // The intent stands for both files until each has its own entry: the key gets a
        // new one, the certificate takes the intent's place.
        let [cert, key] = paths.clone();
        self.book
            .0
            .created(Resource::File { path: key })
            .map_err(|e| undo(Error::failed(format!("cannot write the journal: {e}"))))?;
        self.book
            .settle(seq, Some(Resource::File { path: cert }))
            .map_err(undo)?;
        Ok(value)
    }
}

impl Local for Journaled<dyn Local> {
    fn ca(&self, name: &str) -> CaFiles {
        self.inner.ca(name)
    }

    fn ensure_ca(&self, ca: &CaFiles, days: Option<u32>) -> Result<bool> {
        self.write(&ca.files, || {
            let created = self.inner.ensure_ca(ca, days)?;
            Ok((created, created))
        })
    }

    fn issue(&self, ca: &CaFiles, leaf: &LeafSpec) -> Result<CertFiles> {
        let files = CertFiles::in_dir(&ca.dir, &leaf.name);
        // A certificate renewed in place (rotation) belongs to the run that made it first:
        // a rollback of this one must not take a live member's files away.
        let existed = files.cert.exists() && files.key.exists();
        self.write(&files, || Ok((self.inner.issue(ca, leaf)?, !existed)))
    }

    fn next_ca(&self, ca: &CaFiles, days: Option<u32>) -> Result<CaFiles> {
        let files = CertFiles::in_dir(&ca.dir, "ca-next");
        let existed = files.cert.exists() && files.key.exists();
        self.write(&files, || Ok((self.inner.next_ca(ca, days)?, !existed)))
    }

    fn trust(&self, ca: &CaFiles, also: &[std::path::PathBuf]) -> Result<()> {
        // The CA's own file, rewritten: it belongs to the run that made the CA.
        self.inner.trust(ca, also)
    }

    fn promote(&self, ca: &CaFiles, next: &CaFiles) -> Result<()> {
        self.inner.promote(ca, next)
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

/// The debug line of a file written on a node: its path and size only, for what is
/// uploaded may be a key.
fn say_writing(node: &Instance, path: &str, bytes: &[u8], mode: u32) {
    tracing::debug!(
        "writing {path} on {} ({} bytes, mode {mode:o})",
        node.name,
        bytes.len()
    );
}
