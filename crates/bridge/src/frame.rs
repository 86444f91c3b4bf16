//! Shared-memory pages → `TelemetryFrame`: the one place where the game's page layout meets our
//! wire format. Units and conventions change here (AC's gear 0 = R becomes -1, per-wheel arrays
//! become FL/FR/RL/RR `Wheels`), so every consumer downstream sees one model.

use bytes::Bytes;
use proto::telemetry::v1 as pb;
use shm::{FlagType, GraphicsPage, PhysicsPage, StaticPage, Status};

/// Identity and timing of one frame, decided by the bridge when it samples a step.
#[derive(Debug, Clone)]
pub struct FrameIds {
    /// The session's 16-byte id (UUIDv7).
    pub session_id: Bytes,
    /// Frame number within the session, from 0 without gaps.
    pub seq: u64,
    /// Wall clock at sampling, ns since the Unix epoch (UTC).
    pub wall_time_ns: i64,
    /// Monotonic clock at sampling, ns.
    pub mono_time_ns: i64,
    /// Physics steps the game skipped right before this one.
    pub missed_steps: u32,
}

fn wheels(a: [f32; 4]) -> Option<pb::Wheels> {
    Some(pb::Wheels { fl: a[0], fr: a[1], rl: a[2], rr: a[3] })
}

fn vec3(a: [f32; 3]) -> Option<pb::Vec3> {
    Some(pb::Vec3 { x: a[0], y: a[1], z: a[2] })
}

/// AC's gear (0 = R, 1 = N, 2 = 1st) as engineers write it (-1 = R, 0 = N, 1 = 1st).
pub fn gear(ac_gear: i32) -> i32 {
    ac_gear.saturating_sub(1)
}

/// Our session type for the game's.
pub fn session_type(t: shm::SessionType) -> pb::SessionType {
    use shm::SessionType as S;
    match t {
        S::Practice => pb::SessionType::Practice,
        S::Qualify => pb::SessionType::Qualify,
        S::Race => pb::SessionType::Race,
        S::Hotlap => pb::SessionType::Hotlap,
        S::TimeAttack => pb::SessionType::TimeAttack,
        S::Drift => pb::SessionType::Drift,
        S::Drag => pb::SessionType::Drag,
        S::HotStint => pb::SessionType::HotStint,
        S::HotlapSuperpole => pb::SessionType::HotlapSuperpole,
        S::Unspecified | S::Unknown(_) => pb::SessionType::Unknown,
    }
}

fn status(s: Status) -> pb::GameStatus {
    match s {
        Status::Replay => pb::GameStatus::Replay,
        Status::Live => pb::GameStatus::Live,
        Status::Pause => pb::GameStatus::Pause,
        Status::Off | Status::Unknown(_) => pb::GameStatus::Off,
    }
}

fn flag(f: FlagType) -> pb::Flag {
    match f {
        FlagType::Blue => pb::Flag::Blue,
        FlagType::Yellow => pb::Flag::Yellow,
        FlagType::Black => pb::Flag::Black,
        FlagType::White => pb::Flag::White,
        FlagType::Checkered => pb::Flag::Checkered,
        FlagType::Penalty => pb::Flag::Penalty,
        FlagType::Green => pb::Flag::Green,
        FlagType::Orange => pb::Flag::Orange,
        FlagType::NoFlag | FlagType::Unknown(_) => pb::Flag::None,
    }
}

