//! rigger's integration tests: the real binary, real scripts, real signals.

mod aws;
mod bad_inputs;
mod bind;
mod cli;
mod cloud;
mod cloud_health;
mod cloudflare;
mod diagnostics;
mod doctor;
mod doctor_support;
mod etcd35;
mod faults;
mod harness;
mod health;
mod interrupt;
mod lab;
mod lab_support;
mod layers;
mod limits;
mod params;
mod plan;
mod reference;
mod repl;
mod route53;
mod run;
mod stdlib;
