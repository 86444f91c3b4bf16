//! The one declarative list: every `TelemetryFrame` field, its unit, its description and how to
//! read it, in proto order. Everything else in this crate (the Arrow schema, the builder, the
//! column names) is generated from [`FIELDS`]; the tests check it against the `.proto` itself,
//! so a field added to the proto without an entry here fails the build's tests.
//!
//! A proto field becomes one or more flat columns ([`Kind`]):
//!
//! | proto type                      | columns                                         | Arrow type               |
//! |---------------------------------|-------------------------------------------------|--------------------------|
//! | scalar (`float`, `int32`, …)    | `name`                                          | same width, not null     |
//! | enum                            | `name`, the value's lower-case name             | `Dictionary(Int8, Utf8)` |
//! | `string`                        | `name`                                          | `Dictionary(Int32, Utf8)`|
//! | `bytes session_id`              | `session_id`, UUID text (36 chars)              | `Dictionary(Int32, Utf8)`|
//! | `Wheels`                        | `name_fl`, `name_fr`, `name_rl`, `name_rr`      | `Float32`, null if absent|
//! | `Vec3`                          | `name_x`, `name_y`, `name_z`                    | `Float32`, null if absent|
//! | `repeated Vec3` (per wheel)     | `name_fl_x` … `name_rr_z` (12)                  | `Float32`, null if absent|
//! | `repeated float` (named slots)  | `name_<slot>`                                   | `Float32`, null if absent|
//!
//! `session` (the [`SessionMetadata`](proto::telemetry::v1::SessionMetadata) carried on a
//! session's first frame) is not a column: it describes the whole session and goes into the
//! Parquet file's key-value metadata and the catalogue ([`NOT_COLUMNS`]).

use proto::telemetry::v1::{Flag, GameStatus, SessionType, TelemetryFrame, Vec3, Wheels};

/// Proto fields of `TelemetryFrame` deliberately without a column, with the reason.
pub const NOT_COLUMNS: &[(&str, &str)] =
    &[("session", "session metadata: Parquet key-value metadata and the catalogue, not per row")];

/// Suffixes of the per-wheel columns, in the proto's (and AC's) order.
pub const WHEEL_SUFFIXES: [&str; 4] = ["fl", "fr", "rl", "rr"];
/// Suffixes of the vector columns.
pub const AXIS_SUFFIXES: [&str; 3] = ["x", "y", "z"];
/// Slots of `car_damage`, in AC's order.
pub const CAR_DAMAGE_SLOTS: [&str; 5] = ["front", "rear", "left", "right", "centre"];

/// Reads a value of type `T` from a frame.
pub type Get<T> = fn(&TelemetryFrame) -> T;

/// How one proto field is read and which columns it becomes.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `float`: one `Float32` column.
    F32(Get<f32>),
    /// `int32`: one `Int32` column.
    I32(Get<i32>),
    /// `uint32`: one `UInt32` column.
    U32(Get<u32>),
    /// `int64`: one `Int64` column.
    I64(Get<i64>),
    /// `uint64`: one `UInt64` column.
    U64(Get<u64>),
    /// `bool`: one `Boolean` column.
    Bool(Get<bool>),
    /// An enum: one dictionary column of the value's name ([`Enum`]).
    Enum(Get<i32>, Enum),
    /// A `string`: one dictionary column.
    Str(for<'a> fn(&'a TelemetryFrame) -> &'a str),
    /// The 16-byte session id: one dictionary column of its UUID text.
    SessionId,
    /// A `Wheels` message: four nullable `Float32` columns.
    Wheels(for<'a> fn(&'a TelemetryFrame) -> Option<&'a Wheels>),
    /// A `Vec3` message: three nullable `Float32` columns.
    Vec3(for<'a> fn(&'a TelemetryFrame) -> Option<&'a Vec3>),
    /// `repeated Vec3`, one per wheel: twelve nullable `Float32` columns (null when the frame
    /// has fewer than four entries).
    Vec3PerWheel(for<'a> fn(&'a TelemetryFrame) -> &'a [Vec3]),
    /// `repeated float` with named slots: one nullable `Float32` column per slot (null when the
    /// frame has fewer values).
    Slots(for<'a> fn(&'a TelemetryFrame) -> &'a [f32], &'static [&'static str]),
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Kind::F32(_) => "F32",
            Kind::I32(_) => "I32",
            Kind::U32(_) => "U32",
            Kind::I64(_) => "I64",
            Kind::U64(_) => "U64",
            Kind::Bool(_) => "Bool",
            Kind::Enum(_, e) => return write!(f, "Enum({})", e.proto_name),
            Kind::Str(_) => "Str",
            Kind::SessionId => "SessionId",
            Kind::Wheels(_) => "Wheels",
            Kind::Vec3(_) => "Vec3",
            Kind::Vec3PerWheel(_) => "Vec3PerWheel",
            Kind::Slots(_, slots) => return write!(f, "Slots({slots:?})"),
        };
        f.write_str(name)
    }
}

