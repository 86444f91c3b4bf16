//! The layouts against a second definition typed in from the tables of `docs/shm.md`: a table of
//! (JSON name, byte offset, kind) per page. Distinct values are written at those offsets in
//! a plain byte buffer, and read back through the structs and their decoded views.

use serde_json::Value;
use shm::{GraphicsPage, PhysicsPage, StaticPage};

#[derive(Debug, Clone, Copy)]
enum Kind {
    I32,
    F32,
    /// `float[n]`.
    Floats(usize),
    /// `float[4][3]`.
    Vec3x4,
    /// An `int` that is 0 or 1; decoded as a JSON bool.
    Bool,
    /// An enum `int`: the code written, and the name it must decode to.
    Enum(i32, &'static str),
    /// `wchar_t[n]`.
    Text(usize),
    /// Padding bytes, not a field.
    Pad(usize),
}

impl Kind {
    fn size(self) -> usize {
        match self {
            I32 | F32 | Bool | Enum(..) => 4,
            Floats(n) => 4 * n,
            Vec3x4 => 48,
            Text(n) => 2 * n,
            Pad(n) => n,
        }
    }
}

use Kind::*;

type Table = &'static [(&'static str, usize, Kind)];

/// The physics page and its tail (docs/shm.md).
const PHYSICS: Table = &[
    ("packet_id", 0, I32),
    ("gas", 4, F32),
    ("brake", 8, F32),
    ("fuel", 12, F32),
    ("gear", 16, I32),
    ("rpms", 20, I32),
    ("steer_angle", 24, F32),
    ("speed_kmh", 28, F32),
    ("velocity", 32, Floats(3)),
    ("acc_g", 44, Floats(3)),
    ("wheel_slip", 56, Floats(4)),
    ("wheel_load", 72, Floats(4)),
    ("wheels_pressure", 88, Floats(4)),
    ("wheel_angular_speed", 104, Floats(4)),
    ("tyre_wear", 120, Floats(4)),
    ("tyre_dirty_level", 136, Floats(4)),
    ("tyre_core_temperature", 152, Floats(4)),
    ("camber_rad", 168, Floats(4)),
    ("suspension_travel", 184, Floats(4)),
    ("drs", 200, F32),
    ("tc", 204, F32),
    ("heading", 208, F32),
    ("pitch", 212, F32),
    ("roll", 216, F32),
    ("cg_height", 220, F32),
    ("car_damage", 224, Floats(5)),
    ("number_of_tyres_out", 244, I32),
    ("pit_limiter_on", 248, Bool),
    ("abs", 252, F32),
    ("kers_charge", 256, F32),
    ("kers_input", 260, F32),
    ("auto_shifter_on", 264, Bool),
    ("ride_height", 268, Floats(2)),
    ("turbo_boost", 276, F32),
    ("ballast", 280, F32),
    ("air_density", 284, F32),
    ("air_temp", 288, F32),
    ("road_temp", 292, F32),
    ("local_angular_vel", 296, Floats(3)),
    ("final_ff", 308, F32),
    ("performance_meter", 312, F32),
    ("engine_brake", 316, I32),
    ("ers_recovery_level", 320, I32),
    ("ers_power_level", 324, I32),
    ("ers_heat_charging", 328, I32),
    ("ers_is_charging", 332, Bool),
    ("kers_current_kj", 336, F32),
    ("drs_available", 340, Bool),
    ("drs_enabled", 344, Bool),
    ("brake_temp", 348, Floats(4)),
    ("clutch", 364, F32),
    ("tyre_temp_i", 368, Floats(4)),
    ("tyre_temp_m", 384, Floats(4)),
    ("tyre_temp_o", 400, Floats(4)),
    ("is_ai_controlled", 416, Bool),
    ("tyre_contact_point", 420, Vec3x4),
    ("tyre_contact_normal", 468, Vec3x4),
    ("tyre_contact_heading", 516, Vec3x4),
    ("brake_bias", 564, F32),
    ("local_velocity", 568, Floats(3)),
    // 1b: the optional tail.
    ("p2p_activations", 580, I32),
    ("p2p_status", 584, Enum(2, "available")),
    ("current_max_rpm", 588, I32),
    ("mz", 592, Floats(4)),
    ("fx", 608, Floats(4)),
    ("fy", 624, Floats(4)),
    ("slip_ratio", 640, Floats(4)),
    ("slip_angle", 656, Floats(4)),
    ("tcin_action", 672, Bool),
    ("abs_in_action", 676, Bool),
    ("suspension_damage", 680, Floats(4)),
    ("tyre_temp", 696, Floats(4)),
];

