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
            Kind::F32(_) => pf.ty == FLOAT && !pf.repeated,
            Kind::I32(_) => pf.ty == INT32,
            Kind::U32(_) => pf.ty == UINT32,
            Kind::I64(_) => pf.ty == INT64,
            Kind::U64(_) => pf.ty == UINT64,
            Kind::Bool(_) => pf.ty == BOOL,
            Kind::Enum(_, e) => {
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
            Kind::Str(_) => pf.ty == STRING,
            Kind::SessionId => pf.ty == BYTES && pf.name == "session_id",
            Kind::Wheels(_) => pf.ty == MESSAGE && pf.type_name == "Wheels" && !pf.repeated,
            Kind::Vec3(_) => pf.ty == MESSAGE && pf.type_name == "Vec3" && !pf.repeated,
            Kind::Vec3PerWheel(_) => pf.ty == MESSAGE && pf.type_name == "Vec3" && pf.repeated,
            Kind::Slots(_, _) => pf.ty == FLOAT && pf.repeated,
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