/// A proto enum stored as its value's name.
///
/// Why names rather than numbers: a column of `"race"`, `"yellow"` reads the same in pandas
/// (a `category`), polars (`Categorical`) and DuckDB without a lookup table, and dictionary
/// encoding makes it as small as the number in Parquet (one byte-wide key per row, the names
/// once per column chunk). Values the proto does not know (a newer bridge) are kept as
/// `value_<n>`, never dropped.
#[derive(Debug, Clone, Copy)]
pub struct Enum {
    /// The proto enum's name, e.g. `SessionType`.
    pub proto_name: &'static str,
    /// The name of each known value, indexed by the value: `names[n]` for value `n`.
    pub names: &'static [&'static str],
}

impl Enum {
    /// The name stored for `value`.
    pub fn name(&self, value: i32) -> std::borrow::Cow<'static, str> {
        match usize::try_from(value).ok().and_then(|i| self.names.get(i)) {
            Some(n) => std::borrow::Cow::Borrowed(n),
            None => std::borrow::Cow::Owned(format!("value_{value}")),
        }
    }
}

/// `GameStatus` names (`GAME_STATUS_` dropped, lower case).
pub const GAME_STATUS: Enum = Enum { proto_name: "GameStatus", names: &["off", "replay", "live", "pause"] };
/// `SessionType` names (`SESSION_TYPE_` dropped, lower case).
pub const SESSION_TYPE: Enum = Enum {
    proto_name: "SessionType",
    names: &[
        "unknown",
        "practice",
        "qualify",
        "race",
        "hotlap",
        "time_attack",
        "drift",
        "drag",
        "hot_stint",
        "hotlap_superpole",
    ],
};
/// `Flag` names (`FLAG_` dropped, lower case).
pub const FLAG: Enum = Enum {
    proto_name: "Flag",
    names: &["none", "blue", "yellow", "black", "white", "checkered", "penalty", "green", "orange"],
};

// The enums above must follow the generated types; checked here so that a renumbering breaks
// the build, not the data.
const _: () = {
    assert!(GameStatus::Pause as usize == 3 && GAME_STATUS.names.len() == 4);
    assert!(SessionType::HotlapSuperpole as usize == 9 && SESSION_TYPE.names.len() == 10);
    assert!(Flag::Orange as usize == 8 && FLAG.names.len() == 9);
};

/// One proto field of `TelemetryFrame`: where it goes and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The proto field name; also the column name or the prefix of its columns.
    pub proto: &'static str,
    /// Unit of the value(s), as written in column metadata; empty when unitless.
    pub unit: &'static str,
    /// What the value is (from the proto's comment).
    pub description: &'static str,
    /// How it is read and which columns it becomes.
    pub kind: Kind,
}

const fn field(proto: &'static str, unit: &'static str, description: &'static str, kind: Kind) -> Field {
    Field { proto, unit, description, kind }
}

