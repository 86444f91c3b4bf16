//! Rows of the frame table back into frames: what lets a Parquet dataset written by the ingest
//! server (or a file written by `pitwall convert`) become a MoTeC log, a CSV file or a lap
//! table again.
//!
//! The reader is driven by [`table::FIELDS`], the one definition of the table: for every field
//! it asks [`table::FrameSchema`] which columns the field became, and looks up how to set the
//! field back on a frame in this module's setter list, whose kinds must match the table's. A
//! field added to the table without a setter here makes [`RowReader::new`] fail with
//! [`ConvertError::NoSetter`] (and this crate's tests fail), rather than being dropped
//! silently; the tests also round-trip frames with every field set through the builder and
//! this reader.
//!
//! Conventions undone here are the table's: a group of per-wheel or vector columns that is
//! null is an absent message; per-wheel contact points and `car_damage` slots are kept up to
//! the first null one; enum names (and `value_<n>`) become their numbers; the session id text
//! becomes its 16 bytes. The session's [`SessionMetadata`], which the table keeps in the file's
//! key-value metadata, is read back by [`session_metadata_from_json`].
//!
//! Columns the file lacks (a file written before a column was added) leave their field at its
//! default and are listed by [`RowReader::missing`]; `session_id` and `seq` are required.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{DataType, Schema};
use prost::bytes::Bytes;
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame, Vec3, Wheels};
use serde_json::Value;
use table::fields::Enum;
use table::{FIELDS, FrameSchema, Kind, Variant};

use crate::error::ConvertError;

/// How a field is set back on a frame.
#[derive(Clone, Copy)]
enum Set {
    F32(fn(&mut TelemetryFrame, f32)),
    I32(fn(&mut TelemetryFrame, i32)),
    U32(fn(&mut TelemetryFrame, u32)),
    I64(fn(&mut TelemetryFrame, i64)),
    U64(fn(&mut TelemetryFrame, u64)),
    Bool(fn(&mut TelemetryFrame, bool)),
    Enum(fn(&mut TelemetryFrame, i32)),
    Str(fn(&mut TelemetryFrame) -> &mut String),
    SessionId,
    Wheels(fn(&mut TelemetryFrame) -> &mut Option<Wheels>),
    Vec3(fn(&mut TelemetryFrame) -> &mut Option<Vec3>),
    Vec3PerWheel(fn(&mut TelemetryFrame) -> &mut Vec<Vec3>),
    Slots(fn(&mut TelemetryFrame) -> &mut Vec<f32>),
}

impl Set {
    /// Whether this setter fits the table's reading of the field.
    fn fits(&self, kind: &Kind) -> bool {
        matches!(
            (self, kind),
            (Set::F32(_), Kind::F32(_))
                | (Set::I32(_), Kind::I32(_))
                | (Set::U32(_), Kind::U32(_))
                | (Set::I64(_), Kind::I64(_))
                | (Set::U64(_), Kind::U64(_))
                | (Set::Bool(_), Kind::Bool(_))
                | (Set::Enum(_), Kind::Enum(..))
                | (Set::Str(_), Kind::Str(_))
                | (Set::SessionId, Kind::SessionId)
                | (Set::Wheels(_), Kind::Wheels(_))
                | (Set::Vec3(_), Kind::Vec3(_))
                | (Set::Vec3PerWheel(_), Kind::Vec3PerWheel(_))
                | (Set::Slots(_), Kind::Slots(..))
        )
    }
}

macro_rules! set {
    (SessionId $n:ident) => {
        Set::SessionId
    };
    (Str $n:ident) => {
        Set::Str(|f| &mut f.$n)
    };
    (Wheels $n:ident) => {
        Set::Wheels(|f| &mut f.$n)
    };
    (Vec3 $n:ident) => {
        Set::Vec3(|f| &mut f.$n)
    };
    (Vec3PerWheel $n:ident) => {
        Set::Vec3PerWheel(|f| &mut f.$n)
    };
    (Slots $n:ident) => {
        Set::Slots(|f| &mut f.$n)
    };
    ($k:ident $n:ident) => {
        Set::$k(|f, v| f.$n = v)
    };
}

