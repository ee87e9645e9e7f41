//! The benchmark's DNS relay (issue 12, RFC 2136 against BIND): holds every DNS message a
//! fixed time before forwarding it to a server on loopback, over UDP and TCP on one port,
//! as a round trip to a remote primary would, and writes each exchange to the proxies'
//! log (bench/proxy.rs) as `dns UPDATE` or `dns QUERY <type>`, with the answer's RCODE
//! as its status. This kernel has no `netem`, so the latency cannot come from `tc`.
//!
//! Only loopback, as the HTTP proxy: it listens on and forwards to loopback addresses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::proxy::{Entry, Log, loopback, now};

/// What a message is, for the log: its opcode, and a query's type.
pub fn kind(message: &[u8]) -> String {
    let opcode = message.get(2).map_or(0, |b| (b >> 3) & 0x0f);
    match opcode {
        0 => format!("dns QUERY {}", qtype(message).unwrap_or("?")),
        5 => "dns UPDATE".to_string(),
        other => format!("dns opcode {other}"),
    }
}

/// The type of the first question, skipping its name (uncompressed in a query).
fn qtype(message: &[u8]) -> Option<&'static str> {
    let mut at = 12;
    loop {
        let len = usize::from(*message.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        at += len;
    }
    let code = u16::from_be_bytes([*message.get(at)?, *message.get(at + 1)?]);
    Some(match code {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        _ => "other",
    })
}

fn rcode(answer: &[u8]) -> u16 {
    answer.get(3).map_or(0, |b| u16::from(b & 0x0f))
}

/// A UDP socket and a TCP listener on one free loopback port.
pub async fn bind_dns() -> Result<(tokio::net::UdpSocket, tokio::net::TcpListener), String> {
    for _ in 0..20 {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let at = tcp.local_addr().map_err(|e| e.to_string())?;
        // The port may be some other program's in UDP: then another one.
        if let Ok(udp) = tokio::net::UdpSocket::bind(at).await {
            return Ok((udp, tcp));
        }
    }
    Err("no loopback port free in both UDP and TCP".into())
}

/// Serves the relay on `udp` and `tcp` (one loopback port) to `upstream`.
pub async fn serve(
    udp: UdpSocket,
    tcp: TcpListener,
    upstream: SocketAddr,
    latency: Duration,
    log: Arc<Log>,
) -> Result<(), String> {
    loopback(udp.local_addr().map_err(|e| e.to_string())?)?;
    loopback(tcp.local_addr().map_err(|e| e.to_string())?)?;
    loopback(upstream)?;
    let udp = Arc::new(udp);
    let datagrams = {
        let (udp, log) = (udp.clone(), log.clone());
        async move {
            let mut buf = vec![0u8; 65535];
            loop {
                let (len, client) = udp.recv_from(&mut buf).await.map_err(|e| e.to_string())?;
                let message = buf[..len].to_vec();
                let (udp, log) = (udp.clone(), log.clone());
                tokio::spawn(async move {
                    let start = now();
                    tokio::time::sleep(latency).await;
                    if let Some(answer) = over_udp(&message, upstream).await {
                        let _ = udp.send_to(&answer, client).await;
                        log.push(Entry {
                            kind: kind(&message),
                            start,
                            end: now(),
                            status: rcode(&answer),
                        });
                    }
                });
            }
        }
    };
    let streams = async move {
        loop {
            let (client, _) = tcp.accept().await.map_err(|e| e.to_string())?;
            let log = log.clone();
            tokio::spawn(async move {
                let _ = relay_stream(client, upstream, latency, log).await;
            });
        }
    };
    tokio::select! {
        r = datagrams => r,
        r = streams => r,
    }
}

/// One exchange with the server over a socket of its own; nothing after 5 s.
async fn over_udp(message: &[u8], upstream: SocketAddr) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    socket.connect(upstream).await.ok()?;
    socket.send(message).await.ok()?;
    let mut buf = vec![0u8; 65535];
    let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    buf.truncate(len);
    Some(buf)
}

/// A client's TCP connection, message by message (two-byte length prefixes), each
/// held before it goes on over the relay's own connection to the server.
async fn relay_stream(
    mut client: TcpStream,
    upstream: SocketAddr,
    latency: Duration,
    log: Arc<Log>,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    loop {
        let message = match read_message(&mut client).await {
            Ok(m) => m,
            Err(_) => return Ok(()),
        };
        let start = now();
        tokio::time::sleep(latency).await;
        write_message(&mut server, &message).await?;
        let answer = read_message(&mut server).await?;
        write_message(&mut client, &answer).await?;
        log.push(Entry {
            kind: kind(&message),
            start,
            end: now(),
            status: rcode(&answer),
        });
    }
}

async fn read_message(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u16().await?;
    let mut message = vec![0u8; usize::from(len)];
    stream.read_exact(&mut message).await?;
    Ok(message)
}

async fn write_message(stream: &mut TcpStream, message: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(message.len()).map_err(std::io::Error::other)?;
    stream.write_u16(len).await?;
    stream.write_all(message).await
}
