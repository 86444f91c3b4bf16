//! Unit tests: the column list against the `.proto` itself, the values of every column, nulls,
//! enums, derived columns, and a Parquet round trip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int8Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use prost::Message as _;
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame, Vec3, Wheels};

use crate::*;

// Descriptor type numbers (descriptor.proto's FieldDescriptorProto.Type and Label).
const FLOAT: i32 = 2;
const INT64: i32 = 3;
const UINT64: i32 = 4;
const INT32: i32 = 5;
const BOOL: i32 = 8;
const STRING: i32 = 9;
const MESSAGE: i32 = 11;
const BYTES: i32 = 12;
const UINT32: i32 = 13;
const ENUM: i32 = 14;
const REPEATED: i32 = 3;

#[derive(Debug, Clone)]
struct ProtoField {
    name: String,
    number: u32,
    ty: i32,
    type_name: String,
    repeated: bool,
}

/// The fields of every message and the values of every enum of telemetry.proto, compiled from
/// the file itself.
struct Proto {
    messages: BTreeMap<String, Vec<ProtoField>>,
    enums: BTreeMap<String, Vec<(String, i32)>>,
}

fn proto() -> Proto {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let fds = protox::compile([root.join("telemetry/v1/telemetry.proto")], [&root]).unwrap();
    let mut messages = BTreeMap::new();
    let mut enums = BTreeMap::new();
    for file in fds.file {
        for m in file.message_type {
            let fields = m
                .field
                .iter()
                .map(|f| ProtoField {
                    name: f.name().to_owned(),
                    number: f.number() as u32,
                    ty: f.r#type.unwrap(),
                    type_name: f.type_name().trim_start_matches(".telemetry.v1.").to_owned(),
                    repeated: f.label.unwrap() == REPEATED,
                })
                .collect();
            messages.insert(m.name().to_owned(), fields);
        }
        for e in file.enum_type {
            enums.insert(
                e.name().to_owned(),
                e.value.iter().map(|v| (v.name().to_owned(), v.number())).collect(),
            );
        }
    }
    Proto { messages, enums }
}

#[test]
fn every_proto_field_has_columns_and_every_column_a_proto_field() {
    let p = proto();
    let frame_fields = &p.messages["TelemetryFrame"];
    let with_columns: Vec<&ProtoField> =
        frame_fields.iter().filter(|f| !NOT_COLUMNS.iter().any(|(n, _)| *n == f.name)).collect();
    let listed: Vec<&str> = FIELDS.iter().map(|f| f.proto).collect();
    let in_proto: Vec<&str> = with_columns.iter().map(|f| f.name.as_str()).collect();
    for name in &in_proto {
        assert!(listed.contains(name), "proto field TelemetryFrame.{name} has no column in table::FIELDS");
    }
    for name in &listed {
        assert!(in_proto.contains(name), "table::FIELDS lists {name}, which TelemetryFrame does not have");
    }
    assert_eq!(listed, in_proto, "FIELDS follows the proto's order");
    for (n, _) in NOT_COLUMNS {
        assert!(frame_fields.iter().any(|f| f.name == *n), "NOT_COLUMNS names {n}, not a proto field");
    }

    // Each entry reads its field with the matching type.
    for (f, pf) in FIELDS.iter().zip(&with_columns) {
        let ok = match f.kind {
            Kind::F32 => pf.ty == FLOAT && !pf.repeated,
            Kind::I32 => pf.ty == INT32,
            Kind::U32 => pf.ty == UINT32,
            Kind::I64 => pf.ty == INT64,
            Kind::U64 => pf.ty == UINT64,
            Kind::Bool => pf.ty == BOOL,
            Kind::Enum(e) => {
                let values = &p.enums[&pf.type_name];
                assert_eq!(e.proto_name, pf.type_name);
                assert_eq!(values.len(), e.names.len(), "{}: every enum value has a name", pf.name);
                for (name, number) in values {
                    let short = e.name(*number);
                    assert!(
                        name.to_lowercase().ends_with(&*short),
                        "{}: value {number} is {name}, named {short:?}",
                        pf.name
                    );
                }
                pf.ty == ENUM
            }
            Kind::Str => pf.ty == STRING,
            Kind::SessionId => pf.ty == BYTES && pf.name == "session_id",
            Kind::Wheels => pf.ty == MESSAGE && pf.type_name == "Wheels" && !pf.repeated,
            Kind::Vec3 => pf.ty == MESSAGE && pf.type_name == "Vec3" && !pf.repeated,
            Kind::Vec3PerWheel => pf.ty == MESSAGE && pf.type_name == "Vec3" && pf.repeated,
            Kind::Slots(_) => pf.ty == FLOAT && pf.repeated,
        };
        assert!(ok, "{}: {:?} does not read a {} {}", pf.name, f.kind, pf.ty, pf.type_name);
    }
}

