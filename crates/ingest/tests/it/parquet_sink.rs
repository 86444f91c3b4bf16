//! The Parquet sink: conformance, crash repair at open, concurrent streams into a real server,
//! and a SIGKILLed server process; every `(session, seq)` read back from the files with the
//! `parquet` crate, exactly once.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use ingest::SessionId;
use ingest::sinks::conformance::{self, Keys};
use ingest::sinks::parquet::{self as pq, ParquetConfig, ParquetSink};
use ingest::sinks::{Sink, SinkConfig, SinkKind, WalFrame, WalPosition};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::*;

/// Every finished part file under `root` (hidden in-progress files are not part of the dataset).
pub fn part_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(sessions) = std::fs::read_dir(root) else { return out };
    for s in sessions.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("session=")) {
        for c in std::fs::read_dir(s.path()).unwrap().flatten() {
            for f in std::fs::read_dir(c.path()).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name.starts_with("part-") && name.ends_with(".parquet") {
                    out.push(f.path());
                }
            }
        }
    }
    out.sort();
    out
}

fn parse_uuid(text: &str) -> SessionId {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap();
    }
    SessionId(id)
}

/// Every row of the dataset as record batches.
pub fn read_batches(root: &Path) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for path in part_files(root) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .build()
            .unwrap();
        for b in reader {
            out.push(b.unwrap());
        }
    }
    out
}

fn session_at(batch: &RecordBatch, row: usize) -> SessionId {
    let d = batch.column_by_name("session_id").unwrap().as_dictionary::<Int32Type>();
    let key = d.keys().value(row) as usize;
    parse_uuid(d.values().as_string::<i32>().value(key))
}

/// Every `(session, seq)` in the dataset, duplicates included.
pub fn read_keys(root: &Path) -> Keys {
    let mut keys = Vec::new();
    for b in read_batches(root) {
        let seqs = b.column_by_name("seq").unwrap().as_primitive::<UInt64Type>();
        for row in 0..b.num_rows() {
            keys.push((session_at(&b, row), seqs.value(row)));
        }
    }
    keys
}

fn counts(keys: &Keys) -> HashMap<(SessionId, u64), usize> {
    let mut c = HashMap::new();
    for k in keys {
        *c.entry(*k).or_insert(0) += 1;
    }
    c
}

fn small() -> ParquetConfig {
    // Tiny files and row groups, so the tests cross every boundary.
    ParquetConfig { max_file_rows: 300, row_group_rows: 128, ..ParquetConfig::default() }
}

#[tokio::test]
async fn the_parquet_sink_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pq");
    let report = conformance::run(
        || {
            let r = root.clone();
            async move { ParquetSink::open(r, &small()) }
        },
        || {
            let r = root.clone();
            async move { Ok(Some(read_keys(&r))) }
        },
    )
    .await
    .unwrap();
    assert!(report.read_back);
    assert!(report.frames_written > 700, "{report:?}");
    let sessions = pq::list_sessions(&root).unwrap();
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let frames: u64 = sessions.iter().map(|s| s.frames).sum();
    assert_eq!(frames as usize, read_keys(&root).len(), "the catalogue counts what the files hold");
}

fn wal_frames(session: [u8; 16], seqs: std::ops::Range<u64>, start: &mut WalPosition) -> Vec<WalFrame> {
    seqs.map(|seq| {
        let bytes = frame(session, seq).encode_to_vec();
        let f = WalFrame { position: *start, session_id: SessionId(session), seq, bytes: bytes.into() };
        *start = f.end();
        f
    })
    .collect()
}

