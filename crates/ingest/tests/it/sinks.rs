//! The sink shape end to end: conformance of the null sink and of a file-writing test sink, the
//! pipeline's retries, replay into sinks, and WAL segments deleted behind the checkpoints.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use ingest::sinks::conformance::{self, FailingSink, Keys};
use ingest::sinks::null::{NullConfig, NullSink};
use ingest::sinks::{BoxSink, Sink, SinkConfig, SinkKind, WalFrame, WalPosition};
use ingest::{SessionId, SinkError};
use testkit::wait::eventually;

use crate::common::*;

/// A sink that appends one text line per frame and fsyncs on flush. Each line carries the
/// frame's WAL end position, so on opening it cuts a torn last line and reports where its
/// output ends: exactly once across crashes.
#[derive(Debug)]
struct LinesSink {
    path: PathBuf,
    out: BufWriter<File>,
    durable: Option<WalPosition>,
}

impl LinesSink {
    fn open(path: &Path) -> Result<Self, SinkError> {
        let text = std::fs::read(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(Vec::new()),
            _ => Err(SinkError::io("read", path, e)),
        })?;
        let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let durable = parse(&text[..complete]).last().map(|(end, _, _)| *end);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| SinkError::io("open", path, e))?;
        file.set_len(complete as u64).map_err(|e| SinkError::io("truncate", path, e))?;
        Ok(LinesSink { path: path.to_owned(), out: BufWriter::new(file), durable })
    }
}

fn parse(text: &[u8]) -> Vec<(WalPosition, SessionId, u64)> {
    String::from_utf8_lossy(text)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let mut id = [0u8; 16];
            for (i, b) in id.iter_mut().enumerate() {
                *b = u8::from_str_radix(&f[2][i * 2..i * 2 + 2], 16).unwrap();
            }
            let end = WalPosition { segment: f[0].parse().unwrap(), offset: f[1].parse().unwrap() };
            (end, SessionId(id), f[3].parse().unwrap())
        })
        .collect()
}

fn read_lines(path: &Path) -> Keys {
    let text = std::fs::read(path).unwrap_or_default();
    let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    parse(&text[..complete]).into_iter().map(|(_, s, seq)| (s, seq)).collect()
}

impl Sink for LinesSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        for f in batch {
            let end = f.end();
            let hex = proto::hex(&f.session_id.0);
            writeln!(self.out, "{} {} {hex} {}", end.segment, end.offset, f.seq)
                .map_err(|e| SinkError::io("write", &self.path, e))?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| SinkError::io("write", &self.path, e))?;
        self.out.get_ref().sync_data().map_err(|e| SinkError::io("fsync", &self.path, e))
    }

    async fn durable_position(&mut self) -> Result<Option<WalPosition>, SinkError> {
        Ok(self.durable)
    }
}

#[tokio::test]
async fn the_null_sink_passes_conformance() {
    let report = conformance::run(
        || async { Ok(NullSink::new(&NullConfig::default())) },
        conformance::nothing_to_read,
    )
    .await
    .unwrap();
    assert!(!report.read_back);
    assert_eq!((report.write_failures, report.flush_failures), (3, 1));
}

#[tokio::test]
async fn a_file_writing_sink_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.txt");
    let report = conformance::run(
        || {
            let p = path.clone();
            async move { LinesSink::open(&p) }
        },
        || {
            let p = path.clone();
            async move { Ok(Some(read_lines(&p))) }
        },
    )
    .await
    .unwrap();
    assert!(report.read_back);
    assert!(report.frames_written > 700, "{report:?}");
}

/// A sink that keeps frames in memory only: flush is a lie. The conformance test must catch it.
#[derive(Debug, Default)]
struct Forgetful(Vec<(SessionId, u64)>);

impl Sink for Forgetful {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        self.0.extend(batch.iter().map(|f| (f.session_id, f.seq)));
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test]
async fn conformance_catches_a_sink_whose_flush_is_not_durable_and_one_that_panics() {
    // read_back sees only what a real store would hold after the process died: nothing.
    let failure = conformance::run(|| async { Ok(Forgetful::default()) }, || async { Ok(Some(Vec::new())) })
        .await
        .unwrap_err();
    assert_eq!(failure.step, "flush means durable");
    assert!(failure.message.contains("missing"), "{failure}");

    #[derive(Debug)]
    struct Panics;
    impl Sink for Panics {
        async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
            assert!(batch.len() < 100, "batch too large");
            Ok(())
        }
        async fn flush(&mut self) -> Result<(), SinkError> {
            Ok(())
        }
    }
    let failure = conformance::run(|| async { Ok(Panics) }, conformance::nothing_to_read).await.unwrap_err();
    assert_eq!(failure.step, "flush means durable");
    assert!(failure.message.contains("panicked: batch too large"), "{failure}");
}