/// Encodes a frame in which every field has a value derived from its field number, so that a
/// column reading the wrong field shows.
fn distinctive_frame(p: &Proto) -> Vec<u8> {
    use prost::encoding as enc;
    let mut buf = Vec::new();
    for f in &p.messages["TelemetryFrame"] {
        let n = f.number;
        let x = n as f32;
        match (f.ty, f.type_name.as_str(), f.repeated) {
            (FLOAT, _, false) => enc::float::encode(n, &(x + 0.5), &mut buf),
            (FLOAT, _, true) => {
                enc::float::encode_packed(n, &[x + 0.01, x + 0.02, x + 0.03, x + 0.04, x + 0.05], &mut buf)
            }
            (INT32, _, _) => enc::int32::encode(n, &(n as i32 * 3), &mut buf),
            (UINT32, _, _) => enc::uint32::encode(n, &(n * 5), &mut buf),
            (INT64, _, _) => enc::int64::encode(n, &(n as i64 * 1_000_000_007), &mut buf),
            (UINT64, _, _) => enc::uint64::encode(n, &(n as u64 * 7), &mut buf),
            (BOOL, _, _) => enc::bool::encode(n, &true, &mut buf),
            (STRING, _, _) => enc::string::encode(n, &format!("s{n}"), &mut buf),
            (BYTES, _, _) => enc::bytes::encode(n, &vec![n as u8; 16], &mut buf),
            (ENUM, _, _) => enc::int32::encode(n, &2, &mut buf),
            (MESSAGE, "Wheels", _) => {
                let w = Wheels { fl: x + 0.1, fr: x + 0.2, rl: x + 0.3, rr: x + 0.4 };
                enc::message::encode(n, &w, &mut buf);
            }
            (MESSAGE, "Vec3", false) => {
                enc::message::encode(n, &Vec3 { x: x + 0.1, y: x + 0.2, z: x + 0.3 }, &mut buf)
            }
            (MESSAGE, "Vec3", true) => {
                for w in 0..4 {
                    let b = x + w as f32 * 10.0;
                    enc::message::encode(n, &Vec3 { x: b + 0.1, y: b + 0.2, z: b + 0.3 }, &mut buf);
                }
            }
            (MESSAGE, "SessionMetadata", _) => enc::message::encode(
                n,
                &SessionMetadata { car_model: "car".into(), ..Default::default() },
                &mut buf,
            ),
            other => panic!("no distinctive value for TelemetryFrame.{} of type {other:?}", f.name),
        }
    }
    buf
}

/// The value each column must hold for [`distinctive_frame`], as text.
fn expected(p: &Proto, column: &Column) -> String {
    let pf =
        p.messages["TelemetryFrame"].iter().find(|f| Some(f.name.as_str()) == column.proto_field).unwrap();
    let n = pf.number;
    let x = n as f32;
    let suffix = column.name.strip_prefix(&pf.name).unwrap().trim_start_matches('_');
    let wheel = |s: &str| ["fl", "fr", "rl", "rr"].iter().position(|w| *w == s).unwrap();
    let axis = |s: &str| ["x", "y", "z"].iter().position(|a| *a == s).unwrap();
    match (pf.ty, pf.type_name.as_str(), pf.repeated) {
        (FLOAT, _, false) => (x + 0.5).to_string(),
        (FLOAT, _, true) => {
            let slot = table_slots().iter().position(|s| *s == suffix).unwrap();
            (x + [0.01, 0.02, 0.03, 0.04, 0.05][slot]).to_string()
        }
        (INT32, _, _) => (n as i32 * 3).to_string(),
        (UINT32, _, _) => (n * 5).to_string(),
        (INT64, _, _) => (n as i64 * 1_000_000_007).to_string(),
        (UINT64, _, _) => (n as u64 * 7).to_string(),
        (BOOL, _, _) => "true".into(),
        (STRING, _, _) => format!("s{n}"),
        (BYTES, _, _) => session_id_text(&[n as u8; 16]),
        (ENUM, _, _) => {
            let (name, _) = p.enums[&pf.type_name].iter().find(|(_, v)| *v == 2).unwrap();
            let prefix_len =
                p.enums[&pf.type_name].iter().map(|(n, _)| n.as_str()).fold(name.len(), |acc, other| {
                    acc.min(name.bytes().zip(other.bytes()).take_while(|(a, b)| a == b).count())
                });
            name[prefix_len..].to_lowercase()
        }
        (MESSAGE, "Wheels", _) => (x + [0.1, 0.2, 0.3, 0.4][wheel(suffix)]).to_string(),
        (MESSAGE, "Vec3", false) => (x + [0.1, 0.2, 0.3][axis(suffix)]).to_string(),
        (MESSAGE, "Vec3", true) => {
            let (w, a) = suffix.split_once('_').unwrap();
            (x + wheel(w) as f32 * 10.0 + [0.1, 0.2, 0.3][axis(a)]).to_string()
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn table_slots() -> &'static [&'static str] {
    &fields::CAR_DAMAGE_SLOTS
}

/// Row `row` of `column` as text (dictionary columns: the value).
fn cell(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let a = batch.column_by_name(column).unwrap_or_else(|| panic!("no column {column}"));
    if a.is_null(row) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Float32 => a.as_primitive::<Float32Type>().value(row).to_string(),
        DataType::Float64 => a.as_primitive::<Float64Type>().value(row).to_string(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(row).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(row).to_string(),
        DataType::Boolean => a.as_boolean().value(row).to_string(),
        DataType::Dictionary(k, _) if **k == DataType::Int8 => {
            let d = a.as_dictionary::<Int8Type>();
            let key = d.keys().value(row) as usize;
            d.values().as_string::<i32>().value(key).to_owned()
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_dictionary::<Int32Type>();
            let key = d.keys().value(row) as usize;
            d.values().as_string::<i32>().value(key).to_owned()
        }
        other => panic!("unexpected type {other}"),
    })
}

#[test]
fn every_column_holds_the_value_of_its_own_proto_field() {
    let p = proto();
    let frame = TelemetryFrame::decode(distinctive_frame(&p).as_slice()).unwrap();
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&[frame.clone(), frame]).unwrap();
    let batch = b.finish().unwrap();
    assert_eq!(batch.num_rows(), 2);
    assert_eq!(batch.num_columns(), b.schema().columns().len());
    for c in b.schema().columns() {
        for row in 0..2 {
            assert_eq!(
                cell(&batch, &c.name, row).as_deref(),
                Some(expected(&p, c).as_str()),
                "column {}",
                c.name
            );
        }
    }
    // 102 fields with columns: 80 scalars, 20 wheels (x4), 5 vectors (x3), 12 contact, 5 damage.
    assert_eq!(
        b.schema().columns().len(),
        187,
        "{:?}",
        b.schema().columns().iter().map(|c| &c.name).collect::<Vec<_>>()
    );
}

