//! Rows of the frame table back into frames.

use convert::ConvertError;
use convert::rows::{RowReader, session_metadata_from_json};
use loadgen::frames::{realistic, session_id};
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame, Wheels};
use table::{FrameBuilder, FrameSchema, Variant};

fn round_trip(frames: &[TelemetryFrame]) -> Vec<TelemetryFrame> {
    let mut builder = FrameBuilder::new(Variant::FramesWithDerived);
    builder.append_with_derived(frames, &vec![table::Derived::default(); frames.len()]).unwrap();
    let batch = builder.finish().unwrap();
    let reader = RowReader::new(batch.schema().as_ref(), "test").unwrap();
    assert!(reader.missing().is_empty());
    let mut back = Vec::new();
    reader.read(&batch, 0, &mut back).unwrap();
    back
}

#[test]
fn frames_with_every_field_set_survive_the_table_and_back() {
    let frames: Vec<TelemetryFrame> = (0..500u64)
        .map(|seq| TelemetryFrame { session: None, ..realistic(session_id(1 + (seq / 250) as u32), seq) })
        .collect();
    assert!(frames[0].slip_ratio.is_some() && frames[0].tyre_contact_point_m.len() == 4);
    assert_eq!(round_trip(&frames), frames);
}

#[test]
fn absent_messages_short_lists_odd_ids_and_unknown_enum_values_survive_too() {
    let frames = vec![
        TelemetryFrame { session_id: vec![1, 2, 3].into(), status: 42, flag: -3, ..Default::default() },
        TelemetryFrame {
            session_id: vec![9; 16].into(),
            tyre_contact_point_m: vec![Default::default(); 2],
            car_damage: vec![0.5, 0.25],
            tyre_compound: "Hard, \"old\"".into(),
            tyre_wear: Some(Wheels { fl: f32::NAN, ..Default::default() }),
            ..Default::default()
        },
    ];
    let back = round_trip(&frames);
    assert_eq!(back[0], frames[0]);
    assert_eq!(back[1].tyre_contact_point_m.len(), 2);
    assert_eq!(back[1].car_damage, [0.5, 0.25]);
    assert!(back[1].tyre_wear.unwrap().fl.is_nan());
    assert_eq!(back[1].tyre_compound, frames[1].tyre_compound);
}

#[test]
fn a_file_without_a_newer_column_reads_with_that_field_at_its_default() {
    let frames: Vec<TelemetryFrame> = (0..10).map(|seq| realistic(session_id(2), seq)).collect();
    let mut builder = FrameBuilder::new(Variant::Frames);
    builder.append(&frames).unwrap();
    let batch = builder.finish().unwrap();
    let keep: Vec<usize> = (0..batch.num_columns())
        .filter(|&i| batch.schema().field(i).name() != "replay_time_multiplier")
        .collect();
    let older = batch.project(&keep).unwrap();
    let reader = RowReader::new(older.schema().as_ref(), "older.parquet").unwrap();
    assert_eq!(reader.missing(), ["replay_time_multiplier"]);
    let mut back = Vec::new();
    reader.read(&older, 0, &mut back).unwrap();
    assert!(back.iter().all(|f| f.replay_time_multiplier == 0.0));
    assert_eq!(back[3].speed_kmh, frames[3].speed_kmh);

    // Without seq, rows are not frames: a clear error.
    let keep: Vec<usize> =
        (0..batch.num_columns()).filter(|&i| batch.schema().field(i).name() != "seq").collect();
    let err = RowReader::new(batch.project(&keep).unwrap().schema().as_ref(), "x.parquet").unwrap_err();
    assert!(matches!(err, ConvertError::MissingColumn { column: "seq", .. }), "{err}");
}

#[test]
fn a_column_of_the_wrong_type_is_named_in_the_error() {
    let schema = FrameSchema::new(Variant::Frames);
    let fields: Vec<arrow_schema::Field> = schema
        .arrow()
        .fields()
        .iter()
        .map(|f| {
            if f.name() == "rpm" {
                arrow_schema::Field::new("rpm", arrow_schema::DataType::Float64, false)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let err = RowReader::new(&arrow_schema::Schema::new(fields), "odd.parquet").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("odd.parquet") && text.contains("`rpm`") && text.contains("Float64"), "{text}");
}

#[test]
fn session_metadata_survives_its_json_form() {
    // Every field listed (no `..Default::default()`): a field added to the proto breaks this
    // test until the JSON reader knows it.
    let m = SessionMetadata {
        car_model: "ks_mazda_mx5_cup".into(),
        car_skin: "00_red".into(),
        track: "ks_vallelunga".into(),
        track_configuration: "club".into(),
        player_name: "Ayrton".into(),
        player_surname: "Pitwall".into(),
        player_nick: "APW".into(),
        session_type: 3,
        sector_count: 3,
        max_rpm: 7500,
        max_fuel: 45.0,
        max_torque_nm: 210.5,
        max_power_w: 118_000.0,
        suspension_max_travel_m: Some(Wheels { fl: 0.11, fr: 0.12, rl: 0.13, rr: 0.14 }),
        tyre_radius_m: Some(Wheels { fl: 0.295, fr: 0.296, rl: 0.301, rr: 0.302 }),
        max_turbo_boost: 1.5,
        track_spline_length_m: 1732.25,
        sm_version: "1.7".into(),
        ac_version: "1.16".into(),
        number_of_sessions: 2,
        num_cars: 24,
        penalties_enabled: true,
        aid_fuel_rate: 1.0,
        aid_tire_rate: 2.0,
        aid_mechanical_damage: 0.5,
        aid_allow_tyre_blankets: true,
        aid_stability: 0.25,
        aid_auto_clutch: true,
        aid_auto_blip: true,
        has_drs: true,
        has_ers: true,
        has_kers: true,
        kers_max_j: 400_000.0,
        ers_max_j: 4_000_000.0,
        engine_brake_settings_count: 13,
        ers_power_controller_count: 4,
        is_timed_race: true,
        has_extra_lap: true,
        reversed_grid_positions: 8,
        pit_window_start: 10,
        pit_window_end: 20,
        source: "pitwall bridge".into(),
        started_unix_ns: 1_700_000_000_123_456_789,
    };
    let back = session_metadata_from_json(&table::session_metadata_json(&m)).unwrap();
    assert_eq!(back, m);
    let err = session_metadata_from_json(&serde_json::json!({ "max_rpm": "fast" })).unwrap_err();
    assert!(err.contains("max_rpm"), "{err}");
}
