//! `SPageFileGraphic` (`acpmf_graphics`): session state and timing, once per graphics step.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{GRAPHICS_SIZE, assert_layout, flag_accessors, page_common, string_accessors};
use crate::enums::{FlagType, SessionType, Status};

/// The graphics page as AC1 writes it (296 bytes). ACC's graphics page diverges from offset
/// 252 on (its 60-car arrays), so it cannot be read with this struct.
#[derive(Debug, Clone, Copy, PartialEq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct GraphicsPage {
    /// `packetId`: step counter, +1 per write of this page.
    pub packet_id: i32,
    /// `status`: see [`status()`](Self::status).
    pub status: i32,
    /// `session`: see [`session()`](Self::session).
    pub session: i32,
    /// `currentTime`: current lap time as text.
    pub current_time: [u16; 15],
    /// `lastTime`: last lap time as text.
    pub last_time: [u16; 15],
    /// `bestTime`: best lap time as text.
    pub best_time: [u16; 15],
    /// `split`: last split as text.
    pub split: [u16; 15],
    /// `completedLaps`.
    pub completed_laps: i32,
    /// `position`: race position.
    pub position: i32,
    /// `iCurrentTime`: current lap time, ms.
    pub i_current_time: i32,
    /// `iLastTime`: last lap time, ms.
    pub i_last_time: i32,
    /// `iBestTime`: best lap time, ms.
    pub i_best_time: i32,
    /// `sessionTimeLeft`: ms (a float in the page).
    pub session_time_left: f32,
    /// `distanceTraveled`: m.
    pub distance_traveled: f32,
    /// `isInPit`: 0 or 1, stopped in the pit box.
    pub is_in_pit: i32,
    /// `currentSectorIndex`: 0-based.
    pub current_sector_index: i32,
    /// `lastSectorTime`: ms.
    pub last_sector_time: i32,
    /// `numberOfLaps`: laps in the session (0 when timed).
    pub number_of_laps: i32,
    /// `tyreCompound`: as text.
    pub tyre_compound: [u16; 33],
    // 66 bytes of text end at 242; the next float starts at 244.
    _pad0: [u8; 2],
    /// `replayTimeMultiplier`: replay speed.
    pub replay_time_multiplier: f32,
    /// `normalizedCarPosition`: 0..1 along the track spline.
    pub normalized_car_position: f32,
    /// `carCoordinates`: world \[x, y, z\], m.
    pub car_coordinates: [f32; 3],
    /// `penaltyTime` (SM 1.5).
    pub penalty_time: f32,
    /// `flag`: see [`flag()`](Self::flag) (SM 1.5).
    pub flag: i32,
    /// `idealLineOn`: 0 or 1 (SM 1.5).
    pub ideal_line_on: i32,
    /// `isInPitLane`: 0 or 1 (SM 1.5).
    pub is_in_pit_lane: i32,
    /// `surfaceGrip`: track grip factor (SM 1.5).
    pub surface_grip: f32,
    /// `mandatoryPitDone`: 0 or 1 (AC 1.13).
    pub mandatory_pit_done: i32,
    /// `windSpeed` (unit not stated by Kunos).
    pub wind_speed: f32,
    /// `windDirection`: degrees, 0..359.
    pub wind_direction: f32,
}

assert_layout!(GraphicsPage, size = GRAPHICS_SIZE, {
    packet_id = 0, status = 4, session = 8, current_time = 12, last_time = 42, best_time = 72,
    split = 102, completed_laps = 132, position = 136, i_current_time = 140, i_last_time = 144,
    i_best_time = 148, session_time_left = 152, distance_traveled = 156, is_in_pit = 160,
    current_sector_index = 164, last_sector_time = 168, number_of_laps = 172,
    tyre_compound = 176, _pad0 = 242, replay_time_multiplier = 244,
    normalized_car_position = 248, car_coordinates = 252, penalty_time = 264, flag = 268,
    ideal_line_on = 272, is_in_pit_lane = 276, surface_grip = 280, mandatory_pit_done = 284,
    wind_speed = 288, wind_direction = 292,
});

page_common!(GraphicsPage, crate::Page::Graphics);

flag_accessors!(GraphicsPage { is_in_pit, ideal_line_on, is_in_pit_lane, mandatory_pit_done });

string_accessors!(GraphicsPage {
    current_time / set_current_time,
    last_time / set_last_time,
    best_time / set_best_time,
    split / set_split,
    tyre_compound / set_tyre_compound,
});

impl GraphicsPage {
    /// `status` decoded.
    pub fn status(&self) -> Status {
        Status::from(self.status)
    }

    /// Sets `status`.
    pub fn set_status(&mut self, status: Status) {
        self.status = status.into();
    }

    /// `session` decoded.
    pub fn session(&self) -> SessionType {
        SessionType::from(self.session)
    }

    /// Sets `session`.
    pub fn set_session(&mut self, session: SessionType) {
        self.session = session.into();
    }

    /// `flag` decoded.
    pub fn flag(&self) -> FlagType {
        FlagType::from(self.flag)
    }

    /// Sets `flag`.
    pub fn set_flag(&mut self, flag: FlagType) {
        self.flag = flag.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_and_strings() {
        let mut page = GraphicsPage::new();
        assert_eq!(page.status(), Status::Off);
        page.set_status(Status::Live);
        page.set_session(SessionType::Race);
        page.set_flag(FlagType::Blue);
        assert_eq!((page.status, page.session, page.flag), (2, 2, 1));
        assert_eq!(
            (page.status(), page.session(), page.flag()),
            (Status::Live, SessionType::Race, FlagType::Blue)
        );
        assert!(page.set_tyre_compound("Semislicks (SM)"));
        assert_eq!(page.tyre_compound(), "Semislicks (SM)");
        // 15 units hold 14 characters and the NUL.
        assert!(!page.set_best_time("1:23:456789012345"));
        assert_eq!(page.best_time(), "1:23:456789012");
        assert_eq!(page.last_time, [0; 15], "other strings untouched");
    }
}
