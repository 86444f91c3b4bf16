//! Tests of the records database on real SQLite files in temporary folders.

// Test helpers outside `#[test]` functions may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod crash;
mod hostile;
mod import;
mod leaderboard;
mod schema;
mod telemetry;

use std::path::PathBuf;

use records::{EntryInput, EntryKey, LapInput, SessionInput, SessionKey, SessionType, Store};

/// 2026-01-01 00:00 UTC, Unix ms.
pub const T0: i64 = 1_767_225_600_000;
/// A day, ms.
pub const DAY: i64 = 86_400_000;

/// A store in a fresh temporary folder (kept alive by the returned guard).
pub fn store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.sqlite");
    let store = Store::open(&path).unwrap();
    (dir, path, store)
}

/// A session on `track` (no layout), `days` after [`T0`].
pub fn session(store: &mut Store, track: &str, kind: SessionType, days: i64) -> SessionKey {
    store
        .begin_session(&SessionInput {
            server: "pitwall test".into(),
            track: track.into(),
            layout: String::new(),
            session_type: kind,
            name: format!("{kind}"),
            started_at_ms: T0 + days * DAY,
            laps_limit: None,
            time_limit_s: Some(1800),
        })
        .unwrap()
}

/// `guid` named `name` in `car`.
pub fn entry(store: &mut Store, session: SessionKey, guid: &str, name: &str, car: &str) -> EntryKey {
    store
        .add_entry(
            session,
            &EntryInput {
                guid: guid.into(),
                name: name.into(),
                team: String::new(),
                car_id: 0,
                car_model: car.into(),
                skin: String::new(),
            },
        )
        .unwrap()
}

/// A lap of `time_ms` in three sectors (the first two given, the third the rest), with `cuts`.
pub fn lap(n: u32, time_ms: u32, s1: u32, s2: u32, cuts: u32, at: i64) -> LapInput {
    LapInput {
        lap: n,
        time_ms,
        sectors: vec![s1, s2, time_ms - s1 - s2],
        cuts,
        grip: Some(0.97),
        top_speed_kmh: Some(201.5),
        tyre: Some("M".into()),
        finished_at_ms: at,
    }
}
