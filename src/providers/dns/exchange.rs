//! One DNS message sent to one server and its answer read back: over UDP, sent again when
//! no answer comes in time, and over TCP when the answer is truncated. RFC 2136's
//! questions and updates, the doctor and the resolvers all go through here; each says
//! how long to wait and how often to try, and reads the answer's bytes its own way.
//!
//! Sockets are made by tokio in the calling task: the caller's runtime decides which
//! network namespace they are in.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long to wait for an answer, and how many times to send a question over UDP
/// before giving up (a truncated answer's TCP retry is tried once).
#[derive(Debug, Clone, Copy)]
pub struct Tries {
    pub timeout: Duration,
    pub attempts: u32,
}

/// Which transport a failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Udp,
    /// The retry of a truncated answer, or a message sent over TCP only.
    Tcp,
}

/// Why no answer came back.
#[derive(Debug)]
pub enum Failure {
    /// Nothing within the timeout, on each of `attempts` tries.
    Silent { over: Over, attempts: u32 },
    /// A socket error (over UDP, a refusal the kernel reported): not tried again.
    Io { over: Over, source: io::Error },
}

impl Failure {
    /// The socket error in words, without its errno: "Connection refused".
    pub fn plain(source: &io::Error) -> String {
        let why = source.to_string();
        why.split(" (os error").next().unwrap_or(&why).to_string()
    }
}

impl fmt::Display for Over {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Over::Udp => "UDP",
            Over::Tcp => "TCP",
        })
    }
}

/// One question, with EDNS's 1232-byte UDP payload (the size that avoids
/// fragmentation, so an answer of many SRV records still fits a datagram). A zone's own
/// server is asked without recursion (what it holds, not what it could find elsewhere);
/// a node's resolver, as a stub resolver asks it, with.
pub fn question(qname: Name, rtype: RecordType, recursion_desired: bool) -> Message {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = recursion_desired;
    msg.add_query(Query::query(qname, rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232).set_version(0);
    msg.set_edns(edns);
    msg
}

/// Sends `request` (whose ID is `id`) to `server` over UDP, up to `tries.attempts` times
/// while no answer comes within `tries.timeout`, and once more over TCP when the answer
/// has the TC bit: the answer's bytes, whole.
pub async fn exchange(
    server: SocketAddr,
    request: &[u8],
    id: u16,
    tries: Tries,
) -> Result<Vec<u8>, Failure> {
    let attempts = tries.attempts.max(1);
    for _ in 0..attempts {
        match tokio::time::timeout(tries.timeout, udp(server, request, id)).await {
            Err(_) => continue,
            Ok(Err(source)) => {
                return Err(Failure::Io {
                    over: Over::Udp,
                    source,
                });
            }
            Ok(Ok(raw)) if truncated(&raw) => {
                return over_tcp(server, request, id, tries.timeout).await;
            }
            Ok(Ok(raw)) => return Ok(raw),
        }
    }
    Err(Failure::Silent {
        over: Over::Udp,
        attempts,
    })
}

/// Sends `request` to `server` over TCP once, waiting at most `timeout`.
pub async fn over_tcp(
    server: SocketAddr,
    request: &[u8],
    id: u16,
    timeout: Duration,
) -> Result<Vec<u8>, Failure> {
    match tokio::time::timeout(timeout, tcp(server, request, id)).await {
        Err(_) => Err(Failure::Silent {
            over: Over::Tcp,
            attempts: 1,
        }),
        Ok(Err(source)) => Err(Failure::Io {
            over: Over::Tcp,
            source,
        }),
        Ok(Ok(raw)) => Ok(raw),
    }
}

/// Whether an answer's header has the TC bit: the server had more to say than fits.
fn truncated(raw: &[u8]) -> bool {
    raw.len() > 2 && raw[2] & 0x02 != 0
}

/// Whether `raw` is an answer (QR set) to the question with ID `id`.
fn answers(raw: &[u8], id: u16) -> bool {
    raw.len() >= 12 && u16::from_be_bytes([raw[0], raw[1]]) == id && raw[2] & 0x80 != 0
}

async fn udp(server: SocketAddr, request: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await?;
    // Connected: the kernel drops datagrams from other peers and reports ICMP errors.
    sock.connect(server).await?;
    sock.send(request).await?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await?;
        // A stray datagram (another ID, or not a response) is skipped; the caller's
        // timeout bounds the wait.
        if answers(&buf[..n], id) {
            buf.truncate(n);
            return Ok(buf);
        }
    }
}

async fn tcp(server: SocketAddr, request: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let len = u16::try_from(request.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "DNS message over 65535 bytes"))?;
    let mut stream = TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let mut framed = Vec::with_capacity(request.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(request);
    stream.write_all(&framed).await?;
    loop {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await?;
        if buf.len() >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            return Ok(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP server on loopback that answers each question with `answer(question)`.
    async fn serve(answer: fn(&[u8]) -> Option<Vec<u8>>) -> SocketAddr {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = sock.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = sock.recv_from(&mut buf).await {
                if let Some(reply) = answer(&buf[..n]) {
                    let _ = sock.send_to(&reply, from).await;
                }
            }
        });
        at
    }

    fn question(id: u16) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        q
    }

    const QUICK: Tries = Tries {
        timeout: Duration::from_millis(200),
        attempts: 2,
    };

    #[tokio::test]
    async fn an_answer_comes_back_whole_and_strays_are_skipped() {
        let server = serve(|q| {
            let mut a = q.to_vec();
            a[2] |= 0x80;
            Some(a)
        })
        .await;
        let raw = exchange(server, &question(7), 7, QUICK).await.unwrap();
        assert_eq!(raw[..2], [0, 7]);
        assert!(answers(&raw, 7));
        assert!(!answers(&question(7), 7), "a question is not an answer");
        assert!(!answers(&raw, 8), "another ID is not this answer");
    }

    #[tokio::test]
    async fn silence_is_tried_again_then_said() {
        let server = serve(|_| None).await;
        let started = tokio::time::Instant::now();
        let Err(Failure::Silent { over, attempts }) =
            exchange(server, &question(1), 1, QUICK).await
        else {
            panic!("a silent server is silence");
        };
        assert_eq!((over, attempts), (Over::Udp, 2));
        assert!(started.elapsed() >= Duration::from_millis(400));
    }

    #[tokio::test]
    async fn a_truncated_answer_is_asked_again_over_tcp() {
        // TCP first: its port is then taken for UDP too, so both are this test's.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let at = listener.local_addr().unwrap();
        let sock = UdpSocket::bind(at).await.unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            let (n, from) = sock.recv_from(&mut buf).await.unwrap();
            buf[2] |= 0x82;
            sock.send_to(&buf[..n], from).await.unwrap();
        });
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut len = [0u8; 2];
            stream.read_exact(&mut len).await.unwrap();
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut q).await.unwrap();
            q[2] |= 0x80;
            q.push(0xAA);
            let mut framed = (q.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&q);
            stream.write_all(&framed).await.unwrap();
        });
        let raw = exchange(at, &question(3), 3, QUICK).await.unwrap();
        assert_eq!(
            raw.last(),
            Some(&0xAA),
            "the answer is the one sent over TCP"
        );
        assert!(!truncated(&raw));
    }
}
