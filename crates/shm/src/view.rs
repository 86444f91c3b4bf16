//! Decoded, serde-serializable views of the pages: the JSON of `pitwall shm dump --json`.
//!
//! Field names are AC's, in snake_case (`packetId` → `packet_id`, `camberRAD` →
//! `camber_rad`, `P2PStatus` → `p2p_status`); values keep AC's units (see the layout docs).
//! Strings are decoded, enums are named (`"live"`, `{"unknown": 9}` for a code we do not
//! know), and 0/1 ints become booleans. The physics tail fields are `null` when the tail is
//! absent (all zeros), so the keys of a dump never change.

use serde::{Deserialize, Serialize};

use crate::enums::{FlagType, P2pStatus, SessionType, Status};
use crate::layout::{GraphicsPage, PhysicsPage, StaticPage};

/// The physics page, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the snake_case twin of a documented PhysicsPage field.
pub struct Physics {
    pub packet_id: i32,
    pub gas: f32,
    pub brake: f32,
    pub fuel: f32,
    pub gear: i32,
    pub rpms: i32,
    pub steer_angle: f32,
    pub speed_kmh: f32,
    pub velocity: [f32; 3],
    pub acc_g: [f32; 3],
    pub wheel_slip: [f32; 4],
    pub wheel_load: [f32; 4],
    pub wheels_pressure: [f32; 4],
    pub wheel_angular_speed: [f32; 4],
    pub tyre_wear: [f32; 4],
    pub tyre_dirty_level: [f32; 4],
    pub tyre_core_temperature: [f32; 4],
    pub camber_rad: [f32; 4],
    pub suspension_travel: [f32; 4],
    pub drs: f32,
    pub tc: f32,
    pub heading: f32,
    pub pitch: f32,
    pub roll: f32,
    pub cg_height: f32,
    pub car_damage: [f32; 5],
    pub number_of_tyres_out: i32,
    pub pit_limiter_on: bool,
    pub abs: f32,
    pub kers_charge: f32,
    pub kers_input: f32,
    pub auto_shifter_on: bool,
    pub ride_height: [f32; 2],
    pub turbo_boost: f32,
    pub ballast: f32,
    pub air_density: f32,
    pub air_temp: f32,
    pub road_temp: f32,
    pub local_angular_vel: [f32; 3],
    pub final_ff: f32,
    pub performance_meter: f32,
    pub engine_brake: i32,
    pub ers_recovery_level: i32,
    pub ers_power_level: i32,
    pub ers_heat_charging: i32,
    pub ers_is_charging: bool,
    pub kers_current_kj: f32,
    pub drs_available: bool,
    pub drs_enabled: bool,
    pub brake_temp: [f32; 4],
    pub clutch: f32,
    pub tyre_temp_i: [f32; 4],
    pub tyre_temp_m: [f32; 4],
    pub tyre_temp_o: [f32; 4],
    pub is_ai_controlled: bool,
    pub tyre_contact_point: [[f32; 3]; 4],
    pub tyre_contact_normal: [[f32; 3]; 4],
    pub tyre_contact_heading: [[f32; 3]; 4],
    pub brake_bias: f32,
    pub local_velocity: [f32; 3],
    // The optional tail: all `Some` or all `None`, per `PhysicsPage::has_tail`.
    pub p2p_activations: Option<i32>,
    pub p2p_status: Option<P2pStatus>,
    pub current_max_rpm: Option<i32>,
    pub mz: Option<[f32; 4]>,
    pub fx: Option<[f32; 4]>,
    pub fy: Option<[f32; 4]>,
    pub slip_ratio: Option<[f32; 4]>,
    pub slip_angle: Option<[f32; 4]>,
    pub tcin_action: Option<bool>,
    pub abs_in_action: Option<bool>,
    pub suspension_damage: Option<[f32; 4]>,
    pub tyre_temp: Option<[f32; 4]>,
}

/// The graphics page, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the snake_case twin of a documented GraphicsPage field.
pub struct Graphics {
    pub packet_id: i32,
    pub status: Status,
    pub session: SessionType,
    pub current_time: String,
    pub last_time: String,
    pub best_time: String,
    pub split: String,
    pub completed_laps: i32,
    pub position: i32,
    pub i_current_time: i32,
    pub i_last_time: i32,
    pub i_best_time: i32,
    pub session_time_left: f32,
    pub distance_traveled: f32,
    pub is_in_pit: bool,
    pub current_sector_index: i32,
    pub last_sector_time: i32,
    pub number_of_laps: i32,
    pub tyre_compound: String,
    pub replay_time_multiplier: f32,
    pub normalized_car_position: f32,
    pub car_coordinates: [f32; 3],
    pub penalty_time: f32,
    pub flag: FlagType,
    pub ideal_line_on: bool,
    pub is_in_pit_lane: bool,
    pub surface_grip: f32,
    pub mandatory_pit_done: bool,
    pub wind_speed: f32,
    pub wind_direction: f32,
}

