//! What a world is made of: one trait per concern (Compute, Dns, Transport, Local,
//! Probe, EtcdApi), one module per backend, and the table that names them all.

pub mod aws;
pub mod backends;
pub mod compute;
pub mod discovery;
pub mod dns;
pub mod etcd_api;
pub mod lab;
pub mod local;
pub mod members;
pub mod opening;
pub mod owners;
pub mod plan;
pub mod probe;
pub mod records;
pub mod release;
pub mod tls;
pub mod transport;

pub use crate::base::error::{Error, ErrorKind, Result};
pub use compute::{Compute, Instance, InstanceSpec};
pub use dns::{Dns, Zone};
pub use etcd_api::EtcdApi;
pub use local::{CaFiles, CertFiles, LeafSpec, Local};
pub use probe::{Answer, DnsWait, Probe};
pub use records::{Record, RecordData, RecordSpec};
pub use tls::TlsFiles;
pub use transport::{ExecOutput, NodeResolver, Process, Transport};
