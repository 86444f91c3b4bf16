//! A Parquet dataset folder, as the ingest server's sink lays it out, as input.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use convert::{Format, InputKind};
use proto::telemetry::v1::TelemetryFrame;
use table::{FrameFileWriter, Variant, WriteOptions};

use crate::motec::same_channels;
use crate::parquet::{read_parquet, without_metadata};
use crate::{convert, convert_to, derived, recording};

/// Writes `frames` as the sink does: `session=<uuid>/car=<car>/part-N.parquet` of `part_rows`
/// rows each, the frame table without derived columns, the session's id and metadata in each
/// file's key-value metadata. Adds what a reader must skip: a part being written and the
/// catalogue.
fn write_dataset(root: &Path, frames: &[TelemetryFrame], part_rows: usize) {
    let mut start = 0;
    while start < frames.len() {
        let id = &frames[start].session_id;
        let end =
            frames[start..].iter().position(|f| f.session_id != *id).map_or(frames.len(), |n| start + n);
        let session = &frames[start..end];
        let meta = session[0].session.clone().unwrap();
        let folder = root
            .join(format!("session={}", table::session_id_text(id)))
            .join(format!("car={}", meta.car_model));
        std::fs::create_dir_all(&folder).unwrap();
        // Part numbers past 9 check that parts sort by number, not by name.
        for (n, part) in session.chunks(part_rows).enumerate() {
            let file = File::create(folder.join(format!("part-{:06}.parquet", n * 7))).unwrap();
            let mut w = FrameFileWriter::new(file, Variant::Frames, &WriteOptions::default()).unwrap();
            let rows: Vec<TelemetryFrame> = without_metadata(part);
            w.append(&rows).unwrap();
            w.add_metadata(table::KV_SESSION_ID, table::session_id_text(id));
            w.add_metadata(table::KV_SESSION, table::session_metadata_json(&meta).to_string());
            w.finish().unwrap();
        }
        std::fs::write(folder.join(".part-000999.parquet.inprogress"), b"half a file").unwrap();
        start = end;
    }
    std::fs::write(root.join("_catalogue.sqlite"), b"not parquet").unwrap();
}

#[test]
fn a_parquet_dataset_converts_like_the_recording_it_was_made_from() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, _) = recording(dir.path(), "run.pb.gz", 50, &[Duration::from_secs(30)]);
    let root = dir.path().join("parquet");
    write_dataset(&root, &frames, 1500);
    assert_eq!(InputKind::detect(&root).unwrap(), InputKind::ParquetDataset);
    assert!(convert::dataset_files(&root).unwrap().len() > 10);

    // Parquet: the frames, with the derived columns recomputed.
    let out = dir.path().join("from-dataset.parquet");
    let report = convert(&root, &out);
    assert_eq!((report.input, report.rows), (InputKind::ParquetDataset, frames.len() as u64));
    let (batch, _) = read_parquet(&out);
    let reader = convert::rows::RowReader::new(batch.schema().as_ref(), &out).unwrap();
    let mut back = Vec::new();
    reader.read(&batch, 0, &mut back).unwrap();
    assert_eq!(back, without_metadata(&frames));
    let laps = batch.column_by_name("lap").unwrap();
    let laps = arrow_array::cast::AsArray::as_primitive::<arrow_array::types::UInt32Type>(laps);
    assert!(laps.values().iter().zip(derived(&frames)).all(|(l, d)| *l == d.lap));

    // CSV: the same bytes as from the recording.
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    convert(&input, &a);
    convert(&root, &b);
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "the CSV files differ");

    // MoTeC: the same logs, the session metadata (driver, tyre radii for the wheel speeds)
    // coming back from the key-value metadata.
    convert(&input, &dir.path().join("rec.ld"));
    let report = convert_to(&root, &dir.path().join("set.motec"), Format::Motec);
    assert_eq!(report.outputs.len(), 4);
    for n in 1..=2 {
        let a = motec::read::read_file(&dir.path().join(format!("rec-{n}.ld"))).unwrap();
        let b = motec::read::read_file(&dir.path().join(format!("set-{n}.motec"))).unwrap();
        same_channels(&a, &b);
        assert_eq!(a.header.driver, b.header.driver);
        assert!(b.channel("Wheel Speed FL").unwrap().values().iter().any(|v| *v > 50.0));
    }

    // One part file alone is an input too.
    let one = convert::dataset_files(&root).unwrap().remove(0);
    assert_eq!(InputKind::detect(&one).unwrap(), InputKind::ParquetFile);
    assert_eq!(convert(&one, &dir.path().join("one.csv")).rows, 1500);
}

#[test]
fn a_folder_without_parquet_files_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let err = convert::convert(dir.path(), &dir.path().join("x.csv"), &Default::default(), &mut |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("no .parquet file"), "{err}");
    assert!(!dir.path().join("x.csv").exists());
}

#[test]
fn a_slice_of_a_session_reads_only_its_rows_and_the_columns_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (_, frames, _) = recording(dir.path(), "run.pb.gz", 50, &[Duration::from_secs(30)]);
    let root = dir.path().join("parquet");
    // Parts of 1 500 rows, each one row group (the writer's default is 128 Ki rows).
    write_dataset(&root, &frames, 1500);
    let id: [u8; 16] = frames[0].session_id.as_ref().try_into().unwrap();
    let parts = convert::slice::session_files(&root, &id).unwrap();
    assert!(
        parts.len() >= 4 && parts.iter().all(|p| p.extension().is_some_and(|e| e == "parquet")),
        "{parts:?}"
    );

    // Rows 2 000..=4 999 span three part files of 1 500 rows.
    let all = convert::slice::read_slice(&root, &id, 2_000..=4_999, None).unwrap();
    assert_eq!(all.row_groups_read, 3, "only the row groups that hold the range");
    let expected: Vec<TelemetryFrame> = without_metadata(&frames[2_000..5_000]);
    assert_eq!(all.frames, expected);
    assert_eq!(all.metadata, frames[0].session.clone());
    assert_eq!(all.files, parts.len());

    // Two columns: those fields, the identity, and nothing else.
    let some =
        convert::slice::read_slice(&root, &id, 2_000..=2_009, Some(&["speed_kmh", "position_m_x"])).unwrap();
    assert_eq!(some.frames.len(), 10);
    for (got, want) in some.frames.iter().zip(&frames[2_000..]) {
        assert_eq!((got.seq, got.speed_kmh), (want.seq, want.speed_kmh));
        assert_eq!(got.position_m.map(|p| p.x), want.position_m.map(|p| p.x));
        assert_eq!(got.position_m.map(|p| p.z), Some(0.0), "a column not asked for stays at its default");
        assert_eq!(got.rpm, 0);
    }

    // Another session, or a range past the end: nothing, and no error.
    assert!(convert::slice::read_slice(&root, &[9; 16], 0..=10, None).unwrap().frames.is_empty());
    assert!(convert::slice::read_slice(&root, &id, 1_000_000..=1_000_010, None).unwrap().frames.is_empty());
}
