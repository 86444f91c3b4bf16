//! `SPageFileStatic` (`acpmf_static`): car, track and rules, once per session.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{STATIC_SIZE, assert_layout, flag_accessors, page_common, string_accessors};

/// The static page as AC1 (AC 1.13+, SM 1.7) writes it: 684 bytes.
///
/// `trackConfiguration` is 33 UTF-16 units, as in Kunos' header, `sim_info.py`, CrewChief and
/// the ACC readers; readers that use 15 (Content Manager, mdjarv, simapi) misplace every later
/// field by 36 bytes. The old SM ≤ 1.5 header typed four flags as 1-byte `bool`, which moves
/// `aidAutoBlip` to 489; that layout is not supported.
#[derive(Debug, Clone, Copy, PartialEq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct StaticPage {
    /// `smVersion`: shared-memory version as text, "1.7" for AC1 (ACC: ≥ "1.8").
    pub sm_version: [u16; 15],
    /// `acVersion`: game version as text.
    pub ac_version: [u16; 15],
    /// `numberOfSessions`.
    pub number_of_sessions: i32,
    /// `numCars`: maximum number of cars.
    pub num_cars: i32,
    /// `carModel`: car folder name.
    pub car_model: [u16; 33],
    /// `track`: track folder name.
    pub track: [u16; 33],
    /// `playerName`.
    pub player_name: [u16; 33],
    /// `playerSurname`.
    pub player_surname: [u16; 33],
    /// `playerNick`.
    pub player_nick: [u16; 33],
    // Five 66-byte strings end at 398; the next int starts at 400.
    _pad0: [u8; 2],
    /// `sectorCount`.
    pub sector_count: i32,
    /// `maxTorque` (unit not stated by Kunos).
    pub max_torque: f32,
    /// `maxPower` (unit not stated by Kunos).
    pub max_power: f32,
    /// `maxRpm`: rpm.
    pub max_rpm: i32,
    /// `maxFuel`: litres.
    pub max_fuel: f32,
    /// `suspensionMaxTravel`: per wheel, m.
    pub suspension_max_travel: [f32; 4],
    /// `tyreRadius`: per wheel, m.
    pub tyre_radius: [f32; 4],
    /// `maxTurboBoost` (SM 1.5).
    pub max_turbo_boost: f32,
    /// `deprecated_1`: was `airTemp`; do not use.
    pub deprecated_1: f32,
    /// `deprecated_2`: was `roadTemp`; do not use.
    pub deprecated_2: f32,
    /// `penaltiesEnabled`: 0 or 1, cut penalties (SM 1.5).
    pub penalties_enabled: i32,
    /// `aidFuelRate`: 0 none, 1 normal, 2 double, ... (SM 1.5).
    pub aid_fuel_rate: f32,
    /// `aidTireRate`: 0 none, 1 normal, 2 double, ... (SM 1.5).
    pub aid_tire_rate: f32,
    /// `aidMechanicalDamage`: 0..1 (SM 1.5).
    pub aid_mechanical_damage: f32,
    /// `aidAllowTyreBlankets`: 0 or 1 (SM 1.5).
    pub aid_allow_tyre_blankets: i32,
    /// `aidStability`: 0..1 (SM 1.5).
    pub aid_stability: f32,
    /// `aidAutoClutch`: 0 or 1 (SM 1.5).
    pub aid_auto_clutch: i32,
    /// `aidAutoBlip`: 0 or 1 (SM 1.5).
    pub aid_auto_blip: i32,
    /// `hasDRS`: 0 or 1 (AC 1.7.1).
    pub has_drs: i32,
    /// `hasERS`: 0 or 1 (AC 1.7.1).
    pub has_ers: i32,
    /// `hasKERS`: 0 or 1 (AC 1.7.1).
    pub has_kers: i32,
    /// `kersMaxJ`: J (AC 1.7.1).
    pub kers_max_j: f32,
    /// `engineBrakeSettingsCount` (AC 1.7.1).
    pub engine_brake_settings_count: i32,
    /// `ersPowerControllerCount` (AC 1.7.1).
    pub ers_power_controller_count: i32,
    /// `trackSPlineLength`: m (AC 1.7.2).
    pub track_spline_length: f32,
    /// `trackConfiguration`: layout name (AC 1.7.2), 33 units.
    pub track_configuration: [u16; 33],
    // 66 bytes of text end at 590; the next float starts at 592.
    _pad1: [u8; 2],
    /// `ersMaxJ`: J (AC 1.10.2).
    pub ers_max_j: f32,
    /// `isTimedRace`: 0 or 1 (AC 1.13).
    pub is_timed_race: i32,
    /// `hasExtraLap`: 0 or 1 (AC 1.13).
    pub has_extra_lap: i32,
    /// `carSkin` (AC 1.13).
    pub car_skin: [u16; 33],
    // 66 bytes of text end at 670; the next int starts at 672.
    _pad2: [u8; 2],
    /// `reversedGridPositions` (AC 1.13).
    pub reversed_grid_positions: i32,
    /// `PitWindowStart`: lap or minute (AC 1.13).
    pub pit_window_start: i32,
    /// `PitWindowEnd`: lap or minute (AC 1.13).
    pub pit_window_end: i32,
}

