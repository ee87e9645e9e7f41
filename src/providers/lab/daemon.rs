//! `rigger lab serve`: the lab's DNS server and its control socket, in the lab's
//! network namespace, outliving the command that started it.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_server::Server;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, UdpSocket, UnixListener};

use super::dns_server::{self, Zones};
use super::{Lab, netns};

fn serial() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() as u32)
}

/// Runs until told to stop. Called on a process of its own (see `Lab::ensure_up`).
pub fn serve(lab: &Lab) -> Result<(), String> {
    let file = lab.load().map_err(|e| e.to_string())?;
    if file.id.is_empty() {
        return Err("no lab in this state dir".into());
    }
    // Before any thread exists: every socket the runtime opens is then in the lab.
    netns::enter(&file.netns()).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run(lab.clone()))
}

async fn run(lab: Lab) -> Result<(), String> {
    let zones = Zones::default();
    reload(&lab, &zones).await?;
    let address = SocketAddr::new(netns::bridge_ip().into(), 53);
    let mut server = Server::new(zones.clone());
    server.register_socket(
        UdpSocket::bind(address)
            .await
            .map_err(|e| format!("cannot listen on udp {address}: {e}"))?,
    );
    server.register_listener(
        TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on tcp {address}: {e}"))?,
        Duration::from_secs(5),
        64,
    );
    let socket = lab.control_socket();
    let _ = std::fs::remove_file(&socket);
    let control = UnixListener::bind(&socket)
        .map_err(|e| format!("cannot listen on {}: {e}", socket.display()))?;
    eprintln!(
        "lab DNS serving on {address}, control at {}",
        socket.display()
    );
    loop {
        let (stream, _) = control.accept().await.map_err(|e| e.to_string())?;
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        if BufReader::new(read).read_line(&mut line).await.is_err() {
            continue;
        }
        let reply = match line.trim() {
            "ping" => Ok(false),
            "reload" => reload(&lab, &zones).await.map(|()| false),
            "stop" => Ok(true),
            other => Err(format!("unknown command {other:?}")),
        };
        let text = match &reply {
            Ok(_) => "ok\n".to_string(),
            Err(e) => format!("error: {e}\n"),
        };
        let _ = write.write_all(text.as_bytes()).await;
        if matches!(reply, Ok(true)) {
            let _ = std::fs::remove_file(&socket);
            let _ = server.shutdown_gracefully().await;
            return Ok(());
        }
    }
}

async fn reload(lab: &Lab, zones: &Zones) -> Result<(), String> {
    let file = lab.load().map_err(|e| e.to_string())?;
    let catalog = dns_server::catalog(&file.zones, netns::bridge_ip(), serial())?;
    zones.install(catalog).await;
    Ok(())
}