/// The session's metadata from the static page and the session type the graphics page shows.
pub fn session_metadata(
    s: &StaticPage,
    session: shm::SessionType,
    source: &str,
    started_unix_ns: i64,
) -> pb::SessionMetadata {
    pb::SessionMetadata {
        car_model: s.car_model(),
        car_skin: s.car_skin(),
        track: s.track(),
        track_configuration: s.track_configuration(),
        player_name: s.player_name(),
        player_surname: s.player_surname(),
        player_nick: s.player_nick(),
        session_type: session_type(session).into(),
        sector_count: s.sector_count,
        max_rpm: s.max_rpm,
        max_fuel: s.max_fuel,
        max_torque_nm: s.max_torque,
        max_power_w: s.max_power,
        suspension_max_travel_m: wheels(s.suspension_max_travel),
        tyre_radius_m: wheels(s.tyre_radius),
        max_turbo_boost: s.max_turbo_boost,
        track_spline_length_m: s.track_spline_length,
        sm_version: s.sm_version(),
        ac_version: s.ac_version(),
        number_of_sessions: s.number_of_sessions,
        num_cars: s.num_cars,
        penalties_enabled: s.penalties_enabled(),
        aid_fuel_rate: s.aid_fuel_rate,
        aid_tire_rate: s.aid_tire_rate,
        aid_mechanical_damage: s.aid_mechanical_damage,
        aid_allow_tyre_blankets: s.aid_allow_tyre_blankets(),
        aid_stability: s.aid_stability,
        aid_auto_clutch: s.aid_auto_clutch(),
        aid_auto_blip: s.aid_auto_blip(),
        has_drs: s.has_drs(),
        has_ers: s.has_ers(),
        has_kers: s.has_kers(),
        kers_max_j: s.kers_max_j,
        ers_max_j: s.ers_max_j,
        engine_brake_settings_count: s.engine_brake_settings_count,
        ers_power_controller_count: s.ers_power_controller_count,
        is_timed_race: s.is_timed_race(),
        has_extra_lap: s.has_extra_lap(),
        reversed_grid_positions: s.reversed_grid_positions,
        pit_window_start: s.pit_window_start,
        pit_window_end: s.pit_window_end,
        source: source.to_owned(),
        started_unix_ns,
    }
}

/// The graphics page's tyre compound as text, decoded again only when its UTF-16 changes (it
/// changes at a pit stop; decoding it for every frame was a twenty-fifth of the sampling CPU).
#[derive(Debug)]
pub struct CompoundText {
    raw: [u16; 33],
    text: String,
}

impl Default for CompoundText {
    fn default() -> Self {
        // All zeros decodes to "": the cache starts consistent.
        CompoundText { raw: [0; 33], text: String::new() }
    }
}

impl CompoundText {
    /// The compound of `g`.
    pub fn get(&mut self, g: &GraphicsPage) -> String {
        if self.raw != g.tyre_compound {
            self.raw = g.tyre_compound;
            self.text = g.tyre_compound();
        }
        self.text.clone()
    }
}

