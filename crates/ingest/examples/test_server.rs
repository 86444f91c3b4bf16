//! A bare ingest server for the integration tests, which need a process they can SIGKILL.
//! Prints `listening on ADDR` on stdout once it accepts connections, then serves until SIGINT or
//! SIGTERM. `pitwall serve` is the real entry point.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    #[arg(long)]
    data: PathBuf,
    #[arg(long)]
    token: Option<String>,
    #[arg(long)]
    config: Option<PathBuf>,
    /// Sinks by name, each a null sink.
    #[arg(long = "null-sink")]
    null_sinks: Vec<String>,
    /// Parquet sinks by name (default settings, `DATA/sinks/<name>`).
    #[arg(long = "parquet")]
    parquet_sinks: Vec<String>,
    /// Parquet flush interval, ms (default: the sink type's).
    #[arg(long = "parquet-flush-ms")]
    parquet_flush_ms: Option<u64>,
    /// Recording sinks by name.
    #[arg(long = "recording")]
    recording_sinks: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PITWALL_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = match &args.config {
        Some(path) => match ingest::Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {}", ingest::ErrorChain(&e));
                return ExitCode::FAILURE;
            }
        },
        None => ingest::Config::default(),
    };
    config.listen = args.listen;
    config.data_dir = args.data;
    config.token = args.token.or(config.token);
    for name in args.null_sinks {
        config.sinks.push(ingest::sinks::SinkConfig::new(
            name,
            ingest::sinks::SinkKind::Null(ingest::sinks::null::NullConfig::default()),
        ));
    }
    for name in args.parquet_sinks {
        let mut sc = ingest::sinks::SinkConfig::new(
            name,
            ingest::sinks::SinkKind::Parquet(ingest::sinks::parquet::ParquetConfig::default()),
        );
        if let Some(ms) = args.parquet_flush_ms {
            sc.flush_interval_ms = ms;
        }
        config.sinks.push(sc);
    }
    for name in args.recording_sinks {
        config.sinks.push(ingest::sinks::SinkConfig::new(
            name,
            ingest::sinks::SinkKind::Recording(ingest::sinks::recording::RecordingConfig::default()),
        ));
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        let running = ingest::Server::new(config).start().await?;
        println!("listening on {}", running.local_addr());
        let _ = std::io::stdout().flush();
        running.run_until(ingest::shutdown_signal()).await
    });
    match result {
        Ok(stats) => {
            println!("stopped: {} frames stored", stats.frames_stored);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", ingest::ErrorChain(&e));
            ExitCode::FAILURE
        }
    }
}
