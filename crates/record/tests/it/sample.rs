//! Realistic frames: every field set, values moving like a car lapping a track, deterministic
//! (the same `seq` gives the same frame). Shared by the integration tests, the `write_sample`
//! example and the bench (they include this file with `#[path]`), so that all three measure and
//! check the same ~650-byte frames.

use prost::bytes::Bytes;
use proto::telemetry::v1::{Flag, GameStatus, SessionMetadata, SessionType, TelemetryFrame, Vec3, Wheels};

/// A 16-byte session id shaped like a UUIDv7 (version and variant bits set), distinct per `n`.
pub fn session_id(n: u8) -> Bytes {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&[0x01, 0x93, 0x5c, 0x2a, 0x10, n]);
    id[6] = 0x70 | (n & 0x0f);
    id[7] = 0x42;
    id[8] = 0x80 | (n >> 2);
    for (i, b) in id[9..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(n);
    }
    Bytes::copy_from_slice(&id)
}

/// What the static page says about session `n`.
pub fn metadata(n: u8) -> SessionMetadata {
    SessionMetadata {
        car_model: if n % 2 == 0 { "ks_mazda_mx5_cup" } else { "ks_porsche_911_gt3_r_2016" }.into(),
        car_skin: format!("{:02}_pitwall", n),
        track: "ks_nurburgring".into(),
        track_configuration: "layout_gp_a".into(),
        player_name: "Ayrton".into(),
        player_surname: "Pitwall".into(),
        player_nick: "APW".into(),
        session_type: if n % 2 == 0 { SessionType::Practice } else { SessionType::Race } as i32,
        sector_count: 3,
        max_rpm: 7500,
        max_fuel: 45.0,
        max_torque_nm: 210.5,
        max_power_w: 118_000.0,
        suspension_max_travel_m: Some(Wheels { fl: 0.11, fr: 0.11, rl: 0.13, rr: 0.13 }),
        tyre_radius_m: Some(Wheels { fl: 0.295, fr: 0.295, rl: 0.301, rr: 0.301 }),
        max_turbo_boost: 0.0,
        track_spline_length_m: 5137.2,
        sm_version: "1.7".into(),
        ac_version: "1.16".into(),
        number_of_sessions: 2,
        num_cars: 24,
        penalties_enabled: true,
        aid_fuel_rate: 1.0,
        aid_tire_rate: 1.0,
        aid_mechanical_damage: 0.5,
        aid_allow_tyre_blankets: true,
        aid_stability: 0.0,
        aid_auto_clutch: false,
        aid_auto_blip: true,
        has_drs: n % 2 == 1,
        has_ers: false,
        has_kers: false,
        kers_max_j: 0.0,
        ers_max_j: 0.0,
        engine_brake_settings_count: 0,
        ers_power_controller_count: 0,
        is_timed_race: n % 2 == 0,
        has_extra_lap: false,
        reversed_grid_positions: 0,
        pit_window_start: 5,
        pit_window_end: 12,
        source: "pitwall-record sample".into(),
        started_unix_ns: 1_732_000_000_000_000_000 + i64::from(n) * 3_600_000_000_000,
    }
}

fn wheels(base: f32, spread: f32, t: f32) -> Option<Wheels> {
    Some(Wheels {
        fl: base + spread * t.sin(),
        fr: base + spread * (t + 0.4).sin(),
        rl: base - spread * (t + 0.8).cos(),
        rr: base - spread * (t + 1.2).cos(),
    })
}

fn vec3(x: f32, y: f32, z: f32) -> Option<Vec3> {
    Some(Vec3 { x, y, z })
}

