//! `pitwall serve`: the ingest server. Bridges stream frames to it over gRPC; it acks them once
//! they are durable in its write-ahead log and materialises them through its sinks.
//!
//! Settings come from `--config FILE` (TOML, see `ingest::config`), then the flags override.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// Arguments of `pitwall serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:50051]. Anything but loopback requires --token.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory: write-ahead log, sink checkpoints, sink output (Parquet in
    /// DIR/sinks/parquet unless --config says otherwise) [default: pitwall-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// TOML config file; the flags given here override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Bearer token clients must send (`authorization: Bearer <token>`).
    #[arg(long, env = "PITWALL_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// TLS certificate chain, PEM (with --tls-key).
    #[arg(long, value_name = "F", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (with --tls-cert).
    #[arg(long, value_name = "F", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully (streams drained and
/// acked, WAL committed, sinks flushed).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => ingest::Config::load(path)?,
        None => ingest::Config::serve_default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(data) = args.data {
        config.data_dir = data;
    }
    if let Some(m) = args.metrics {
        config.metrics = Some(m);
    }
    if let Some(token) = args.token {
        config.token = Some(token);
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(ingest::TlsConfig { cert, key });
    }
    config.validate()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pitwall-serve")
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async {
        let running = ingest::Server::new(config).start().await.context("starting the ingest server")?;
        eprintln!("pitwall serve: listening on {}", running.local_addr());
        if let Some(m) = running.metrics_addr() {
            eprintln!("pitwall serve: metrics at http://{m}/metrics");
        }
        let stats = running.run_until(super::stop::requested()).await.context("ingest server")?;
        eprintln!(
            "pitwall serve: stopped; {} frames stored ({} duplicates dropped) in {} group commits",
            stats.frames_stored, stats.duplicates, stats.commits
        );
        Ok(ExitCode::SUCCESS)
    })
}
