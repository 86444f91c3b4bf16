//! The recording sink: conformance, and a real server writing one recording per session that
//! holds exactly the bytes the bridge sent.

use std::path::Path;

use ingest::SessionId;
use ingest::sinks::conformance::{self, Keys};
use ingest::sinks::recording::{RecordingConfig, RecordingSink, recording_path};
use ingest::sinks::{Sink, SinkConfig, SinkKind, WalFrame, WalPosition};
use prost::Message as _;
use record::RecordReader;

use crate::common::*;

/// Every frame of every recording in `dir`, up to a damaged tail (as any gzip reader would).
fn read_recordings(dir: &Path) -> Vec<proto::telemetry::v1::TelemetryFrame> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths.iter().filter(|p| p.to_string_lossy().ends_with(".pb.gz")) {
        for f in RecordReader::open(p).unwrap() {
            match f {
                Ok(f) => out.push(f),
                Err(_) => break,
            }
        }
    }
    out
}

pub fn read_keys(dir: &Path) -> Keys {
    read_recordings(dir).iter().map(|f| (SessionId::from_slice(&f.session_id).unwrap(), f.seq)).collect()
}

#[tokio::test]
async fn the_recording_sink_passes_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rec");
    let report = conformance::run(
        || {
            let r = root.clone();
            async move { RecordingSink::open(r, &RecordingConfig::default()) }
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
}

#[tokio::test]
async fn a_reopened_recording_sink_skips_what_its_files_hold_and_cuts_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(95);
    let mut pos = WalPosition { segment: 3, offset: 64 };
    let frames: Vec<WalFrame> = (0..400)
        .map(|seq| {
            let f = WalFrame {
                position: pos,
                session_id: SessionId(s),
                seq,
                bytes: frame(s, seq).encode_to_vec().into(),
            };
            pos = f.end();
            f
        })
        .collect();
    let mut sink = RecordingSink::open(dir.path(), &RecordingConfig::default()).unwrap();
    sink.write(&frames[..300]).await.unwrap();
    sink.flush().await.unwrap();
    drop(sink);
    // A crash in the middle of a member: half a gzip member at the end.
    let path = recording_path(dir.path(), &SessionId(s));
    let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, &[0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    drop(f);

    let mut sink = RecordingSink::open(dir.path(), &RecordingConfig::default()).unwrap();
    assert_eq!(sink.durable_position().await.unwrap(), Some(frames[299].end()));
    sink.write(&frames).await.unwrap();
    assert_eq!(sink.skipped(), 300);
    assert_eq!(sink.repaired(), std::slice::from_ref(&path));
    sink.flush().await.unwrap();
    let got = read_recordings(dir.path());
    assert_eq!(got.len(), 400);
    assert!(got.iter().enumerate().all(|(i, f)| f.seq == i as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_writes_one_recording_per_session_with_the_bytes_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.sinks.push(SinkConfig {
        flush_interval_ms: 50,
        ..SinkConfig::new("rec", SinkKind::Recording(RecordingConfig::default()))
    });
    let running = start(cfg).await;
    let (a, b) = (session(96), session(97));
    let mut mixed = Vec::new();
    for seq in 0..2_000 {
        mixed.push(frame(a, seq));
        if seq < 1_500 {
            mixed.push(frame(b, seq));
        }
    }
    let out = send(&mut client(running.local_addr()).await, mixed).await;
    assert_eq!((out.acked(a), out.acked(b)), (2_000, 1_500));
    running.shutdown().await.unwrap();

    let root = dir.path().join("sinks/rec");
    for (s, n) in [(a, 2_000u64), (b, 1_500)] {
        let frames: Vec<_> =
            RecordReader::open(recording_path(&root, &SessionId(s))).unwrap().map(Result::unwrap).collect();
        assert_eq!(frames.len() as u64, n);
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f, &frame(s, i as u64), "session {} frame {i}", SessionId(s));
        }
    }
}
