//! rigger: Rhai scripts that stand up etcd clusters which find their members through DNS.
//!
//! The layers, top to bottom (imports only point down; `tests/rigger/layers.rs` checks):
//! `cli` (commands, REPL, rendering) > `script` (engine, modules, reference) >
//! `primitives` (the Rhai surface, the bridge) > `world` (journal, journaling) >
//! `services` (DNS questions, waits, PKI, health) > `providers` (one module per
//! backend, and their table) > `base` (errors, state dir, output, names).

pub mod base;
pub mod cli;
pub mod primitives;
pub mod providers;
pub mod script;
pub mod services;
pub mod world;