fn lines_sink_config(name: &str, flush_ms: u64) -> SinkConfig {
    SinkConfig { flush_interval_ms: flush_ms, ..SinkConfig::new(name, SinkKind::Null(NullConfig::default())) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_retries_a_failing_sink_and_shutdown_flushes_it() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.txt");
    let sink = FailingSink::new(LinesSink::open(&lines).unwrap(), 2, 1);
    let cfg = config(dir.path());
    // A flush interval longer than the test: only the shutdown flush makes the output durable.
    let running = ingest::Server::new(cfg)
        .with_sink(lines_sink_config("lines", 600_000), BoxSink::new(sink))
        .start()
        .await
        .unwrap();
    let s = session(80);
    let out = send(&mut client(running.local_addr()).await, frames(s, 0..3_000)).await;
    assert_eq!(out.acked(s), 3_000);
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.sink_write_failures, 2);
    assert_eq!(stats.sink_flush_failures, 1);
    assert_eq!(stats.sink_frames, 3_000);
    let keys = read_lines(&lines);
    assert_eq!(keys.len(), 3_000);
    assert!(keys.iter().enumerate().all(|(i, (sid, seq))| *sid == SessionId(s) && *seq == i as u64));
    let cp = ingest::sinks::load_checkpoint(dir.path(), "lines").unwrap().expect("checkpoint stored");
    assert_eq!(parse_last_end(&lines), Some(cp), "checkpoint = end of the last frame written");
}

fn parse_last_end(path: &Path) -> Option<WalPosition> {
    let text = std::fs::read(path).unwrap();
    parse(&text).last().map(|(end, _, _)| *end)
}

#[tokio::test]
async fn a_sink_added_later_is_fed_from_the_wal_on_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(81);
    // No sinks: the WAL is the only store and is kept whole.
    let running = start(config(dir.path())).await;
    send(&mut client(running.local_addr()).await, frames(s, 0..2_000)).await;
    running.shutdown().await.unwrap();

    let lines = dir.path().join("lines.txt");
    let running = ingest::Server::new(config(dir.path()))
        .with_sink(lines_sink_config("lines", 50), BoxSink::new(LinesSink::open(&lines).unwrap()))
        .start()
        .await
        .unwrap();
    assert!(eventually(10, || read_lines(&lines).len() == 2_000).await, "replayed into the sink");
    running.shutdown().await.unwrap();

    // A third start with the same sink: nothing is delivered twice. One more frame is sent and
    // awaited in the sink: the sink is fed in WAL order, so once it is there, anything replayed
    // twice would be there before it.
    let running = ingest::Server::new(config(dir.path()))
        .with_sink(lines_sink_config("lines", 50), BoxSink::new(LinesSink::open(&lines).unwrap()))
        .start()
        .await
        .unwrap();
    send(&mut client(running.local_addr()).await, frames(s, 2_000..2_001)).await;
    assert!(eventually(10, || read_lines(&lines).len() >= 2_001).await, "the new frame reaches the sink");
    running.shutdown().await.unwrap();
    let keys = read_lines(&lines);
    assert_eq!(keys.len(), 2_001);
    assert!(keys.iter().enumerate().all(|(i, (_, seq))| *seq == i as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_are_deleted_behind_every_sink_and_sessions_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(82);
    let mut cfg = config(dir.path());
    cfg.wal.segment_bytes = 64 << 10;
    cfg.sinks.push(lines_sink_config("fast", 20));
    let slow_lines = dir.path().join("slow.txt");
    let running = ingest::Server::new(cfg.clone())
        .with_sink(lines_sink_config("slow", 20), BoxSink::new(LinesSink::open(&slow_lines).unwrap()))
        .start()
        .await
        .unwrap();
    let mut c = client(running.local_addr()).await;
    let out = send(&mut c, frames(s, 0..3_000)).await;
    assert_eq!(out.acked(s), 3_000);
    let wal = dir.path().join("wal");
    assert!(
        eventually(10, || running.stats().segments_deleted > 0).await,
        "segments behind both checkpoints are deleted"
    );
    running.shutdown().await.unwrap();
    let left = ingest::wal::list_segments(&wal).unwrap();
    let fast = ingest::sinks::load_checkpoint(dir.path(), "fast").unwrap().unwrap();
    let slow = ingest::sinks::load_checkpoint(dir.path(), "slow").unwrap().unwrap();
    assert_eq!(left[0], fast.segment.min(slow.segment), "exactly the segments both sinks passed are gone");
    assert!(left[0] > 0, "the first segments are gone: {left:?}");
    assert_eq!(read_lines(&slow_lines).len(), 3_000);

    // The session's durable point lives on in the remaining segments' snapshots.
    let running = ingest::Server::new(cfg).start().await.unwrap();
    let mut c = client(running.local_addr()).await;
    assert_eq!(resume(&mut c, &[s]).await, vec![3_000]);
    let out = send(&mut c, frames(s, 0..3_100)).await;
    assert_eq!(out.acked(s), 3_100);
    let stats = running.shutdown().await.unwrap();
    assert_eq!((stats.duplicates, stats.frames_stored), (3_000, 100));
}
