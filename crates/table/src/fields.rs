//! The one table: every `TelemetryFrame` field, in proto order, with its unit, its description
//! and its kind, written once in the `fields!` list below. Everything else in this crate is
//! generated from it: the column names and Arrow types ([`FrameSchema`](crate::FrameSchema)),
//! the getter that builds the columns ([`FrameBuilder`](crate::FrameBuilder)) and the setter
//! that turns them back into frames ([`FrameReader`](crate::FrameReader)). A field's getter
//! (`|f| &f.name`) and setter (`|f| &mut f.name`) are generated from its name, so the two
//! directions cannot disagree about which field a column holds.
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
//!
//! **A new proto field** is one line in the list. Until it has one (or a line in its
//! `not_columns` part), this crate does not compile: the list also generates a destructuring
//! of `TelemetryFrame` without `..`, which names every field. The tests check the list against
//! the `.proto` itself too (names, order, types) and round-trip frames with every field set.

use arrow_array::types::{Float32Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use proto::telemetry::v1::{Flag, GameStatus, SessionType, TelemetryFrame, Vec3, Wheels};

use crate::field_codec::{self as codec, FieldCodec};

/// Suffixes of the per-wheel columns, in the proto's (and AC's) order.
pub const WHEEL_SUFFIXES: [&str; 4] = ["fl", "fr", "rl", "rr"];
/// Suffixes of the vector columns.
pub const AXIS_SUFFIXES: [&str; 3] = ["x", "y", "z"];
/// Slots of `car_damage`, in AC's order.
pub const CAR_DAMAGE_SLOTS: [&str; 5] = ["front", "rear", "left", "right", "centre"];

/// Which columns one proto field becomes, and their Arrow types (see the module's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `float`: one `Float32` column.
    F32,
    /// `int32`: one `Int32` column.
    I32,
    /// `uint32`: one `UInt32` column.
    U32,
    /// `int64`: one `Int64` column.
    I64,
    /// `uint64`: one `UInt64` column.
    U64,
    /// `bool`: one `Boolean` column.
    Bool,
    /// An enum: one dictionary column of the value's name ([`Enum`]).
    Enum(Enum),
    /// A `string`: one dictionary column.
    Str,
    /// The 16-byte session id: one dictionary column of its UUID text.
    SessionId,
    /// A `Wheels` message: four nullable `Float32` columns.
    Wheels,
    /// A `Vec3` message: three nullable `Float32` columns.
    Vec3,
    /// `repeated Vec3`, one per wheel: twelve nullable `Float32` columns (null when the frame
    /// has fewer than four entries).
    Vec3PerWheel,
    /// `repeated float` with named slots: one nullable `Float32` column per slot (null when the
    /// frame has fewer values).
    Slots(&'static [&'static str]),
}