/// Every `TelemetryFrame` field with a column, in proto order.
pub static FIELDS: &[Field] = &[
    // ── identity and time
    field("session_id", "", "Session id (UUID), given by the bridge", Kind::SessionId),
    field("seq", "", "Frame number within the session: 0, 1, 2, … without gaps", Kind::U64(|f| f.seq)),
    field(
        "wall_time_ns",
        "ns",
        "Wall clock when the step was sampled, ns since the Unix epoch (UTC), bridge host",
        Kind::I64(|f| f.wall_time_ns),
    ),
    field(
        "mono_time_ns",
        "ns",
        "Monotonic clock when the step was sampled, bridge host (for intervals, not dates)",
        Kind::I64(|f| f.mono_time_ns),
    ),
    field("physics_packet_id", "", "Physics page packetId of this step", Kind::I32(|f| f.physics_packet_id)),
    field(
        "graphics_packet_id",
        "",
        "Graphics page packetId of the graphics state paired with it",
        Kind::I32(|f| f.graphics_packet_id),
    ),
    field(
        "missed_steps",
        "",
        "Physics steps the game skipped right before this one (packetId jump - 1)",
        Kind::U32(|f| f.missed_steps),
    ),
    // ── driver inputs
    field("throttle", "", "Throttle, 0..1", Kind::F32(|f| f.throttle)),
    field("brake", "", "Brake pedal, 0..1", Kind::F32(|f| f.brake)),
    field("clutch", "", "Clutch, 0..1 (1 = fully pressed)", Kind::F32(|f| f.clutch)),
    field("steering", "", "Steering input, -1 (full left) .. 1 (full right)", Kind::F32(|f| f.steering)),
    field("gear", "", "Gear: -1 reverse, 0 neutral, 1 first, …", Kind::I32(|f| f.gear)),
    field("rpm", "rpm", "Engine speed", Kind::I32(|f| f.rpm)),
    field("speed_kmh", "km/h", "Ground speed", Kind::F32(|f| f.speed_kmh)),
    // ── motion
    field("velocity", "m/s", "Velocity in world axes", Kind::Vec3(|f| f.velocity.as_ref())),
    field("local_velocity", "m/s", "Velocity in car axes", Kind::Vec3(|f| f.local_velocity.as_ref())),
    field(
        "acc_g",
        "g",
        "Acceleration in car axes (x lateral, y vertical, z longitudinal)",
        Kind::Vec3(|f| f.acc_g.as_ref()),
    ),
    field(
        "local_angular_velocity",
        "rad/s",
        "Angular velocity in car axes",
        Kind::Vec3(|f| f.local_angular_velocity.as_ref()),
    ),
    field("heading_rad", "rad", "Heading (yaw), world", Kind::F32(|f| f.heading_rad)),
    field("pitch_rad", "rad", "Pitch, world", Kind::F32(|f| f.pitch_rad)),
    field("roll_rad", "rad", "Roll, world", Kind::F32(|f| f.roll_rad)),
    field("cg_height_m", "m", "Centre of gravity height", Kind::F32(|f| f.cg_height_m)),
    field("ride_height_front_m", "m", "Ride height front", Kind::F32(|f| f.ride_height_front_m)),
    field("ride_height_rear_m", "m", "Ride height rear", Kind::F32(|f| f.ride_height_rear_m)),
    field(
        "position_m",
        "m",
        "World position of the car (graphics page carCoordinates)",
        Kind::Vec3(|f| f.position_m.as_ref()),
    ),
    // ── tyres and wheels
    field("wheel_slip", "", "Wheel slip (AC's spin speed)", Kind::Wheels(|f| f.wheel_slip.as_ref())),
    field("wheel_load_n", "N", "Wheel load", Kind::Wheels(|f| f.wheel_load_n.as_ref())),
    field("tyre_pressure_psi", "psi", "Tyre pressure", Kind::Wheels(|f| f.tyre_pressure_psi.as_ref())),
    field(
        "wheel_angular_speed_rad_s",
        "rad/s",
        "Wheel angular speed",
        Kind::Wheels(|f| f.wheel_angular_speed_rad_s.as_ref()),
    ),
    field(
        "tyre_wear",
        "",
        "Tyre wear (AC's value: 100 new, falling)",
        Kind::Wheels(|f| f.tyre_wear.as_ref()),
    ),
    field("tyre_dirt", "", "Tyre dirt level, 0 clean .. 5", Kind::Wheels(|f| f.tyre_dirt.as_ref())),
    field("tyre_core_temp_c", "°C", "Tyre core temperature", Kind::Wheels(|f| f.tyre_core_temp_c.as_ref())),
    field(
        "tyre_temp_inner_c",
        "°C",
        "Tread temperature inner",
        Kind::Wheels(|f| f.tyre_temp_inner_c.as_ref()),
    ),
    field(
        "tyre_temp_middle_c",
        "°C",
        "Tread temperature middle",
        Kind::Wheels(|f| f.tyre_temp_middle_c.as_ref()),
    ),
    field(
        "tyre_temp_outer_c",
        "°C",
        "Tread temperature outer",
        Kind::Wheels(|f| f.tyre_temp_outer_c.as_ref()),
    ),
    field("camber_rad", "rad", "Camber", Kind::Wheels(|f| f.camber_rad.as_ref())),
    field("suspension_travel_m", "m", "Suspension travel", Kind::Wheels(|f| f.suspension_travel_m.as_ref())),
    field("brake_temp_c", "°C", "Brake temperature", Kind::Wheels(|f| f.brake_temp_c.as_ref())),
    field("slip_ratio", "", "Slip ratio (physics tail)", Kind::Wheels(|f| f.slip_ratio.as_ref())),
    field("slip_angle_rad", "rad", "Slip angle (physics tail)", Kind::Wheels(|f| f.slip_angle_rad.as_ref())),
    field(
        "tyre_force_long_n",
        "N",
        "Longitudinal tyre force (physics tail)",
        Kind::Wheels(|f| f.tyre_force_long_n.as_ref()),
    ),
    field(
        "tyre_force_lat_n",
        "N",
        "Lateral tyre force (physics tail)",
        Kind::Wheels(|f| f.tyre_force_lat_n.as_ref()),
    ),
    field(
        "self_aligning_torque_nm",
        "N·m",
        "Self-aligning torque (physics tail)",
        Kind::Wheels(|f| f.self_aligning_torque_nm.as_ref()),
    ),
    field(
        "suspension_damage",
        "",
        "Suspension damage, 0..1 (physics tail)",
        Kind::Wheels(|f| f.suspension_damage.as_ref()),
    ),
    field(
        "tyre_temp_c",
        "°C",
        "Tyre temperature (physics tail's single value per tyre)",
        Kind::Wheels(|f| f.tyre_temp_c.as_ref()),
    ),
    field(
        "tyre_contact_point_m",
        "m",
        "Tyre contact point, world",
        Kind::Vec3PerWheel(|f| f.tyre_contact_point_m.as_slice()),
    ),
    // ── powertrain, fuel and aids
    field("fuel_l", "l", "Fuel in the tank", Kind::F32(|f| f.fuel_l)),
    field("turbo_boost", "", "Turbo boost (AC's unit)", Kind::F32(|f| f.turbo_boost)),
    field("ballast_kg", "kg", "Ballast", Kind::F32(|f| f.ballast_kg)),
    field("tc", "", "Traction control slip limit (0 when off)", Kind::F32(|f| f.tc)),
    field("abs", "", "ABS slip limit (0 when off)", Kind::F32(|f| f.abs)),
    field("tc_in_action", "", "Traction control intervening now", Kind::Bool(|f| f.tc_in_action)),
    field("abs_in_action", "", "ABS intervening now", Kind::Bool(|f| f.abs_in_action)),
    field("pit_limiter", "", "Pit limiter on", Kind::Bool(|f| f.pit_limiter)),
    field("auto_shifter", "", "Auto shifter on", Kind::Bool(|f| f.auto_shifter)),
    field("drs", "", "DRS open, 0..1", Kind::F32(|f| f.drs)),
    field("drs_available", "", "DRS available (in a DRS zone)", Kind::Bool(|f| f.drs_available)),
    field("drs_enabled", "", "DRS enabled", Kind::Bool(|f| f.drs_enabled)),
    field("brake_bias", "", "Brake bias, 0 rear .. 1 front", Kind::F32(|f| f.brake_bias)),
    field("engine_brake", "", "Engine brake setting", Kind::I32(|f| f.engine_brake)),
    field("kers_charge", "", "KERS/ERS charge, 0..1", Kind::F32(|f| f.kers_charge)),
    field("kers_input", "", "KERS/ERS input, 0..1", Kind::F32(|f| f.kers_input)),
    field("kers_current_kj", "kJ", "KERS/ERS energy used this lap", Kind::F32(|f| f.kers_current_kj)),
    field("ers_recovery_level", "", "ERS recovery level", Kind::I32(|f| f.ers_recovery_level)),
    field("ers_power_level", "", "ERS power level", Kind::I32(|f| f.ers_power_level)),
    field(
        "ers_heat_charging",
        "",
        "ERS heat charging (false motor, true battery)",
        Kind::Bool(|f| f.ers_heat_charging),
    ),
    field("ers_is_charging", "", "ERS charging now", Kind::Bool(|f| f.ers_is_charging)),
    field("p2p_activations", "", "Push-to-pass activations left", Kind::I32(|f| f.p2p_activations)),
    field(
        "p2p_status",
        "",
        "Push-to-pass state: 0 off, 1 cooling, 2 available, 3 active",
        Kind::I32(|f| f.p2p_status),
    ),
    field("current_max_rpm", "rpm", "Current rev limit", Kind::I32(|f| f.current_max_rpm)),
    field("final_ff", "", "Force feedback output", Kind::F32(|f| f.final_ff)),
    field(
        "performance_meter",
        "s",
        "Performance meter: time delta to the best lap (AC's value)",
        Kind::F32(|f| f.performance_meter),
    ),
    field(
        "car_damage",
        "",
        "Car body damage per section (AC's value)",
        Kind::Slots(|f| f.car_damage.as_slice(), &CAR_DAMAGE_SLOTS),
    ),
    field("tyres_out", "", "Tyres off track, 0..4", Kind::I32(|f| f.tyres_out)),
    field("is_ai_controlled", "", "The AI drives the car", Kind::Bool(|f| f.is_ai_controlled)),
    // ── lap, timing and session
    field("status", "", "Game status", Kind::Enum(|f| f.status, GAME_STATUS)),
    field("session_type", "", "Session type now", Kind::Enum(|f| f.session_type, SESSION_TYPE)),
    field("completed_laps", "", "Laps completed", Kind::I32(|f| f.completed_laps)),
    field("position", "", "Race position, 1-based", Kind::I32(|f| f.position)),
    field("current_lap_ms", "ms", "Time into the current lap", Kind::I32(|f| f.current_lap_ms)),
    field("last_lap_ms", "ms", "Last lap time (0 when none)", Kind::I32(|f| f.last_lap_ms)),
    field("best_lap_ms", "ms", "Best lap time (0 when none)", Kind::I32(|f| f.best_lap_ms)),
    field("session_time_left_ms", "ms", "Session time left", Kind::F32(|f| f.session_time_left_ms)),
    field("distance_traveled_m", "m", "Distance driven in the session", Kind::F32(|f| f.distance_traveled_m)),
    field("current_sector", "", "Current sector, 0-based", Kind::I32(|f| f.current_sector)),
    field("last_sector_ms", "ms", "Last sector time", Kind::I32(|f| f.last_sector_ms)),
    field(
        "number_of_laps",
        "",
        "Laps in the session (0 for a timed session)",
        Kind::I32(|f| f.number_of_laps),
    ),
    field(
        "normalized_position",
        "",
        "Position along the track spline, 0..1",
        Kind::F32(|f| f.normalized_position),
    ),
    field("in_pit", "", "Stopped in the pit box", Kind::Bool(|f| f.in_pit)),
    field("in_pit_lane", "", "In the pit lane", Kind::Bool(|f| f.in_pit_lane)),
    field("flag", "", "Flag shown to the driver", Kind::Enum(|f| f.flag, FLAG)),
    field("penalty_time_s", "s", "Penalty time", Kind::F32(|f| f.penalty_time_s)),
    field("surface_grip", "", "Track grip factor, 0..1", Kind::F32(|f| f.surface_grip)),
    field("tyre_compound", "", "Tyre compound name", Kind::Str(|f| f.tyre_compound.as_str())),
    field("mandatory_pit_done", "", "Mandatory pit stop done", Kind::Bool(|f| f.mandatory_pit_done)),
    field("ideal_line_on", "", "Ideal line shown", Kind::Bool(|f| f.ideal_line_on)),
    field("air_temp_c", "°C", "Air temperature", Kind::F32(|f| f.air_temp_c)),
    field("road_temp_c", "°C", "Road temperature", Kind::F32(|f| f.road_temp_c)),
    field("air_density", "kg/m³", "Air density (AC's value)", Kind::F32(|f| f.air_density)),
    field("wind_speed", "", "Wind speed (AC's unit)", Kind::F32(|f| f.wind_speed)),
    field("wind_direction_deg", "deg", "Wind direction, 0..359", Kind::F32(|f| f.wind_direction_deg)),
    field(
        "replay_time_multiplier",
        "",
        "Replay time multiplier (replays only)",
        Kind::F32(|f| f.replay_time_multiplier),
    ),
];