/// One frame from a physics step and the graphics page current with it. `session` is set on
/// the first frame of a session and whenever the metadata changes; `tyre_compound` is the
/// graphics page's, decoded (see [`CompoundText`]).
pub fn frame(
    p: &PhysicsPage,
    g: &GraphicsPage,
    ids: FrameIds,
    session: Option<pb::SessionMetadata>,
    tyre_compound: String,
) -> pb::TelemetryFrame {
    // The tail past the documented 580 bytes is not written by every game version: absent
    // fields stay absent rather than reading as zeros.
    let tail = p.has_tail();
    let tail_wheels = |a: [f32; 4]| if tail { wheels(a) } else { None };
    pb::TelemetryFrame {
        session_id: ids.session_id,
        seq: ids.seq,
        wall_time_ns: ids.wall_time_ns,
        mono_time_ns: ids.mono_time_ns,
        physics_packet_id: p.packet_id,
        graphics_packet_id: g.packet_id,
        missed_steps: ids.missed_steps,
        session,

        throttle: p.gas,
        brake: p.brake,
        clutch: p.clutch,
        steering: p.steer_angle,
        gear: gear(p.gear),
        rpm: p.rpms,
        speed_kmh: p.speed_kmh,

        velocity: vec3(p.velocity),
        local_velocity: vec3(p.local_velocity),
        acc_g: vec3(p.acc_g),
        local_angular_velocity: vec3(p.local_angular_vel),
        heading_rad: p.heading,
        pitch_rad: p.pitch,
        roll_rad: p.roll,
        cg_height_m: p.cg_height,
        ride_height_front_m: p.ride_height[0],
        ride_height_rear_m: p.ride_height[1],
        position_m: vec3(g.car_coordinates),

        wheel_slip: wheels(p.wheel_slip),
        wheel_load_n: wheels(p.wheel_load),
        tyre_pressure_psi: wheels(p.wheels_pressure),
        wheel_angular_speed_rad_s: wheels(p.wheel_angular_speed),
        tyre_wear: wheels(p.tyre_wear),
        tyre_dirt: wheels(p.tyre_dirty_level),
        tyre_core_temp_c: wheels(p.tyre_core_temperature),
        tyre_temp_inner_c: wheels(p.tyre_temp_i),
        tyre_temp_middle_c: wheels(p.tyre_temp_m),
        tyre_temp_outer_c: wheels(p.tyre_temp_o),
        camber_rad: wheels(p.camber_rad),
        suspension_travel_m: wheels(p.suspension_travel),
        brake_temp_c: wheels(p.brake_temp),
        slip_ratio: tail_wheels(p.slip_ratio),
        slip_angle_rad: tail_wheels(p.slip_angle),
        tyre_force_long_n: tail_wheels(p.fx),
        tyre_force_lat_n: tail_wheels(p.fy),
        self_aligning_torque_nm: tail_wheels(p.mz),
        suspension_damage: tail_wheels(p.suspension_damage),
        tyre_temp_c: tail_wheels(p.tyre_temp),
        tyre_contact_point_m: p
            .tyre_contact_point
            .iter()
            .map(|&c| pb::Vec3 { x: c[0], y: c[1], z: c[2] })
            .collect(),

        fuel_l: p.fuel,
        turbo_boost: p.turbo_boost,
        ballast_kg: p.ballast,
        tc: p.tc,
        abs: p.abs,
        tc_in_action: tail && p.tcin_action != 0,
        abs_in_action: tail && p.abs_in_action != 0,
        pit_limiter: p.pit_limiter_on(),
        auto_shifter: p.auto_shifter_on(),
        drs: p.drs,
        drs_available: p.drs_available(),
        drs_enabled: p.drs_enabled(),
        brake_bias: p.brake_bias,
        engine_brake: p.engine_brake,
        kers_charge: p.kers_charge,
        kers_input: p.kers_input,
        kers_current_kj: p.kers_current_kj,
        ers_recovery_level: p.ers_recovery_level,
        ers_power_level: p.ers_power_level,
        ers_heat_charging: p.ers_heat_charging != 0,
        ers_is_charging: p.ers_is_charging(),
        p2p_activations: if tail { p.p2p_activations } else { 0 },
        p2p_status: if tail { p.p2p_status } else { 0 },
        current_max_rpm: if tail { p.current_max_rpm } else { 0 },
        final_ff: p.final_ff,
        performance_meter: p.performance_meter,
        car_damage: p.car_damage.to_vec(),
        tyres_out: p.number_of_tyres_out,
        is_ai_controlled: p.is_ai_controlled(),

        status: status(g.status()).into(),
        session_type: session_type(g.session()).into(),
        completed_laps: g.completed_laps,
        position: g.position,
        current_lap_ms: g.i_current_time,
        last_lap_ms: g.i_last_time,
        best_lap_ms: g.i_best_time,
        session_time_left_ms: g.session_time_left,
        distance_traveled_m: g.distance_traveled,
        current_sector: g.current_sector_index,
        last_sector_ms: g.last_sector_time,
        number_of_laps: g.number_of_laps,
        normalized_position: g.normalized_car_position,
        in_pit: g.is_in_pit(),
        in_pit_lane: g.is_in_pit_lane(),
        flag: flag(g.flag()).into(),
        penalty_time_s: g.penalty_time,
        surface_grip: g.surface_grip,
        tyre_compound,
        mandatory_pit_done: g.mandatory_pit_done(),
        ideal_line_on: g.ideal_line_on(),
        air_temp_c: p.air_temp,
        road_temp_c: p.road_temp,
        air_density: p.air_density,
        wind_speed: g.wind_speed,
        wind_direction_deg: g.wind_direction,
        replay_time_multiplier: g.replay_time_multiplier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    fn pages() -> (PhysicsPage, GraphicsPage, StaticPage) {
        let mut p = PhysicsPage::new();
        p.packet_id = 1234;
        p.gear = 0;
        p.gas = 0.75;
        p.wheels_pressure = [27.1, 27.2, 26.3, 26.4];
        p.tyre_contact_point = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]];
        p.car_damage = [0.0, 1.0, 2.0, 3.0, 4.0];
        let mut g = GraphicsPage::new();
        g.packet_id = 99;
        g.set_status(Status::Live);
        g.set_session(shm::SessionType::Qualify);
        g.set_flag(FlagType::Yellow);
        g.i_last_time = 83_456;
        g.set_tyre_compound("Semislicks (SM)");
        let mut s = StaticPage::new();
        s.set_track("鈴鹿");
        s.set_track_configuration("Südschleife");
        s.set_player_name("Jürgen");
        s.max_rpm = 9250;
        (p, g, s)
    }

    fn ids(seq: u64) -> FrameIds {
        FrameIds {
            session_id: Bytes::from_static(&[7; 16]),
            seq,
            wall_time_ns: 1_700_000_000_000_000_000,
            mono_time_ns: 42,
            missed_steps: 2,
        }
    }

    #[test]
    fn gears_follow_the_engineers_convention() {
        assert_eq!(gear(0), -1, "reverse");
        assert_eq!(gear(1), 0, "neutral");
        assert_eq!(gear(2), 1, "first");
        assert_eq!(gear(i32::MIN), i32::MIN, "garbage saturates, never overflows");
    }

    #[test]
    fn the_compound_text_follows_the_page() {
        let (_, mut g, _) = pages();
        let mut text = CompoundText::default();
        assert_eq!(text.get(&g), "Semislicks (SM)");
        g.set_tyre_compound("Street (ST)");
        assert_eq!(text.get(&g), "Street (ST)");
        g.set_tyre_compound("");
        assert_eq!(text.get(&g), "");
    }

    #[test]
    fn pages_map_to_the_frame() {
        let (p, g, s) = pages();
        let meta = session_metadata(&s, g.session(), "test", 5);
        let f = frame(&p, &g, ids(3), Some(meta), g.tyre_compound());
        assert_eq!((f.seq, f.physics_packet_id, f.graphics_packet_id, f.missed_steps), (3, 1234, 99, 2));
        assert_eq!(f.gear, -1);
        assert_eq!(f.throttle, 0.75);
        assert_eq!(f.tyre_pressure_psi, Some(pb::Wheels { fl: 27.1, fr: 27.2, rl: 26.3, rr: 26.4 }));
        assert_eq!(f.tyre_contact_point_m.len(), 4);
        assert_eq!(f.tyre_contact_point_m[3], pb::Vec3 { x: 10.0, y: 11.0, z: 12.0 });
        assert_eq!(f.car_damage, [0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(f.status(), pb::GameStatus::Live);
        assert_eq!(f.session_type(), pb::SessionType::Qualify);
        assert_eq!(f.flag(), pb::Flag::Yellow);
        assert_eq!(f.last_lap_ms, 83_456);
        assert_eq!(f.tyre_compound, "Semislicks (SM)");
        let meta = f.session.as_ref().unwrap();
        assert_eq!((meta.track.as_str(), meta.track_configuration.as_str()), ("鈴鹿", "Südschleife"));
        assert_eq!(meta.player_name, "Jürgen");
        assert_eq!(meta.max_rpm, 9250);
        assert_eq!(meta.session_type(), pb::SessionType::Qualify);
        // What goes on the wire comes back the same.
        let back = pb::TelemetryFrame::decode(f.encode_to_vec().as_slice()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn an_absent_physics_tail_stays_absent() {
        let (mut p, g, _) = pages();
        assert!(!p.has_tail());
        let f = frame(&p, &g, ids(0), None, g.tyre_compound());
        assert_eq!((f.slip_ratio, f.tyre_temp_c, f.current_max_rpm), (None, None, 0));
        p.slip_ratio = [0.1, 0.2, 0.3, 0.4];
        p.current_max_rpm = 8000;
        assert!(p.has_tail());
        let f = frame(&p, &g, ids(1), None, g.tyre_compound());
        assert_eq!(f.slip_ratio, Some(pb::Wheels { fl: 0.1, fr: 0.2, rl: 0.3, rr: 0.4 }));
        assert_eq!(f.current_max_rpm, 8000);
        assert!(f.session.is_none());
    }
}
