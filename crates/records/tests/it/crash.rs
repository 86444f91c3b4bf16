//! A crash in the middle of a batch: what was committed survives, the rest is gone, and the
//! file opens and takes writes again.
//!
//! The crash is real: this test binary runs itself again as a child that commits a lap, writes
//! a second one into the open transaction and aborts (no destructor runs, nothing is flushed).

use std::process::Command;

use records::{Query, Ranking, SessionType, Store};

use crate::{T0, entry, lap, session, store};

const CHILD_ENV: &str = "PITWALL_RECORDS_CRASH_DB";

/// The child's part; does nothing unless the parent set [`CHILD_ENV`].
#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    let mut store = Store::open(path.as_ref()).unwrap();
    let s = session(&mut store, "monza", SessionType::Practice, 0);
    let a = entry(&mut store, s, "g1", "Ada", "mx5");
    store.add_lap(a, &lap(1, 100_000, 30_000, 30_000, 0, T0)).unwrap();
    store.flush().unwrap();
    store.add_lap(a, &lap(2, 99_000, 30_000, 30_000, 0, T0 + 1)).unwrap();
    store.add_chat(a, "lost", T0 + 2).unwrap();
    std::process::abort();
}

#[test]
fn a_crash_mid_transaction_loses_only_the_uncommitted() {
    let (_dir, path, store) = store();
    drop(store);
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["crash::crash_child", "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, &path)
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have crashed");

    let mut store = Store::open(&path).unwrap();
    let q = Query { ranking: Ranking::EveryLap, ..Query::new("monza", "") };
    let laps: Vec<_> = store.leaderboard(&q).unwrap().into_iter().map(|r| r.time_ms).collect();
    assert_eq!(laps, [100_000]);
    // And the file takes writes again.
    let s = session(&mut store, "monza", SessionType::Race, 1);
    let b = entry(&mut store, s, "g2", "Ben", "mx5");
    store.add_lap(b, &lap(1, 98_000, 30_000, 30_000, 0, T0)).unwrap();
    store.flush().unwrap();
    assert_eq!(store.leaderboard(&q).unwrap().len(), 2);
}

#[test]
fn dropping_the_store_commits_the_open_batch() {
    let (_dir, path, mut store) = store();
    let s = session(&mut store, "monza", SessionType::Practice, 0);
    let a = entry(&mut store, s, "g1", "Ada", "mx5");
    store.add_lap(a, &lap(1, 100_000, 30_000, 30_000, 0, T0)).unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.leaderboard(&Query::new("monza", "")).unwrap().len(), 1);
}