/// The graphics page (docs/shm.md).
const GRAPHICS: Table = &[
    ("packet_id", 0, I32),
    ("status", 4, Enum(3, "pause")),
    ("session", 8, Enum(4, "time_attack")),
    ("current_time", 12, Text(15)),
    ("last_time", 42, Text(15)),
    ("best_time", 72, Text(15)),
    ("split", 102, Text(15)),
    ("completed_laps", 132, I32),
    ("position", 136, I32),
    ("i_current_time", 140, I32),
    ("i_last_time", 144, I32),
    ("i_best_time", 148, I32),
    ("session_time_left", 152, F32),
    ("distance_traveled", 156, F32),
    ("is_in_pit", 160, Bool),
    ("current_sector_index", 164, I32),
    ("last_sector_time", 168, I32),
    ("number_of_laps", 172, I32),
    ("tyre_compound", 176, Text(33)),
    ("", 242, Pad(2)),
    ("replay_time_multiplier", 244, F32),
    ("normalized_car_position", 248, F32),
    ("car_coordinates", 252, Floats(3)),
    ("penalty_time", 264, F32),
    ("flag", 268, Enum(6, "penalty")),
    ("ideal_line_on", 272, Bool),
    ("is_in_pit_lane", 276, Bool),
    ("surface_grip", 280, F32),
    ("mandatory_pit_done", 284, Bool),
    ("wind_speed", 288, F32),
    ("wind_direction", 292, F32),
];

/// The static page (docs/shm.md).
const STATIC: Table = &[
    ("sm_version", 0, Text(15)),
    ("ac_version", 30, Text(15)),
    ("number_of_sessions", 60, I32),
    ("num_cars", 64, I32),
    ("car_model", 68, Text(33)),
    ("track", 134, Text(33)),
    ("player_name", 200, Text(33)),
    ("player_surname", 266, Text(33)),
    ("player_nick", 332, Text(33)),
    ("", 398, Pad(2)),
    ("sector_count", 400, I32),
    ("max_torque", 404, F32),
    ("max_power", 408, F32),
    ("max_rpm", 412, I32),
    ("max_fuel", 416, F32),
    ("suspension_max_travel", 420, Floats(4)),
    ("tyre_radius", 436, Floats(4)),
    ("max_turbo_boost", 452, F32),
    ("deprecated_1", 456, F32),
    ("deprecated_2", 460, F32),
    ("penalties_enabled", 464, Bool),
    ("aid_fuel_rate", 468, F32),
    ("aid_tire_rate", 472, F32),
    ("aid_mechanical_damage", 476, F32),
    ("aid_allow_tyre_blankets", 480, Bool),
    ("aid_stability", 484, F32),
    ("aid_auto_clutch", 488, Bool),
    ("aid_auto_blip", 492, Bool),
    ("has_drs", 496, Bool),
    ("has_ers", 500, Bool),
    ("has_kers", 504, Bool),
    ("kers_max_j", 508, F32),
    ("engine_brake_settings_count", 512, I32),
    ("ers_power_controller_count", 516, I32),
    ("track_spline_length", 520, F32),
    ("track_configuration", 524, Text(33)),
    ("", 590, Pad(2)),
    ("ers_max_j", 592, F32),
    ("is_timed_race", 596, Bool),
    ("has_extra_lap", 600, Bool),
    ("car_skin", 604, Text(33)),
    ("", 670, Pad(2)),
    ("reversed_grid_positions", 672, I32),
    ("pit_window_start", 676, I32),
    ("pit_window_end", 680, I32),
];

/// A distinct float for element `j` of the field at `offset` (exact in f32).
fn float_at(offset: usize, j: usize) -> f32 {
    offset as f32 + 0.5 + j as f32 / 16.0
}

