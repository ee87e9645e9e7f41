//! Logic below the world and above the backends: DNS questions, waiting, certificates,
//! cluster health, the discovery doctor. Each returns a typed error that maps to the one error model.

pub mod backup_store;
pub mod bolt;
pub mod cert_info;
pub mod certs;
pub mod doctor;
pub mod drift;
pub mod etcd_client;
pub mod etcd_grpc;
pub mod etcd_pb;
pub mod health;
pub mod membership;
pub mod metrics;
pub mod node_lookup;
pub mod pki;
pub mod probe;
pub mod ready;
pub mod resolve;
pub mod s3_store;
pub mod served_cert;
pub mod snapshot;
pub mod snapshot_file;
pub mod wait;