/// Frame `seq` of session `n` (metadata on seq 0, as the bridge sends it).
pub fn frame(n: u8, seq: u64) -> TelemetryFrame {
    // 333 Hz physics; the car does a 100-second lap.
    let t = seq as f32 / 333.0 + f32::from(n) * 17.0;
    let lap_pos = (t / 100.0).fract();
    let speed = 140.0 + 90.0 * (t * 0.31).sin() + 12.0 * (t * 1.7).cos();
    let gear = 2 + ((speed - 50.0) / 45.0).clamp(0.0, 4.0) as i32;
    let start_ns: i64 = 1_732_000_000_000_000_000 + i64::from(n) * 3_600_000_000_000;
    TelemetryFrame {
        session_id: session_id(n),
        seq,
        wall_time_ns: start_ns + (seq as i64) * 3_003_003,
        mono_time_ns: 5_000_000_000 + (seq as i64) * 3_003_003,
        physics_packet_id: 1000 + seq as i32,
        graphics_packet_id: 400 + (seq / 5) as i32,
        missed_steps: u32::from(seq % 997 == 996),
        session: (seq == 0).then(|| metadata(n)),
        throttle: (0.5 + 0.5 * (t * 0.9).sin()).clamp(0.0, 1.0),
        brake: (0.5 * (t * 0.9).cos()).clamp(0.0, 1.0),
        clutch: if seq % 600 < 20 { 1.0 } else { 0.0 },
        steering: 0.6 * (t * 0.45).sin(),
        gear,
        rpm: 3000 + ((speed * 31.0) as i32 % 4400),
        speed_kmh: speed,
        velocity: vec3(speed / 3.6 * t.cos(), 0.01 * t.sin(), speed / 3.6 * t.sin()),
        local_velocity: vec3(0.3 * t.sin(), 0.01, speed / 3.6),
        acc_g: vec3(1.2 * (t * 0.45).sin(), 0.02 * (t * 9.0).sin(), 0.8 * (t * 0.31).cos()),
        local_angular_velocity: vec3(0.01 * t.sin(), 0.4 * (t * 0.45).cos(), 0.02 * t.cos()),
        heading_rad: (t * 0.2) % std::f32::consts::TAU - std::f32::consts::PI,
        pitch_rad: 0.01 * (t * 0.31).cos(),
        roll_rad: 0.02 * (t * 0.45).sin(),
        cg_height_m: 0.42 + 0.005 * (t * 3.0).sin(),
        ride_height_front_m: 0.055 + 0.004 * (t * 2.0).sin(),
        ride_height_rear_m: 0.071 + 0.004 * (t * 2.1).cos(),
        position_m: vec3(
            800.0 * (lap_pos * std::f32::consts::TAU).cos(),
            12.0 + 3.0 * t.sin(),
            600.0 * (lap_pos * std::f32::consts::TAU).sin(),
        ),
        wheel_slip: wheels(0.05, 0.04, t * 3.0),
        wheel_load_n: wheels(3200.0, 800.0, t * 0.45),
        tyre_pressure_psi: wheels(27.4, 0.6, t * 0.01),
        wheel_angular_speed_rad_s: wheels(speed / 3.6 / 0.3, 2.0, t),
        tyre_wear: wheels(99.5 - t * 0.001, 0.05, t * 0.02),
        // Zeros, as AC reports them on a clean track and an undamaged car.
        tyre_dirt: Some(Wheels::default()),
        tyre_core_temp_c: wheels(82.0, 4.0, t * 0.05),
        tyre_temp_inner_c: wheels(88.0, 6.0, t * 0.2),
        tyre_temp_middle_c: wheels(85.0, 5.0, t * 0.21),
        tyre_temp_outer_c: wheels(80.0, 6.0, t * 0.22),
        camber_rad: wheels(-0.05, 0.01, t * 0.45),
        suspension_travel_m: wheels(0.05, 0.02, t * 2.0),
        brake_temp_c: wheels(350.0, 120.0, t * 0.3),
        slip_ratio: wheels(0.02, 0.03, t * 1.3),
        slip_angle_rad: wheels(0.01, 0.05, t * 0.45),
        tyre_force_long_n: wheels(500.0, 1500.0, t * 0.31),
        tyre_force_lat_n: wheels(0.0, 3500.0, t * 0.45),
        self_aligning_torque_nm: wheels(0.0, 60.0, t * 0.45),
        suspension_damage: Some(Wheels::default()),
        tyre_temp_c: wheels(84.0, 5.0, t * 0.2),
        tyre_contact_point_m: (0..4)
            .map(|w| Vec3 {
                x: 800.0 * (lap_pos * std::f32::consts::TAU).cos() + if w % 2 == 0 { -0.8 } else { 0.8 },
                y: 11.7 + 3.0 * t.sin(),
                z: 600.0 * (lap_pos * std::f32::consts::TAU).sin() + if w < 2 { 1.2 } else { -1.2 },
            })
            .collect(),
        fuel_l: 45.0 - t * 0.002,
        turbo_boost: 0.0,
        ballast_kg: 5.0,
        tc: 0.12,
        abs: 0.2,
        tc_in_action: seq % 50 < 3,
        abs_in_action: seq % 70 < 4,
        pit_limiter: false,
        auto_shifter: false,
        drs: 0.0,
        drs_available: false,
        drs_enabled: false,
        brake_bias: 0.58,
        engine_brake: 0,
        kers_charge: 0.0,
        kers_input: 0.0,
        kers_current_kj: 0.0,
        ers_recovery_level: 0,
        ers_power_level: 0,
        ers_heat_charging: false,
        ers_is_charging: false,
        p2p_activations: 0,
        p2p_status: 0,
        current_max_rpm: 7500,
        final_ff: 0.4 * (t * 0.45).sin(),
        performance_meter: 0.3 * (t * 0.05).sin(),
        car_damage: vec![0.0, 0.0, 1.5, 0.0, 0.0],
        tyres_out: i32::from(seq % 1000 > 990),
        is_ai_controlled: false,
        status: GameStatus::Live as i32,
        session_type: if n % 2 == 0 { SessionType::Practice } else { SessionType::Race } as i32,
        completed_laps: (t / 100.0) as i32,
        position: 3 + i32::from(n),
        current_lap_ms: (lap_pos * 100_000.0) as i32,
        last_lap_ms: 101_234,
        best_lap_ms: 99_876,
        session_time_left_ms: 1_800_000.0 - t * 1000.0,
        distance_traveled_m: t * 40.0,
        current_sector: (lap_pos * 3.0) as i32,
        last_sector_ms: 33_210,
        number_of_laps: 0,
        normalized_position: lap_pos,
        in_pit: false,
        in_pit_lane: false,
        flag: if seq % 5000 < 100 { Flag::Yellow } else { Flag::None } as i32,
        penalty_time_s: 0.0,
        surface_grip: 0.985,
        tyre_compound: "Semislicks (S)".into(),
        mandatory_pit_done: false,
        ideal_line_on: false,
        air_temp_c: 24.0,
        road_temp_c: 31.5,
        air_density: 1.18,
        wind_speed: 3.0,
        wind_direction_deg: 270.0,
        replay_time_multiplier: 1.0,
    }
}
