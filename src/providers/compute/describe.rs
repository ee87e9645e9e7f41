//! EC2 descriptions of launching instances, asked for together: every launch polls its
//! own instance, and the polls that arrive while one DescribeInstances is being made go
//! in the next one, so nine launches poll with one call, not nine. A poll also waits
//! for the launches still under way, so that they answer in one call, not two.
//!
//! Instances are asked for with an `instance-id` filter rather than by ID: EC2 is
//! eventually consistent, and a just-launched ID it does not know yet would fail a call
//! by ID (for every instance in it); the filter only leaves it out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, Instance};
use tokio::sync::{Notify, oneshot};

use crate::base::error::{Error, Result};
use crate::providers::aws::sdk_error;

/// How long the first poll waits for others to join it: launches that return together
/// then poll together.
const GATHER: Duration = Duration::from_millis(10);
/// How long a poll waits at most for launches whose RunInstances is still unanswered.
/// EC2 answers the launches of one run spread over a few hundred milliseconds (moto one
/// after another, for seconds on a busy machine); without the wait, the first answered
/// polls alone and the others need a second call, a round trip on every cluster's way
/// to its records. The wait costs nothing: a run goes on when all its machines are up,
/// and a machine takes seconds to boot.
const HOLD: Duration = Duration::from_secs(5);

type Reply = oneshot::Sender<Result<Option<Instance>>>;

pub struct Describer {
    client: Client,
    state: Mutex<State>,
    /// Told when the last launch under way has its answer.
    launched: Notify,
}

#[derive(Default)]
struct State {
    queued: Vec<(String, Reply)>,
    /// A call (or its gathering) is under way; what is queued meanwhile goes in the next.
    busy: bool,
    /// RunInstances calls not answered yet.
    launching: usize,
}

/// A launch under way, from [`Describer::launching`] until it is dropped.
pub struct Launching(Arc<Describer>);

impl Drop for Launching {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().expect("describe lock");
        state.launching -= 1;
        if state.launching == 0 {
            self.0.launched.notify_waiters();
        }
    }
}

impl Describer {
    pub fn new(client: Client) -> Arc<Self> {
        Arc::new(Self {
            client,
            state: Mutex::default(),
            launched: Notify::new(),
        })
    }

    /// Says a RunInstances call is under way until the guard is dropped: polls wait
    /// for it (up to [`HOLD`]), so that its instance goes in the same call. The guard
    /// is handed to the launch's first [`describe`](Self::describe), which lets it go
    /// once its poll is queued: on a busy machine the task whose RunInstances was
    /// answered last may not yet have asked when the others' call is made.
    pub fn launching(self: &Arc<Self>) -> Launching {
        self.state.lock().expect("describe lock").launching += 1;
        Launching(self.clone())
    }

    /// Waits until no launch is under way, or `HOLD` has passed.
    async fn hold(&self) {
        let deadline = tokio::time::Instant::now() + HOLD;
        loop {
            // Made before the check: a wakeup between the two is not lost.
            let told = self.launched.notified();
            if self.state.lock().expect("describe lock").launching == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, told).await.is_err() {
                return;
            }
        }
    }

    /// The instance `id` as EC2 describes it now; `None` while EC2 does not list it yet.
    /// `launched`: the guard of the launch this is the first poll of.
    pub async fn describe(
        self: &Arc<Self>,
        id: &str,
        launched: Option<Launching>,
    ) -> Result<Option<Instance>> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut state = self.state.lock().expect("describe lock");
            state.queued.push((id.to_string(), tx));
            !std::mem::replace(&mut state.busy, true)
        };
        // Queued: the launch is no longer one to wait for (its guard takes the lock).
        drop(launched);
        if lead {
            // A task of its own: a poll that is dropped (its launch cancelled) must not
            // leave the others waiting for a call nobody makes.
            let this = self.clone();
            tokio::spawn(async move { this.drive().await });
        }
        rx.await
            .map_err(|_| Error::failed("aws: a DescribeInstances poll was lost"))?
    }

    /// Makes calls until nothing is queued.
    async fn drive(&self) {
        tokio::time::sleep(GATHER).await;
        loop {
            self.hold().await;
            let batch = {
                let mut state = self.state.lock().expect("describe lock");
                if state.queued.is_empty() {
                    state.busy = false;
                    return;
                }
                std::mem::take(&mut state.queued)
            };
            let mut ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();
            ids.sort();
            ids.dedup();
            match self.call(ids).await {
                Ok(mut found) => {
                    for (id, reply) in batch {
                        let _ = reply.send(Ok(found.get(&id).cloned()));
                    }
                    found.clear();
                }
                Err(e) => {
                    for (_, reply) in batch {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    async fn call(&self, ids: Vec<String>) -> Result<HashMap<String, Instance>> {
        let mut found = HashMap::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .describe_instances()
                .filters(
                    Filter::builder()
                        .name("instance-id")
                        .set_values(Some(ids.clone()))
                        .build(),
                )
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_error("aws", "DescribeInstances", e))?;
            for instance in out.reservations().iter().flat_map(|r| r.instances()) {
                if let Some(id) = instance.instance_id() {
                    found.insert(id.to_string(), instance.clone());
                }
            }
            match out.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(found),
            }
        }
    }
}
