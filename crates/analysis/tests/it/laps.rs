//! The lap table.

use std::time::Duration;

use analysis::{Invalid, Lap, LapTracker, laps};
use proto::telemetry::v1::{Flag, TelemetryFrame};
use testkit::sim::{Run, WALL0_NS, oval, session_id, with_drops};

fn table(
    cfg: sim::game::GameConfig,
    secs: u64,
    restarts: &[Duration],
) -> (Vec<Lap>, Vec<sim::game::LapRecord>, u64) {
    let mut tracker = LapTracker::new();
    let mut out = Vec::new();
    let mut missed = 0;
    let records = Run::new(cfg, Duration::from_secs(secs)).restart_at(restarts).for_each(|f| {
        missed += u64::from(f.missed_steps);
        tracker.push(&f);
        out.extend(std::iter::from_fn(|| tracker.pop_lap()));
    });
    tracker.finish();
    out.extend(std::iter::from_fn(|| tracker.pop_lap()));
    (out, records, missed)
}

#[test]
fn a_simulated_session_gives_the_simulators_own_lap_times_and_sectors() {
    let (laps, records, _) = table(oval(7), 240, &[]);
    assert!(records.len() >= 4, "the oval gives several laps in 4 minutes, got {}", records.len());
    // Every recorded lap, then the unfinished one.
    assert_eq!(laps.len(), records.len() + 1);
    for (lap, record) in laps.iter().zip(&records) {
        assert_eq!(lap.number, record.lap);
        assert_eq!(lap.game_time_ms, Some(record.time_ms), "lap {}", record.lap);
        assert_eq!(lap.time_ms, i64::from(record.time_ms));
        assert_eq!(lap.sectors_ms, record.sectors_ms, "lap {}", record.lap);
        assert!(lap.crossed_line);
        // The boundary is seen at the graphics update (60 Hz) that shows the count: the
        // computed time is within one graphics interval of the game's.
        assert!((lap.computed_time_ms - i64::from(record.time_ms)).abs() <= 17, "{lap:?}");
        assert!(lap.top_speed_kmh > 100.0 && lap.min_speed_kmh < lap.top_speed_kmh);
        assert!(lap.fuel_used_l > 0.0);
        assert!(lap.avg_tyre_core_c.iter().all(|&t| t > 20.0 && t < 150.0), "{:?}", lap.avg_tyre_core_c);
        assert_eq!(lap.missed_steps, 0);
    }
    // Lap 1 starts in the pit box: an out-lap. The others are clean.
    assert!(laps[0].out_lap);
    assert_eq!(laps[0].invalid, [Invalid::OutLap]);
    assert!(
        laps[1..records.len()].iter().all(Lap::is_valid),
        "{:?}",
        laps.iter().map(|l| &l.invalid).collect::<Vec<_>>()
    );
    let last = laps.last().unwrap();
    assert!(!last.crossed_line);
    assert_eq!(last.invalid, [Invalid::Unfinished]);
    // Laps tile the session: each starts where the previous ended.
    for w in laps.windows(2) {
        assert_eq!(w[1].start_seq, w[0].end_seq + 1);
        assert_eq!(w[1].start_mono_ns, w[0].end_mono_ns);
    }
}

#[test]
fn a_session_change_in_the_middle_starts_a_new_lap_table() {
    let (laps, records, _) = table(oval(3), 200, &[Duration::from_secs(110)]);
    let first: Vec<_> = laps.iter().filter(|l| l.session_id == session_id(1)).collect();
    let second: Vec<_> = laps.iter().filter(|l| l.session_id == session_id(2)).collect();
    assert_eq!(first.len() + second.len(), laps.len());
    let rec1: Vec<_> = records.iter().filter(|r| r.session == 1).collect();
    let rec2: Vec<_> = records.iter().filter(|r| r.session == 2).collect();
    assert!(!rec1.is_empty() && !rec2.is_empty());
    // Each session: its recorded laps, then the lap cut short by the restart or the end.
    assert_eq!(first.len(), rec1.len() + 1);
    assert_eq!(second.len(), rec2.len() + 1);
    for (lap, record) in first.iter().zip(&rec1).chain(second.iter().zip(&rec2)) {
        assert_eq!((lap.number, lap.time_ms), (record.lap, i64::from(record.time_ms)));
    }
    assert_eq!(first.last().unwrap().invalid, [Invalid::Unfinished]);
    // The new session starts again at lap 1, at seq 0, in the pit box.
    assert_eq!((second[0].number, second[0].start_seq), (1, 0));
    assert!(second[0].out_lap);
}