fn int_at(offset: usize) -> i32 {
    -(offset as i32) * 1000 - 7
}

/// A distinct text per field, with non-ASCII characters, fitting `units - 1` units.
fn text_at(offset: usize, units: usize) -> String {
    let full = format!("ü{offset}鈴鹿-Nürburgring-Спа-Francorchamps");
    let mut out = String::new();
    for ch in full.chars() {
        if out.encode_utf16().count() + ch.len_utf16() > units - 1 {
            break;
        }
        out.push(ch);
    }
    out
}

/// The byte buffer the table describes, with every field (bools: only those in `bools_on`).
fn build(table: Table, size: usize, bools_on: &dyn Fn(&str) -> bool) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    for &(name, offset, kind) in table {
        let mut put = |at: usize, b: &[u8]| bytes[at..at + b.len()].copy_from_slice(b);
        match kind {
            I32 => put(offset, &int_at(offset).to_le_bytes()),
            F32 => put(offset, &float_at(offset, 0).to_le_bytes()),
            Floats(n) => (0..n).for_each(|j| put(offset + 4 * j, &float_at(offset, j).to_le_bytes())),
            Vec3x4 => (0..12).for_each(|j| put(offset + 4 * j, &float_at(offset, j).to_le_bytes())),
            Bool => put(offset, &i32::from(bools_on(name)).to_le_bytes()),
            Enum(code, _) => put(offset, &code.to_le_bytes()),
            Text(n) => {
                for (j, unit) in text_at(offset, n).encode_utf16().enumerate() {
                    put(offset + 2 * j, &unit.to_le_bytes());
                }
            }
            // Padding gets junk: it must not leak into any field.
            Pad(n) => (0..n).for_each(|j| put(offset + j, &[0xa5])),
        }
    }
    bytes
}

/// Checks the decoded JSON against the table.
fn check(table: Table, json: &Value, bools_on: &dyn Fn(&str) -> bool) {
    let object = json.as_object().expect("an object");
    for &(name, offset, kind) in table {
        if matches!(kind, Pad(_)) {
            continue;
        }
        let got = &object[name];
        let floats = |n: usize| -> Vec<f64> { (0..n).map(|j| f64::from(float_at(offset, j))).collect() };
        let as_floats = |v: &Value| -> Vec<f64> {
            v.as_array()
                .unwrap_or_else(|| panic!("{name}: not an array: {v}"))
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        match kind {
            I32 => assert_eq!(got.as_i64(), Some(i64::from(int_at(offset))), "{name} at {offset}"),
            F32 => assert_eq!(got.as_f64(), Some(f64::from(float_at(offset, 0))), "{name} at {offset}"),
            Floats(n) => assert_eq!(as_floats(got), floats(n), "{name} at {offset}"),
            Vec3x4 => {
                let rows: Vec<f64> = got.as_array().unwrap().iter().flat_map(as_floats).collect();
                assert_eq!(rows, floats(12), "{name} at {offset}");
            }
            Bool => assert_eq!(got.as_bool(), Some(bools_on(name)), "{name} at {offset}"),
            Enum(_, expected) => assert_eq!(got.as_str(), Some(expected), "{name} at {offset}"),
            Text(n) => assert_eq!(got.as_str(), Some(text_at(offset, n).as_str()), "{name} at {offset}"),
            Pad(_) => {}
        }
    }
    // Every decoded field is in the table: nothing escapes this check.
    let named: Vec<&str> = table.iter().map(|e| e.0).filter(|n| !n.is_empty()).collect();
    for key in object.keys() {
        assert!(named.contains(&key.as_str()), "decoded field {key} is not in the spec table");
    }
    assert_eq!(object.len(), named.len());
}

/// The table itself is consistent: fields follow each other with no gaps or overlaps, and end
/// at the page size.
fn check_table(table: Table, size: usize) {
    let mut at = 0;
    for &(name, offset, kind) in table {
        assert_eq!(offset, at, "{name}: offset {offset}, but the previous field ends at {at}");
        at += kind.size();
    }
    assert_eq!(at, size);
}

fn bools(table: Table) -> Vec<&'static str> {
    table.iter().filter(|e| matches!(e.2, Bool)).map(|e| e.0).collect()
}

