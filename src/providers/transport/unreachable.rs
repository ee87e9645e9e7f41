//! The transport of a world whose machines rigger must not (or cannot yet) reach: every
//! call fails with the reason, before any packet is sent.

use std::time::Duration;

use async_trait::async_trait;

use super::{ExecOutput, Process, Transport};
use crate::base::error::{Error, ErrorKind, Result};
use crate::providers::Instance;

pub struct Unreachable {
    pub reason: String,
    pub help: String,
}

impl Unreachable {
    fn refuse<T>(&self, node: &str) -> Result<T> {
        Err(Error::new(
            ErrorKind::Unreachable,
            format!("not connecting to {node}: {}", self.reason),
        )
        .with_help(self.help.clone()))
    }
}

#[async_trait]
impl Transport for Unreachable {
    async fn run(&self, node: &Instance, _command: &str, _timeout: Duration) -> Result<ExecOutput> {
        self.refuse(&node.name)
    }

    async fn upload(&self, node: &Instance, _path: &str, _bytes: &[u8], _mode: u32) -> Result<()> {
        self.refuse(&node.name)
    }

    async fn spawn(&self, node: &Instance, _name: &str, _argv: &[String]) -> Result<Process> {
        self.refuse(&node.name)
    }

    async fn stop(&self, _process: &Process) -> Result<()> {
        // Nothing was ever started through this transport.
        Ok(())
    }
}