#[test]
fn missed_physics_steps_are_counted_per_lap() {
    let (laps, records, missed) = table(with_drops(oval(11), 0.02), 150, &[]);
    assert!(missed > 500, "2% of 50 000 steps are dropped, saw {missed}");
    assert_eq!(laps.iter().map(|l| l.missed_steps).sum::<u64>(), missed);
    assert!(laps.iter().all(|l| l.missed_steps > 0));
    // Dropped steps do not change the lap times: they come from the game.
    for (lap, record) in laps.iter().zip(&records) {
        assert_eq!(lap.time_ms, i64::from(record.time_ms));
    }
}

#[test]
fn no_frames_no_laps() {
    assert!(laps(&[]).is_empty());
    let mut tracker = LapTracker::new();
    tracker.finish();
    assert!(tracker.pop_lap().is_none());
}

/// A frame of a hand-built session: 3 ms steps, a 300 m lap of 1000 steps.
fn frame(seq: u64) -> TelemetryFrame {
    TelemetryFrame {
        session_id: vec![5; 16].into(),
        seq,
        wall_time_ns: WALL0_NS + seq as i64 * 3_000_000,
        mono_time_ns: seq as i64 * 3_000_000,
        speed_kmh: 100.0,
        fuel_l: 50.0 - seq as f32 * 0.001,
        normalized_position: (seq % 1000) as f32 / 1000.0,
        completed_laps: (seq / 1000) as i32,
        last_lap_ms: if seq >= 1000 { 2990 } else { 0 },
        ..Default::default()
    }
}

fn track(frames: impl IntoIterator<Item = TelemetryFrame>) -> Vec<Lap> {
    let frames: Vec<_> = frames.into_iter().collect();
    laps(&frames)
}

#[test]
fn a_crossing_the_game_does_not_count_is_a_lap_after_the_confirmation_window() {
    // The out-lap from a box before the line: the position wraps at seq 400, the count does
    // not move until the line is crossed again at seq 1400.
    let frames = (0..2000u64).map(|seq| TelemetryFrame {
        normalized_position: ((seq + 600) % 1000) as f32 / 1000.0,
        completed_laps: if seq >= 1400 { 1 } else { 0 },
        last_lap_ms: if seq >= 1400 { 2995 } else { 0 },
        in_pit_lane: seq < 100,
        ..frame(seq)
    });
    let mut tracker = LapTracker::new();
    let mut seen_at = Vec::new();
    for f in frames {
        let d = tracker.push(&f);
        if let Some(lap) = tracker.pop_lap() {
            seen_at.push((f.seq, lap));
        }
        if f.seq == 400 {
            assert!(d.crossed_line);
            assert_eq!(d.lap, 2);
        }
    }
    tracker.finish();
    // The uncounted lap is held back one second (333 frames), then released with a computed
    // time; the counted one comes at once with the game's.
    assert_eq!(seen_at.len(), 2);
    let (at, out_lap) = &seen_at[0];
    assert_eq!(*at, 400 + 334);
    assert_eq!((out_lap.number, out_lap.game_time_ms, out_lap.time_ms), (1, None, 1200));
    assert!(out_lap.out_lap && out_lap.invalid.contains(&Invalid::OutLap));
    let (at, lap) = &seen_at[1];
    assert_eq!(*at, 1400);
    assert_eq!((lap.number, lap.game_time_ms, lap.computed_time_ms), (2, Some(2995), 3000));
    assert!(lap.is_valid());
    assert_eq!(tracker.pop_lap().unwrap().number, 3);
}