#[test]
fn absent_messages_are_null_and_present_ones_are_not() {
    let frames = [
        TelemetryFrame { seq: 0, car_damage: vec![1.0, 2.0, 3.0], ..Default::default() },
        TelemetryFrame {
            seq: 1,
            tyre_pressure_psi: Some(Wheels { fl: 1.0, fr: 2.0, rl: 3.0, rr: 4.0 }),
            velocity: Some(Vec3 { x: 0.0, y: 0.0, z: 0.0 }),
            tyre_contact_point_m: vec![Vec3::default(); 4],
            car_damage: vec![0.0; 5],
            ..Default::default()
        },
    ];
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    for col in [
        "tyre_pressure_psi_fl",
        "tyre_pressure_psi_rr",
        "velocity_z",
        "tyre_contact_point_m_rl_y",
        "car_damage_right",
    ] {
        assert_eq!(cell(&batch, col, 0), None, "{col} of a frame without it");
        assert!(cell(&batch, col, 1).is_some(), "{col} of a frame with it");
    }
    assert_eq!(cell(&batch, "tyre_pressure_psi_rr", 1).as_deref(), Some("4"));
    assert_eq!(cell(&batch, "velocity_z", 1).as_deref(), Some("0"), "zero is a value, not null");
    assert_eq!(cell(&batch, "car_damage_left", 0).as_deref(), Some("3"));
    assert_eq!(cell(&batch, "throttle", 0).as_deref(), Some("0"), "scalars are never null");
    // Columns without any null carry no validity bitmap.
    assert_eq!(batch.column_by_name("throttle").unwrap().null_count(), 0);
    let schema = b.schema();
    assert!(schema.columns().iter().filter(|c| c.nullable).all(|c| c.data_type == DataType::Float32));
}

#[test]
fn enums_are_names_and_unknown_values_are_kept() {
    let frames: Vec<TelemetryFrame> = [0, 3, 9, 42, -1, 42]
        .iter()
        .map(|v| TelemetryFrame { session_type: *v, flag: 2, status: 2, ..Default::default() })
        .collect();
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    let got: Vec<String> = (0..6).map(|r| cell(&batch, "session_type", r).unwrap()).collect();
    assert_eq!(got, ["unknown", "race", "hotlap_superpole", "value_42", "value_-1", "value_42"]);
    assert_eq!(cell(&batch, "flag", 0).as_deref(), Some("yellow"));
    assert_eq!(cell(&batch, "status", 5).as_deref(), Some("live"));
    assert_eq!(batch.column_by_name("flag").unwrap().data_type(), &enum_type());

    // Hundreds of distinct unknown values still fit the one-byte keys.
    let frames: Vec<TelemetryFrame> =
        (100..400).map(|v| TelemetryFrame { flag: v, ..Default::default() }).collect();
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    assert_eq!(cell(&batch, "flag", 0).as_deref(), Some("value_100"));
    assert_eq!(cell(&batch, "flag", 299).as_deref(), Some("value_other"));
}

