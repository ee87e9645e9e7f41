//! rigger's integration tests: the real binary, real scripts, real signals.

mod aws;
mod backup;
mod backup_s3;
mod bad_inputs;
mod bind;
mod bind_primary;
mod booted;
mod booted_cluster;
mod booted_faults;
mod booted_upgrade;
mod certs;
mod cli;
mod cloud;
mod cloud_health;
mod cloudflare;
mod cloudflare_api;
mod day2;
mod diagnostics;
mod docs;
mod doctor;
mod doctor_bind;
mod doctor_cloud;
mod doctor_dnsmasq;
mod download;
mod etcd35;
mod examples;
mod faults;
mod flags;
mod follow;
mod harness;
mod health;
mod hosts;
mod interrupt;
mod keyspace;
mod lab;
mod layers;
mod limits;
mod markers;
mod named;
mod operator;
mod operator_lab;
mod params;
mod plan;
// The benchmark's proxy (bench/cloud.sh), counting the requests of `rounds`.
#[path = "../../bench/proxy.rs"]
mod proxy;
// Its DNS relay (RFC 2136 against BIND), checked in `rounds`.
#[path = "../../bench/dns_relay.rs"]
mod dns_relay;
mod recover;
mod reference;
mod repl;
mod rounds;
mod route53;
mod run;
mod ssh;
mod stdlib;
mod upgrade;
mod users;
