//! Leaves every layer may use: the error model, the state dir, output, names, time.

pub mod error;
pub mod eval_error;
pub mod hook;
pub mod human;
pub mod names;
pub mod output;
pub mod phase;
pub mod progress;
pub mod runtime;
pub mod secret_file;
pub mod state_dir;
pub mod writer;