#[test]
fn a_wrap_and_a_count_a_few_frames_apart_are_one_crossing() {
    // The position wraps at seq 1000, the count follows 5 frames later (another graphics
    // update), with the game's time and last sector.
    let frames = (0..1500u64).map(|seq| TelemetryFrame {
        completed_laps: if seq >= 1005 { 1 } else { 0 },
        last_lap_ms: if seq >= 1005 { 2997 } else { 0 },
        ..frame(seq)
    });
    let laps = track(frames);
    assert_eq!(laps.len(), 2);
    assert_eq!((laps[0].end_seq, laps[0].game_time_ms, laps[0].computed_time_ms), (999, Some(2997), 3000));
    assert_eq!(laps[1].number, 2);
    assert_eq!(laps[1].start_seq, 1000);

    // And the other way round: the count first, the wrap 5 frames later.
    let frames = (0..1500u64).map(|seq| TelemetryFrame {
        normalized_position: if (1000..1005).contains(&seq) {
            0.9999
        } else {
            frame(seq).normalized_position
        },
        ..frame(seq)
    });
    let laps = track(frames);
    assert_eq!(laps.len(), 2);
    assert_eq!((laps[0].end_seq, laps[0].time_ms), (999, 2990));
}

#[test]
fn cuts_penalties_and_pit_entries_invalidate_laps() {
    let frames = (0..4500u64).map(|seq| TelemetryFrame {
        tyres_out: if seq == 200 {
            3
        } else if seq == 1200 {
            2
        } else {
            0
        },
        penalty_time_s: if seq >= 2500 { 5.0 } else { 0.0 },
        flag: if seq == 3500 { Flag::Penalty.into() } else { Flag::None.into() },
        in_pit_lane: seq >= 4300,
        ..frame(seq)
    });
    let laps = track(frames);
    let reasons: Vec<_> = laps.iter().map(|l| l.invalid.clone()).collect();
    assert_eq!(
        reasons,
        [
            vec![Invalid::Cut],
            vec![],
            vec![Invalid::Penalty],
            vec![Invalid::Penalty],
            vec![Invalid::InLap, Invalid::Unfinished],
        ],
        "two tyres out is still on track; more is a cut"
    );
}

#[test]
fn a_reset_within_the_session_ends_the_lap() {
    // Two laps, then the game restarts the session under the same id: the count drops to 0.
    let frames = (0..3500u64).map(|seq| {
        let f = frame(seq);
        if seq >= 2500 {
            TelemetryFrame {
                completed_laps: 0,
                normalized_position: 0.0,
                last_lap_ms: 0,
                current_lap_ms: 0,
                ..f
            }
        } else {
            f
        }
    });
    let laps = track(frames);
    assert_eq!(laps.len(), 4);
    assert_eq!(laps[2].invalid, [Invalid::Reset, Invalid::Unfinished]);
    assert_eq!((laps[2].start_seq, laps[2].end_seq), (2000, 2499));
    // Numbers never go back within a session.
    assert_eq!(laps.iter().map(|l| l.number).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(laps[3].start_seq, 2500);
}

#[test]
fn a_stream_that_starts_mid_lap_marks_the_first_lap_partial() {
    let frames =
        (600..1500u64).map(|seq| TelemetryFrame { current_lap_ms: (seq % 1000) as i32 * 3, ..frame(seq) });
    let laps = track(frames);
    assert_eq!(laps[0].invalid, [Invalid::Partial]);
    assert_eq!(laps[0].time_ms, 2990, "the game's time of the whole lap");
    assert_eq!(laps[0].computed_time_ms, 1200);
    assert!(laps[1].invalid == [Invalid::Unfinished]);
}
