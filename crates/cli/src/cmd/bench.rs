//! `pitwall bench ingest`: a load generator for the ingest server, and the same load against a
//! baseline server measured in the same run.
//!
//! K client streams send realistic frames for a fixed time; each keeps at most `--window`
//! frames unacknowledged, as a bridge does. The server under test runs as its own process, so
//! its CPU time and resident memory are read from `/proc/<pid>` apart from the clients'. The
//! clients send frames pre-encoded (12 s of a car's consecutive frames, in turn, each with the
//! `seq` field in front: protobuf accepts fields in any order), the way a bridge sends the bytes
//! it already encoded for its recording, so the figures are dominated by the server, and what
//! the server compresses varies as a real car's frames do. The load, the frames and the
//! measurements are the `loadgen` crate's; this module is the command line and the printing.
//!
//! Servers are started by command line: `pitwall serve` (this binary) by default, and the
//! baseline by `--baseline-cmd` (e.g. the Python `grpc.aio` reference server in
//! `benches/reference_ingest_server.py`; `benches/ingest.sh` runs both). A server command must
//! print `listening on HOST:PORT` on stdout or stderr once it accepts connections.

use crate::cmd::text::outln;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context as _, bail};
use loadgen::client::{Load, Report};
use loadgen::server::{ServerProcess, Usage};

/// How long a server has to print `listening on ADDR` after it is started.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `pitwall bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Streams simulated frames from K clients into the ingest server (and a baseline server).
    Ingest(IngestArgs),
}

/// Arguments of `pitwall bench ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Concurrent client streams (one session each).
    #[arg(long, default_value_t = 4)]
    streams: u32,
    /// How long the clients send, seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Most unacknowledged frames per stream (a bridge's in-flight window).
    #[arg(long, default_value_t = 65_536)]
    window: u64,
    /// Data directory for `pitwall serve` [default: a temporary directory, removed after].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// TOML config for `pitwall serve` (e.g. to choose its sinks).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Command line of a baseline server to measure with the same load (split on spaces).
    #[arg(long, value_name = "CMD")]
    baseline_cmd: Option<String>,
    /// How long the baseline's clients send, seconds [default: --seconds].
    #[arg(long)]
    baseline_seconds: Option<f64>,
    /// Skip pitwall's own server (measure only the baseline).
    #[arg(long)]
    no_pitwall: bool,
}

/// Runs `pitwall bench`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Ingest(a) => ingest(a),
    }
}

fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    if args.streams == 0 || args.window == 0 || args.seconds <= 0.0 {
        bail!("--streams, --window and --seconds must be above 0");
    }
    let seconds = |s: f64, flag: &str| {
        Duration::try_from_secs_f64(s).with_context(|| format!("{flag} {s} is not a number of seconds"))
    };
    let load =
        Load { streams: args.streams, duration: seconds(args.seconds, "--seconds")?, window: args.window };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let mut results = Vec::new();
    if !args.no_pitwall {
        let temp;
        let data = match &args.data {
            Some(d) => d.clone(),
            None => {
                temp = tempfile::tempdir().context("cannot create a temporary data directory")?;
                temp.path().to_path_buf()
            }
        };
        let exe = std::env::current_exe().context("cannot find the pitwall executable")?;
        let mut cmd = Command::new(exe);
        cmd.arg("serve").arg("--listen").arg("127.0.0.1:0").arg("--data").arg(&data);
        if let Some(c) = &args.config {
            cmd.arg("--config").arg(c);
        }
        results.push(measure(&rt, "pitwall serve", cmd, &load)?);
    }
    if let Some(line) = &args.baseline_cmd {
        let cmd = loadgen::server::command_line("baseline", line)?;
        let load = match args.baseline_seconds {
            Some(s) => Load { duration: seconds(s, "--baseline-seconds")?, ..load },
            None => load,
        };
        results.push(measure(&rt, "baseline", cmd, &load)?);
    }
    if let [ours, base] = results.as_slice() {
        outln!(
            "ratio: pitwall serve acks {:.1}x the frames/s of the baseline with {} streams \
             (p99 ack latency {:.1} ms vs {:.1} ms)",
            ours.frames_per_s() / base.frames_per_s().max(f64::MIN_POSITIVE),
            args.streams,
            ms(ours.latency.p99),
            ms(base.latency.p99),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the server `name` with `cmd`, puts `load` on it, stops it and prints the figures.
fn measure(rt: &tokio::runtime::Runtime, name: &str, cmd: Command, load: &Load) -> anyhow::Result<Report> {
    let server = ServerProcess::spawn(name, cmd, LISTEN_TIMEOUT)?;
    let report = rt
        .block_on(loadgen::client::run(server.addr(), load))
        .with_context(|| format!("the load on the {name} server at {} failed", server.addr()))?;
    let usage = server.stop()?;
    print_result(name, &report, &usage, load.streams)?;
    Ok(report)
}

/// A duration in milliseconds, for printing.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One line of figures for one server.
fn print_result(name: &str, r: &Report, usage: &Usage, streams: u32) -> anyhow::Result<()> {
    let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.1}{unit}"));
    let secs = r.elapsed.as_secs_f64();
    outln!(
        "{:<13} {streams} streams: {:>10.0} frames/s acked ({:.0} MB/s, {} frames of {} B in {:.2} s); \
         ack latency p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; server CPU {} of a core, peak RSS {}; \
         client CPU {} of a core",
        name,
        r.frames_per_s(),
        r.bytes_per_s() / 1e6,
        r.frames,
        r.frame_len,
        secs,
        ms(r.latency.p50),
        ms(r.latency.p99),
        ms(r.latency.max),
        opt(usage.cpu_s.map(|c| 100.0 * c / secs), " %"),
        opt(usage.peak_rss_bytes.map(|b| b as f64 / (1024.0 * 1024.0)), " MB"),
        opt(r.client_cpu_s.map(|c| 100.0 * c / secs), " %"),
    )
}