#[tokio::test]
async fn a_crash_leaves_files_that_the_next_open_repairs_adopts_or_quarantines() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pq");
    let s = session(60);
    let mut pos = WalPosition { segment: 1, offset: 64 };

    let mut sink = ParquetSink::open(&root, &small()).unwrap();
    assert_eq!(sink.durable_position().await.unwrap(), None);
    let a = wal_frames(s, 0..500, &mut pos);
    for batch in a.chunks(100) {
        sink.write(batch).await.unwrap();
    }
    sink.flush().await.unwrap();
    let flushed = a.last().unwrap().end();
    // Written, not flushed, then a SIGKILL: the open part is half-written.
    sink.write(&wal_frames(s, 500..650, &mut pos)).await.unwrap();
    std::mem::forget(sink);
    let car = root.join(format!("session={}/car=ks_ferrari_sf15t", SessionId(s)));
    let hidden: Vec<_> = std::fs::read_dir(&car)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".inprogress"))
        .collect();
    assert_eq!(hidden.len(), 1, "the half-written part is hidden from readers");
    std::fs::write(car.join("part-000099.parquet"), b"PAR1 not really").unwrap();

    let mut sink = ParquetSink::open(&root, &small()).unwrap();
    let report = sink.open_report().clone();
    assert_eq!(report.removed_in_progress.len(), 1, "{report:?}");
    assert_eq!(report.broken, vec![car.join("part-000099.parquet")]);
    assert!(car.join("part-000099.parquet.broken").exists());
    assert_eq!(report.files, 2, "500 rows in files of at most 300");
    assert_eq!(sink.durable_position().await.unwrap(), Some(flushed));
    // The pipeline re-delivers from the durable position; everything is there once.
    let mut again = WalPosition { segment: 1, offset: 64 };
    let all = wal_frames(s, 0..650, &mut again);
    sink.write(&all).await.unwrap();
    assert_eq!(sink.skipped(), 500, "frames already in the files are skipped");
    sink.flush().await.unwrap();
    drop(sink);
    let keys = read_keys(&root);
    assert_eq!(keys.len(), 650);
    assert!(counts(&keys).values().all(|n| *n == 1));

    // The catalogue lost (or a crash between a flush's files and its transaction): rebuilt from
    // the footers, with the session's metadata, and nothing is written twice.
    for f in std::fs::read_dir(&root).unwrap().flatten() {
        if f.file_name().to_string_lossy().starts_with("_catalogue") {
            std::fs::remove_file(f.path()).unwrap();
        }
    }
    let mut sink = ParquetSink::open(&root, &small()).unwrap();
    assert_eq!(sink.open_report().adopted.len(), part_files(&root).len());
    assert_eq!(sink.durable_position().await.unwrap(), None, "no committed position: the checkpoint rules");
    let mut again = WalPosition { segment: 1, offset: 64 };
    sink.write(&wal_frames(s, 0..700, &mut again)).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(sink.skipped(), 650);
    drop(sink);
    assert_eq!(read_keys(&root).len(), 700);
    let sessions = pq::list_sessions(&root).unwrap();
    assert_eq!(sessions.len(), 1);
    let got = &sessions[0];
    assert_eq!(
        (got.frames, got.car.as_str(), got.track.as_str()),
        (700, "ks_ferrari_sf15t", "ks_red_bull_ring")
    );
    assert_eq!((got.layout.as_str(), got.driver.as_str()), ("layout_gp", "Ayrton Pitwall"));
    assert_eq!(got.first_wall_ns, Some(frame(s, 0).wall_time_ns));
    assert_eq!(got.last_seq, Some(699));
}