assert_layout!(StaticPage, size = STATIC_SIZE, {
    sm_version = 0, ac_version = 30, number_of_sessions = 60, num_cars = 64, car_model = 68,
    track = 134, player_name = 200, player_surname = 266, player_nick = 332, _pad0 = 398,
    sector_count = 400, max_torque = 404, max_power = 408, max_rpm = 412, max_fuel = 416,
    suspension_max_travel = 420, tyre_radius = 436, max_turbo_boost = 452, deprecated_1 = 456,
    deprecated_2 = 460, penalties_enabled = 464, aid_fuel_rate = 468, aid_tire_rate = 472,
    aid_mechanical_damage = 476, aid_allow_tyre_blankets = 480, aid_stability = 484,
    aid_auto_clutch = 488, aid_auto_blip = 492, has_drs = 496, has_ers = 500, has_kers = 504,
    kers_max_j = 508, engine_brake_settings_count = 512, ers_power_controller_count = 516,
    track_spline_length = 520, track_configuration = 524, _pad1 = 590, ers_max_j = 592,
    is_timed_race = 596, has_extra_lap = 600, car_skin = 604, _pad2 = 670,
    reversed_grid_positions = 672, pit_window_start = 676, pit_window_end = 680,
});

page_common!(StaticPage, crate::Page::Static);

flag_accessors!(StaticPage {
    penalties_enabled,
    aid_allow_tyre_blankets,
    aid_auto_clutch,
    aid_auto_blip,
    has_drs,
    has_ers,
    has_kers,
    is_timed_race,
    has_extra_lap,
});

string_accessors!(StaticPage {
    sm_version / set_sm_version,
    ac_version / set_ac_version,
    car_model / set_car_model,
    track / set_track,
    player_name / set_player_name,
    player_surname / set_player_surname,
    player_nick / set_player_nick,
    track_configuration / set_track_configuration,
    car_skin / set_car_skin,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_land_at_their_offsets() {
        let mut page = StaticPage::new();
        assert!(page.set_track_configuration("鈴鹿 east"));
        assert!(page.set_car_skin("00_official"));
        let bytes = page.as_bytes();
        // "鈴" is U+9234, little-endian.
        assert_eq!(&bytes[524..526], &[0x34, 0x92]);
        assert_eq!(&bytes[604..606], &[u8::try_from('0').unwrap(), 0]);
        assert_eq!(page.track_configuration(), "鈴鹿 east");
        assert_eq!(page.car_skin(), "00_official");
    }
}
