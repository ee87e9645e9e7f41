//! rigger: Rhai scripts that stand up etcd clusters which find their members through DNS.

pub mod bridge;
pub mod bundled;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod engine;
pub mod fns;
pub mod host;
pub mod human;
pub mod output;
pub mod params;
pub mod primitives;
pub mod providers;
pub mod repl;
pub mod runner;
pub mod script;
pub mod services;
pub mod state;
pub mod world;