fn parquet_config(name: &str, flush_ms: u64) -> SinkConfig {
    SinkConfig { flush_interval_ms: flush_ms, ..SinkConfig::new(name, SinkKind::Parquet(small())) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_store_every_frame_once_with_the_values_sent() {
    const STREAMS: u32 = 4;
    const FRAMES: u64 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.sinks.push(parquet_config("parquet", 100));
    let running = start(cfg).await;
    let addr = running.local_addr();
    let mut tasks = Vec::new();
    for n in 0..STREAMS {
        tasks.push(tokio::spawn(async move {
            let s = session(70 + n);
            let out = send(&mut client(addr).await, frames(s, 0..FRAMES)).await;
            assert_eq!(out.acked(s), FRAMES);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    running.shutdown().await.unwrap();

    let root = dir.path().join("sinks/parquet");
    let batches = read_batches(&root);
    let mut seen: HashMap<(SessionId, u64), usize> = HashMap::new();
    for b in &batches {
        let seqs = b.column_by_name("seq").unwrap().as_primitive::<UInt64Type>();
        let speed = b.column_by_name("speed_kmh").unwrap().as_primitive::<Float32Type>();
        let pressure = b.column_by_name("tyre_pressure_psi_rr").unwrap().as_primitive::<Float32Type>();
        let gear = b.column_by_name("gear").unwrap().as_primitive::<Int32Type>();
        for row in 0..b.num_rows() {
            let (sid, seq) = (session_at(b, row), seqs.value(row));
            *seen.entry((sid, seq)).or_insert(0) += 1;
            let sent = frame(sid.0, seq);
            assert_eq!(speed.value(row), sent.speed_kmh, "{sid} {seq}");
            assert_eq!(pressure.value(row), sent.tyre_pressure_psi.unwrap().rr);
            assert_eq!(gear.value(row), sent.gear);
            assert!(!pressure.is_null(row));
        }
    }
    for n in 0..STREAMS {
        let s = SessionId(session(70 + n));
        for seq in 0..FRAMES {
            assert_eq!(seen.get(&(s, seq)), Some(&1), "session {s} seq {seq}");
        }
    }
    assert_eq!(seen.len() as u64, STREAMS as u64 * FRAMES, "nothing else");

    let sessions = pq::list_sessions(&root).unwrap();
    assert_eq!(sessions.len(), STREAMS as usize);
    for s in &sessions {
        assert_eq!(
            (s.frames, s.car.as_str(), s.track.as_str()),
            (FRAMES, "ks_ferrari_sf15t", "ks_red_bull_ring")
        );
        let dir = format!("session={}", s.session_id);
        let files = part_files(&root).iter().filter(|p| p.to_string_lossy().contains(&dir)).count();
        assert_eq!(s.files as usize, files);
    }
    // Every file records the WAL end of its last row, and the checkpoint is the latest of them.
    let cp = ingest::sinks::load_checkpoint(dir.path(), "parquet").unwrap().unwrap();
    let mut max_end = WalPosition::default();
    for path in part_files(&root) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
        let kv = reader.metadata().file_metadata().key_value_metadata().unwrap().clone();
        let file = kv.iter().find(|e| e.key == pq::KV_FILE).unwrap().value.clone().unwrap();
        let entry: pq::FileEntry = serde_json::from_str(&file).unwrap();
        max_end = max_end.max(entry.wal_end);
        assert!(
            kv.iter()
                .any(|e| e.key == "pitwall.session"
                    && e.value.as_deref().unwrap().contains("ks_red_bull_ring"))
        );
    }
    assert!(max_end <= cp, "checkpoint {cp} covers every file ({max_end})");
}

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    /// Kept open: the server prints its final line on a graceful stop.
    _stdout: BufReader<std::process::ChildStdout>,
}

fn spawn_server(data: &Path) -> ServerProcess {
    let mut child = Command::new(test_server_exe())
        .arg("--data")
        .arg(data)
        .args(["--listen", "127.0.0.1:0", "--parquet", "parquet", "--parquet-flush-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected: {line:?}"));
    ServerProcess { addr: addr.parse().unwrap(), child, _stdout: stdout }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_and_restarts_still_store_every_frame_once_in_parquet() {
    const TOTAL: u64 = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (session(90), session(91));
    let mut acked = [0u64; 2];
    for round in 0..3u64 {
        let mut server = spawn_server(dir.path());
        let mut c = client(server.addr).await;
        let from = resume(&mut c, &[a, b]).await;
        assert!(from[0] >= acked[0] && from[1] >= acked[1], "round {round}: {from:?} < {acked:?}");
        let mut fs = Vec::new();
        for seq in 0..TOTAL {
            for (i, s) in [a, b].iter().enumerate() {
                if seq >= from[i] {
                    fs.push(frame(*s, seq));
                }
            }
        }
        let (tx, rx) = mpsc::channel(256);
        let feeder = tokio::spawn(async move {
            for f in fs {
                if tx.send(f).await.is_err() {
                    break;
                }
            }
            std::future::pending::<()>().await;
        });
        let mut acks = c.stream_frames(ReceiverStream::new(rx)).await.unwrap().into_inner();
        let kill_at = from[0] + 4_000;
        while let Ok(Ok(Some(ack))) =
            tokio::time::timeout(std::time::Duration::from_secs(20), acks.message()).await
        {
            let i = usize::from(ack.session_id.as_ref() != a.as_slice());
            acked[i] = acked[i].max(ack.next_seq);
            if i == 0 && ack.next_seq >= kill_at {
                // Meanwhile the sink flushes every 50 ms: the kill lands around part files.
                let _ = server.child.kill();
            }
        }
        feeder.abort();
        let _ = server.child.kill();
        server.child.wait().unwrap();
    }
    // A last run sends the rest and stops gracefully: the dataset must hold everything once.
    let mut server = spawn_server(dir.path());
    let mut c = client(server.addr).await;
    let from = resume(&mut c, &[a, b]).await;
    assert!(from[0] >= acked[0] && from[1] >= acked[1]);
    let mut rest = frames(a, from[0]..TOTAL);
    rest.extend(frames(b, from[1]..TOTAL));
    let out = send(&mut c, rest).await;
    assert_eq!((out.acked(a), out.acked(b)), (TOTAL, TOTAL));
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert!(server.child.wait().unwrap().success());

    let root = dir.path().join("sinks/parquet");
    let c = counts(&read_keys(&root));
    for s in [a, b] {
        for seq in 0..TOTAL {
            assert_eq!(c.get(&(SessionId(s), seq)), Some(&1), "session {} seq {seq}", SessionId(s));
        }
    }
    assert_eq!(c.len() as u64, 2 * TOTAL);
    let listed = pq::list_sessions(&root).unwrap();
    assert_eq!(listed.iter().map(|s| s.frames).sum::<u64>(), 2 * TOTAL);
}

/// Names that become folder names (the car model, in `car=<model>/`) are hostile input: path
/// separators, `..`, control characters and an empty name from a bridge must not make the sink
/// write outside its dataset folder, nor lose the frames. Each lands in a sanitised folder under
/// the dataset root, every frame stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_car_names_stay_inside_the_dataset_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.sinks.push(parquet_config("parquet", 100));
    let running = start(cfg).await;
    let addr = running.local_addr();
    let names = ["../../escaped", "/etc/passwd", "..", "a\\b\u{1b}[31m\n", "", "car=x/session=y"];
    for (n, name) in names.iter().enumerate() {
        let s = session(90 + n as u32);
        let mut frames = frames(s, 0..50);
        if let Some(m) = frames[0].session.as_mut() {
            m.car_model = (*name).into();
        }
        let out = send(&mut client(addr).await, frames).await;
        assert_eq!(out.acked(s), 50, "{name:?}");
    }
    running.shutdown().await.unwrap();
    let root = dir.path().join("sinks/parquet");
    let files = part_files(&root);
    assert!(!files.is_empty());
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap();
        assert!(rel.components().all(|c| matches!(c, std::path::Component::Normal(_))), "{rel:?}");
        let car = rel.components().nth(1).unwrap().as_os_str().to_str().unwrap();
        assert!(car.starts_with("car=") && !car.chars().any(|c| c.is_control() || c == '\\'), "{car:?}");
    }
    // Nothing was written beside the data folder.
    let mut beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    beside.sort();
    assert!(beside.iter().all(|n| n == "wal" || n == "sinks" || n == "checkpoints"), "{beside:?}");
    assert!(!dir.path().join("escaped").exists() && !root.parent().unwrap().join("escaped").exists());
    assert_eq!(read_keys(&root).len(), names.len() * 50, "every frame stored once");
}