#[test]
fn session_ids_are_uuid_text_and_strings_are_dictionaries_per_batch() {
    let a =
        bytes::Bytes::from_static(&[0x01, 0x93, 0x2b, 0x6e, 0x40, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x2a]);
    let b_id = bytes::Bytes::from_static(&[0xff; 16]);
    let frames: Vec<TelemetryFrame> = (0..6)
        .map(|i| TelemetryFrame {
            session_id: if i % 3 == 2 { b_id.clone() } else { a.clone() },
            tyre_compound: if i < 3 { "Soft".into() } else { "Hard".into() },
            ..Default::default()
        })
        .collect();
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    assert_eq!(cell(&batch, "session_id", 0).as_deref(), Some("01932b6e-4000-7000-8000-00000000002a"));
    assert_eq!(cell(&batch, "session_id", 2).as_deref(), Some("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    assert_eq!(cell(&batch, "session_id", 3).as_deref(), Some("01932b6e-4000-7000-8000-00000000002a"));
    let dict = batch.column_by_name("session_id").unwrap().as_dictionary::<Int32Type>();
    assert_eq!(dict.values().len(), 2, "two distinct sessions, two dictionary values");
    assert_eq!(cell(&batch, "tyre_compound", 5).as_deref(), Some("Hard"));
    assert_eq!(session_id_text(&[0xab, 0x01]), "ab01", "a malformed id is kept as hex");

    // The next batch starts a fresh dictionary.
    b.append(&frames[2..3]).unwrap();
    let batch = b.finish().unwrap();
    assert_eq!(cell(&batch, "session_id", 0).as_deref(), Some("ffffffff-ffff-ffff-ffff-ffffffffffff"));
    assert_eq!(batch.column_by_name("session_id").unwrap().as_dictionary::<Int32Type>().values().len(), 1);
}

#[test]
fn derived_columns_come_last_and_must_be_given_per_row() {
    let frames = vec![TelemetryFrame::default(); 3];
    let derived: Vec<Derived> = (0..3)
        .map(|i| Derived {
            lap: i,
            lap_time_ms: i as i64 * 100,
            lap_distance_m: i as f32 * 2.5,
            session_time_s: i as f64 * 0.5,
        })
        .collect();
    let mut plain = FrameBuilder::new(Variant::Frames);
    assert!(matches!(plain.append_with_derived(&frames, &derived), Err(TableError::NoDerivedColumns)));
    let mut b = FrameBuilder::new(Variant::FramesWithDerived);
    assert!(matches!(b.append(&frames), Err(TableError::DerivedMismatch { frames: 3, derived: 0 })));
    assert!(matches!(b.append_with_derived(&frames, &derived[..2]), Err(TableError::DerivedMismatch { .. })));
    b.append_with_derived(&frames, &derived).unwrap();
    let batch = b.finish().unwrap();
    let names: Vec<&str> = b.schema().columns().iter().rev().take(4).map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["session_time_s", "lap_distance_m", "lap_time_ms", "lap"]);
    assert_eq!(cell(&batch, "lap", 2).as_deref(), Some("2"));
    assert_eq!(cell(&batch, "lap_time_ms", 2).as_deref(), Some("200"));
    assert_eq!(cell(&batch, "lap_distance_m", 1).as_deref(), Some("2.5"));
    assert_eq!(cell(&batch, "session_time_s", 1).as_deref(), Some("0.5"));
    assert_eq!(b.schema().columns().len(), FrameSchema::new(Variant::Frames).columns().len() + 4);
}

#[test]
fn a_parquet_file_reads_back_with_types_units_values_and_metadata() {
    let p = proto();
    let frame = TelemetryFrame::decode(distinctive_frame(&p).as_slice()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("part-0.parquet");
    let options = WriteOptions { row_group_rows: 1000, batch_rows: 300, ..Default::default() };
    let mut w =
        FrameFileWriter::new(std::fs::File::create(&path).unwrap(), Variant::Frames, &options).unwrap();
    let frames: Vec<TelemetryFrame> =
        (0..2500u64).map(|seq| TelemetryFrame { seq, ..frame.clone() }).collect();
    for chunk in frames.chunks(77) {
        w.append(chunk).unwrap();
    }
    w.add_metadata(KV_SESSION, "{\"car_model\":\"car\"}");
    let meta = w.finish().unwrap();
    assert_eq!(meta.file_metadata().num_rows(), 2500);
    assert_eq!(meta.num_row_groups(), 3, "row groups of at most 1000 rows");

    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap()).unwrap();
    let kv: BTreeMap<String, Option<String>> = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|kv| (kv.key.clone(), kv.value.clone()))
        .collect();
    assert_eq!(kv[KV_SCHEMA_VERSION].as_deref(), Some("1"));
    assert_eq!(kv[KV_SESSION].as_deref(), Some("{\"car_model\":\"car\"}"));
    let stats = reader.metadata().row_group(0).column(1).statistics().expect("chunk statistics");
    assert!(stats.min_bytes_opt().is_some());
    let schema = reader.schema().clone();
    assert_eq!(schema.field_with_name("session_id").unwrap().data_type(), &string_type());
    assert_eq!(schema.field_with_name("flag").unwrap().data_type(), &enum_type());
    assert_eq!(schema.field_with_name("speed_kmh").unwrap().metadata()[META_UNIT], "km/h");
    assert!(
        schema.field_with_name("tyre_core_temp_c_fl").unwrap().metadata()[META_DESCRIPTION]
            .contains("front left")
    );
    let mut rows = 0;
    for batch in reader.build().unwrap() {
        let batch = batch.unwrap();
        for c in FrameSchema::new(Variant::Frames).columns() {
            if c.name != "seq" {
                assert_eq!(cell(&batch, &c.name, 0).as_deref(), Some(expected(&p, c).as_str()), "{}", c.name);
            }
        }
        assert_eq!(cell(&batch, "seq", 0), Some(rows.to_string()));
        rows += batch.num_rows();
    }
    assert_eq!(rows, 2500);
}

#[test]
fn session_metadata_json_names_every_proto_field() {
    let p = proto();
    let m = SessionMetadata {
        car_model: "ks_mazda_mx5_cup".into(),
        session_type: 3,
        tyre_radius_m: Some(Wheels { fl: 0.3, fr: 0.3, rl: 0.31, rr: 0.31 }),
        ..Default::default()
    };
    let v = session_metadata_json(&m);
    let obj = v.as_object().unwrap();
    for f in &p.messages["SessionMetadata"] {
        assert!(obj.contains_key(&f.name), "SessionMetadata.{} missing from the JSON", f.name);
    }
    assert_eq!(obj.len(), p.messages["SessionMetadata"].len());
    assert_eq!(v["session_type"], "race");
    assert_eq!(v["car_model"], "ks_mazda_mx5_cup");
    assert!(v["suspension_max_travel_m"].is_null());
    assert_eq!(v["tyre_radius_m"]["rl"].as_f64().map(|x| (x * 100.0).round()), Some(31.0));
}