macro_rules! setters {
    ($($k:ident $n:ident),* $(,)?) => { &[$((stringify!($n), set!($k $n))),*] };
}

/// Every frame field with a column, and how to set it. Checked against [`FIELDS`].
static SETTERS: &[(&str, Set)] = setters![
    SessionId session_id, U64 seq, I64 wall_time_ns, I64 mono_time_ns, I32 physics_packet_id,
    I32 graphics_packet_id, U32 missed_steps,
    F32 throttle, F32 brake, F32 clutch, F32 steering, I32 gear, I32 rpm, F32 speed_kmh,
    Vec3 velocity, Vec3 local_velocity, Vec3 acc_g, Vec3 local_angular_velocity, F32 heading_rad,
    F32 pitch_rad, F32 roll_rad, F32 cg_height_m, F32 ride_height_front_m, F32 ride_height_rear_m,
    Vec3 position_m,
    Wheels wheel_slip, Wheels wheel_load_n, Wheels tyre_pressure_psi, Wheels wheel_angular_speed_rad_s,
    Wheels tyre_wear, Wheels tyre_dirt, Wheels tyre_core_temp_c, Wheels tyre_temp_inner_c,
    Wheels tyre_temp_middle_c, Wheels tyre_temp_outer_c, Wheels camber_rad, Wheels suspension_travel_m,
    Wheels brake_temp_c, Wheels slip_ratio, Wheels slip_angle_rad, Wheels tyre_force_long_n,
    Wheels tyre_force_lat_n, Wheels self_aligning_torque_nm, Wheels suspension_damage, Wheels tyre_temp_c,
    Vec3PerWheel tyre_contact_point_m,
    F32 fuel_l, F32 turbo_boost, F32 ballast_kg, F32 tc, F32 abs, Bool tc_in_action, Bool abs_in_action,
    Bool pit_limiter, Bool auto_shifter, F32 drs, Bool drs_available, Bool drs_enabled, F32 brake_bias,
    I32 engine_brake, F32 kers_charge, F32 kers_input, F32 kers_current_kj, I32 ers_recovery_level,
    I32 ers_power_level, Bool ers_heat_charging, Bool ers_is_charging, I32 p2p_activations, I32 p2p_status,
    I32 current_max_rpm, F32 final_ff, F32 performance_meter, Slots car_damage, I32 tyres_out,
    Bool is_ai_controlled,
    Enum status, Enum session_type, I32 completed_laps, I32 position, I32 current_lap_ms, I32 last_lap_ms,
    I32 best_lap_ms, F32 session_time_left_ms, F32 distance_traveled_m, I32 current_sector,
    I32 last_sector_ms, I32 number_of_laps, F32 normalized_position, Bool in_pit, Bool in_pit_lane,
    Enum flag, F32 penalty_time_s, F32 surface_grip, Str tyre_compound, Bool mandatory_pit_done,
    Bool ideal_line_on, F32 air_temp_c, F32 road_temp_c, F32 air_density, F32 wind_speed,
    F32 wind_direction_deg, F32 replay_time_multiplier,
];

/// One field to read: its setter, the table's reading (for enum names) and the indices of its
/// columns in the file (`None`: the file lacks that column).
#[derive(Clone)]
struct FieldPlan {
    set: Set,
    kind: Kind,
    columns: Vec<(String, Option<usize>)>,
}

/// Turns record batches of the frame table back into frames.
///
/// ```
/// use convert::rows::RowReader;
/// use proto::telemetry::v1::{TelemetryFrame, Wheels};
/// use table::{FrameBuilder, Variant};
///
/// let frames = vec![TelemetryFrame {
///     session_id: vec![7; 16].into(),
///     seq: 42,
///     speed_kmh: 201.5,
///     tyre_pressure_psi: Some(Wheels { fl: 27.0, fr: 27.5, rl: 26.0, rr: 26.5 }),
///     ..Default::default()
/// }];
/// let mut builder = FrameBuilder::new(Variant::Frames);
/// builder.append(&frames)?;
/// let batch = builder.finish()?;
///
/// let reader = RowReader::new(batch.schema().as_ref(), "memory")?;
/// let mut back = Vec::new();
/// reader.read(&batch, 0, &mut back)?;
/// assert_eq!(back, frames);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RowReader {
    path: PathBuf,
    plans: Vec<FieldPlan>,
    missing: Vec<String>,
}

