//! A full disk under the server: the real bridge (with the simulated game) streams while the
//! write-ahead log's file system, or the Parquet sink's, runs out of space, then gets it back.
//!
//! The disk is a size-limited tmpfs that the test fills with a file of its own and later
//! deletes: real `ENOSPC` from the kernel. Mounting needs root on Linux (as the tests run here);
//! elsewhere the WAL test injects the failure ([`ingest::WalFaults`]) and the Parquet test
//! makes the sink's folder read-only, and both say so on stdout. Either way the same recovery
//! runs and the same things are asserted.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ingest::sinks::parquet::ParquetConfig;
use ingest::sinks::{SinkConfig, SinkKind};
use ingest::{SessionId, WalConfig};
use testkit::disk::{Tmpfs, fill};
use testkit::sim::bridge_config;

use crate::common::*;

/// Log lines, captured from this thread's tracing (the server runs on this test's
/// current-thread runtime, so its tasks log here).
#[derive(Debug, Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let log = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || log.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn lines_with(&self, words: &[&str]) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().filter(|l| words.iter().all(|w| l.contains(w))).map(str::to_owned).collect()
    }
}

/// The value of an unlabelled series in the metrics text.
fn metric(text: &str, name: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.split_once(' ').is_some_and(|(n, _)| n == name))
        .unwrap_or_else(|| panic!("{name} missing from:\n{text}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

/// Each session's seqs in a recording.
fn recorded(path: &Path) -> HashMap<[u8; 16], Vec<u64>> {
    let mut out: HashMap<[u8; 16], Vec<u64>> = HashMap::new();
    for f in record::RecordReader::open(path).unwrap() {
        let f = f.unwrap();
        out.entry(f.session_id.as_ref().try_into().unwrap()).or_default().push(f.seq);
    }
    out
}

/// Every frame of the recording is in the WAL exactly once, and nothing else is.
fn assert_wal_has_recording_exactly_once(data: &Path, record: &Path) -> u64 {
    let mut stored: HashMap<[u8; 16], BTreeMap<u64, usize>> = HashMap::new();
    for f in ingest::Wal::read_all(data.join("wal")).unwrap() {
        *stored.entry(f.session_id.0).or_default().entry(f.seq).or_insert(0) += 1;
    }
    let rec = recorded(record);
    assert_eq!(stored.len(), rec.len(), "sessions in the WAL vs in the recording");
    let mut total = 0;
    for (session, seqs) in rec {
        let n = seqs.len() as u64;
        assert_eq!(seqs, (0..n).collect::<Vec<_>>(), "the recording is gap-free");
        let got = &stored[&session];
        assert_eq!(got.len() as u64, n, "frames of session {session:02x?} in the WAL");
        assert!(got.iter().all(|(seq, count)| *seq < n && *count == 1), "each frame exactly once");
        total += n;
    }
    total
}

/// Polls `cond` every 20 ms for up to `secs`, letting the server's tasks run meanwhile.
async fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The WAL's disk fills up mid-stream: the server stops acking (and says so, once), the
/// stream stays open, and once the test deletes its filler file the server writes the waiting
/// group again and goes on by itself; the WAL then holds every recorded frame exactly once.
#[tokio::test]
async fn a_full_wal_disk_stops_the_acks_until_space_returns_and_loses_nothing() {
    let started = Instant::now();
    let log = Log::default();
    let _logging = log.capture();
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let tmpfs = Tmpfs::mount(&mnt, "32m");
    let faults = Arc::new(ingest::WalFaults::default());
    let data = if tmpfs.is_some() {
        println!("disk full: a 32 MiB tmpfs filled up by the test (real ENOSPC)");
        mnt.join("data")
    } else {
        println!("disk full: cannot mount a tmpfs here (not root on Linux): injected write failures");
        dir.path().join("data")
    };
    let filler = mnt.join("filler");
    let mut config = config(&data);
    config.metrics = Some("127.0.0.1:0".parse().unwrap());
    let running = ingest::Server::new(config).with_wal_faults(Arc::clone(&faults)).start().await.unwrap();
    let wal_dir = data.join("wal");

    let record = dir.path().join("rec.pb.gz");
    // The simulated game at 3× real time for 9 s, with short reconnection delays.
    let bridge =
        bridge::Bridge::start(bridge_config(23, &record, Some(running.local_addr()), 3.0, 9.0)).unwrap();
    wait_for(20, "the first acks", || bridge.status().frames_acked > 1_000).await;

    // The disk fills up.
    if tmpfs.is_some() {
        fill(&filler);
    } else {
        faults.set_full(true);
    }
    wait_for(10, "the server to notice", || running.stats().wal_write_failing).await;
    // Acks of groups committed just before may still be on their way.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked = bridge.status().frames_acked;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let status = bridge.status();
    assert_eq!(status.frames_acked, acked, "nothing acked while the WAL cannot be written");
    assert!(status.frames > acked + 1_000, "the game goes on: {status:?}");
    assert_eq!(status.disconnects, 0, "the stream stays open: {status:?}");
    // Every frame acked is in the log (read back as replay would read it).
    let in_wal = ingest::Wal::read_all(&wal_dir).unwrap().len() as u64;
    assert!(in_wal >= acked, "{acked} frames acked, only {in_wal} in the WAL");

    let metrics = running.metrics();
    assert_eq!(metric(&metrics, "pitwall_ingest_wal_write_failing"), 1.0);
    let failures = metric(&metrics, "pitwall_ingest_wal_write_failures_total");
    assert!(failures >= 2.0, "the failed commit and its retries are counted: {failures}");
    // One error for the whole outage, naming the file and the OS error; the retries are quiet.
    let errors = log.lines_with(&["ERROR", "WAL write failed"]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let wal_path = wal_dir.display().to_string();
    assert!(errors[0].contains(&wal_path), "names the file: {}", errors[0]);
    let os_error = if tmpfs.is_some() { "No space left on device (os error 28)" } else { "injected" };
    assert!(errors[0].contains(os_error), "names the OS error: {}", errors[0]);

    // Space comes back.
    if tmpfs.is_some() {
        std::fs::remove_file(&filler).unwrap();
    } else {
        faults.set_full(false);
    }
    wait_for(10, "the server to write again", || !running.stats().wal_write_failing).await;
    wait_for(10, "acks to resume", || bridge.status().frames_acked > acked).await;
    let summary = tokio::task::spawn_blocking(move || bridge.wait().unwrap()).await.unwrap();
    let status = summary.status;
    assert_eq!(status.backlog_frames, 0, "{status:?}");
    assert_eq!(status.frames_acked, status.frames, "{status:?}");
    assert_eq!(status.disconnects, 0, "no reconnection was needed: {status:?}");
    assert_eq!(status.record_errors, 0, "{status:?}");

    let stats = running.shutdown().await.unwrap();
    assert!(!stats.wal_write_failing && stats.wal_write_failures as f64 >= failures, "{stats:?}");
    assert_eq!(stats.duplicates, 0, "{stats:?}");
    assert_eq!(log.lines_with(&["ERROR", "WAL write failed"]).len(), 1, "still one error");
    assert_eq!(log.lines_with(&["WAL writes succeed again"]).len(), 1);
    let frames = assert_wal_has_recording_exactly_once(&data, &record);
    assert_eq!(frames, status.frames);
    // A restart replays it cleanly: nothing torn, nothing damaged, every session complete.
    let wal = ingest::Wal::open(&wal_dir).unwrap();
    assert_eq!(wal.report().torn_tail, None);
    assert!(wal.report().damaged.is_empty(), "{:?}", wal.report().damaged);
    assert_eq!(wal.report().duplicates, 0);
    assert_eq!(wal.sessions().values().sum::<u64>(), frames);
    println!(
        "{frames} frames, {} failed WAL writes, {:.1} s",
        stats.wal_write_failures,
        started.elapsed().as_secs_f64()
    );
}

/// The Parquet sink's disk fills up while the WAL's does not: the acks go on, the sink's part
/// files fail, it keeps its checkpoint (so the WAL segments it has not made durable stay), and
/// it retries; once space is back it reopens its dataset, writes everything from the WAL, and
/// the WAL is trimmed behind it. Every frame is in the Parquet files exactly once.
#[tokio::test]
async fn a_full_parquet_disk_keeps_the_wal_until_the_sink_catches_up() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    let tmpfs = Tmpfs::mount(&mnt, "8m");
    let root = mnt.join("parquet");
    let data = dir.path().join("data");
    let mut config = config(&data);
    // Small segments, so that trimming (or keeping) the WAL shows.
    config.wal = WalConfig { segment_bytes: 256 << 10, commit_interval_ms: 1, ..WalConfig::default() };
    let mut sink = SinkConfig::new(
        "parquet",
        SinkKind::Parquet(ParquetConfig { path: Some(root.clone()), ..ParquetConfig::default() }),
    );
    sink.flush_interval_ms = 100;
    config.sinks = vec![sink];
    let running = start(config).await;

    let filler = mnt.join("filler");
    let mode = if tmpfs.is_some() {
        fill(&filler);
        println!("Parquet disk full: an 8 MiB tmpfs filled up by the test (real ENOSPC)");
        "tmpfs"
    } else if make_read_only(&root) {
        println!("Parquet disk full: cannot mount a tmpfs here (not root on Linux): a read-only folder");
        "read-only"
    } else {
        // Root without the right to mount (a container) ignores permissions too.
        println!(
            "Parquet disk full: SKIPPED the failure (neither a tmpfs nor a read-only folder works here); \
             checking the stream into the sink only"
        );
        "none"
    };

    let s = session(90);
    let mut c = client(running.local_addr()).await;
    let out = send(&mut c, frames(s, 0..4_000)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), 4_000, "the WAL's disk is fine: everything is acked");
    let segments = ingest::wal::list_segments(&data.join("wal")).unwrap();
    assert!(segments.len() >= 4, "{segments:?}");

    if mode != "none" {
        wait_for(10, "the sink to fail", || {
            let st = running.stats();
            st.sink_write_failures + st.sink_flush_failures >= 2
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let st = running.stats();
        assert_eq!(st.segments_deleted, 0, "no segment deleted while the sink cannot write: {st:?}");
        assert_eq!(ingest::wal::list_segments(&data.join("wal")).unwrap()[0], segments[0]);
        let checkpoint = ingest::sinks::load_checkpoint(&data, "parquet").unwrap();
        assert!(checkpoint.is_none_or(|p| p.segment <= segments[0]), "{checkpoint:?}");
        let backlog =
            metric_labelled(&running.metrics(), "pitwall_ingest_sink_backlog_bytes{sink=\"parquet\"}");
        assert!(backlog > 100_000.0, "the backlog shows: {backlog}");
        assert!(crate::parquet_sink::part_files(&root).is_empty());

        match mode {
            "tmpfs" => std::fs::remove_file(&filler).unwrap(),
            _ => set_read_only(&root, false),
        }
    }
    wait_for(20, "the sink to catch up and the WAL to be trimmed", || {
        let backlog =
            metric_labelled(&running.metrics(), "pitwall_ingest_sink_backlog_bytes{sink=\"parquet\"}");
        backlog == 0.0 && running.stats().segments_deleted > 0
    })
    .await;
    let stats = running.shutdown().await.unwrap();
    let mut counts: HashMap<(SessionId, u64), usize> = HashMap::new();
    for k in crate::parquet_sink::read_keys(&root) {
        *counts.entry(k).or_default() += 1;
    }
    assert_exactly_once(&counts, s, 4_000);
    assert_eq!(counts.len(), 4_000);
    println!(
        "{mode}: {} failed sink writes, {} failed flushes, {} segments deleted, {:.1} s",
        stats.sink_write_failures,
        stats.sink_flush_failures,
        stats.segments_deleted,
        started.elapsed().as_secs_f64()
    );
}

fn metric_labelled(text: &str, series: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{series} missing from:\n{text}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

/// Makes `dir` read-only, if that keeps this process from creating files in it (not for root).
fn make_read_only(dir: &Path) -> bool {
    if !cfg!(unix) {
        return false;
    }
    set_read_only(dir, true);
    let probe = dir.join("probe");
    if std::fs::File::create(&probe).is_ok() {
        let _ = std::fs::remove_file(&probe);
        set_read_only(dir, false);
        return false;
    }
    true
}

#[cfg(unix)]
fn set_read_only(dir: &Path, read_only: bool) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = if read_only { 0o555 } else { 0o755 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_read_only(_dir: &Path, _read_only: bool) {}