#[test]
fn writer_properties_compress_with_zstd_and_use_dictionaries_only_for_strings() {
    use parquet::basic::Compression;
    use parquet::schema::types::ColumnPath;
    let schema = FrameSchema::new(Variant::Frames);
    let props = writer_properties(&schema, &WriteOptions::default()).unwrap();
    let path = |n: &str| ColumnPath::from(n);
    assert!(matches!(props.compression(&path("speed_kmh")), Compression::ZSTD(_)));
    assert_eq!(props.max_row_group_row_count(), Some(128 * 1024));
    assert!(props.dictionary_enabled(&path("session_id")));
    assert!(props.dictionary_enabled(&path("session_type")));
    assert!(props.dictionary_enabled(&path("tyre_compound")));
    assert!(!props.dictionary_enabled(&path("speed_kmh")));
    assert_eq!(props.encoding(&path("speed_kmh")), Some(parquet::basic::Encoding::BYTE_STREAM_SPLIT));
    assert_eq!(props.encoding(&path("seq")), None);
    assert!(writer_properties(&schema, &WriteOptions { zstd_level: 99, ..Default::default() }).is_err());
}

#[test]
fn writing_on_several_threads_gives_the_same_file_as_one_thread() {
    let p = proto();
    let frame = TelemetryFrame::decode(distinctive_frame(&p).as_slice()).unwrap();
    let frames: Vec<TelemetryFrame> = (0..2500u64)
        .map(|seq| TelemetryFrame {
            seq,
            speed_kmh: seq as f32 * 0.37,
            velocity: if seq % 7 == 0 { None } else { frame.velocity },
            car_damage: if seq % 5 == 0 { vec![1.0] } else { frame.car_damage.clone() },
            ..frame.clone()
        })
        .collect();
    let write = |threads: usize| {
        let options = WriteOptions { row_group_rows: 1000, batch_rows: 300, threads, ..Default::default() };
        let mut out = Vec::new();
        let mut w = FrameFileWriter::new(&mut out, Variant::Frames, &options).unwrap();
        for chunk in frames.chunks(77) {
            w.append(chunk).unwrap();
        }
        assert!(w.size_estimate() > 0);
        w.add_metadata(KV_SESSION, "{}");
        let meta = w.finish().unwrap();
        assert_eq!(meta.num_row_groups(), 3, "row groups of at most 1000 rows ({threads} threads)");
        drop(w);
        out
    };
    let one = write(1);
    for threads in [2, 3] {
        assert!(write(threads) == one, "{threads} threads wrote a different file");
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(one)).unwrap();
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 2500);
}

#[test]
fn lz4_raw_files_read_back_with_the_same_values_as_zstd_files() {
    use parquet::basic::Compression;
    let p = proto();
    let frame = TelemetryFrame::decode(distinctive_frame(&p).as_slice()).unwrap();
    let frames: Vec<TelemetryFrame> =
        (0..500u64).map(|seq| TelemetryFrame { seq, ..frame.clone() }).collect();
    let read = |codec: Codec| {
        let mut out = Vec::new();
        let mut w =
            FrameFileWriter::new(&mut out, Variant::Frames, &WriteOptions { codec, ..Default::default() })
                .unwrap();
        w.append(&frames).unwrap();
        let meta = w.finish().unwrap();
        let compression = meta.row_group(0).column(1).compression();
        drop(w);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
        let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
        (compression, batches)
    };
    let (zstd_codec, zstd) = read(Codec::Zstd);
    let (lz4_codec, lz4) = read(Codec::Lz4Raw);
    assert!(matches!(zstd_codec, Compression::ZSTD(_)));
    assert_eq!(lz4_codec, Compression::LZ4_RAW);
    assert_eq!(zstd, lz4);
    assert_eq!(lz4.iter().map(RecordBatch::num_rows).sum::<usize>(), 500);
}

// ── reading back: rows into frames

/// `frames` through a batch of `variant` and back, with [`FrameReader`].
fn round_trip(frames: &[TelemetryFrame], variant: Variant) -> Vec<TelemetryFrame> {
    let mut b = FrameBuilder::new(variant);
    if variant.has_derived() {
        b.append_with_derived(frames, &vec![Derived::default(); frames.len()]).unwrap();
    } else {
        b.append(frames).unwrap();
    }
    let batch = b.finish().unwrap();
    let reader = FrameReader::new(batch.schema().as_ref()).unwrap();
    assert!(reader.missing().is_empty(), "{:?}", reader.missing());
    let mut back = Vec::new();
    reader.read(&batch, &mut back).unwrap();
    back
}

/// What a frame is after the table: the same, without its session metadata (not a column).
fn without_session(f: &TelemetryFrame) -> TelemetryFrame {
    TelemetryFrame { session: None, ..f.clone() }
}

/// Frames equal bit for bit: `==` would fail on NaN and pass -0.0 for 0.0. The encoding keeps
/// every bit of a NaN, Debug tells -0.0 from 0.0 (which the encoding leaves out alike).
fn assert_same(got: &[TelemetryFrame], want: &[TelemetryFrame]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(format!("{g:?}"), format!("{w:?}"), "frame {i}");
        assert_eq!(g.encode_to_vec(), w.encode_to_vec(), "frame {i}, bit for bit");
    }
}

#[test]
fn a_frame_with_every_field_set_survives_the_table_and_back() {
    let p = proto();
    let frame = TelemetryFrame::decode(distinctive_frame(&p).as_slice()).unwrap();
    assert!(frame.session.is_some(), "the frame carries session metadata, which is not a column");
    for variant in [Variant::Frames, Variant::FramesWithDerived] {
        let back = round_trip(&[frame.clone(), frame.clone()], variant);
        assert_same(&back, &[without_session(&frame), without_session(&frame)]);
    }

    // Every field of the proto but those without a column is set on the frame read back: a
    // field with a column but no way back, or no column at all, fails here by name.
    let back = round_trip(std::slice::from_ref(&frame), Variant::Frames).remove(0).encode_to_vec();
    let mut present = std::collections::BTreeSet::new();
    let mut buf = back.as_slice();
    while !buf.is_empty() {
        let (number, wire_type) = prost::encoding::decode_key(&mut buf).unwrap();
        present.insert(number);
        prost::encoding::skip_field(wire_type, number, &mut buf, Default::default()).unwrap();
    }
    for f in &p.messages["TelemetryFrame"] {
        let column = !NOT_COLUMNS.iter().any(|(n, _)| *n == f.name);
        assert_eq!(present.contains(&f.number), column, "TelemetryFrame.{} after the table and back", f.name);
    }
}