/// The static page, decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the snake_case twin of a documented StaticPage field.
pub struct Static {
    pub sm_version: String,
    pub ac_version: String,
    pub number_of_sessions: i32,
    pub num_cars: i32,
    pub car_model: String,
    pub track: String,
    pub player_name: String,
    pub player_surname: String,
    pub player_nick: String,
    pub sector_count: i32,
    pub max_torque: f32,
    pub max_power: f32,
    pub max_rpm: i32,
    pub max_fuel: f32,
    pub suspension_max_travel: [f32; 4],
    pub tyre_radius: [f32; 4],
    pub max_turbo_boost: f32,
    pub deprecated_1: f32,
    pub deprecated_2: f32,
    pub penalties_enabled: bool,
    pub aid_fuel_rate: f32,
    pub aid_tire_rate: f32,
    pub aid_mechanical_damage: f32,
    pub aid_allow_tyre_blankets: bool,
    pub aid_stability: f32,
    pub aid_auto_clutch: bool,
    pub aid_auto_blip: bool,
    pub has_drs: bool,
    pub has_ers: bool,
    pub has_kers: bool,
    pub kers_max_j: f32,
    pub engine_brake_settings_count: i32,
    pub ers_power_controller_count: i32,
    pub track_spline_length: f32,
    pub track_configuration: String,
    pub ers_max_j: f32,
    pub is_timed_race: bool,
    pub has_extra_lap: bool,
    pub car_skin: String,
    pub reversed_grid_positions: i32,
    pub pit_window_start: i32,
    pub pit_window_end: i32,
}

/// All three pages, decoded: the document `pitwall shm dump --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pages {
    /// The physics page.
    pub physics: Physics,
    /// The graphics page.
    pub graphics: Graphics,
    /// The static page (`static` in JSON; a keyword in Rust).
    #[serde(rename = "static")]
    pub static_page: Static,
}

impl From<&PhysicsPage> for Physics {
    fn from(p: &PhysicsPage) -> Self {
        // Tail fields are reported only when the game wrote the tail: zeros would be
        // indistinguishable from "not there".
        let tail = p.has_tail();
        Physics {
            packet_id: p.packet_id,
            gas: p.gas,
            brake: p.brake,
            fuel: p.fuel,
            gear: p.gear,
            rpms: p.rpms,
            steer_angle: p.steer_angle,
            speed_kmh: p.speed_kmh,
            velocity: p.velocity,
            acc_g: p.acc_g,
            wheel_slip: p.wheel_slip,
            wheel_load: p.wheel_load,
            wheels_pressure: p.wheels_pressure,
            wheel_angular_speed: p.wheel_angular_speed,
            tyre_wear: p.tyre_wear,
            tyre_dirty_level: p.tyre_dirty_level,
            tyre_core_temperature: p.tyre_core_temperature,
            camber_rad: p.camber_rad,
            suspension_travel: p.suspension_travel,
            drs: p.drs,
            tc: p.tc,
            heading: p.heading,
            pitch: p.pitch,
            roll: p.roll,
            cg_height: p.cg_height,
            car_damage: p.car_damage,
            number_of_tyres_out: p.number_of_tyres_out,
            pit_limiter_on: p.pit_limiter_on(),
            abs: p.abs,
            kers_charge: p.kers_charge,
            kers_input: p.kers_input,
            auto_shifter_on: p.auto_shifter_on(),
            ride_height: p.ride_height,
            turbo_boost: p.turbo_boost,
            ballast: p.ballast,
            air_density: p.air_density,
            air_temp: p.air_temp,
            road_temp: p.road_temp,
            local_angular_vel: p.local_angular_vel,
            final_ff: p.final_ff,
            performance_meter: p.performance_meter,
            engine_brake: p.engine_brake,
            ers_recovery_level: p.ers_recovery_level,
            ers_power_level: p.ers_power_level,
            ers_heat_charging: p.ers_heat_charging,
            ers_is_charging: p.ers_is_charging(),
            kers_current_kj: p.kers_current_kj,
            drs_available: p.drs_available(),
            drs_enabled: p.drs_enabled(),
            brake_temp: p.brake_temp,
            clutch: p.clutch,
            tyre_temp_i: p.tyre_temp_i,
            tyre_temp_m: p.tyre_temp_m,
            tyre_temp_o: p.tyre_temp_o,
            is_ai_controlled: p.is_ai_controlled(),
            tyre_contact_point: p.tyre_contact_point,
            tyre_contact_normal: p.tyre_contact_normal,
            tyre_contact_heading: p.tyre_contact_heading,
            brake_bias: p.brake_bias,
            local_velocity: p.local_velocity,
            p2p_activations: tail.then_some(p.p2p_activations),
            p2p_status: tail.then(|| p.p2p_status()),
            current_max_rpm: tail.then_some(p.current_max_rpm),
            mz: tail.then_some(p.mz),
            fx: tail.then_some(p.fx),
            fy: tail.then_some(p.fy),
            slip_ratio: tail.then_some(p.slip_ratio),
            slip_angle: tail.then_some(p.slip_angle),
            tcin_action: tail.then_some(p.tcin_action()),
            abs_in_action: tail.then_some(p.abs_in_action()),
            suspension_damage: tail.then_some(p.suspension_damage),
            tyre_temp: tail.then_some(p.tyre_temp),
        }
    }
}

