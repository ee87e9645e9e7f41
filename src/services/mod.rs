//! Logic below the primitives: waiting, and (as worlds land) journals, PKI and etcd.

pub mod health;
pub mod journal;
pub mod pki;
pub mod resolve;
pub mod wait;
