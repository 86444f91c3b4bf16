//! The bridge's recording disk fills up: a size-limited tmpfs (the tests run as root on Linux)
//! that the test fills with a file of its own, then frees by deleting it. The bridge keeps
//! streaming from memory, counts the frames the recording refused, and records again once there
//! is space; the server gets every frame exactly once.

use std::time::{Duration, Instant};

use bridge::{Bridge, ConnectionState};
use testkit::disk::{Tmpfs, fill};
use testkit::wait::eventually;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_recording_disk_keeps_the_stream_going_and_reports_what_the_recording_lacks() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mnt = dir.path().join("mnt");
    let tmpfs = Tmpfs::mount(&mnt, "32m");
    let record = match &tmpfs {
        Some(_) => {
            println!("recording disk full: a 32 MiB tmpfs filled up by the test (real ENOSPC)");
            mnt.join("rec.pb.gz")
        }
        None => {
            // The recording is the record crate's file, with no fault hook, and only root can
            // mount a small file system: what is left to check is the stream without a fault.
            println!(
                "recording disk full: SKIPPED the full disk (a tmpfs needs root on Linux); \
                 checking the same stream on a disk with space"
            );
            dir.path().join("rec.pb.gz")
        }
    };
    let filler = mnt.join("filler");
    let server = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let running = Bridge::start(sim_config(&record, Some(server.local_addr()), 5.0, 7.0)).unwrap();
    assert!(eventually(20, || running.status().frames_acked > 1_000).await, "{:?}", running.status());

    if tmpfs.is_some() {
        fill(&filler);
        // The open member (256 KiB of frames) takes what comes after the failed write, then
        // the recording refuses frames: they are kept in memory and sent all the same.
        assert!(eventually(10, || running.status().record_errors > 500).await, "{:?}", running.status());
        let full = running.status();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let later = running.status();
        assert!(later.record_errors > full.record_errors, "still refused: {later:?}");
        assert!(later.frames_acked > full.frames_acked, "the server still gets frames: {later:?}");
        assert_eq!(later.connection, ConnectionState::Connected, "{later:?}");
        assert!(later.line().contains(&format!("{} unrecorded", later.record_errors)), "{}", later.line());

        std::fs::remove_file(&filler).unwrap();
        let refused = running.status().record_errors;
        // Space is back: the recording grows again, and refuses nothing more.
        let bytes = running.status().record_bytes;
        assert!(
            eventually(10, || running.status().record_bytes > bytes + 100_000).await,
            "{:?}",
            running.status()
        );
        let settled = running.status().record_errors;
        assert!(settled - refused < 1_000, "refusals stopped: {refused} then {settled}");
    }

    let summary = tokio::task::spawn_blocking(move || running.wait().unwrap()).await.unwrap();
    server.shutdown().await.unwrap();
    let s = &summary.status;
    assert_eq!(s.backlog_frames, 0, "{s:?}");
    assert_eq!(s.frames_acked, s.frames, "every frame acked, those not recorded too: {s:?}");
    assert_eq!(s.stuck_sessions, 0, "{s:?}");

    // The server has every frame the bridge sampled, exactly once.
    let stored = wal(&data);
    assert_eq!(stored.len(), 1, "one session");
    let seqs = stored.values().next().unwrap();
    assert_eq!(seqs.len() as u64, s.frames);
    assert!(seqs.iter().all(|(seq, n)| *seq < s.frames && *n == 1), "exactly once");

    // The recording reads back whole; what it lacks is exactly what the status counted.
    let rec = recorded(&record);
    assert_eq!(rec.len(), 1);
    let kept = &rec[0].1;
    assert!(kept.windows(2).all(|w| w[0] < w[1]), "in order, each once");
    assert_eq!(s.frames - kept.len() as u64, s.record_errors, "the missing frames are the ones counted");
    if tmpfs.is_some() {
        assert!(s.record_errors > 500, "{s:?}");
        assert!(*kept.last().unwrap() == s.frames - 1, "frames after the outage are recorded again");
    } else {
        assert_eq!(s.record_errors, 0);
    }
    assert_server_has_every_seq(seqs, s.frames);
    println!(
        "{} frames, {} not recorded, {:.1} s",
        s.frames,
        s.record_errors,
        started.elapsed().as_secs_f64()
    );
}

fn assert_server_has_every_seq(seqs: &std::collections::BTreeMap<u64, usize>, n: u64) {
    assert_eq!(seqs.keys().copied().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
}
