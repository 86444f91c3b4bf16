//! Realistic shared-memory pages: a different value in (nearly) every field, so that a swapped
//! or shifted field shows; non-ASCII strings (a surrogate pair among them); the optional tail
//! of the physics page set. And the pages a writer publishes step by step, deterministically,
//! so that a reader in another process can check each page it gets against the one published
//! with that `packetId`.
//!
//! Step `n` publishes physics page [`PHYSICS_ID0`]` + n` and graphics page
//! [`GRAPHICS_ID0`]` + n / 2` (graphics at half the physics rate); a page's values depend on its
//! `packetId` only. [`snapshot`] is step 0.
//!
//! ```
//! use testkit::pages;
//!
//! let first = pages::snapshot();
//! assert_eq!(first.physics, pages::physics(pages::PHYSICS_ID0));
//! assert_eq!(pages::physics_at(3).packet_id, pages::PHYSICS_ID0 + 3);
//! assert_eq!(pages::graphics_at(3), pages::graphics(pages::GRAPHICS_ID0 + 1));
//! assert_ne!(pages::physics_at(3).speed_kmh, first.physics.speed_kmh, "values move");
//! ```

use shm::{FlagType, GraphicsPage, P2pStatus, PhysicsPage, SessionType, Snapshot, StaticPage, Status};

/// `packetId` of the physics page at step 0.
pub const PHYSICS_ID0: i32 = 1_000;
/// `packetId` of the graphics page at step 0.
pub const GRAPHICS_ID0: i32 = 400;

/// The physics page whose `packetId` is `packet_id`: the step-0 page with the speed, the
/// revs and the throttle moved by the steps since [`PHYSICS_ID0`] (any id, ids before step 0
/// included).
pub fn physics(packet_id: i32) -> PhysicsPage {
    let mut p = physics_base();
    let k = packet_id.wrapping_sub(PHYSICS_ID0);
    p.packet_id = packet_id;
    p.speed_kmh += k.rem_euclid(400) as f32 * 0.25;
    p.rpms += k.rem_euclid(1_000);
    // 13/16 at step 0, then through the 17 values 0, 1/16 … 1 in turn.
    p.gas = (13 + k.rem_euclid(17)).rem_euclid(17) as f32 / 16.0;
    p
}

/// The graphics page whose `packetId` is `packet_id`: the step-0 page with the car's position
/// on the lap and the lap clock moved by the updates since [`GRAPHICS_ID0`].
pub fn graphics(packet_id: i32) -> GraphicsPage {
    let mut g = graphics_base();
    let k = packet_id.wrapping_sub(GRAPHICS_ID0);
    g.packet_id = packet_id;
    // 0.63 at step 0, then a thousandth of a lap further per update.
    g.normalized_car_position = (630 + k.rem_euclid(1_000)).rem_euclid(1_000) as f32 / 1_000.0;
    g.i_current_time = g.i_current_time.wrapping_add(k.wrapping_mul(6));
    g
}

/// The physics page a writer publishes at `step` (from 0).
pub fn physics_at(step: u32) -> PhysicsPage {
    // Steps stay far below i32::MAX in any run.
    physics(PHYSICS_ID0.wrapping_add(step as i32))
}

/// The graphics page published with physics step `step`: graphics steps every second physics
/// step.
pub fn graphics_at(step: u32) -> GraphicsPage {
    graphics(GRAPHICS_ID0.wrapping_add((step / 2) as i32))
}

/// All three pages at step 0.
pub fn snapshot() -> Snapshot {
    Snapshot { physics: physics(PHYSICS_ID0), graphics: graphics(GRAPHICS_ID0), static_page: static_page() }
}