#[test]
fn physics_matches_the_spec_table() {
    check_table(PHYSICS, 712);
    assert_eq!(PHYSICS.iter().position(|e| e.0 == "p2p_activations").map(|i| PHYSICS[i].1), Some(580));
    let bytes = build(PHYSICS, 712, &|_| true);
    let page = PhysicsPage::from_prefix(&bytes).unwrap();
    assert_eq!(page.as_bytes(), &bytes[..], "bytes round-trip through the struct");
    assert!(page.has_tail());
    check(PHYSICS, &serde_json::to_value(page.decode()).unwrap(), &|_| true);
    // Spot checks through the raw fields and accessors, in our names and units.
    assert_eq!(page.speed_kmh, float_at(28, 0));
    assert_eq!(page.wheel_slip, [0, 1, 2, 3].map(|j| float_at(56, j)));
    assert_eq!(page.packet_id, int_at(0));
    assert_eq!(page.local_velocity[2], float_at(568, 2));
    assert_eq!(page.tyre_contact_heading[3][2], float_at(516, 11));
    assert_eq!(page.p2p_status(), shm::P2pStatus::Available);
}

#[test]
fn graphics_matches_the_spec_table() {
    check_table(GRAPHICS, 296);
    let bytes = build(GRAPHICS, 296, &|_| true);
    let page = GraphicsPage::from_prefix(&bytes).unwrap();
    assert_eq!(page.as_bytes(), &bytes[..]);
    check(GRAPHICS, &serde_json::to_value(page.decode()).unwrap(), &|_| true);
    assert_eq!(page.normalized_car_position, float_at(248, 0));
    assert_eq!(page.status(), shm::Status::Pause);
    assert_eq!(page.session(), shm::SessionType::TimeAttack);
    assert_eq!(page.flag(), shm::FlagType::Penalty);
    assert_eq!(page.tyre_compound(), text_at(176, 33));
}

#[test]
fn static_matches_the_spec_table() {
    check_table(STATIC, 684);
    let bytes = build(STATIC, 684, &|_| true);
    let page = StaticPage::from_prefix(&bytes).unwrap();
    assert_eq!(page.as_bytes(), &bytes[..]);
    check(STATIC, &serde_json::to_value(page.decode()).unwrap(), &|_| true);
    // trackConfiguration is 33 units: the fields after it sit where docs/shm.md says.
    assert_eq!(page.track_configuration(), text_at(524, 33));
    assert_eq!(page.ers_max_j, float_at(592, 0));
    assert_eq!(page.pit_window_end, int_at(680));
}

/// Each 0/1 field alone: only its own bool turns true, so no accessor reads a neighbour.
#[test]
fn each_flag_reads_its_own_offset() {
    type Decode = fn(&[u8]) -> Value;
    let cases: [(Table, usize, Decode); 3] = [
        (PHYSICS, 712, |b| serde_json::to_value(PhysicsPage::from_prefix(b).unwrap().decode()).unwrap()),
        (GRAPHICS, 296, |b| serde_json::to_value(GraphicsPage::from_prefix(b).unwrap().decode()).unwrap()),
        (STATIC, 684, |b| serde_json::to_value(StaticPage::from_prefix(b).unwrap().decode()).unwrap()),
    ];
    for (table, size, decode) in cases {
        for on in bools(table) {
            let only = |name: &str| name == on;
            let json = decode(&build(table, size, &only));
            check(table, &json, &only);
        }
    }
}

#[test]
fn the_documented_physics_part_is_580_bytes() {
    let documented: usize = PHYSICS.iter().take_while(|e| e.1 < 580).map(|e| e.2.size()).sum();
    assert_eq!(documented, shm::PHYSICS_DOCUMENTED_SIZE);
    // A 580-byte page (no tail) decodes with the tail as nulls.
    let mut bytes = build(PHYSICS, 712, &|_| true);
    bytes[580..].fill(0);
    let page = PhysicsPage::from_prefix(&bytes).unwrap();
    assert!(!page.has_tail());
    let json = serde_json::to_value(page.decode()).unwrap();
    for &(name, offset, _) in PHYSICS {
        assert_eq!(json[name].is_null(), offset >= 580, "{name}");
    }
}
