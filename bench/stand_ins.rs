//! The benchmark's stand-ins for the cloud's DNS (issue 12), as a process of their own:
//! the tests' Cloudflare stand-in with a DNS server following its records, and a DNS
//! server following moto's Route 53 hosted zone, each showing a new record only
//! `--propagation` seconds after it appeared, as a real provider's edge does.
//!
//!   cargo run --example stand-ins -- --propagation 1 --cloudflare \
//!       --route53 http://127.0.0.1:5000 --ready /tmp/stand-ins.env
//!
//! Once everything listens, the ready file is written (by rename) with `KEY=VALUE`
//! lines: `cloudflare` (the API's base URL, for CLOUDFLARE_API_BASE_URL),
//! `cloudflare_ns` (its zone's name server mapped to its DNS server, for
//! RIGGER_NAME_SERVERS), and for Route 53 `route53_zone` (the hosted zone made for
//! example.test in moto) and `route53_ns` (its delegation set mapped to its DNS server).
//! Both serve the zone example.test. Everything is on loopback; moto is asked directly,
//! not through the latency proxy, so following it costs the run nothing.

// The files the tests use, as they are: the tests use the rest of them.
#[allow(dead_code)]
#[path = "../tests/rigger/cloudflare_api.rs"]
mod cloudflare_api;
#[allow(dead_code)]
#[path = "../tests/rigger/follow.rs"]
mod follow;

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_route53::config::{Credentials, Region, SharedCredentialsProvider};
use clap::Parser;

use follow::{delayed, dns_serving_every, records_of, route53_followed};

#[derive(Parser)]
#[command(
    about = "Cloudflare and Route 53 stand-ins with a propagation delay (rigger's benchmark)"
)]
struct Args {
    /// Seconds a new record takes to show in DNS.
    #[arg(long, default_value_t = 1.0)]
    propagation: f64,
    /// Serve the Cloudflare stand-in and its DNS.
    #[arg(long)]
    cloudflare: bool,
    /// moto's URL (loopback): make a hosted zone there and serve its DNS.
    #[arg(long)]
    route53: Option<String>,
    /// Where to write the URLs and addresses once everything listens.
    #[arg(long)]
    ready: std::path::PathBuf,
}

/// How often the DNS servers read their source again: the propagation delay is kept to
/// within this much.
const REFRESH: Duration = Duration::from_millis(10);
/// How often moto's record sets are read (over HTTP, so less often).
const ROUTE53_POLL: Duration = Duration::from_millis(25);
const ZONE: &str = "example.test";

fn moto_config(url: &str) -> Result<SdkConfig, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("--route53 {url}: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    if !loopback {
        return Err(format!("--route53 {url}: moto must be on a loopback IP"));
    }
    // Static credentials and a region: the SDK's own chain would ask the instance
    // metadata service, an address outside this machine.
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "bench",
        )))
        .build())
}

/// Makes the hosted zone in moto and follows it; returns its ready-file lines.
async fn route53(url: &str, propagation: Duration) -> Result<Vec<String>, String> {
    let r53 = aws_sdk_route53::Client::new(&moto_config(url)?);
    let (zone, names, dns) = route53_followed(r53, ZONE, ROUTE53_POLL, propagation).await?;
    let ns: Vec<String> = names.iter().map(|n| format!("{n}={dns}")).collect();
    Ok(vec![
        format!("route53_zone={zone}"),
        format!("route53_ns={}", ns.join(",")),
    ])
}

async fn run(args: Args) -> Result<(), String> {
    if !(0.0..=600.0).contains(&args.propagation) {
        return Err(format!(
            "--propagation {}: from 0 to 600 seconds",
            args.propagation
        ));
    }
    let propagation = Duration::from_secs_f64(args.propagation);
    let mut ready = Vec::new();
    if args.cloudflare {
        let (base, api) = cloudflare_api::stand_in().await;
        let dns = dns_serving_every(REFRESH, delayed(propagation, move || records_of(&api))).await;
        ready.push(format!("cloudflare={base}"));
        // The name server the stand-in's zone lists (`name_servers`).
        ready.push(format!("cloudflare_ns=ns1.{ZONE}={dns}"));
    }
    if let Some(url) = &args.route53 {
        ready.extend(route53(url, propagation).await?);
    }
    if ready.is_empty() {
        return Err("nothing to serve: give --cloudflare, --route53 URL or both".into());
    }
    let partial = args.ready.with_extension("partial");
    std::fs::write(&partial, ready.join("\n") + "\n")
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &args.ready).map_err(|e| format!("{}: {e}", args.ready.display()))?;
    // Serves until killed.
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("stand-ins: {e}");
        std::process::exit(1);
    }
}
