//! The lap table of an input.

use std::time::Duration;

use crate::recording;

#[test]
fn the_lap_table_of_a_simulated_session_has_the_simulators_lap_times() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, records) = recording(dir.path(), "run.pb.gz", 160, &[]);
    assert!(records.len() >= 3, "{records:?}");
    let (laps, summary) = convert::lap_table(&input, &mut |_| {}).unwrap();
    assert_eq!(summary.frames, frames.len() as u64);
    assert!(summary.damages.is_empty());
    assert_eq!(laps.len(), records.len() + 1, "the recorded laps and the unfinished one");
    for (lap, record) in laps.iter().zip(&records) {
        assert_eq!((lap.number, lap.time_ms), (record.lap, i64::from(record.time_ms)));
        assert_eq!(lap.sectors_ms, record.sectors_ms);
    }
    assert_eq!(laps, analysis::laps(&frames));
}

#[test]
fn the_lap_table_of_two_sessions_restarts_its_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, _) = recording(dir.path(), "two.pb.gz", 120, &[Duration::from_secs(60)]);
    let (laps, _) = convert::lap_table(&input, &mut |_| {}).unwrap();
    assert_eq!(laps, analysis::laps(&frames));
    let second = laps.iter().position(|l| l.session_id != laps[0].session_id).unwrap();
    assert_eq!(laps[second].number, 1);
}