impl std::fmt::Debug for RowReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowReader").field("path", &self.path).field("missing", &self.missing).finish()
    }
}

impl RowReader {
    /// A reader of batches with `schema` (a file's Arrow schema; extra columns such as the
    /// derived ones are ignored). `path` names the source in errors.
    pub fn new(schema: &Schema, path: impl Into<PathBuf>) -> Result<RowReader, ConvertError> {
        let path = path.into();
        let table = FrameSchema::new(Variant::Frames);
        let mut plans = Vec::with_capacity(FIELDS.len());
        let mut missing = Vec::new();
        for field in FIELDS {
            let set = SETTERS
                .iter()
                .find(|(name, _)| *name == field.proto)
                .map(|(_, set)| *set)
                .filter(|set| set.fits(&field.kind))
                .ok_or(ConvertError::NoSetter(field.proto))?;
            let mut columns = Vec::new();
            for c in table.columns().iter().filter(|c| c.proto_field == Some(field.proto)) {
                let index = match schema.index_of(&c.name) {
                    Ok(i) => {
                        check_type(&path, &c.name, schema.field(i).data_type(), &c.data_type)?;
                        Some(i)
                    }
                    Err(_) => {
                        missing.push(c.name.clone());
                        None
                    }
                };
                columns.push((c.name.clone(), index));
            }
            plans.push(FieldPlan { set, kind: field.kind, columns });
        }
        for required in ["session_id", "seq"] {
            if missing.iter().any(|m| m == required) {
                return Err(ConvertError::MissingColumn {
                    path,
                    column: if required == "seq" { "seq" } else { "session_id" },
                });
            }
        }
        Ok(RowReader { path, plans, missing })
    }

    /// Columns of the table the file lacks (their fields stay at their defaults).
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// Appends one frame per row of `batch` to `out`. `first_row` is the batch's first row's
    /// number in the file, for errors.
    pub fn read(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        out: &mut Vec<TelemetryFrame>,
    ) -> Result<(), ConvertError> {
        let start = out.len();
        out.resize_with(start + batch.num_rows(), TelemetryFrame::default);
        self.fill(batch, first_row, &mut out[start..])
    }

