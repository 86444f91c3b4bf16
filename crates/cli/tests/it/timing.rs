//! `pitwall timing --replay` on a capture of the server simulator, and on garbage.

use std::path::Path;
use std::time::Duration;

use acsp::Event;
use sim::server::{ServerConfig, ServerState, SessionConfig};

use crate::{pitwall, run_ok};

/// A short simulated practice and race, with car updates, as a pcap of raw IPv4 packets
/// (server to plugin). Returns the laps the simulator completed.
fn simulated_capture(path: &Path) -> usize {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let config = ServerConfig {
        cars: 4,
        seed: 9,
        sessions: vec![SessionConfig::practice(3), SessionConfig::race(2, 10)],
        realtime_interval_ms: Some(500),
        join_interval: Duration::from_millis(500),
        load_time: Duration::from_secs(2),
        ..ServerConfig::default()
    };
    let mut server = ServerState::new(&config).unwrap();
    let mut events: Vec<(Duration, Event)> = server.start().into_iter().map(|e| (server.now(), e)).collect();
    let mut ends = 0;
    while ends < 2 {
        for e in server.advance(Duration::from_millis(100)) {
            ends += usize::from(matches!(e, Event::EndSession(_)));
            events.push((server.now(), e));
            // The server goes on to the next practice: the capture ends with the race.
            if ends == 2 {
                break;
            }
        }
    }
    let header = PcapHeader { datalink: pcap_file::DataLink::RAW, ..Default::default() };
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    let t0 = Duration::from_secs(1_764_590_400);
    for (at, e) in &events {
        let mut payload = Vec::new();
        acsp::encode_event(e, &mut payload).unwrap();
        let total = (28 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        p.extend_from_slice(&11000u16.to_be_bytes());
        p.extend_from_slice(&12000u16.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&payload);
        w.write_packet(&PcapPacket::new(t0 + *at, p.len() as u32, &p)).unwrap();
    }
    events.iter().filter(|(_, e)| matches!(e, Event::LapCompleted(_))).count()
}

#[test]
fn timing_replay_prints_the_standings_and_stores_the_laps() {
    let dir = tempfile::tempdir().unwrap();
    let (capture, db) = (dir.path().join("weekend.pcap"), dir.path().join("records.sqlite"));
    let laps = simulated_capture(&capture);
    assert!(laps > 4);

    let out = run_ok(pitwall().args(["timing", "--replay"]).arg(&capture).arg("--db").arg(&db));
    let text = String::from_utf8(out.stdout).unwrap();
    // The race's standings, then the summary.
    assert!(text.contains("leader"), "{text}");
    let summary = text.lines().last().unwrap();
    assert!(summary.contains(&format!("{laps} laps stored")), "{summary}");
    assert!(summary.contains("2 sessions") && summary.contains("events/s"), "{summary}");

    // The records are there for `pitwall records`; a second replay stores nothing new.
    let records = run_ok(
        pitwall()
            .args(["records", "--track", "ks_red_bull_ring", "--layout", "layout_gp", "--json", "--db"])
            .arg(&db),
    );
    assert_eq!(String::from_utf8(records.stdout).unwrap().lines().count(), 4);
    let again = run_ok(pitwall().args(["timing", "--json", "--replay"]).arg(&capture).arg("--db").arg(&db));
    let board: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(board["session"]["session_type"], "race");
    assert_eq!(board["rows"].as_array().unwrap().len(), 4);
    let summary = String::from_utf8(again.stderr).unwrap();
    assert!(summary.contains(&format!("0 laps stored ({laps} already stored")), "{summary}");
}

#[test]
fn timing_replay_of_garbage_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.bin");
    let bytes: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&garbage, bytes).unwrap();
    let db = dir.path().join("records.sqlite");
    let out = pitwall().args(["timing", "--replay"]).arg(&garbage).arg("--db").arg(&db).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("pitwall: error: replaying the capture: "), "{err}");
    assert!(err.contains("garbage.bin") && !err.contains("panicked"), "{err}");

    // A capture that is not there leaves no database behind.
    let (missing, other_db) = (dir.path().join("missing.pcap"), dir.path().join("other.sqlite"));
    let out =
        pitwall().args(["timing", "--replay"]).arg(&missing).arg("--db").arg(&other_db).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot read") && err.contains("missing.pcap"), "{err}");
    assert!(!other_db.exists());

    // No source at all is a usage error.
    let out = pitwall().args(["timing", "--db"]).arg(&db).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