/// A proto enum stored as its value's name.
///
/// Why names rather than numbers: a column of `"race"`, `"yellow"` reads the same in pandas
/// (a `category`), polars (`Categorical`) and DuckDB without a lookup table, and dictionary
/// encoding makes it as small as the number in Parquet (one byte-wide key per row, the names
/// once per column chunk). Values the proto does not know (a newer bridge) are kept as
/// `value_<n>`, never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    /// The value a stored name stands for: a known name, or `value_<n>` (`None` for anything
    /// else, such as the `value_other` of a batch with too many distinct unknown values).
    pub fn value(&self, name: &str) -> Option<i32> {
        if let Some(i) = self.names.iter().position(|n| *n == name) {
            return i32::try_from(i).ok();
        }
        name.strip_prefix("value_").and_then(|n| n.parse().ok())
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

/// One proto field of `TelemetryFrame`: its columns, what they mean, and how they are built from
/// a frame and set back on one.
#[derive(Clone, Copy)]
pub struct Field {
    /// The proto field name; also the column name or the prefix of its columns.
    pub proto: &'static str,
    /// Unit of the value(s), as written in column metadata; empty when unitless.
    pub unit: &'static str,
    /// What the value is (from the proto's comment).
    pub description: &'static str,
    /// Which columns it becomes.
    pub kind: Kind,
    /// The getter and the setter, compiled per field (see [`field_codec`](crate::field_codec)).
    pub(crate) codec: &'static dyn FieldCodec,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("proto", &self.proto)
            .field("unit", &self.unit)
            .field("description", &self.description)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The codec of one field of `kind`, its getter and setter made from the field's name.
macro_rules! codec {
    (F32 $name:ident) => {
        &codec::Prim::<Float32Type, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (I32 $name:ident) => {
        &codec::Prim::<Int32Type, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (U32 $name:ident) => {
        &codec::Prim::<UInt32Type, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (I64 $name:ident) => {
        &codec::Prim::<Int64Type, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (U64 $name:ident) => {
        &codec::Prim::<UInt64Type, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (Bool $name:ident) => {
        &codec::Bool::new(|f| &f.$name, |f| &mut f.$name)
    };
    (Enum $name:ident $e:expr) => {
        &codec::Enumerated::new(|f| &f.$name, |f| &mut f.$name, $e)
    };
    (Str $name:ident) => {
        &codec::Text::new(|f| &f.$name, |f| &mut f.$name)
    };
    (SessionId $name:ident) => {
        &codec::SessionId::new(|f| &f.$name, |f| &mut f.$name)
    };
    (Wheels $name:ident) => {
        &codec::Group::<Wheels, 4, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (Vec3 $name:ident) => {
        &codec::Group::<Vec3, 3, _, _>::new(|f| &f.$name, |f| &mut f.$name)
    };
    (Vec3PerWheel $name:ident) => {
        &codec::Repeated::<Vec3, 3, _, _>::new(|f| &f.$name, |f| &mut f.$name, WHEEL_SUFFIXES.len())
    };
    (Slots $name:ident $slots:expr) => {
        &codec::Repeated::<f32, 1, _, _>::new(|f| &f.$name, |f| &mut f.$name, $slots.len())
    };
}

/// The table: `name: Kind, "unit", "description";` per column field, then the fields without
/// a column and why. Generates [`FIELDS`], [`NOT_COLUMNS`] and the check that they name every
/// field of `TelemetryFrame`.
macro_rules! fields {
    (
        columns { $($name:ident: $kind:ident $(($arg:expr))?, $unit:literal, $description:literal;)* }
        not_columns { $($not:ident: $why:literal;)* }
    ) => {
        /// Every `TelemetryFrame` field with a column, in proto order.
        pub static FIELDS: &[Field] = &[$(
            Field {
                proto: stringify!($name),
                unit: $unit,
                description: $description,
                kind: Kind::$kind $(($arg))?,
                codec: codec!($kind $name $($arg)?),
            },
        )*];

        /// Proto fields of `TelemetryFrame` deliberately without a column, with the reason.
        pub const NOT_COLUMNS: &[(&str, &str)] = &[$((stringify!($not), $why)),*];

        // Names every field of the frame, without `..`: a proto field in neither list is a
        // compile error here ("pattern does not mention field …" or "pattern requires `..`"):
        // give it a line in the table.
        const _: fn(&TelemetryFrame) = |frame| {
            let TelemetryFrame { $($name: _,)* $($not: _,)* } = frame;
        };
    };
}

fields! {
    columns {
        // ── identity and time
        session_id: SessionId, "", "Session id (UUID), given by the bridge";
        seq: U64, "", "Frame number within the session: 0, 1, 2, … without gaps";
        wall_time_ns: I64, "ns", "Wall clock when the step was sampled, ns since the Unix epoch (UTC), bridge host";
        mono_time_ns: I64, "ns", "Monotonic clock when the step was sampled, bridge host (for intervals, not dates)";
        physics_packet_id: I32, "", "Physics page packetId of this step";
        graphics_packet_id: I32, "", "Graphics page packetId of the graphics state paired with it";
        missed_steps: U32, "", "Physics steps the game skipped right before this one (packetId jump - 1)";
        // ── driver inputs
        throttle: F32, "", "Throttle, 0..1";
        brake: F32, "", "Brake pedal, 0..1";
        clutch: F32, "", "Clutch, 0..1 (1 = fully pressed)";
        steering: F32, "", "Steering input, -1 (full left) .. 1 (full right)";
        gear: I32, "", "Gear: -1 reverse, 0 neutral, 1 first, …";
        rpm: I32, "rpm", "Engine speed";
        speed_kmh: F32, "km/h", "Ground speed";
        // ── motion
        velocity: Vec3, "m/s", "Velocity in world axes";
        local_velocity: Vec3, "m/s", "Velocity in car axes";
        acc_g: Vec3, "g", "Acceleration in car axes (x lateral, y vertical, z longitudinal)";
        local_angular_velocity: Vec3, "rad/s", "Angular velocity in car axes";
        heading_rad: F32, "rad", "Heading (yaw), world";
        pitch_rad: F32, "rad", "Pitch, world";
        roll_rad: F32, "rad", "Roll, world";
        cg_height_m: F32, "m", "Centre of gravity height";
        ride_height_front_m: F32, "m", "Ride height front";
        ride_height_rear_m: F32, "m", "Ride height rear";
        position_m: Vec3, "m", "World position of the car (graphics page carCoordinates)";
        // ── tyres and wheels
        wheel_slip: Wheels, "", "Wheel slip (AC's spin speed)";
        wheel_load_n: Wheels, "N", "Wheel load";
        tyre_pressure_psi: Wheels, "psi", "Tyre pressure";
        wheel_angular_speed_rad_s: Wheels, "rad/s", "Wheel angular speed";
        tyre_wear: Wheels, "", "Tyre wear (AC's value: 100 new, falling)";
        tyre_dirt: Wheels, "", "Tyre dirt level, 0 clean .. 5";
        tyre_core_temp_c: Wheels, "°C", "Tyre core temperature";
        tyre_temp_inner_c: Wheels, "°C", "Tread temperature inner";
        tyre_temp_middle_c: Wheels, "°C", "Tread temperature middle";
        tyre_temp_outer_c: Wheels, "°C", "Tread temperature outer";
        camber_rad: Wheels, "rad", "Camber";
        suspension_travel_m: Wheels, "m", "Suspension travel";
        brake_temp_c: Wheels, "°C", "Brake temperature";
        slip_ratio: Wheels, "", "Slip ratio (physics tail)";
        slip_angle_rad: Wheels, "rad", "Slip angle (physics tail)";
        tyre_force_long_n: Wheels, "N", "Longitudinal tyre force (physics tail)";
        tyre_force_lat_n: Wheels, "N", "Lateral tyre force (physics tail)";
        self_aligning_torque_nm: Wheels, "N·m", "Self-aligning torque (physics tail)";
        suspension_damage: Wheels, "", "Suspension damage, 0..1 (physics tail)";
        tyre_temp_c: Wheels, "°C", "Tyre temperature (physics tail's single value per tyre)";
        tyre_contact_point_m: Vec3PerWheel, "m", "Tyre contact point, world";
        // ── powertrain, fuel and aids
        fuel_l: F32, "l", "Fuel in the tank";
        turbo_boost: F32, "", "Turbo boost (AC's unit)";
        ballast_kg: F32, "kg", "Ballast";
        tc: F32, "", "Traction control slip limit (0 when off)";
        abs: F32, "", "ABS slip limit (0 when off)";
        tc_in_action: Bool, "", "Traction control intervening now";
        abs_in_action: Bool, "", "ABS intervening now";
        pit_limiter: Bool, "", "Pit limiter on";
        auto_shifter: Bool, "", "Auto shifter on";
        drs: F32, "", "DRS open, 0..1";
        drs_available: Bool, "", "DRS available (in a DRS zone)";
        drs_enabled: Bool, "", "DRS enabled";
        brake_bias: F32, "", "Brake bias, 0 rear .. 1 front";
        engine_brake: I32, "", "Engine brake setting";
        kers_charge: F32, "", "KERS/ERS charge, 0..1";
        kers_input: F32, "", "KERS/ERS input, 0..1";
        kers_current_kj: F32, "kJ", "KERS/ERS energy used this lap";
        ers_recovery_level: I32, "", "ERS recovery level";
        ers_power_level: I32, "", "ERS power level";
        ers_heat_charging: Bool, "", "ERS heat charging (false motor, true battery)";
        ers_is_charging: Bool, "", "ERS charging now";
        p2p_activations: I32, "", "Push-to-pass activations left";
        p2p_status: I32, "", "Push-to-pass state: 0 off, 1 cooling, 2 available, 3 active";
        current_max_rpm: I32, "rpm", "Current rev limit";
        final_ff: F32, "", "Force feedback output";
        performance_meter: F32, "s", "Performance meter: time delta to the best lap (AC's value)";
        car_damage: Slots(&CAR_DAMAGE_SLOTS), "", "Car body damage per section (AC's value)";
        tyres_out: I32, "", "Tyres off track, 0..4";
        is_ai_controlled: Bool, "", "The AI drives the car";
        // ── lap, timing and session
        status: Enum(GAME_STATUS), "", "Game status";
        session_type: Enum(SESSION_TYPE), "", "Session type now";
        completed_laps: I32, "", "Laps completed";
        position: I32, "", "Race position, 1-based";
        current_lap_ms: I32, "ms", "Time into the current lap";
        last_lap_ms: I32, "ms", "Last lap time (0 when none)";
        best_lap_ms: I32, "ms", "Best lap time (0 when none)";
        session_time_left_ms: F32, "ms", "Session time left";
        distance_traveled_m: F32, "m", "Distance driven in the session";
        current_sector: I32, "", "Current sector, 0-based";
        last_sector_ms: I32, "ms", "Last sector time";
        number_of_laps: I32, "", "Laps in the session (0 for a timed session)";
        normalized_position: F32, "", "Position along the track spline, 0..1";
        in_pit: Bool, "", "Stopped in the pit box";
        in_pit_lane: Bool, "", "In the pit lane";
        flag: Enum(FLAG), "", "Flag shown to the driver";
        penalty_time_s: F32, "s", "Penalty time";
        surface_grip: F32, "", "Track grip factor, 0..1";
        tyre_compound: Str, "", "Tyre compound name";
        mandatory_pit_done: Bool, "", "Mandatory pit stop done";
        ideal_line_on: Bool, "", "Ideal line shown";
        air_temp_c: F32, "°C", "Air temperature";
        road_temp_c: F32, "°C", "Road temperature";
        air_density: F32, "kg/m³", "Air density (AC's value)";
        wind_speed: F32, "", "Wind speed (AC's unit)";
        wind_direction_deg: F32, "deg", "Wind direction, 0..359";
        replay_time_multiplier: F32, "", "Replay time multiplier (replays only)";
    }
    not_columns {
        session: "session metadata: Parquet key-value metadata and the catalogue, not per row";
    }
}
