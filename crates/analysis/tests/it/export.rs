//! MoTeC export of simulated sessions, read back by the motec crate's independent reader.

use std::time::Duration;

use analysis::{AnalysisError, ExportOptions, MotecExporter, channel_names, motec_export};
use motec::Ldx;
use proto::telemetry::v1::TelemetryFrame;
use testkit::sim::{Run, oval, with_drops};

/// The value of `get` at `t` by linear interpolation between the frames around it.
fn at(frames: &[TelemetryFrame], t: i64, get: impl Fn(&TelemetryFrame) -> f64) -> f64 {
    let i = frames.partition_point(|f| f.mono_time_ns <= t);
    let b = &frames[i.min(frames.len() - 1)];
    let a = &frames[i.saturating_sub(1)];
    if a.mono_time_ns == t || b.mono_time_ns == a.mono_time_ns {
        return get(a);
    }
    let w = (t - a.mono_time_ns) as f64 / (b.mono_time_ns - a.mono_time_ns) as f64;
    get(a) + (get(b) - get(a)) * w
}

#[test]
fn a_simulated_session_exports_every_channel_on_uniform_grids() {
    let (frames, records) = Run::new(oval(9), Duration::from_secs(100)).frames();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.ld");
    let report = motec_export(frames.iter().cloned(), &path, &ExportOptions::default()).unwrap();
    let log = motec::read::read_file(&path).unwrap();

    // Channels, units and rates as announced.
    let names = channel_names();
    assert_eq!(log.channels.len(), names.len());
    for ((name, unit, rate), c) in names.iter().zip(&log.channels) {
        assert_eq!((&c.name, c.unit.as_str(), c.rate_hz), (name, *unit, *rate));
    }
    for required in [
        "Ground Speed",
        "Throttle Pos",
        "Brake Pos",
        "Engine RPM",
        "Gear",
        "G Force Lat",
        "Tyre Temp FL",
        "Tyre Pres RR",
        "Susp Pos FR",
        "Brake Temp RL",
        "Wheel Speed FL",
        "Lap Distance",
        "Lap Time",
        "Lap Number",
        "Beacon",
        "Fuel Level",
        "Car Coord X",
        "Steered Angle",
        "Clutch Pos",
        "G Force Vert",
    ] {
        assert!(log.channel(required).is_some(), "{required}");
    }

    // Sample counts from the monotonic span: both ends of the grid included.
    let (t0, t1) = (frames[0].mono_time_ns, frames.last().unwrap().mono_time_ns);
    let expect = |rate: i64| ((t1 - t0) as i128 * i128::from(rate) / 1_000_000_000) as u64 + 1;
    assert_eq!(report.physics_samples, expect(333));
    assert_eq!(report.graphics_samples, expect(60));
    assert_eq!(log.channel("Ground Speed").unwrap().raw.len() as u64, report.physics_samples);
    assert_eq!(log.channel("Car Coord X").unwrap().raw.len() as u64, report.graphics_samples);
    assert_eq!((report.frames, report.filled_samples, report.missed_steps), (frames.len() as u64, 0, 0));
    assert!(report.ld.altered_text.is_empty(), "{:?}", report.ld.altered_text);

    // Values: interpolated speed (2 decimals), held gear, at grid instants.
    let speed = log.channel("Ground Speed").unwrap().values();
    let gear = log.channel("Gear").unwrap().values();
    let throttle = log.channel("Throttle Pos").unwrap().values();
    for k in (0..speed.len()).step_by(997) {
        let tk = t0 + (k as i128 * 1_000_000_000 / 333) as i64;
        let want = at(&frames, tk, |f| f64::from(f.speed_kmh));
        assert!((speed[k] - want).abs() <= 0.005 + 1e-9, "sample {k}: {} vs {want}", speed[k]);
        assert!((throttle[k] - at(&frames, tk, |f| f64::from(f.throttle) * 100.0)).abs() <= 0.05 + 1e-9);
        let held = &frames[frames.partition_point(|f| f.mono_time_ns <= tk) - 1];
        assert_eq!(gear[k], f64::from(held.gear), "sample {k}");
    }
    // Wheel speed from the angular speed and the static page's tyre radius: near the car's speed.
    let wheel = log.channel("Wheel Speed RL").unwrap().values();
    let k = speed.len() / 2;
    assert!((wheel[k] - speed[k]).abs() < 0.1 * speed[k].max(10.0), "{} vs {}", wheel[k], speed[k]);

    // Laps: one beacon per crossing, at the crossing's time on the log's clock.
    assert_eq!(report.laps.len(), records.len() + 1);
    let crossings: Vec<u64> =
        report.laps.iter().filter(|l| l.crossed_line).map(|l| ((l.end_mono_ns - t0) / 1000) as u64).collect();
    let ldx = Ldx::parse(&std::fs::read_to_string(dir.path().join("session.ldx")).unwrap()).unwrap();
    assert_eq!(ldx, report.ldx);
    assert_eq!(ldx.beacons_us, crossings);
    assert_eq!(ldx.total_laps, Some(report.laps.len() as u32));
    let best = records[1..].iter().map(|r| r.time_ms).min().unwrap();
    let fastest = ldx.fastest.unwrap();
    assert_eq!(fastest.time_ms as i32, best, "lap 1 is the out-lap and does not count");
    assert_eq!(records[fastest.lap as usize - 1].time_ms, best);
    let beacon = log.channel("Beacon").unwrap().values();
    assert_eq!(beacon.iter().filter(|&&b| b == 1.0).count(), crossings.len());
    let lap_number = log.channel("Lap Number").unwrap().values();
    assert_eq!(lap_number.first(), Some(&1.0));
    assert_eq!(lap_number.last(), Some(&(report.laps.len() as f64)));

    // Header from the session metadata and the first frame's wall clock.
    let h = &log.header;
    assert_eq!(h.driver, "Jürgen Ødegård");
    assert_eq!(h.venue, "pitwall_oval");
    assert_eq!(h.vehicle_id, frames[0].session.as_ref().unwrap().car_model);
    assert_eq!((h.date.as_str(), h.time.as_str()), ("14/11/2023", "22:13:20"));
    assert_eq!(h.session, "Practice");
    let event = h.event.as_ref().unwrap();
    assert_eq!(event.name, "Assetto Corsa");
    // The session id in hex: the test kit's first session's.
    assert_eq!(event.comment, "pitwall session 018bd37e100171428001264b7095badf");
}

