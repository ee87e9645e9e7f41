//! Logic below the primitives: waiting, and (as worlds land) journals, PKI and etcd.

pub mod wait;