    /// Sets every field of `frames[i]` from row `i` of `batch` (`frames` as long as the batch;
    /// fields are assigned, so frames reused from an earlier batch should be cleared first).
    pub fn fill(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        frames: &mut [TelemetryFrame],
    ) -> Result<(), ConvertError> {
        let rows = batch.num_rows().min(frames.len());
        let frames = &mut frames[..rows];
        for plan in &self.plans {
            let cols: Vec<Option<&ArrayRef>> =
                plan.columns.iter().map(|(_, i)| i.map(|i| batch.column(i))).collect();
            let name = |k: usize| plan.columns.get(k).map_or("", |(n, _)| n.as_str());
            let bad = |row: usize, column: &str, problem: String| ConvertError::BadValue {
                path: self.path.clone(),
                row: first_row + row as u64,
                column: column.to_owned(),
                problem,
            };
            let Some(first) = cols.first() else { continue };
            match plan.set {
                Set::F32(set) => prim::<Float32Type>(*first, frames, set),
                Set::I32(set) => prim::<Int32Type>(*first, frames, set),
                Set::U32(set) => prim::<UInt32Type>(*first, frames, set),
                Set::I64(set) => prim::<Int64Type>(*first, frames, set),
                Set::U64(set) => prim::<UInt64Type>(*first, frames, set),
                Set::Bool(set) => {
                    if let Some(a) = first.and_then(|a| a.as_boolean_opt()) {
                        for (i, f) in frames.iter_mut().enumerate() {
                            set(f, a.is_valid(i) && a.value(i));
                        }
                    }
                }
                Set::Enum(set) => {
                    let Kind::Enum(_, e) = plan.kind else { continue };
                    if let Some(a) = first {
                        let strings = Strings::of(a);
                        for (i, f) in frames.iter_mut().enumerate() {
                            if let Some(s) = strings.get(i) {
                                let v = enum_value(&e, s).ok_or_else(|| {
                                    bad(i, name(0), format!("`{s}` is not a {} name", e.proto_name))
                                })?;
                                set(f, v);
                            }
                        }
                    }
                }
                Set::Str(get) => {
                    if let Some(a) = first {
                        let strings = Strings::of(a);
                        for (i, f) in frames.iter_mut().enumerate() {
                            let s = get(f);
                            s.clear();
                            s.push_str(strings.get(i).unwrap_or(""));
                        }
                    }
                }
                Set::SessionId => {
                    if let Some(a) = first {
                        let strings = Strings::of(a);
                        let mut last: Option<(&str, Bytes)> = None;
                        for (i, f) in frames.iter_mut().enumerate() {
                            let s = strings.get(i).unwrap_or("");
                            let id = match &last {
                                Some((text, id)) if *text == s => id.clone(),
                                _ => {
                                    let id = parse_session_id(s).ok_or_else(|| {
                                        bad(i, name(0), format!("`{s}` is not a session id (UUID or hex)"))
                                    })?;
                                    last = Some((s, id.clone()));
                                    id
                                }
                            };
                            f.session_id = id;
                        }
                    }
                }
                Set::Wheels(get) => {
                    let c = floats(&cols);
                    for (i, f) in frames.iter_mut().enumerate() {
                        *get(f) = group(&c, i).map(|v| Wheels { fl: v[0], fr: v[1], rl: v[2], rr: v[3] });
                    }
                }
                Set::Vec3(get) => {
                    let c = floats(&cols);
                    for (i, f) in frames.iter_mut().enumerate() {
                        *get(f) = group(&c, i).map(|v| Vec3 { x: v[0], y: v[1], z: v[2] });
                    }
                }
                Set::Vec3PerWheel(get) => {
                    let c = floats(&cols);
                    for (i, f) in frames.iter_mut().enumerate() {
                        let points = get(f);
                        points.clear();
                        for wheel in c.chunks(3) {
                            match group(wheel, i) {
                                Some(v) if v.len() == 3 => points.push(Vec3 { x: v[0], y: v[1], z: v[2] }),
                                _ => break,
                            }
                        }
                    }
                }
                Set::Slots(get) => {
                    let c = floats(&cols);
                    for (i, f) in frames.iter_mut().enumerate() {
                        let values = get(f);
                        values.clear();
                        for col in &c {
                            match col {
                                Some(a) if a.is_valid(i) => values.push(a.value(i)),
                                _ => break,
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Sets a primitive field from its column (left alone where the column is missing or null).
fn prim<T: arrow_array::ArrowPrimitiveType>(
    col: Option<&ArrayRef>,
    frames: &mut [TelemetryFrame],
    set: fn(&mut TelemetryFrame, T::Native),
) {
    let Some(a) = col.and_then(|a| a.as_primitive_opt::<T>()) else { return };
    if a.null_count() == 0 {
        for (f, v) in frames.iter_mut().zip(a.values().iter()) {
            set(f, *v);
        }
    } else {
        for (i, f) in frames.iter_mut().enumerate() {
            if a.is_valid(i) {
                set(f, a.value(i));
            }
        }
    }
}

type F32Col<'a> = Option<&'a arrow_array::Float32Array>;

fn floats<'a>(cols: &[Option<&'a ArrayRef>]) -> Vec<F32Col<'a>> {
    cols.iter().map(|c| c.and_then(|a| a.as_primitive_opt::<Float32Type>())).collect()
}

/// The values of a group of columns that are null together, at `row`; `None` when every
/// column present is null (or none is present).
fn group(cols: &[F32Col<'_>], row: usize) -> Option<Vec<f32>> {
    if !cols.iter().flatten().any(|a| a.is_valid(row)) {
        return None;
    }
    Some(cols.iter().map(|c| c.filter(|a| a.is_valid(row)).map_or(0.0, |a| a.value(row))).collect())
}

/// A text column, plain or dictionary-encoded.
pub(crate) enum Strings<'a> {
    Plain(&'a StringArray),
    Dict(Vec<Option<usize>>, &'a StringArray),
    None,
}

impl<'a> Strings<'a> {
    pub(crate) fn of(a: &'a ArrayRef) -> Strings<'a> {
        fn dict<'a, K: arrow_array::types::ArrowDictionaryKeyType>(a: &'a ArrayRef) -> Option<Strings<'a>> {
            let d = a.as_dictionary_opt::<K>()?;
            let values = d.values().as_string_opt::<i32>()?;
            let keys = d.keys();
            let keys = (0..keys.len()).map(|i| keys.is_valid(i).then(|| keys.value(i).as_usize())).collect();
            Some(Strings::Dict(keys, values))
        }
        if let Some(s) = a.as_string_opt::<i32>() {
            return Strings::Plain(s);
        }
        dict::<Int8Type>(a)
            .or_else(|| dict::<Int16Type>(a))
            .or_else(|| dict::<Int32Type>(a))
            .unwrap_or(Strings::None)
    }

    pub(crate) fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Strings::Plain(s) => s.is_valid(row).then(|| s.value(row)),
            Strings::Dict(keys, values) => {
                let k = (*keys.get(row)?)?;
                (k < values.len() && values.is_valid(k)).then(|| values.value(k))
            }
            Strings::None => None,
        }
    }
}

/// Whether a file's column type can be read as the table's.
fn check_type(path: &Path, column: &str, found: &DataType, expected: &DataType) -> Result<(), ConvertError> {
    let text = |t: &DataType| {
        matches!(t, DataType::Utf8)
            || matches!(t, DataType::Dictionary(k, v)
            if matches!(**k, DataType::Int8 | DataType::Int16 | DataType::Int32) && **v == DataType::Utf8)
    };
    let ok = if text(expected) { text(found) } else { found == expected };
    if ok {
        Ok(())
    } else {
        Err(ConvertError::ColumnType {
            path: path.to_owned(),
            column: column.to_owned(),
            found: found.to_string(),
            expected: expected.to_string(),
        })
    }
}

/// The number of an enum value's name as the table writes it (`"race"`, or `value_<n>`).
fn enum_value(e: &Enum, name: &str) -> Option<i32> {
    if let Some(i) = e.names.iter().position(|n| *n == name) {
        return i32::try_from(i).ok();
    }
    name.strip_prefix("value_").and_then(|n| n.parse().ok())
}

/// The bytes of a session id written by [`table::session_id_text`]: UUID text or plain hex.
pub fn parse_session_id(text: &str) -> Option<Bytes> {
    let hex: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
    if hex.len() % 2 != 0 || (text.contains('-') && hex.len() != 32) {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let bytes: Option<Vec<u8>> = hex.chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect();
    bytes.map(Bytes::from)
}

/// The session metadata back from the JSON of [`table::session_metadata_json`]. Keys it lacks
/// keep their defaults (an older writer); a key of the wrong type is an error naming it.
pub fn session_metadata_from_json(v: &Value) -> Result<SessionMetadata, String> {
    let o = v.as_object().ok_or("not a JSON object")?;
    let mut m = SessionMetadata::default();
    let string = |k: &str| -> Result<String, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("`{k}` is {other}, not a string")),
        }
    };
    let number = |k: &str| -> Result<f64, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(0.0),
            Some(v) => v.as_f64().ok_or_else(|| format!("`{k}` is {v}, not a number")),
        }
    };
    let int = |k: &str| -> Result<i64, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| format!("`{k}` is {v}, not an integer")),
        }
    };
    let i32_of = |k: &str| -> Result<i32, String> {
        i32::try_from(int(k)?).map_err(|_| format!("`{k}` does not fit an int32"))
    };
    let boolean = |k: &str| -> Result<bool, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("`{k}` is {other}, not a boolean")),
        }
    };
    let wheels = |k: &str| -> Result<Option<Wheels>, String> {
        match o.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(w)) => {
                let get = |c: &str| {
                    w.get(c)
                        .and_then(Value::as_f64)
                        .map(|x| x as f32)
                        .ok_or_else(|| format!("`{k}.{c}` is missing"))
                };
                Ok(Some(Wheels { fl: get("fl")?, fr: get("fr")?, rl: get("rl")?, rr: get("rr")? }))
            }
            Some(other) => Err(format!("`{k}` is {other}, not an object")),
        }
    };
    m.car_model = string("car_model")?;
    m.car_skin = string("car_skin")?;
    m.track = string("track")?;
    m.track_configuration = string("track_configuration")?;
    m.player_name = string("player_name")?;
    m.player_surname = string("player_surname")?;
    m.player_nick = string("player_nick")?;
    let session_type = string("session_type")?;
    m.session_type = if session_type.is_empty() {
        0
    } else {
        enum_value(&table::fields::SESSION_TYPE, &session_type)
            .ok_or_else(|| format!("`session_type` `{session_type}` is not a session type"))?
    };
    m.sector_count = i32_of("sector_count")?;
    m.max_rpm = i32_of("max_rpm")?;
    m.max_fuel = number("max_fuel")? as f32;
    m.max_torque_nm = number("max_torque_nm")? as f32;
    m.max_power_w = number("max_power_w")? as f32;
    m.suspension_max_travel_m = wheels("suspension_max_travel_m")?;
    m.tyre_radius_m = wheels("tyre_radius_m")?;
    m.max_turbo_boost = number("max_turbo_boost")? as f32;
    m.track_spline_length_m = number("track_spline_length_m")? as f32;
    m.sm_version = string("sm_version")?;
    m.ac_version = string("ac_version")?;
    m.number_of_sessions = i32_of("number_of_sessions")?;
    m.num_cars = i32_of("num_cars")?;
    m.penalties_enabled = boolean("penalties_enabled")?;
    m.aid_fuel_rate = number("aid_fuel_rate")? as f32;
    m.aid_tire_rate = number("aid_tire_rate")? as f32;
    m.aid_mechanical_damage = number("aid_mechanical_damage")? as f32;
    m.aid_allow_tyre_blankets = boolean("aid_allow_tyre_blankets")?;
    m.aid_stability = number("aid_stability")? as f32;
    m.aid_auto_clutch = boolean("aid_auto_clutch")?;
    m.aid_auto_blip = boolean("aid_auto_blip")?;
    m.has_drs = boolean("has_drs")?;
    m.has_ers = boolean("has_ers")?;
    m.has_kers = boolean("has_kers")?;
    m.kers_max_j = number("kers_max_j")? as f32;
    m.ers_max_j = number("ers_max_j")? as f32;
    m.engine_brake_settings_count = i32_of("engine_brake_settings_count")?;
    m.ers_power_controller_count = i32_of("ers_power_controller_count")?;
    m.is_timed_race = boolean("is_timed_race")?;
    m.has_extra_lap = boolean("has_extra_lap")?;
    m.reversed_grid_positions = i32_of("reversed_grid_positions")?;
    m.pit_window_start = i32_of("pit_window_start")?;
    m.pit_window_end = i32_of("pit_window_end")?;
    m.source = string("source")?;
    m.started_unix_ns = int("started_unix_ns")?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_field_has_a_setter_of_its_kind() {
        for field in FIELDS {
            let set = SETTERS.iter().find(|(n, _)| *n == field.proto);
            assert!(set.is_some_and(|(_, s)| s.fits(&field.kind)), "{}", field.proto);
        }
        assert_eq!(SETTERS.len(), FIELDS.len(), "a setter for a field the table does not have");
    }

    #[test]
    fn session_ids_parse_from_uuid_text_and_hex() {
        let id: Vec<u8> = (0..16).collect();
        assert_eq!(parse_session_id(&table::session_id_text(&id)).unwrap().as_ref(), id.as_slice());
        assert_eq!(parse_session_id("0a0b").unwrap().as_ref(), &[10, 11]);
        assert!(parse_session_id("0a0").is_none());
        assert!(parse_session_id("zz").is_none());
        assert!(parse_session_id("0001-02").is_none());
    }
}