#[test]
fn absent_messages_short_lists_and_defaults_survive_the_table_and_back() {
    let frames = vec![
        TelemetryFrame::default(),
        TelemetryFrame {
            session_id: vec![1, 2, 3].into(),
            seq: u64::MAX,
            tyre_contact_point_m: vec![Vec3 { x: 1.0, y: 2.0, z: 3.0 }; 2],
            car_damage: vec![0.5, 0.25],
            tyre_compound: "Hard, \"old\" ✓".into(),
            tyre_wear: Some(Wheels { fl: f32::NAN, fr: -0.0, rl: f32::INFINITY, rr: f32::MIN }),
            velocity: Some(Vec3::default()),
            status: 42,
            flag: -3,
            ..Default::default()
        },
        TelemetryFrame { session_id: vec![9; 16].into(), car_damage: vec![0.0; 5], ..Default::default() },
    ];
    let back = round_trip(&frames, Variant::Frames);
    assert_same(&back, &frames);
    assert_eq!(back[0].tyre_wear, None, "absent stays absent");
    assert_eq!(back[1].velocity, Some(Vec3::default()), "present zeros stay present");
    assert_eq!(back[1].tyre_contact_point_m.len(), 2);
}

/// A small deterministic generator (splitmix64), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Zeros of both signs, NaN (with any payload), infinities, extremes, subnormals, anything.
    fn f32(&mut self) -> f32 {
        match self.below(12) {
            0 => 0.0,
            1 => -0.0,
            2 => f32::NAN,
            3 => f32::INFINITY,
            4 => f32::NEG_INFINITY,
            5 => f32::MAX,
            6 => f32::MIN,
            7 => f32::MIN_POSITIVE,
            8 => f32::from_bits(1),
            9 | 10 => f32::from_bits(self.next() as u32),
            _ => (self.next() as i32) as f32 / 1000.0,
        }
    }

    fn int(&mut self, min: i64, max: i64) -> i64 {
        match self.below(5) {
            0 => 0,
            1 => min,
            2 => max,
            _ => min.wrapping_add((self.next() % (max.abs_diff(min).saturating_add(1)).max(1)) as i64),
        }
    }
}

/// A frame with a random value of its type in every proto field (each message present or not),
/// encoded from the descriptor: a field added to the proto is in it without a change here.
fn random_frame(p: &Proto, rng: &mut Rng) -> TelemetryFrame {
    use prost::encoding as enc;
    let mut buf = Vec::new();
    for f in &p.messages["TelemetryFrame"] {
        let n = f.number;
        match (f.ty, f.type_name.as_str(), f.repeated) {
            (FLOAT, _, false) => enc::float::encode(n, &rng.f32(), &mut buf),
            (FLOAT, _, true) => {
                let values: Vec<f32> = (0..rng.below(6)).map(|_| rng.f32()).collect();
                enc::float::encode_packed(n, &values, &mut buf);
            }
            (INT32, _, _) => {
                enc::int32::encode(n, &(rng.int(i32::MIN.into(), i32::MAX.into()) as i32), &mut buf)
            }
            (UINT32, _, _) => enc::uint32::encode(n, &(rng.int(0, u32::MAX.into()) as u32), &mut buf),
            (INT64, _, _) => enc::int64::encode(n, &rng.int(i64::MIN, i64::MAX), &mut buf),
            (UINT64, _, _) => enc::uint64::encode(n, &rng.next(), &mut buf),
            (BOOL, _, _) => enc::bool::encode(n, &(rng.below(2) == 1), &mut buf),
            (STRING, _, _) => {
                let s = ["", "Soft", "Hard, \"old\"", "ünïcödé ✓", "a\r\nb"][rng.below(5) as usize];
                enc::string::encode(n, &format!("{s}{}", rng.below(3)), &mut buf);
            }
            (BYTES, _, _) => {
                let len = [16, 16, 16, 0, 3, 20][rng.below(6) as usize];
                enc::bytes::encode(n, &(0..len).map(|_| rng.next() as u8).collect::<Vec<u8>>(), &mut buf);
            }
            (ENUM, _, _) => {
                let known = p.enums[&f.type_name].len() as i64;
                let v = match rng.below(4) {
                    0 => [-1, 42, i32::MIN, i32::MAX][rng.below(4) as usize],
                    _ => rng.below(known as u64) as i32,
                };
                enc::int32::encode(n, &v, &mut buf);
            }
            (MESSAGE, "Wheels", false) => {
                if rng.below(3) > 0 {
                    let w = Wheels { fl: rng.f32(), fr: rng.f32(), rl: rng.f32(), rr: rng.f32() };
                    enc::message::encode(n, &w, &mut buf);
                }
            }
            (MESSAGE, "Vec3", false) => {
                if rng.below(3) > 0 {
                    enc::message::encode(n, &Vec3 { x: rng.f32(), y: rng.f32(), z: rng.f32() }, &mut buf);
                }
            }
            (MESSAGE, "Vec3", true) => {
                for _ in 0..rng.below(5) {
                    enc::message::encode(n, &Vec3 { x: rng.f32(), y: rng.f32(), z: rng.f32() }, &mut buf);
                }
            }
            (MESSAGE, "SessionMetadata", false) => {
                if rng.below(4) == 0 {
                    let m = SessionMetadata { car_model: "car".into(), ..Default::default() };
                    enc::message::encode(n, &m, &mut buf);
                }
            }
            other => panic!("no random value for TelemetryFrame.{} of type {other:?}: add one", f.name),
        }
    }
    TelemetryFrame::decode(buf.as_slice()).unwrap()
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 64, ..Default::default() })]

    /// Any frames, NaN and extremes included, survive the table and back bit for bit (but for
    /// the session metadata, which is not a column).
    #[test]
    fn any_frames_survive_the_table_and_back(
        seeds in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..100),
        derived in proptest::prelude::any::<bool>(),
    ) {
        let p = proto();
        let frames: Vec<TelemetryFrame> = seeds.iter().map(|s| random_frame(&p, &mut Rng(*s))).collect();
        let variant = if derived { Variant::FramesWithDerived } else { Variant::Frames };
        let back = round_trip(&frames, variant);
        assert_same(&back, &frames.iter().map(without_session).collect::<Vec<_>>());
    }
}

