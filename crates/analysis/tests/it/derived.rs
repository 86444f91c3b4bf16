//! The derived per-frame columns.

use std::time::Duration;

use analysis::{Derived, LapTracker};
use proto::telemetry::v1::TelemetryFrame;

use testkit::sim::{Run, oval};

#[test]
fn derived_columns_follow_the_lap_table_on_a_simulated_session() {
    let mut tracker = LapTracker::new();
    let mut rows: Vec<(TelemetryFrame, Derived)> = Vec::new();
    let mut laps = Vec::new();
    let mut spline = 0.0;
    Run::new(oval(5), Duration::from_secs(130)).for_each(|f| {
        if let Some(m) = &f.session {
            spline = m.track_spline_length_m;
        }
        let d = tracker.push(&f);
        laps.extend(std::iter::from_fn(|| tracker.pop_lap()));
        // Keep what the checks need, not 40 000 whole frames.
        let slim = TelemetryFrame { seq: f.seq, mono_time_ns: f.mono_time_ns, ..Default::default() };
        rows.push((slim, d));
    });
    tracker.finish();
    laps.extend(std::iter::from_fn(|| tracker.pop_lap()));
    assert!(laps.len() >= 3);
    assert!(spline > 1000.0);

    let first_mono = rows[0].0.mono_time_ns;
    for (f, d) in &rows {
        let lap = laps.iter().find(|l| (l.start_seq..=l.end_seq).contains(&f.seq)).unwrap();
        assert_eq!(d.lap, lap.number, "seq {}", f.seq);
        assert_eq!(d.session_time_s, (f.mono_time_ns - first_mono) as f64 / 1e9);
        assert!((0.0..=spline).contains(&d.lap_distance_m), "{d:?}");
        assert_eq!(d.crossed_line, f.seq == lap.start_seq && lap.number > 1, "seq {}", f.seq);
        if d.crossed_line {
            // The game's lap clock when the crossing shows: within a graphics interval.
            assert!((0..=20).contains(&d.lap_time_ms), "{d:?}");
        }
    }
    // Within a lap, time and distance only grow (distance: once past the line's first metres).
    for w in rows.windows(2) {
        let ((_, a), (_, b)) = (&w[0], &w[1]);
        if a.lap == b.lap {
            assert!(b.lap_time_ms >= a.lap_time_ms);
            assert!(b.lap_distance_m + 1e-3 >= a.lap_distance_m, "{a:?} then {b:?}");
        }
    }
}

#[test]
fn without_a_spline_length_lap_distance_is_the_distance_driven_in_the_lap() {
    let mut tracker = LapTracker::new();
    let mut last = Derived::default();
    for seq in 0..1500u64 {
        let f = TelemetryFrame {
            session_id: vec![2; 16].into(),
            seq,
            mono_time_ns: 1_000_000_000 + seq as i64 * 3_000_000,
            distance_traveled_m: seq as f32 * 0.25,
            completed_laps: (seq / 1000) as i32,
            current_lap_ms: 40,
            ..Default::default()
        };
        last = tracker.push(&f);
        if seq == 999 {
            assert_eq!((last.lap, last.lap_distance_m, last.lap_time_ms), (1, 249.75, 40 + 2997));
        }
    }
    assert_eq!(last.lap, 2);
    assert_eq!(last.lap_distance_m, 499.0 * 0.25);
    assert_eq!(last.session_time_s, 1499.0 * 0.003);
}
