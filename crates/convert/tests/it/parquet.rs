//! Recording → Parquet, read back with the `parquet` crate's Arrow reader.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use convert::rows::RowReader;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use proto::telemetry::v1::TelemetryFrame;
use table::{FrameSchema, Variant};

use crate::{convert, derived, recording};

/// Every row of a Parquet file as one batch, and its key-value metadata.
pub fn read_parquet(path: &Path) -> (RecordBatch, std::collections::HashMap<String, String>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| kv.iter().map(|e| (e.key.clone(), e.value.clone().unwrap_or_default())).collect())
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    (arrow_select::concat::concat_batches(&schema, &batches).unwrap(), kv)
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let a = batch.column_by_name(name).unwrap();
    let d = a.as_dictionary::<Int32Type>();
    let values = d.values().as_string::<i32>();
    d.keys().values().iter().map(|k| values.value(*k as usize).to_owned()).collect()
}

fn enum_names(batch: &RecordBatch, name: &str) -> Vec<String> {
    let a = batch.column_by_name(name).unwrap();
    let d = a.as_dictionary::<arrow_array::types::Int8Type>();
    let values = d.values().as_string::<i32>();
    d.keys().values().iter().map(|k| values.value(*k as usize).to_owned()).collect()
}

fn f32s(batch: &RecordBatch, name: &str) -> Vec<Option<f32>> {
    let a = batch.column_by_name(name).unwrap().as_primitive::<Float32Type>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
}

/// Frames as compared with rows: the session metadata is not a column.
pub fn without_metadata(frames: &[TelemetryFrame]) -> Vec<TelemetryFrame> {
    frames.iter().map(|f| TelemetryFrame { session: None, ..f.clone() }).collect()
}

