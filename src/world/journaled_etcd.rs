//! The EtcdApi, journaled where it changes something: a member added to an etcd cluster
//! is in the run's journal before the call returns (a failed run removes it again, a
//! learner that never caught up among them), and a member removed is marked gone in
//! whichever run's journal added it. Questions pass straight through.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::journal::{Intent, Resource};
use super::journaling::{Book, Made};
use crate::base::error::Result;
use crate::providers::etcd_api::Report;
use crate::providers::members::{JoinedMember, MemberCall, Membership};
use crate::providers::{EtcdApi, TlsFiles};

pub struct JournaledEtcd {
    pub inner: Arc<dyn EtcdApi>,
    pub book: Book,
}

#[async_trait]
impl EtcdApi for JournaledEtcd {
    async fn health(
        &self,
        domain: &str,
        tls: Option<&TlsFiles>,
        servers: &[SocketAddr],
    ) -> Result<Report> {
        self.inner.health(domain, tls, servers).await
    }

    async fn wait_healthy(
        &self,
        domain: &str,
        tls: Option<&TlsFiles>,
        servers: &[SocketAddr],
        within: Duration,
        interval: Duration,
    ) -> Result<bool> {
        self.inner
            .wait_healthy(domain, tls, servers, within, interval)
            .await
    }

    async fn membership(
        &self,
        domain: &str,
        tls: Option<&TlsFiles>,
        servers: &[SocketAddr],
        call: &MemberCall,
        patience: Duration,
    ) -> Result<Membership> {
        let asked = self.inner.membership(domain, tls, servers, call, patience);
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
                match self.book.record(intent, asked, made).await? {
                    Made::Recorded(m) => Ok(m),
                    // Added but not journaled: removed again, so nothing stands unjournaled.
                    Made::Unrecorded(m, e) => {
                        if let Some(added) = &m.added
                            && let Ok(id) = u64::from_str_radix(&added.id, 16)
                        {
                            let undo = MemberCall::Remove { id };
                            let _ = self
                                .inner
                                .membership(domain, tls, servers, &undo, patience)
                                .await;
                        }
                        Err(e)
                    }
                }
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
