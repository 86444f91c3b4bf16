//! `pitwall sink`: a sink worker. Reads the frames that ingest nodes (`pitwall serve --sink
//! nats://…`) published to JetStream and writes the Parquet dataset (or recordings), acking
//! JetStream once the files are durable; or the telemetry laps into a records database (`--to
//! laps DB`, the timing join). Several workers share the work with `--worker K/M`
//! (see `ingest::sinks::jetstream::worker` and docs/jetstream.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ingest::sinks::jetstream::JetStreamConfig;
use ingest::sinks::jetstream::worker::{self, WorkerConfig};
use ingest::sinks::laps::{LapsConfig, LapsSink};
use ingest::sinks::parquet::{ParquetConfig, ParquetSink};
use ingest::sinks::recording::{RecordingConfig, RecordingSink};

use super::UsageError;
use super::serve::{NatsServers, nats_servers};

/// Arguments of `pitwall sink`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The JetStream servers: nats://HOST:PORT[,nats://HOST:PORT…].
    #[arg(long, value_name = "URL", value_parser = nats_servers)]
    from: NatsServers,
    /// What to write, and where: `parquet DIR` (the dataset and catalogue of `pitwall serve`'s
    /// Parquet sink), `recording DIR` (one .pb.gz per session) or `laps DB` (the telemetry laps
    /// in a records database, joined to the server's laps; one worker, 1/1, per database).
    #[arg(long, num_args = 2, value_names = ["KIND", "PATH"], required = true)]
    to: Vec<String>,
    /// This worker's share of the sessions: worker K of M (1-based); every share must run
    /// exactly once [default: 1/1].
    #[arg(long, value_name = "K/M", value_parser = share)]
    worker: Option<(u8, u8)>,
    /// The stream to read.
    #[arg(long, value_name = "NAME", default_value = ingest::sinks::jetstream::DEFAULT_STREAM)]
    stream: String,
    /// Replicas of the stream if this worker is the first to use it and creates it (3 on a
    /// JetStream cluster); a stream that exists is used as it is.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    replicas: u8,
    /// Prefix of the durable consumers' names [default: pitwall-KIND].
    #[arg(long, value_name = "NAME")]
    consumer: Option<String>,
    /// Flush (finish the files, then ack JetStream) every this many ms.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    flush_ms: u64,
}

fn share(s: &str) -> Result<(u8, u8), String> {
    let bad = || format!("{s:?}: a share is K/M, 1 <= K <= M <= 16");
    let (k, m) = s.split_once('/').ok_or_else(bad)?;
    let (k, m): (u8, u8) = (k.trim().parse().map_err(|_| bad())?, m.trim().parse().map_err(|_| bad())?);
    if k == 0 || k > m || m > ingest::sinks::jetstream::PARTITIONS {
        return Err(bad());
    }
    Ok((k - 1, m))
}

/// Runs the worker until SIGINT or SIGTERM, then flushes and acks what it wrote.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let [kind, dir] = <[String; 2]>::try_from(args.to).map_err(|_| UsageError("--to KIND PATH".into()))?;
    let dir = PathBuf::from(dir);
    if args.flush_ms == 0 {
        return Err(UsageError("--flush-ms must be at least 1".into()).into());
    }
    let NatsServers(servers) = args.from;
    let jetstream = JetStreamConfig {
        stream: args.stream,
        replicas: usize::from(args.replicas),
        ..JetStreamConfig::new(servers)
    };
    let mut config = WorkerConfig::new(jetstream);
    config.name = args.consumer.unwrap_or_else(|| format!("pitwall-{kind}"));
    config.share = args.worker.unwrap_or((0, 1));
    config.flush_interval = Duration::from_millis(args.flush_ms);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pitwall-sink")
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(async move {
        let stop = tokio_util::sync::CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            super::stop::requested().await;
            on_signal.cancel();
        });
        let (k, m) = config.share;
        eprintln!(
            "pitwall sink: {} → {kind} {} (worker {}/{m}, partitions {:?})",
            config.jetstream.servers.join(","),
            dir.display(),
            k + 1,
            config.partitions()
        );
        let report = match kind.as_str() {
            "parquet" => {
                let owner = config.clone();
                let scope: ingest::sinks::parquet::Scope = Arc::new(move |s| owner.owns(s));
                let sink = ParquetSink::open_scoped(&dir, &ParquetConfig::default(), Some(scope))
                    .with_context(|| format!("opening the Parquet dataset {}", dir.display()))?;
                worker::run(config, sink, stop).await
            }
            "recording" => {
                let sink = RecordingSink::open(&dir, &RecordingConfig::default())
                    .with_context(|| format!("opening the recordings folder {}", dir.display()))?;
                worker::run(config, sink, stop).await
            }
            "laps" => {
                let sink = LapsSink::open(&dir, &LapsConfig::default())
                    .with_context(|| format!("opening the records database {}", dir.display()))?;
                worker::run(config, sink, stop).await
            }
            other => {
                return Err(UsageError(format!(
                    "--to {other:?}: use `parquet DIR`, `recording DIR` or `laps DB`"
                ))
                .into());
            }
        }
        .context("sink worker")?;
        eprintln!(
            "pitwall sink: stopped; {} messages acknowledged, {} frames written",
            report.messages, report.frames
        );
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_parse_one_based_and_bad_ones_say_why() {
        assert_eq!(share("1/1"), Ok((0, 1)));
        assert_eq!(share("2/3"), Ok((1, 3)));
        for bad in ["0/2", "3/2", "1/17", "x", "1/"] {
            assert!(share(bad).unwrap_err().contains("K/M"), "{bad}");
        }
    }
}
