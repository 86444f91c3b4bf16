//! Figures of the JetStream sink and the sink worker, against a running `nats-server -js`
//! (a benchmark, not a test: it prints, it asserts nothing).
//!
//! ```sh
//! nats-server -js -sd /tmp/nats-bench -p 14222 -a 127.0.0.1 &
//! cargo run --release -p pitwall-ingest --example jetstream_bench -- nats://127.0.0.1:14222 [SESSIONS] [FRAMES]
//! ```
//!
//! For 1, 16, 64 and 256 frames per message: FRAMES realistic frames of each of SESSIONS
//! sessions written through the sink in batches of 4096 (the pipeline's default), each write
//! returning once JetStream acknowledged it; then, for 256, one sink worker drains the stream
//! into a Parquet dataset and its rate is printed. Each run uses a stream of its own.

use std::time::{Duration, Instant};

use ingest::SessionId;
use ingest::sinks::jetstream::worker::{self, WorkerConfig};
use ingest::sinks::jetstream::{JetStreamConfig, JetStreamSink};
use ingest::sinks::parquet::{ParquetConfig, ParquetSink};
use ingest::sinks::{Sink, WalFrame, WalPosition};
use prost::Message as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: jetstream_bench nats://HOST:PORT [SESSIONS] [FRAMES]")?;
    let sessions: u32 = args.next().map_or(Ok(8), |s| s.parse())?;
    let per_session: u64 = args.next().map_or(Ok(20_000), |s| s.parse())?;
    let run_id = std::process::id();
    // The frames, encoded once, in the order a WAL would hold 8 streams' batches.
    let mut frames = Vec::new();
    let mut pos = WalPosition { segment: 1, offset: 64 };
    for chunk in 0..per_session.div_ceil(256) {
        for n in 0..sessions {
            let s = loadgen::frames::session_id(n);
            for seq in chunk * 256..((chunk + 1) * 256).min(per_session) {
                let bytes = loadgen::frames::realistic(s, seq).encode_to_vec();
                let f = WalFrame { position: pos, session_id: SessionId(s), seq, bytes: bytes.into() };
                pos = f.end();
                frames.push(f);
            }
        }
    }
    let bytes: usize = frames.iter().map(|f| f.bytes.len()).sum();
    println!(
        "{} frames ({sessions} sessions x {per_session}), {:.0} bytes a frame on average",
        frames.len(),
        bytes as f64 / frames.len() as f64
    );
    for fpm in [1usize, 16, 64, 256] {
        let config = JetStreamConfig {
            stream: format!("BENCH_{run_id}_{fpm}"),
            subject_prefix: format!("bench{run_id}x{fpm}.frames"),
            frames_per_message: fpm,
            timeout_ms: 30_000,
            ..JetStreamConfig::new(vec![url.clone()])
        };
        let mut sink = JetStreamSink::new(&config, None);
        // Frames per message 1 is slow: a tenth of the frames is enough to see it.
        let take = if fpm == 1 { frames.len() / 10 } else { frames.len() };
        let started = Instant::now();
        for batch in frames[..take].chunks(4096) {
            sink.write(batch).await?;
        }
        let dt = started.elapsed().as_secs_f64();
        let c = sink.counts();
        println!(
            "sink, {fpm:>3} frames/message: {:>9.0} frames/s, {:>7.0} messages/s ({} frames, {:.2} s)",
            c.frames as f64 / dt,
            c.messages as f64 / dt,
            c.frames,
            dt
        );
        if fpm == 256 {
            let dir = tempfile::tempdir()?;
            let mut wc = WorkerConfig::new(config.clone());
            wc.name = format!("bench{run_id}");
            wc.flush_interval = Duration::from_secs(1);
            let sink = ParquetSink::open(dir.path(), &ParquetConfig::default())?;
            let stop = tokio_util::sync::CancellationToken::new();
            let started = Instant::now();
            let task = tokio::spawn(worker::run(wc, sink, stop.clone()));
            let total = take as u64;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let stored: u64 =
                    ingest::sinks::parquet::list_sessions(dir.path())?.iter().map(|s| s.frames).sum();
                if stored >= total {
                    break;
                }
            }
            let dt = started.elapsed().as_secs_f64();
            stop.cancel();
            let report = task.await??;
            println!(
                "worker into Parquet: {:>9.0} frames/s ({} frames, {} messages acked, {:.2} s)",
                total as f64 / dt,
                total,
                report.messages,
                dt
            );
        }
    }
    Ok(())
}