#[test]
fn frames_survive_a_parquet_file_and_back() {
    let p = proto();
    let mut rng = Rng(7);
    let frames: Vec<TelemetryFrame> =
        (0..2500).map(|_| without_session(&random_frame(&p, &mut rng))).collect();
    let options = WriteOptions { row_group_rows: 1000, batch_rows: 300, ..Default::default() };
    let mut out = Vec::new();
    let mut w = FrameFileWriter::new(&mut out, Variant::Frames, &options).unwrap();
    w.append(&frames).unwrap();
    w.finish().unwrap();
    drop(w);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out)).unwrap();
    let rows = FrameReader::new(reader.schema()).unwrap();
    let mut back = Vec::new();
    for batch in reader.with_batch_size(777).build().unwrap() {
        rows.read(&batch.unwrap(), &mut back).unwrap();
    }
    assert_same(&back, &frames);
}

#[test]
fn a_file_without_a_newer_column_reads_with_that_field_left_alone() {
    let frames: Vec<TelemetryFrame> = (0..10)
        .map(|seq| TelemetryFrame {
            seq,
            replay_time_multiplier: 2.0,
            tyre_wear: Some(Wheels { fl: 1.0, fr: 2.0, rl: 3.0, rr: 4.0 }),
            ..Default::default()
        })
        .collect();
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    let without = |names: &[&str]| {
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| !names.contains(&batch.schema().field(i).name().as_str()))
            .collect();
        batch.project(&keep).unwrap()
    };
    let older = without(&["replay_time_multiplier", "tyre_wear_rr"]);
    let reader = FrameReader::new(older.schema().as_ref()).unwrap();
    assert_eq!(reader.missing(), ["tyre_wear_rr", "replay_time_multiplier"]);
    let mut back = Vec::new();
    reader.read(&older, &mut back).unwrap();
    assert!(back.iter().all(|f| f.replay_time_multiplier == 0.0));
    assert_eq!(back[3].tyre_wear, Some(Wheels { fl: 1.0, fr: 2.0, rl: 3.0, rr: 0.0 }), "a lacking part is 0");
    assert_eq!(back[3].seq, 3);

    // Without seq or session_id, rows are not frames: a clear error.
    for required in ["seq", "session_id"] {
        let err = FrameReader::new(without(&[required]).schema().as_ref()).unwrap_err();
        assert!(matches!(err, TableError::MissingColumn { column } if column == required), "{err}");
    }
}

#[test]
fn columns_of_other_writers_read_and_wrong_ones_are_named() {
    use arrow_array::{ArrayRef, StringArray};
    use arrow_schema::{Field as ArrowField, Schema};
    use std::sync::Arc;

    // A writer that stored the text columns as plain strings: read the same.
    let frames = vec![TelemetryFrame {
        session_id: vec![5; 16].into(),
        session_type: 3,
        tyre_compound: "Soft".into(),
        ..Default::default()
    }];
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    let mut fields: Vec<ArrowField> = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, a) in batch.schema().fields().iter().zip(batch.columns()) {
        match TextColumn::of(a.as_ref()) {
            Some(text) => {
                fields.push(ArrowField::new(f.name(), DataType::Utf8, false));
                columns.push(Arc::new(StringArray::from(vec![text.get(0)])));
            }
            None => {
                fields.push(f.as_ref().clone());
                columns.push(Arc::clone(a));
            }
        }
    }
    let plain = RecordBatch::try_new(Arc::new(Schema::new(fields.clone())), columns).unwrap();
    let reader = FrameReader::new(plain.schema().as_ref()).unwrap();
    let mut back = Vec::new();
    reader.read(&plain, &mut back).unwrap();
    assert_eq!(back, frames);

    // A batch of another schema than the reader's is refused, not misread.
    let err = reader.read(&batch, &mut back).unwrap_err();
    assert!(matches!(err, TableError::OtherSchema { .. }), "{err}");
    assert_eq!(back.len(), 1, "nothing appended on error");

    // A column of a type the table never writes is named.
    let odd: Vec<ArrowField> = fields
        .iter()
        .map(|f| if f.name() == "rpm" { ArrowField::new("rpm", DataType::Float64, false) } else { f.clone() })
        .collect();
    let err = FrameReader::new(&Schema::new(odd)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`rpm`") && text.contains("Float64") && text.contains("Int32"), "{text}");
}

