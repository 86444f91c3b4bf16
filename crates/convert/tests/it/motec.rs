//! Recording → MoTeC i2, read back with the motec crate's independent reader.

use std::time::Duration;

use analysis::{ExportOptions, motec_export};
use convert::{ConvertError, ConvertOptions};

use crate::{convert, recording};

/// Asserts two logs hold the same channels with the same samples.
pub fn same_channels(a: &motec::read::LdFile, b: &motec::read::LdFile) {
    assert_eq!(a.channels.len(), b.channels.len());
    for (x, y) in a.channels.iter().zip(&b.channels) {
        assert_eq!((&x.name, &x.unit, x.rate_hz), (&y.name, &y.unit, y.rate_hz));
        assert_eq!(x.values(), y.values(), "channel {}", x.name);
    }
}

#[test]
fn a_simulated_recording_converts_to_a_motec_log_channel_by_channel() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, records) = recording(dir.path(), "run.pb.gz", 100, &[]);
    let output = dir.path().join("run.ld");
    let report = convert(&input, &output);
    assert_eq!(report.rows, frames.len() as u64);
    assert_eq!(report.outputs, [output.clone(), dir.path().join("run.ldx")]);
    let log = motec::read::read_file(&output).unwrap();

    // The same log as exporting the frames directly.
    let direct = dir.path().join("direct.ld");
    motec_export(frames.iter().cloned(), &direct, &ExportOptions::default()).unwrap();
    let direct = motec::read::read_file(&direct).unwrap();
    same_channels(&log, &direct);

    // And the values are the frames': grid sample k is at k/333 s after the first frame, where
    // the held gear is the last frame's and the speed lies between the frames around it.
    let t0 = frames[0].mono_time_ns;
    let speed = log.channel("Ground Speed").unwrap().values();
    let gear = log.channel("Gear").unwrap().values();
    assert!(speed.len() > 30_000);
    for k in (0..speed.len()).step_by(1009) {
        let t = t0 + (k as i64 * 1_000_000_000) / 333;
        let i = frames.partition_point(|f| f.mono_time_ns <= t);
        let (a, b) = (&frames[i - 1], &frames[i.min(frames.len() - 1)]);
        let (lo, hi) = (a.speed_kmh.min(b.speed_kmh) as f64, a.speed_kmh.max(b.speed_kmh) as f64);
        assert!(speed[k] >= lo - 0.01 && speed[k] <= hi + 0.01, "sample {k}: {} not in {lo}..{hi}", speed[k]);
        assert_eq!(gear[k], f64::from(a.gear), "sample {k}");
    }
    // Header from the session metadata; lap markers from the laps.
    assert!(!log.header.venue.is_empty() && !log.header.driver.is_empty(), "{:?}", log.header);
    assert_eq!((&log.header.venue, &log.header.driver), (&direct.header.venue, &direct.header.driver));
    let ldx = std::fs::read_to_string(dir.path().join("run.ldx")).unwrap();
    assert_eq!(
        ldx.matches("ClassName=\"BCN\"").count(),
        records.len(),
        "one beacon per line crossing: {ldx}"
    );
}

#[test]
fn a_recording_with_two_sessions_becomes_two_numbered_motec_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, _) = recording(dir.path(), "two.pb.gz", 60, &[Duration::from_secs(25)]);
    let change = frames.iter().position(|f| f.session_id != frames[0].session_id).unwrap();
    let output = dir.path().join("two.ld");
    let report = convert(&input, &output);
    let names: Vec<String> =
        report.outputs.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["two-1.ld", "two-1.ldx", "two-2.ld", "two-2.ldx"]);
    assert!(!output.exists() && !dir.path().join("two.ldx").exists());
    for (path, part) in [("two-1.ld", &frames[..change]), ("two-2.ld", &frames[change..])] {
        let direct = dir.path().join(format!("direct-{path}"));
        motec_export(part.iter().cloned(), &direct, &ExportOptions::default()).unwrap();
        same_channels(
            &motec::read::read_file(&dir.path().join(path)).unwrap(),
            &motec::read::read_file(&direct).unwrap(),
        );
    }
}

#[test]
fn a_recording_of_no_frames_converts_to_empty_tables_but_no_motec_log() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.pb.gz");
    record::RecordWriter::create(&input, record::RecordOptions::default()).unwrap().close().unwrap();

    let parquet = dir.path().join("empty.parquet");
    assert_eq!(convert(&input, &parquet).rows, 0);
    let (batch, _) = crate::parquet::read_parquet(&parquet);
    assert_eq!(batch.num_rows(), 0);
    assert_eq!(
        batch.num_columns(),
        table::FrameSchema::new(table::Variant::FramesWithDerived).columns().len()
    );

    let csv = dir.path().join("empty.csv");
    assert_eq!(convert(&input, &csv).rows, 0);
    assert_eq!(std::fs::read_to_string(&csv).unwrap().matches("\r\n").count(), 1, "the header only");

    let ld = dir.path().join("empty.ld");
    let err = convert::convert(&input, &ld, &ConvertOptions::default(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, ConvertError::NoFrames(_)), "{err}");
    assert!(err.to_string().contains("empty.pb.gz"));
    assert!(!ld.exists() && !dir.path().join("empty.ldx").exists());
}