#[test]
fn a_simulated_recording_converts_to_parquet_with_every_column_typed_and_equal_to_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, _) = recording(dir.path(), "run.pb.gz", 100, &[]);
    let output = dir.path().join("run.parquet");
    let report = convert(&input, &output);
    assert_eq!(report.rows, frames.len() as u64);
    assert_eq!(report.outputs, std::slice::from_ref(&output));
    assert!(report.damages.is_empty() && report.warnings.is_empty(), "{report:?}");

    let (batch, kv) = read_parquet(&output);
    assert_eq!(batch.num_rows(), frames.len());

    // Every column of the table, in order, with its type and unit.
    let schema = FrameSchema::new(Variant::FramesWithDerived);
    assert_eq!(batch.num_columns(), schema.columns().len());
    for (c, f) in schema.columns().iter().zip(batch.schema().fields()) {
        assert_eq!((f.name(), f.data_type()), (&c.name, &c.data_type));
        assert_eq!(f.metadata().get("unit").map(String::as_str), Some(c.unit), "{}", c.name);
    }

    // Values, column by column, against the frames.
    let seq = batch.column_by_name("seq").unwrap().as_primitive::<UInt64Type>();
    assert!(seq.values().iter().zip(&frames).all(|(s, f)| *s == f.seq));
    let wall = batch.column_by_name("wall_time_ns").unwrap().as_primitive::<Int64Type>();
    assert!(wall.values().iter().zip(&frames).all(|(w, f)| *w == f.wall_time_ns));
    let rpm = batch.column_by_name("rpm").unwrap().as_primitive::<Int32Type>();
    assert!(rpm.values().iter().zip(&frames).all(|(r, f)| *r == f.rpm));
    let ids = strings(&batch, "session_id");
    assert!(ids.iter().zip(&frames).all(|(s, f)| *s == table::session_id_text(&f.session_id)));
    assert_eq!(ids[0].len(), 36);
    let speed = f32s(&batch, "speed_kmh");
    assert!(speed.iter().zip(&frames).all(|(s, f)| *s == Some(f.speed_kmh)));
    assert!(frames.iter().any(|f| f.speed_kmh > 100.0), "the car drives");
    let fl = f32s(&batch, "tyre_pressure_psi_fl");
    assert!(fl.iter().zip(&frames).all(|(p, f)| *p == f.tyre_pressure_psi.map(|w| w.fl)));
    let contact = f32s(&batch, "tyre_contact_point_m_rr_z");
    assert!(contact.iter().zip(&frames).all(|(c, f)| *c == f.tyre_contact_point_m.get(3).map(|v| v.z)));
    let damage = f32s(&batch, "car_damage_centre");
    assert!(damage.iter().zip(&frames).all(|(d, f)| *d == f.car_damage.get(4).copied()));
    let status = enum_names(&batch, "status");
    assert!(status.iter().zip(&frames).all(|(s, f)| *s == table::fields::GAME_STATUS.name(f.status)));
    assert!(status.iter().any(|s| s == "live"));
    let compound = strings(&batch, "tyre_compound");
    assert!(compound.iter().zip(&frames).all(|(c, f)| *c == f.tyre_compound));
    let pit = batch.column_by_name("in_pit_lane").unwrap().as_boolean();
    assert!((0..frames.len()).all(|i| pit.value(i) == frames[i].in_pit_lane));

    // All of it at once: the rows read back as frames are the frames.
    let reader = RowReader::new(batch.schema().as_ref(), &output).unwrap();
    assert!(reader.missing().is_empty());
    let mut back = Vec::new();
    reader.read(&batch, 0, &mut back).unwrap();
    assert_eq!(back, without_metadata(&frames));

    // Derived columns: the lap tracker's.
    let expected = derived(&frames);
    let lap = batch.column_by_name("lap").unwrap().as_primitive::<UInt32Type>();
    let lap_time = batch.column_by_name("lap_time_ms").unwrap().as_primitive::<Int64Type>();
    let lap_dist = batch.column_by_name("lap_distance_m").unwrap().as_primitive::<Float32Type>();
    let t = batch.column_by_name("session_time_s").unwrap().as_primitive::<Float64Type>();
    for (i, d) in expected.iter().enumerate() {
        assert_eq!(
            (lap.value(i), lap_time.value(i), lap_dist.value(i), t.value(i)),
            (d.lap, d.lap_time_ms, d.lap_distance_m, d.session_time_s),
            "row {i}"
        );
    }
    assert!(lap.values().iter().max().unwrap() >= &2, "100 s of the oval is more than one lap");

    // The session's metadata is in the key-value metadata, as the ingest sink writes it.
    let meta = frames[0].session.as_ref().unwrap();
    assert_eq!(kv[table::KV_SESSION_ID], table::session_id_text(&frames[0].session_id));
    let json: serde_json::Value = serde_json::from_str(&kv[table::KV_SESSION]).unwrap();
    // (Compared as metadata: JSON text of an f32 widened to f64 does not re-parse bit-exactly.)
    assert_eq!(&convert::rows::session_metadata_from_json(&json).unwrap(), meta);
    let sessions: serde_json::Value = serde_json::from_str(&kv[convert::KV_SESSIONS]).unwrap();
    assert_eq!(sessions[0]["rows"], frames.len());
    assert!(!kv.contains_key(convert::KV_DAMAGE));
}

#[test]
fn a_session_change_in_the_middle_resets_the_derived_lap_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, records) = recording(dir.path(), "two.pb.gz", 120, &[Duration::from_secs(70)]);
    let change = frames.iter().position(|f| f.session_id != frames[0].session_id).unwrap();
    assert!(change > 0 && records.iter().any(|r| r.session == 1));
    let output = dir.path().join("two.parquet");
    assert_eq!(convert(&input, &output).rows, frames.len() as u64);
    let (batch, kv) = read_parquet(&output);
    let lap = batch.column_by_name("lap").unwrap().as_primitive::<UInt32Type>();
    let t = batch.column_by_name("session_time_s").unwrap().as_primitive::<Float64Type>();
    assert!(lap.value(change - 1) >= 2, "the first session got past its first lap");
    assert_eq!(lap.value(change), 1, "the new session starts at lap 1");
    assert!(t.value(change - 1) > 60.0);
    assert_eq!(t.value(change), 0.0, "session time restarts");
    let ids = strings(&batch, "session_id");
    assert_ne!(ids[change - 1], ids[change]);
    // Two sessions in the key-value metadata, none singled out.
    let sessions: serde_json::Value = serde_json::from_str(&kv[convert::KV_SESSIONS]).unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    assert_eq!(sessions[1]["first_seq"], 0);
    assert_eq!(sessions[0]["rows"], change);
    assert!(sessions[1]["metadata"]["track"].is_string());
    assert!(!kv.contains_key(table::KV_SESSION));
}
