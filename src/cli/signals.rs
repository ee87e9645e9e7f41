//! The signals that ask rigger to stop: Ctrl-C (SIGINT), SIGTERM (`timeout`, systemd,
//! CI runners) and SIGHUP (a closed terminal). Each is handled the same way: stop the
//! script and roll back; the exit status says which one it was (128 + its number).

use nix::sys::signal::Signal as Number;
use tokio::signal::unix::{Signal, SignalKind, signal};

pub struct Stops {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Stops {
    /// Starts listening. Must run inside the runtime; from then on these signals no
    /// longer kill the process, so whoever holds this must act on them.
    pub fn listen() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next stop signal to arrive.
    pub async fn next(&mut self) -> Number {
        tokio::select! {
            _ = self.interrupt.recv() => Number::SIGINT,
            _ = self.terminate.recv() => Number::SIGTERM,
            _ = self.hangup.recv() => Number::SIGHUP,
        }
    }
}

/// How a stop signal is named to people.
pub fn describe(signal: Number) -> &'static str {
    match signal {
        Number::SIGINT => "interrupted (Ctrl-C)",
        Number::SIGTERM => "terminated (SIGTERM)",
        Number::SIGHUP => "hung up (SIGHUP)",
        _ => "stopped by a signal",
    }
}

/// What shells report for a command a signal stopped.
pub fn exit_status(signal: Number) -> u8 {
    128 + signal as u8
}
