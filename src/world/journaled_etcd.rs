//! The EtcdApi, journaled where it changes something: a member added to an etcd cluster
//! is in the run's journal before the call returns (a failed run removes it again, a
//! learner that never caught up among them), and a member removed is marked gone in
//! whichever run's journal added it. Questions pass straight through.

use std::time::Duration;

use async_trait::async_trait;

use super::journal::{Intent, Resource};
use super::journaling::Journaled;
use crate::base::error::Result;
use crate::providers::EtcdApi;
use crate::providers::etcd_api::{ClusterAt, Report, Snapshot};
use crate::providers::members::{JoinedMember, MemberCall, Membership};

#[async_trait]
impl EtcdApi for Journaled<dyn EtcdApi> {
    async fn health(&self, at: &ClusterAt) -> Result<Report> {
        self.inner.health(at).await
    }

    async fn wait_healthy(&self, at: &ClusterAt, within: Duration) -> Result<bool> {
        self.inner.wait_healthy(at, within).await
    }

    async fn quota(&self, at: &ClusterAt, endpoint: &str) -> Result<Option<u64>> {
        self.inner.quota(at, endpoint).await
    }

    /// A backup outlives the run: not journaled, never rolled back.
    async fn snapshot(&self, at: &ClusterAt, to: &std::path::Path) -> Result<Snapshot> {
        self.inner.snapshot(at, to).await
    }

    async fn membership(
        &self,
        at: &ClusterAt,
        call: &MemberCall,
        patience: Duration,
    ) -> Result<Membership> {
        // The cluster's key (`DOMAIN/NAME` for a named one): undoing the change asks it.
        let (domain, tls) = (&at.label(), at.tls.as_ref());
        let asked = self.inner.membership(at, call, patience);
        match call {
            MemberCall::Add { peer_urls, .. } => {
                let intent = Intent::EtcdMember {
                    domain: domain.into(),
                    peer_urls: peer_urls.clone(),
                    tls: tls.cloned(),
                };
                let made = |m: &Membership| {
                    m.added.as_ref().map(|added| {
                        Resource::EtcdMember(JoinedMember {
                            domain: domain.into(),
                            id: added.id.clone(),
                            peer_urls: added.peer_urls.clone(),
                            tls: tls.cloned(),
                        })
                    })
                };
                // Added but not journaled: removed again.
                let undo = |m: Membership| async move {
                    let added = m.added.as_ref()?;
                    let id = u64::from_str_radix(&added.id, 16).ok()?;
                    let remove = MemberCall::Remove { id };
                    self.inner.membership(at, &remove, patience).await.ok()
                };
                self.book.record(intent, asked, made, undo).await
            }
            MemberCall::Remove { id } => {
                let done = asked.await?;
                self.book.gone(Resource::EtcdMember(JoinedMember {
                    domain: domain.into(),
                    id: format!("{id:x}"),
                    peer_urls: Vec::new(),
                    tls: None,
                }));
                Ok(done)
            }
            _ => asked.await,
        }
    }
}