/// The physics page at step 0 but for the values [`physics`] moves.
fn physics_base() -> PhysicsPage {
    let mut p = PhysicsPage::new();
    p.packet_id = PHYSICS_ID0;
    p.brake = 0.0625;
    p.fuel = 37.25;
    p.gear = 5;
    p.rpms = 7_340;
    p.steer_angle = -0.1;
    p.speed_kmh = 212.3;
    p.velocity = [41.5, -0.25, 43.75];
    p.acc_g = [0.35, 0.02, -1.2];
    p.wheel_slip = [0.011, 0.012, 0.031, 0.033];
    p.wheel_load = [3_412.5, 3_398.0, 4_205.25, 4_190.0];
    p.wheels_pressure = [27.6, 27.4, 26.9, 26.8];
    p.wheel_angular_speed = [176.5, 176.0, 168.25, 168.5];
    p.tyre_wear = [98.5, 98.25, 97.75, 97.5];
    p.tyre_dirty_level = [0.05, 0.0, 0.125, 0.25];
    p.tyre_core_temperature = [84.5, 85.25, 88.0, 88.75];
    p.camber_rad = [-0.061, -0.059, -0.035, -0.034];
    p.suspension_travel = [0.042, 0.0415, 0.051, 0.0505];
    p.drs = 1.0;
    p.tc = 0.15;
    p.heading = 2.356;
    p.pitch = -0.012;
    p.roll = 0.021;
    p.cg_height = 0.385;
    p.car_damage = [0.0, 12.5, 3.25, 0.0, 1.0e-7];
    p.number_of_tyres_out = 2;
    p.pit_limiter_on = 1;
    p.abs = 0.2;
    p.kers_charge = 0.66;
    p.kers_input = 0.4;
    p.auto_shifter_on = 1;
    p.ride_height = [0.055, 0.078];
    p.turbo_boost = 1.35;
    p.ballast = 25.0;
    p.air_density = 1.184;
    p.air_temp = 24.5;
    p.road_temp = 36.75;
    p.local_angular_vel = [0.01, -0.33, 0.002];
    p.final_ff = -0.42;
    p.performance_meter = -0.325;
    p.engine_brake = 7;
    p.ers_recovery_level = 3;
    p.ers_power_level = 4;
    p.ers_heat_charging = 1;
    p.ers_is_charging = 1;
    p.kers_current_kj = 512.5;
    p.drs_available = 1;
    p.drs_enabled = 1;
    p.brake_temp = [455.0, 448.5, 312.25, 309.0];
    p.clutch = 0.999;
    p.tyre_temp_i = [91.5, 92.0, 95.25, 95.5];
    p.tyre_temp_m = [87.75, 88.0, 91.5, 91.0];
    p.tyre_temp_o = [83.0, 83.5, 86.75, 86.25];
    p.is_ai_controlled = 1;
    p.tyre_contact_point =
        [[-412.5, 11.25, 881.0], [-411.0, 11.3, 882.5], [-414.0, 11.2, 879.5], [-412.5, 11.1, 878.0]];
    p.tyre_contact_normal =
        [[0.01, 0.9999, -0.002], [0.011, 0.9998, -0.003], [0.009, 0.9997, 0.001], [0.012, 0.9996, 0.004]];
    p.tyre_contact_heading =
        [[0.6, 0.0, 0.8], [0.6001, 0.001, 0.7999], [0.5998, -0.001, 0.8002], [0.6002, 0.002, 0.7998]];
    p.brake_bias = 0.575;
    p.local_velocity = [-0.4, 0.05, 58.95];
    // The optional tail (RaceTelemetry, which mirrors the AC doc, stops before it).
    p.p2p_activations = 11;
    p.set_p2p_status(P2pStatus::Cooling);
    p.current_max_rpm = 8_100;
    p.mz = [12.5, -11.75, 6.25, -6.5];
    p.fx = [-150.0, -148.5, 1_020.0, 1_015.5];
    p.fy = [2_210.0, 2_190.5, 2_640.25, 2_600.0];
    p.slip_ratio = [0.004, 0.005, 0.041, 0.043];
    p.slip_angle = [0.021, 0.019, 0.027, 0.026];
    p.tcin_action = 1;
    p.abs_in_action = 1;
    p.suspension_damage = [0.0, 0.0, 0.125, 0.0];
    p.tyre_temp = [87.5, 88.0, 91.25, 91.0];
    p
}

/// The graphics page at step 0 but for the values [`graphics`] moves.
fn graphics_base() -> GraphicsPage {
    let mut g = GraphicsPage::new();
    g.packet_id = GRAPHICS_ID0;
    g.set_status(Status::Live);
    g.set_session(SessionType::Qualify);
    g.set_current_time("1:23:456");
    g.set_last_time("2:01:002");
    g.set_best_time("1:59:987");
    g.set_split("0:41:100");
    g.completed_laps = 4;
    g.position = 7;
    g.i_current_time = 83_456;
    g.i_last_time = 121_002;
    g.i_best_time = 119_987;
    g.session_time_left = 754_321.5;
    g.distance_traveled = 23_456.75;
    g.is_in_pit = 1;
    g.current_sector_index = 2;
    g.last_sector_time = 41_100;
    g.number_of_laps = 12;
    g.set_tyre_compound("Slick Soft – «ß» 🏁 (S)");
    g.replay_time_multiplier = 0.5;
    g.car_coordinates = [-412.25, 11.5, 880.125];
    g.penalty_time = 5.5;
    g.set_flag(FlagType::Checkered);
    g.ideal_line_on = 1;
    g.is_in_pit_lane = 1;
    g.surface_grip = 0.985;
    g.mandatory_pit_done = 1;
    g.wind_speed = 4.2;
    g.wind_direction = 237.5;
    g
}

/// The static page (one session, so the same at every step).
pub fn static_page() -> StaticPage {
    let mut s = StaticPage::new();
    s.set_sm_version("1.7");
    s.set_ac_version("1.16.4");
    s.number_of_sessions = 3;
    s.num_cars = 24;
    s.set_car_model("ks_porsche_911_gt3_r_2016");
    s.set_track("ks_nürburgring");
    s.set_player_name("Zoë");
    s.set_player_surname("Ångström-Łukasz");
    s.set_player_nick("🏎 Kimi");
    s.sector_count = 3;
    s.max_torque = 480.5;
    s.max_power = 368_250.0;
    s.max_rpm = 9_250;
    s.max_fuel = 120.0;
    s.suspension_max_travel = [0.105, 0.104, 0.125, 0.124];
    s.tyre_radius = [0.331, 0.332, 0.351, 0.352];
    s.max_turbo_boost = 1.8;
    s.deprecated_1 = 0.25;
    s.deprecated_2 = -0.75;
    s.penalties_enabled = 1;
    s.aid_fuel_rate = 1.5;
    s.aid_tire_rate = 2.0;
    s.aid_mechanical_damage = 0.3;
    s.aid_allow_tyre_blankets = 1;
    s.aid_stability = 0.1;
    s.aid_auto_clutch = 1;
    s.aid_auto_blip = 1;
    s.has_drs = 1;
    s.has_ers = 1;
    s.has_kers = 1;
    s.kers_max_j = 400_000.0;
    s.engine_brake_settings_count = 13;
    s.ers_power_controller_count = 5;
    s.track_spline_length = 5_148.25;
    s.set_track_configuration("gp_日本_layout");
    s.ers_max_j = 4_000_000.0;
    s.is_timed_race = 1;
    s.has_extra_lap = 1;
    s.set_car_skin("00_официальный_マンタイ");
    s.reversed_grid_positions = 8;
    s.pit_window_start = 6;
    s.pit_window_end = 14;
    s
}