impl From<&GraphicsPage> for Graphics {
    fn from(g: &GraphicsPage) -> Self {
        Graphics {
            packet_id: g.packet_id,
            status: g.status(),
            session: g.session(),
            current_time: g.current_time(),
            last_time: g.last_time(),
            best_time: g.best_time(),
            split: g.split(),
            completed_laps: g.completed_laps,
            position: g.position,
            i_current_time: g.i_current_time,
            i_last_time: g.i_last_time,
            i_best_time: g.i_best_time,
            session_time_left: g.session_time_left,
            distance_traveled: g.distance_traveled,
            is_in_pit: g.is_in_pit(),
            current_sector_index: g.current_sector_index,
            last_sector_time: g.last_sector_time,
            number_of_laps: g.number_of_laps,
            tyre_compound: g.tyre_compound(),
            replay_time_multiplier: g.replay_time_multiplier,
            normalized_car_position: g.normalized_car_position,
            car_coordinates: g.car_coordinates,
            penalty_time: g.penalty_time,
            flag: g.flag(),
            ideal_line_on: g.ideal_line_on(),
            is_in_pit_lane: g.is_in_pit_lane(),
            surface_grip: g.surface_grip,
            mandatory_pit_done: g.mandatory_pit_done(),
            wind_speed: g.wind_speed,
            wind_direction: g.wind_direction,
        }
    }
}

impl From<&StaticPage> for Static {
    fn from(s: &StaticPage) -> Self {
        Static {
            sm_version: s.sm_version(),
            ac_version: s.ac_version(),
            number_of_sessions: s.number_of_sessions,
            num_cars: s.num_cars,
            car_model: s.car_model(),
            track: s.track(),
            player_name: s.player_name(),
            player_surname: s.player_surname(),
            player_nick: s.player_nick(),
            sector_count: s.sector_count,
            max_torque: s.max_torque,
            max_power: s.max_power,
            max_rpm: s.max_rpm,
            max_fuel: s.max_fuel,
            suspension_max_travel: s.suspension_max_travel,
            tyre_radius: s.tyre_radius,
            max_turbo_boost: s.max_turbo_boost,
            deprecated_1: s.deprecated_1,
            deprecated_2: s.deprecated_2,
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
            engine_brake_settings_count: s.engine_brake_settings_count,
            ers_power_controller_count: s.ers_power_controller_count,
            track_spline_length: s.track_spline_length,
            track_configuration: s.track_configuration(),
            ers_max_j: s.ers_max_j,
            is_timed_race: s.is_timed_race(),
            has_extra_lap: s.has_extra_lap(),
            car_skin: s.car_skin(),
            reversed_grid_positions: s.reversed_grid_positions,
            pit_window_start: s.pit_window_start,
            pit_window_end: s.pit_window_end,
        }
    }
}

impl PhysicsPage {
    /// The decoded view of this page.
    pub fn decode(&self) -> Physics {
        Physics::from(self)
    }
}

impl GraphicsPage {
    /// The decoded view of this page.
    pub fn decode(&self) -> Graphics {
        Graphics::from(self)
    }
}

impl StaticPage {
    /// The decoded view of this page.
    pub fn decode(&self) -> Static {
        Static::from(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_null_when_absent_and_present_when_written() {
        let mut page = PhysicsPage::new();
        page.speed_kmh = 200.0;
        let json = serde_json::to_value(page.decode()).unwrap();
        assert_eq!(json["speed_kmh"], 200.0);
        assert!(json["tyre_temp"].is_null() && json["p2p_status"].is_null());
        assert!(json.as_object().unwrap().contains_key("slip_ratio"), "keys are stable");

        page.tyre_temp = [80.0, 81.0, 82.0, 83.0];
        let view = page.decode();
        assert_eq!(view.tyre_temp, Some([80.0, 81.0, 82.0, 83.0]));
        assert_eq!(view.p2p_status, Some(P2pStatus::Off));
        assert_eq!(view.tcin_action, Some(false));
    }

    #[test]
    fn json_round_trip() {
        let mut g = GraphicsPage::new();
        g.set_status(Status::Pause);
        g.set_flag(FlagType::Unknown(42));
        g.set_tyre_compound("Slicks Medium (M)");
        let view = g.decode();
        let json = serde_json::to_string(&view).unwrap();
        assert!(json.contains("\"status\":\"pause\""));
        assert!(json.contains("\"flag\":{\"unknown\":42}"));
        assert_eq!(serde_json::from_str::<Graphics>(&json).unwrap(), view);
    }
}
