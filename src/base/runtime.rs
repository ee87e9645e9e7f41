//! The process's one tokio runtime, for everything but the lab's network work (the lab
//! backend owns a runtime whose threads live in the lab's namespace).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::{Handle, Runtime};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime, started on first use.
pub fn handle() -> Handle {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .thread_name("rigger-io")
                .build()
                // Without a runtime nothing at all can work; this is not a user error.
                .expect("start the async runtime")
        })
        .handle()
        .clone()
}

/// Runs `work` to completion from a thread outside any runtime (a command's main thread).
pub fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    handle().block_on(work)
}

static QUITTING: AtomicBool = AtomicBool::new(false);

/// Marks the process as quitting at once: work still in flight is abandoned.
pub fn quit() {
    QUITTING.store(true, Ordering::SeqCst);
}

pub fn quitting() -> bool {
    QUITTING.load(Ordering::SeqCst)
}