#[test]
fn values_that_are_no_field_value_are_named_with_their_row() {
    use arrow_array::{ArrayRef, StringArray};
    use std::sync::Arc;

    let frames = vec![TelemetryFrame::default(); 3];
    let mut b = FrameBuilder::new(Variant::Frames);
    b.append(&frames).unwrap();
    let batch = b.finish().unwrap();
    let with = |name: &str, values: [&str; 3]| {
        let i = batch.schema().index_of(name).unwrap();
        let mut columns = batch.columns().to_vec();
        columns[i] = Arc::new(StringArray::from(values.to_vec())) as ArrayRef;
        let mut fields: Vec<_> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[i] = arrow_schema::Field::new(name, DataType::Utf8, false);
        RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns).unwrap()
    };
    let read = |b: &RecordBatch| FrameReader::new(b.schema().as_ref()).unwrap().read(b, &mut Vec::new());

    let err = read(&with("flag", ["yellow", "value_12", "purple"])).unwrap_err();
    assert!(matches!(&err, TableError::BadValue { row: 2, column, .. } if column == "flag"), "{err}");
    assert!(err.to_string().contains("`purple` is not a Flag name"), "{err}");
    let ok = with("flag", ["yellow", "value_12", "none"]);
    let mut back = Vec::new();
    FrameReader::new(ok.schema().as_ref()).unwrap().read(&ok, &mut back).unwrap();
    assert_eq!(back.iter().map(|f| f.flag).collect::<Vec<_>>(), [2, 12, 0]);

    let err = read(&with("session_id", ["", "0a0b", "not-an-id"])).unwrap_err();
    assert!(matches!(&err, TableError::BadValue { row: 2, column, .. } if column == "session_id"), "{err}");
}

#[test]
fn session_ids_parse_from_uuid_text_and_hex() {
    let id: Vec<u8> = (0..16).collect();
    assert_eq!(parse_session_id(&session_id_text(&id)).unwrap().as_ref(), id.as_slice());
    assert_eq!(parse_session_id("0a0b").unwrap().as_ref(), &[10, 11]);
    assert_eq!(parse_session_id("0A0B").unwrap().as_ref(), &[10, 11]);
    assert!(parse_session_id("").unwrap().is_empty());
    assert!(parse_session_id("0a0").is_none());
    assert!(parse_session_id("zz").is_none());
    assert!(parse_session_id("0001-02").is_none());
}

/// A `SessionMetadata` with every field set to a value derived from its number, from the
/// descriptor.
fn distinctive_metadata(p: &Proto) -> SessionMetadata {
    use prost::encoding as enc;
    let mut buf = Vec::new();
    for f in &p.messages["SessionMetadata"] {
        let n = f.number;
        match (f.ty, f.type_name.as_str()) {
            (FLOAT, _) => enc::float::encode(n, &(n as f32 + 0.5), &mut buf),
            (INT32, _) => enc::int32::encode(n, &(n as i32 * 3), &mut buf),
            (INT64, _) => enc::int64::encode(n, &(n as i64 * 1_000_000_007), &mut buf),
            (BOOL, _) => enc::bool::encode(n, &true, &mut buf),
            (STRING, _) => enc::string::encode(n, &format!("s{n} \"ü\""), &mut buf),
            (ENUM, _) => enc::int32::encode(n, &3, &mut buf),
            (MESSAGE, "Wheels") => {
                let x = n as f32;
                enc::message::encode(
                    n,
                    &Wheels { fl: x + 0.1, fr: x + 0.2, rl: x + 0.3, rr: x + 0.4 },
                    &mut buf,
                );
            }
            other => panic!("no distinctive value for SessionMetadata.{} of type {other:?}", f.name),
        }
    }
    SessionMetadata::decode(buf.as_slice()).unwrap()
}

#[test]
fn session_metadata_survives_its_json_and_a_files_key_value_metadata() {
    use parquet::file::metadata::KeyValue;

    let p = proto();
    let m = distinctive_metadata(&p);
    assert_eq!(session_metadata_from_json(&session_metadata_json(&m)).unwrap(), m);
    let err = session_metadata_from_json(&serde_json::json!({ "max_rpm": "fast" })).unwrap_err();
    assert!(err.contains("max_rpm"), "{err}");

    let id = session_id_text(&[7; 16]);
    let kv = |k: &str, v: &str| KeyValue::new(k.to_owned(), v.to_owned());
    let json = session_metadata_json(&m).to_string();
    let (got_id, got) = file_session(&[kv(KV_SESSION_ID, &id), kv(KV_SESSION, &json)]).unwrap().unwrap();
    assert_eq!((got_id.as_ref(), got), (&[7u8; 16][..], m.clone()));
    // A later entry overrides an earlier one, as in the writer.
    let (_, got) = file_session(&[kv(KV_SESSION, "{}"), kv(KV_SESSION_ID, &id), kv(KV_SESSION, &json)])
        .unwrap()
        .unwrap();
    assert_eq!(got, m);
    assert!(file_session(&[kv(KV_SESSION, &json)]).unwrap().is_none(), "no id, no session");
    let err = file_session(&[kv(KV_SESSION_ID, "nope"), kv(KV_SESSION, &json)]).unwrap_err();
    assert!(matches!(err, TableError::BadMetadata { key: KV_SESSION_ID, .. }), "{err}");
    let err = file_session(&[kv(KV_SESSION_ID, &id), kv(KV_SESSION, "{")]).unwrap_err();
    assert!(matches!(err, TableError::BadMetadata { key: KV_SESSION, .. }), "{err}");
}