#[test]
fn skipped_steps_are_filled_and_counted() {
    let (frames, _) = Run::new(with_drops(oval(4), 0.05), Duration::from_secs(40)).frames();
    let missed: u64 = frames.iter().map(|f| u64::from(f.missed_steps)).sum();
    let dir = tempfile::tempdir().unwrap();
    let report =
        motec_export(frames.iter().cloned(), &dir.path().join("drops.ld"), &ExportOptions::default())
            .unwrap();
    assert_eq!(report.missed_steps, missed);
    assert!(missed > 300);
    // Every grid instant inside a gap left by skipped steps is filled: about one per
    // skipped step (333 Hz grid, 3 ms steps).
    let gaps: u64 = frames
        .windows(2)
        .filter(|w| w[1].missed_steps > 0)
        .map(|w| {
            let t0 = frames[0].mono_time_ns as i128;
            let k = |t: i64| ((t as i128 - t0) * 333).div_euclid(1_000_000_000);
            // Grid instants in (a, b): those up to b minus those up to a, less b itself when on the grid.
            let on_b = ((w[1].mono_time_ns as i128 - t0) * 333) % 1_000_000_000 == 0;
            (k(w[1].mono_time_ns) - k(w[0].mono_time_ns) - i128::from(on_b)) as u64
        })
        .sum();
    assert_eq!(report.filled_samples, gaps);
    assert!(
        report.filled_samples as f64 > missed as f64 * 0.9,
        "{} filled for {missed} missed",
        report.filled_samples
    );
}

#[test]
fn no_frames_give_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.ld");
    let report = motec_export(std::iter::empty(), &path, &ExportOptions::default()).unwrap();
    assert_eq!((report.frames, report.physics_samples, report.laps.len()), (0, 0, 0));
    let log = motec::read::read_file(&path).unwrap();
    assert_eq!(log.channels.len(), channel_names().len());
    assert!(log.channels.iter().all(|c| c.raw.is_empty()));
    let ldx = Ldx::parse(&std::fs::read_to_string(dir.path().join("empty.ldx")).unwrap()).unwrap();
    assert!(ldx.beacons_us.is_empty());
    assert_eq!(ldx.fastest, None);
}

#[test]
fn a_second_session_in_one_export_is_an_error_naming_the_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mut exporter = MotecExporter::create(&dir.path().join("two.ld"), ExportOptions::default()).unwrap();
    let f = |id: u8, seq| TelemetryFrame { session_id: vec![id; 16].into(), seq, ..Default::default() };
    exporter.push(&f(1, 0)).unwrap();
    exporter.push(&f(1, 1)).unwrap();
    let err = exporter.push(&f(2, 0)).unwrap_err();
    assert!(matches!(err, AnalysisError::SessionChanged { seq: 0, .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "frame seq 0 is of session {}, but this export is of session {}: export one session per file",
            "02".repeat(16),
            "01".repeat(16)
        )
    );
    assert_eq!(exporter.session_id(), Some(&[1u8; 16][..]));
}

#[test]
fn a_bad_output_path_fails_before_any_frame() {
    let err =
        MotecExporter::create(std::path::Path::new("/nonexistent-dir/x/out.ld"), ExportOptions::default())
            .unwrap_err();
    assert!(err.to_string().starts_with("i/o error while creating the"), "{err}");
}
