//! The benchmark's latency-injecting reverse proxy (issue 12): one process, one proxy
//! per API, one log, so that a run's requests to moto and to the Cloudflare stand-in
//! are counted on one clock and the longest chain runs through both.
//!
//!   cargo run --example latency-proxy -- --latency 0.25 \
//!       --forward aws=http://127.0.0.1:5000 --forward cloudflare=http://127.0.0.1:8000 \
//!       --ready /tmp/proxy.env
//!
//! Each proxy listens on a free loopback port; once all listen, the ready file is
//! written (by rename, so a reader never sees half of it) with one `NAME=URL` line per
//! proxy and `control=URL`. The control listener answers `GET /stats` (the requests
//! since the last reset as JSON: by kind, the longest chain, at most in flight, the
//! log) and `POST /reset`. It holds nothing and is not counted.

// `start` is for the tests, which run a proxy in their own process.
#[path = "dns_relay.rs"]
mod dns_relay;
#[allow(dead_code)]
#[path = "proxy.rs"]
mod proxy;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::{get, post};
use clap::Parser;

use proxy::Log;

#[derive(Parser)]
#[command(about = "Holds every request S seconds and counts them (rigger's benchmark)")]
struct Args {
    /// Seconds each request is held before it is forwarded (one round trip).
    #[arg(long, default_value_t = 0.25)]
    latency: f64,
    /// NAME=URL: a proxy to the loopback URL, reported under NAME.
    #[arg(long = "forward")]
    forwards: Vec<String>,
    /// NAME=ADDR: a DNS relay (UDP and TCP on one port) to the loopback server ADDR,
    /// reported under NAME as ADDR of its own.
    #[arg(long = "forward-dns")]
    dns_forwards: Vec<String>,
    /// Where to write the proxies' and the control's URLs once they listen.
    #[arg(long)]
    ready: std::path::PathBuf,
}

async fn bind() -> Result<(tokio::net::TcpListener, String), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((listener, format!("http://{addr}")))
}

async fn run(args: Args) -> Result<(), String> {
    if !(0.0..=60.0).contains(&args.latency) {
        return Err(format!("--latency {}: from 0 to 60 seconds", args.latency));
    }
    let latency = Duration::from_secs_f64(args.latency);
    let log = Log::new();
    let mut ready = String::new();
    let mut tasks = tokio::task::JoinSet::new();
    for forward in &args.forwards {
        let (name, url) = forward
            .split_once('=')
            .ok_or_else(|| format!("--forward {forward}: not NAME=URL"))?;
        let upstream = proxy::upstream(url)?;
        let (listener, base) = bind().await?;
        ready.push_str(&format!("{name}={base}\n"));
        let log = log.clone();
        tasks.spawn(async move { proxy::serve(listener, &upstream, latency, log).await });
    }
    for forward in &args.dns_forwards {
        let (name, addr) = forward
            .split_once('=')
            .ok_or_else(|| format!("--forward-dns {forward}: not NAME=ADDR"))?;
        let upstream: std::net::SocketAddr = addr
            .parse()
            .map_err(|e| format!("--forward-dns {forward}: {e}"))?;
        let (udp, tcp) = dns_relay::bind_dns().await?;
        let at = tcp.local_addr().map_err(|e| e.to_string())?;
        ready.push_str(&format!("{name}={at}\n"));
        let log = log.clone();
        tasks.spawn(async move { dns_relay::serve(udp, tcp, upstream, latency, log).await });
    }
    let (listener, base) = bind().await?;
    ready.push_str(&format!("control={base}\n"));
    let control = axum::Router::new()
        .route(
            "/stats",
            get(|State(log): State<Arc<Log>>| async move { axum::Json(log.stats().to_json()) }),
        )
        .route(
            "/reset",
            post(|State(log): State<Arc<Log>>| async move { log.reset() }),
        )
        .with_state(log);
    tasks.spawn(async move {
        axum::serve(listener, control)
            .await
            .map_err(|e| e.to_string())
    });
    let partial = args.ready.with_extension("partial");
    std::fs::write(&partial, ready).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &args.ready).map_err(|e| format!("{}: {e}", args.ready.display()))?;
    // Serves until killed; a listener that fails ends the process, saying why.
    match tasks.join_next().await {
        Some(Ok(Err(e))) => Err(e),
        Some(Err(e)) => Err(e.to_string()),
        _ => Ok(()),
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("latency-proxy: {e}");
        std::process::exit(1);
    }
}
