//! The one place where synchronous script code waits on async work.
//!
//! Rhai has no async, so the engine runs on a plain thread and every primitive that
//! touches the world hands its future to [`Bridge::call`]. The bridge applies the call's
//! time limit and gives up at once when the user interrupts the run, so a script that is
//! waiting inside a primitive stops as promptly as one that is looping.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

/// Shared flag raised by Ctrl-C (or by whoever owns the run) to stop the script. The
/// REPL lowers it again before the next input.
#[derive(Clone, Default)]
pub struct Interrupt {
    raised: Arc<AtomicBool>,
    token: Arc<Mutex<CancellationToken>>,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the script: the engine's progress hook and every pending bridge call see it.
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.token.lock().expect("interrupt lock").cancel();
    }

    /// Ready for the next evaluation (a REPL line).
    pub fn lower(&self) {
        *self.token.lock().expect("interrupt lock") = CancellationToken::new();
        self.raised.store(false, Ordering::SeqCst);
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    pub async fn raised(&self) {
        let token = self.token.lock().expect("interrupt lock").clone();
        token.cancelled().await
    }
}

/// Why a bridged call did not produce its value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError<E> {
    #[error("gave up after {}", crate::base::human::duration(*.0))]
    Timeout(Duration),
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Failed(E),
}

/// How long interrupted work that creates something may take to finish (and record)
/// what it started, so the rollback that follows removes it.
pub const CREATION_GRACE: Duration = Duration::from_secs(3);

/// Runs async work for the synchronous engine thread.
#[derive(Clone)]
pub struct Bridge {
    handle: Handle,
    interrupt: Interrupt,
}

impl Bridge {
    pub fn new(handle: Handle, interrupt: Interrupt) -> Self {
        Self { handle, interrupt }
    }

    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// Blocks the calling (non-runtime) thread until `work` finishes, `limit` passes or
    /// the run is interrupted, whichever comes first.
    ///
    /// Must not be called from a tokio worker thread: the engine thread is the only caller.
    pub fn call<T, E, F>(&self, limit: Duration, work: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        if self.interrupt.is_raised() {
            return Err(CallError::Interrupted);
        }
        self.handle.block_on(async {
            tokio::select! {
                biased;
                () = self.interrupt.raised() => Err(CallError::Interrupted),
                outcome = tokio::time::timeout(limit, work) => match outcome {
                    Ok(result) => result.map_err(CallError::Failed),
                    Err(_) => Err(CallError::Timeout(limit)),
                },
            }
        })
    }
}

impl Bridge {
    /// Like [`Bridge::call`], but the work runs as a task on `runtime` (the world's), so
    /// every socket it opens belongs to that runtime's threads and their namespace.
    pub fn call_on<T, E, F>(
        &self,
        runtime: &Handle,
        limit: Duration,
        grace: Duration,
        work: F,
    ) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let task = runtime.spawn(async move {
            let _ = done_tx.send(work.await);
        });
        let abort = task.abort_handle();
        let outcome = self.call(limit, async move {
            match done_rx.await {
                Ok(result) => result,
                // The task died without an answer: a panic in provider code. Keep it a
                // panic: rigger's hook reports bugs.
                Err(_) => match task.await {
                    Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                    _ => unreachable!("a task that finished sent its result"),
                },
            }
        });
        match &outcome {
            // Interrupted: the work may be creating something. Let it finish (the world records
            // what it makes, so the rollback that follows removes it), within a grace.
            Err(CallError::Interrupted) => {
                let finished = self.handle.block_on(async {
                    tokio::time::timeout(grace, async {
                        while !abort.is_finished() {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    })
                    .await
                });
                if finished.is_err() {
                    abort.abort();
                }
            }
            // Past its limit the work is stuck; stop it.
            Err(_) => abort.abort(),
            Ok(_) => {}
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn with_bridge<R: Send + 'static>(f: impl FnOnce(Bridge) -> R + Send + 'static) -> R {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let bridge = Bridge::new(rt.handle().clone(), Interrupt::new());
        std::thread::spawn(move || f(bridge)).join().unwrap()
    }

    #[test]
    fn call_returns_the_value_of_finished_work() {
        let got = with_bridge(|b| b.call(Duration::from_secs(5), async { Ok::<_, String>(7) }));
        assert_eq!(got, Ok(7));
    }

    #[test]
    fn call_passes_the_work_error_through() {
        let got = with_bridge(|b| {
            b.call(Duration::from_secs(5), async {
                Err::<(), _>("no zone".to_string())
            })
        });
        assert_eq!(got, Err(CallError::Failed("no zone".to_string())));
    }

    #[test]
    fn call_that_never_finishes_times_out_at_its_limit() {
        let (got, took) = with_bridge(|b| {
            let start = Instant::now();
            let got = b.call(
                Duration::from_millis(200),
                std::future::pending::<Result<(), String>>(),
            );
            (got, start.elapsed())
        });
        assert_eq!(got, Err(CallError::Timeout(Duration::from_millis(200))));
        assert!(took >= Duration::from_millis(200) && took < Duration::from_secs(3));
    }

    #[test]
    fn raising_the_interrupt_ends_a_pending_call() {
        let (got, took) = with_bridge(|b| {
            let raiser = b.interrupt().clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                raiser.raise();
            });
            let start = Instant::now();
            let got = b.call(
                Duration::from_secs(60),
                std::future::pending::<Result<(), String>>(),
            );
            (got, start.elapsed())
        });
        assert_eq!(got, Err(CallError::Interrupted));
        assert!(took < Duration::from_secs(5));
    }
}
