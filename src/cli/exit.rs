//! rigger's exit statuses, in one place: a script or a shell tells outcomes apart by
//! them, so two commands must never give one number two meanings by accident.

pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
/// A command line or `--set` that cannot be taken.
pub const USAGE: u8 = 2;
/// `health`: the cluster answers, but not every member is healthy.
pub const DEGRADED: u8 = 3;
/// `health`: no quorum, or no member answers.
pub const UNAVAILABLE: u8 = 4;
/// `doctor`: the worst finding is a warning.
pub const WARNING: u8 = 3;
/// `doctor`: the worst finding is an error.
pub const ERROR: u8 = 4;
/// 128 + SIGINT, what shells report for a command stopped by Ctrl-C.
pub const INTERRUPTED: u8 = 130;
