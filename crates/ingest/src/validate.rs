//! Frame validation: what the server refuses to store.
//!
//! A rejected frame ends the bridge's stream, and because `seq` has no gaps the bridge cannot
//! skip it: the session is stuck until someone fixes the bridge. So the rules catch values that
//! cannot be telemetry (NaN, infinities, a throttle of 3, a five-byte session id, thirty contact
//! points) and leave physical plausibility alone: a modded car with 14 gears or an odd AC value
//! must still get through. Enum fields accept unknown values for the same reason (a newer bridge
//! may know more variants).
//!
//! Every field is named in the destructuring patterns below without `..`, so adding a field to
//! the proto breaks the build here until someone decides how to check it.

use std::fmt;

use proto::telemetry::v1::{SessionMetadata, TelemetryFrame, Vec3, Wheels};

use crate::session::SessionId;

/// Slack on the 0..1 and -1..1 ranges: pedals and wheels calibrated a hair past their end stops
/// report 1.0000001 or 1.003, which is not worth rejecting a session over.
pub const UNIT_TOLERANCE: f32 = 0.01;

/// Highest gear accepted. Road and race cars stop at 8; truck mods go further.
pub const MAX_GEAR: i32 = 16;

/// Why a frame was rejected: the field (with the wheel or axis for nested values), its value and
/// the rule it broke.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// Field path, e.g. `throttle`, `tyre_pressure_psi.fl`, `session.max_fuel`.
    pub field: String,
    /// The value as text.
    pub value: String,
    /// The rule, e.g. `must be finite` or `must be within 0..1`.
    pub rule: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}` = {} {}", self.field, self.value, self.rule)
    }
}

fn invalid(field: impl Into<String>, value: impl fmt::Display, rule: impl Into<String>) -> Invalid {
    Invalid { field: field.into(), value: value.to_string(), rule: rule.into() }
}

fn finite(v: f32, field: &str) -> Result<(), Invalid> {
    if v.is_finite() { Ok(()) } else { Err(invalid(field, v, "must be finite")) }
}

fn within(v: f32, lo: f32, hi: f32, field: &str) -> Result<(), Invalid> {
    finite(v, field)?;
    if v >= lo - UNIT_TOLERANCE && v <= hi + UNIT_TOLERANCE {
        Ok(())
    } else {
        Err(invalid(field, v, format!("must be within {lo}..{hi}")))
    }
}

fn wheels(w: &Option<Wheels>, field: &str) -> Result<(), Invalid> {
    // proto3 gives a Wheels message all four values or none (the message is absent), so only the
    // values themselves need checking.
    if let Some(Wheels { fl, fr, rl, rr }) = w {
        for (v, wheel) in [(fl, "fl"), (fr, "fr"), (rl, "rl"), (rr, "rr")] {
            if !v.is_finite() {
                return Err(invalid(format!("{field}.{wheel}"), v, "must be finite"));
            }
        }
    }
    Ok(())
}

fn vec3(v: &Vec3, field: &str) -> Result<(), Invalid> {
    let Vec3 { x, y, z } = v;
    for (c, axis) in [(x, "x"), (y, "y"), (z, "z")] {
        if !c.is_finite() {
            return Err(invalid(format!("{field}.{axis}"), c, "must be finite"));
        }
    }
    Ok(())
}

fn opt_vec3(v: &Option<Vec3>, field: &str) -> Result<(), Invalid> {
    v.as_ref().map_or(Ok(()), |v| vec3(v, field))
}

/// Checks one frame. `Ok` means it may be stored.
pub fn validate(frame: &TelemetryFrame) -> Result<(), Invalid> {
    let TelemetryFrame {
        session_id,
        seq: _,
        wall_time_ns: _,
        mono_time_ns: _,
        physics_packet_id: _,
        graphics_packet_id: _,
        missed_steps: _,
        session,
        throttle,
        brake,
        clutch,
        steering,
        gear,
        rpm,
        speed_kmh,
        velocity,
        local_velocity,
        acc_g,
        local_angular_velocity,
        heading_rad,
        pitch_rad,
        roll_rad,
        cg_height_m,
        ride_height_front_m,
        ride_height_rear_m,
        position_m,
        wheel_slip,
        wheel_load_n,
        tyre_pressure_psi,
        wheel_angular_speed_rad_s,
        tyre_wear,
        tyre_dirt,
        tyre_core_temp_c,
        tyre_temp_inner_c,
        tyre_temp_middle_c,
        tyre_temp_outer_c,
        camber_rad,
        suspension_travel_m,
        brake_temp_c,
        slip_ratio,
        slip_angle_rad,
        tyre_force_long_n,
        tyre_force_lat_n,
        self_aligning_torque_nm,
        suspension_damage,
        tyre_temp_c,
        tyre_contact_point_m,
        fuel_l,
        turbo_boost,
        ballast_kg,
        tc,
        abs,
        tc_in_action: _,
        abs_in_action: _,
        pit_limiter: _,
        auto_shifter: _,
        drs,
        drs_available: _,
        drs_enabled: _,
        brake_bias,
        engine_brake: _,
        kers_charge,
        kers_input,
        kers_current_kj,
        ers_recovery_level: _,
        ers_power_level: _,
        ers_heat_charging: _,
        ers_is_charging: _,
        p2p_activations: _,
        p2p_status: _,
        current_max_rpm: _,
        final_ff,
        performance_meter,
        car_damage,
        tyres_out,
        is_ai_controlled: _,
        status: _,
        session_type: _,
        completed_laps: _,
        position: _,
        current_lap_ms: _,
        last_lap_ms: _,
        best_lap_ms: _,
        session_time_left_ms,
        distance_traveled_m,
        current_sector: _,
        last_sector_ms: _,
        number_of_laps: _,
        normalized_position,
        in_pit: _,
        in_pit_lane: _,
        flag: _,
        penalty_time_s,
        surface_grip,
        tyre_compound: _,
        mandatory_pit_done: _,
        ideal_line_on: _,
        air_temp_c,
        road_temp_c,
        air_density,
        wind_speed,
        wind_direction_deg,
        replay_time_multiplier,
    } = frame;

    if session_id.len() != SessionId::LEN {
        return Err(invalid("session_id", format!("{} bytes", session_id.len()), "must be 16 bytes"));
    }

    // Inputs, with ranges.
    within(*throttle, 0.0, 1.0, "throttle")?;
    within(*brake, 0.0, 1.0, "brake")?;
    within(*clutch, 0.0, 1.0, "clutch")?;
    within(*steering, -1.0, 1.0, "steering")?;
    if !(-1..=MAX_GEAR).contains(gear) {
        return Err(invalid("gear", gear, format!("must be within -1..{MAX_GEAR}")));
    }
    if *rpm < 0 {
        return Err(invalid("rpm", rpm, "must be >= 0"));
    }
    finite(*speed_kmh, "speed_kmh")?;
    if *speed_kmh < 0.0 {
        return Err(invalid("speed_kmh", speed_kmh, "must be >= 0"));
    }
    within(*normalized_position, 0.0, 1.0, "normalized_position")?;
    if !(0..=4).contains(tyres_out) {
        return Err(invalid("tyres_out", tyres_out, "must be within 0..4"));
    }

    // Repeated fields with a fixed shape.
    if car_damage.len() > 5 {
        return Err(invalid("car_damage", format!("{} values", car_damage.len()), "must have at most 5"));
    }
    // The field names with an index are formatted only on failure: this runs for every frame.
    if let Some((i, v)) = car_damage.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(invalid(format!("car_damage[{i}]"), v, "must be finite"));
    }
    if !matches!(tyre_contact_point_m.len(), 0 | 4) {
        return Err(invalid(
            "tyre_contact_point_m",
            format!("{} entries", tyre_contact_point_m.len()),
            "must have 0 or 4 (FL, FR, RL, RR)",
        ));
    }
    for (i, p) in tyre_contact_point_m.iter().enumerate() {
        if ![p.x, p.y, p.z].iter().all(|c| c.is_finite()) {
            vec3(p, &format!("tyre_contact_point_m[{i}]"))?;
        }
    }

    // Everything else only has to be a number.
    for (v, name) in [
        (heading_rad, "heading_rad"),
        (pitch_rad, "pitch_rad"),
        (roll_rad, "roll_rad"),
        (cg_height_m, "cg_height_m"),
        (ride_height_front_m, "ride_height_front_m"),
        (ride_height_rear_m, "ride_height_rear_m"),
        (fuel_l, "fuel_l"),
        (turbo_boost, "turbo_boost"),
        (ballast_kg, "ballast_kg"),
        (tc, "tc"),
        (abs, "abs"),
        (drs, "drs"),
        (brake_bias, "brake_bias"),
        (kers_charge, "kers_charge"),
        (kers_input, "kers_input"),
        (kers_current_kj, "kers_current_kj"),
        (final_ff, "final_ff"),
        (performance_meter, "performance_meter"),
        (session_time_left_ms, "session_time_left_ms"),
        (distance_traveled_m, "distance_traveled_m"),
        (penalty_time_s, "penalty_time_s"),
        (surface_grip, "surface_grip"),
        (air_temp_c, "air_temp_c"),
        (road_temp_c, "road_temp_c"),
        (air_density, "air_density"),
        (wind_speed, "wind_speed"),
        (wind_direction_deg, "wind_direction_deg"),
        (replay_time_multiplier, "replay_time_multiplier"),
    ] {
        finite(*v, name)?;
    }
    for (v, name) in [
        (velocity, "velocity"),
        (local_velocity, "local_velocity"),
        (acc_g, "acc_g"),
        (local_angular_velocity, "local_angular_velocity"),
        (position_m, "position_m"),
    ] {
        opt_vec3(v, name)?;
    }
    for (w, name) in [
        (wheel_slip, "wheel_slip"),
        (wheel_load_n, "wheel_load_n"),
        (tyre_pressure_psi, "tyre_pressure_psi"),
        (wheel_angular_speed_rad_s, "wheel_angular_speed_rad_s"),
        (tyre_wear, "tyre_wear"),
        (tyre_dirt, "tyre_dirt"),
        (tyre_core_temp_c, "tyre_core_temp_c"),
        (tyre_temp_inner_c, "tyre_temp_inner_c"),
        (tyre_temp_middle_c, "tyre_temp_middle_c"),
        (tyre_temp_outer_c, "tyre_temp_outer_c"),
        (camber_rad, "camber_rad"),
        (suspension_travel_m, "suspension_travel_m"),
        (brake_temp_c, "brake_temp_c"),
        (slip_ratio, "slip_ratio"),
        (slip_angle_rad, "slip_angle_rad"),
        (tyre_force_long_n, "tyre_force_long_n"),
        (tyre_force_lat_n, "tyre_force_lat_n"),
        (self_aligning_torque_nm, "self_aligning_torque_nm"),
        (suspension_damage, "suspension_damage"),
        (tyre_temp_c, "tyre_temp_c"),
    ] {
        wheels(w, name)?;
    }
    if let Some(meta) = session {
        metadata(meta)?;
    }
    Ok(())
}

fn metadata(meta: &SessionMetadata) -> Result<(), Invalid> {
    let SessionMetadata {
        car_model: _,
        car_skin: _,
        track: _,
        track_configuration: _,
        player_name: _,
        player_surname: _,
        player_nick: _,
        session_type: _,
        sector_count: _,
        max_rpm: _,
        max_fuel,
        max_torque_nm,
        max_power_w,
        suspension_max_travel_m,
        tyre_radius_m,
        max_turbo_boost,
        track_spline_length_m,
        sm_version: _,
        ac_version: _,
        number_of_sessions: _,
        num_cars: _,
        penalties_enabled: _,
        aid_fuel_rate,
        aid_tire_rate,
        aid_mechanical_damage,
        aid_allow_tyre_blankets: _,
        aid_stability,
        aid_auto_clutch: _,
        aid_auto_blip: _,
        has_drs: _,
        has_ers: _,
        has_kers: _,
        kers_max_j,
        ers_max_j,
        engine_brake_settings_count: _,
        ers_power_controller_count: _,
        is_timed_race: _,
        has_extra_lap: _,
        reversed_grid_positions: _,
        pit_window_start: _,
        pit_window_end: _,
        source: _,
        started_unix_ns: _,
    } = meta;
    for (v, name) in [
        (max_fuel, "session.max_fuel"),
        (max_torque_nm, "session.max_torque_nm"),
        (max_power_w, "session.max_power_w"),
        (max_turbo_boost, "session.max_turbo_boost"),
        (track_spline_length_m, "session.track_spline_length_m"),
        (aid_fuel_rate, "session.aid_fuel_rate"),
        (aid_tire_rate, "session.aid_tire_rate"),
        (aid_mechanical_damage, "session.aid_mechanical_damage"),
        (aid_stability, "session.aid_stability"),
        (kers_max_j, "session.kers_max_j"),
        (ers_max_j, "session.ers_max_j"),
    ] {
        finite(*v, name)?;
    }
    wheels(suspension_max_travel_m, "session.suspension_max_travel_m")?;
    wheels(tyre_radius_m, "session.tyre_radius_m")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> TelemetryFrame {
        TelemetryFrame {
            session_id: vec![1; 16].into(),
            throttle: 1.0,
            steering: -0.3,
            gear: 3,
            rpm: 7000,
            speed_kmh: 180.0,
            normalized_position: 0.5,
            tyre_pressure_psi: Some(Wheels { fl: 27.0, fr: 27.0, rl: 26.0, rr: 26.0 }),
            tyre_contact_point_m: vec![Vec3::default(); 4],
            car_damage: vec![0.0; 5],
            ..Default::default()
        }
    }

    fn field_of(f: TelemetryFrame) -> String {
        validate(&f).unwrap_err().field
    }

    #[test]
    fn accepts_a_normal_frame_and_the_tolerance() {
        assert_eq!(validate(&good()), Ok(()));
        assert_eq!(validate(&TelemetryFrame { throttle: 1.005, brake: -0.005, ..good() }), Ok(()));
        assert_eq!(validate(&TelemetryFrame { gear: -1, ..good() }), Ok(()));
        assert_eq!(
            validate(&TelemetryFrame { tyre_contact_point_m: vec![], car_damage: vec![], ..good() }),
            Ok(())
        );
    }

    #[test]
    fn names_the_offending_field() {
        assert_eq!(field_of(TelemetryFrame { session_id: vec![1; 5].into(), ..good() }), "session_id");
        assert_eq!(field_of(TelemetryFrame { throttle: 3.0, ..good() }), "throttle");
        assert_eq!(field_of(TelemetryFrame { speed_kmh: f32::NAN, ..good() }), "speed_kmh");
        assert_eq!(field_of(TelemetryFrame { steering: -1.5, ..good() }), "steering");
        assert_eq!(field_of(TelemetryFrame { gear: 40, ..good() }), "gear");
        assert_eq!(field_of(TelemetryFrame { rpm: -1, ..good() }), "rpm");
        assert_eq!(field_of(TelemetryFrame { normalized_position: 1.2, ..good() }), "normalized_position");
        assert_eq!(field_of(TelemetryFrame { car_damage: vec![0.0; 6], ..good() }), "car_damage");
        assert_eq!(
            field_of(TelemetryFrame { tyre_contact_point_m: vec![Vec3::default(); 3], ..good() }),
            "tyre_contact_point_m"
        );
        assert_eq!(
            field_of(TelemetryFrame {
                tyre_pressure_psi: Some(Wheels { rl: f32::INFINITY, ..Wheels::default() }),
                ..good()
            }),
            "tyre_pressure_psi.rl"
        );
        assert_eq!(
            field_of(TelemetryFrame {
                session: Some(SessionMetadata { max_fuel: f32::NAN, ..Default::default() }),
                ..good()
            }),
            "session.max_fuel"
        );
        let e = validate(&TelemetryFrame { throttle: 3.0, ..good() }).unwrap_err();
        assert_eq!(e.to_string(), "field `throttle` = 3 must be within 0..1");
    }
}
