//! Damaged recordings convert up to the damage, and say where it is.

use record::RecordReader;

use crate::parquet::{read_parquet, without_metadata};
use crate::recording;

/// Frames a reader gets from `path` before the damage, and the damage's offset.
fn readable(path: &std::path::Path) -> (Vec<proto::telemetry::v1::TelemetryFrame>, u64) {
    let mut reader = RecordReader::open(path).unwrap();
    let frames: Vec<_> = reader.by_ref().filter_map(Result::ok).collect();
    (frames, reader.damage().expect("the file is damaged").offset)
}

#[test]
fn a_recording_cut_in_the_middle_converts_the_frames_before_the_cut_and_names_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (full, frames, _) = recording(dir.path(), "full.pb.gz", 40, &[]);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.pb.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (before, offset) = readable(&cut);
    assert!(!before.is_empty() && before.len() < frames.len() / 2 + 1000);

    let output = dir.path().join("cut.parquet");
    let report = crate::convert(&cut, &output);
    assert_eq!(report.rows, before.len() as u64);
    let damage = report.damage.expect("the damage is reported");
    assert_eq!(damage.offset, offset);
    assert!(damage.kind.is_truncation(), "{:?}", damage.kind);
    assert!(damage.offset > 0 && damage.offset < bytes.len() as u64 / 2);

    // A complete Parquet file of exactly those frames, saying where the input stopped.
    let (batch, kv) = read_parquet(&output);
    let reader = convert::rows::RowReader::new(batch.schema().as_ref(), &output).unwrap();
    let mut back = Vec::new();
    reader.read(&batch, 0, &mut back).unwrap();
    assert_eq!(back, without_metadata(&frames[..before.len()]));
    let note: serde_json::Value = serde_json::from_str(&kv[convert::KV_DAMAGE]).unwrap();
    assert_eq!(note["offset"], offset);
}

#[test]
fn a_corrupt_member_stops_the_conversion_there_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (full, _, _) = recording(dir.path(), "full.pb.gz", 20, &[]);
    let mut bytes = std::fs::read(&full).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x5a;
    let bad = dir.path().join("bad.pb.gz");
    std::fs::write(&bad, &bytes).unwrap();
    let (before, offset) = readable(&bad);

    let report = crate::convert(&bad, &dir.path().join("bad.csv"));
    assert_eq!(report.rows, before.len() as u64);
    let damage = report.damage.unwrap();
    assert_eq!(damage.offset, offset);
    assert!(!damage.kind.is_truncation());
    assert!(damage.offset <= at as u64);
}
