//! Polling until something in the world becomes true, reporting what was seen last.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::base::error::{Error, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("{address:?} is not a host:port address")]
    BadAddress { address: String },
    #[error("{address} did not accept a connection within {}; last attempt: {last}", crate::base::human::duration(*.waited))]
    Timeout {
        address: String,
        waited: Duration,
        last: String,
    },
}

impl From<WaitError> for Error {
    fn from(e: WaitError) -> Self {
        let kind = match e {
            WaitError::BadAddress { .. } => ErrorKind::Invalid,
            WaitError::Timeout { .. } => ErrorKind::Timeout,
        };
        Error::new(kind, e.to_string())
    }
}

/// Tries to connect every `interval` until one attempt succeeds or `timeout` passes.
pub async fn tcp(address: &str, timeout: Duration, interval: Duration) -> Result<(), WaitError> {
    if address
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(WaitError::BadAddress {
            address: address.to_string(),
        });
    }
    let deadline = Instant::now() + timeout;
    let mut last: String;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = left.min(Duration::from_secs(2));
        match tokio::time::timeout(attempt, TcpStream::connect(address)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(err)) => last = err.to_string(),
            Err(_) => last = format!("no answer within {}", crate::base::human::duration(attempt)),
        }
        if Instant::now() + interval >= deadline {
            return Err(WaitError::Timeout {
                address: address.to_string(),
                waited: timeout,
                last,
            });
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_once_a_listener_appears() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tcp(&address, Duration::from_secs(5), Duration::from_millis(50))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn times_out_with_the_last_error_when_nothing_listens() {
        // Bind then drop: the port is free and nothing listens on it.
        let address = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let err = tcp(
            &address,
            Duration::from_millis(300),
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("within 300ms"), "{text}");
        assert!(text.contains("refused"), "{text}");
    }

    #[tokio::test]
    async fn rejects_an_address_without_a_port() {
        let err = tcp(
            "localhost",
            Duration::from_secs(1),
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
        assert_eq!(Error::from(err).kind, ErrorKind::Invalid);
    }
}
