//! Shared fixtures: realistic pages, and a source that tears reads on demand.

use shm::{
    FlagType, GraphicsPage, P2pStatus, Page, PageSource, PhysicsPage, SessionType, ShmError, Snapshot,
    StaticPage, Status,
};

/// A physics page with a value in most fields, the optional tail included.
pub fn physics(packet_id: i32) -> PhysicsPage {
    let mut p = PhysicsPage::new();
    p.packet_id = packet_id;
    p.gas = 0.75;
    p.brake = 0.125;
    p.fuel = 42.5;
    p.gear = 4;
    p.rpms = 7250;
    p.steer_angle = -0.25;
    p.speed_kmh = 187.5;
    p.velocity = [50.0, 0.5, -12.0];
    p.acc_g = [0.25, 1.0, -1.5];
    p.wheel_slip = [0.01, 0.02, 0.03, 0.04];
    p.wheel_load = [3500.0, 3600.0, 4100.0, 4200.0];
    p.wheels_pressure = [27.5, 27.75, 26.5, 26.25];
    p.tyre_core_temperature = [85.0, 86.0, 90.0, 91.0];
    p.camber_rad = [-0.05, -0.05, -0.03, -0.03];
    p.suspension_travel = [0.04, 0.041, 0.05, 0.051];
    p.car_damage = [0.0, 10.0, 0.0, 0.0, 0.0];
    p.pit_limiter_on = 0;
    p.ride_height = [0.06, 0.08];
    p.air_temp = 26.0;
    p.road_temp = 38.5;
    p.brake_temp = [420.0, 430.0, 300.0, 310.0];
    p.clutch = 1.0;
    p.tyre_contact_point = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0]];
    p.brake_bias = 0.58;
    p.local_velocity = [0.1, 0.0, 52.0];
    p.current_max_rpm = 8000;
    p.set_p2p_status(P2pStatus::Available);
    p.slip_ratio = [0.05, 0.06, 0.07, 0.08];
    p.tyre_temp = [88.0, 89.0, 92.0, 93.0];
    p
}

/// A graphics page of a live race.
pub fn graphics(packet_id: i32) -> GraphicsPage {
    let mut g = GraphicsPage::new();
    g.packet_id = packet_id;
    g.set_status(Status::Live);
    g.set_session(SessionType::Race);
    g.set_current_time("1:02:345");
    g.set_last_time("1:58:901");
    g.set_best_time("1:57:012");
    g.set_split("0:31:555");
    g.completed_laps = 3;
    g.position = 2;
    g.i_current_time = 62_345;
    g.i_last_time = 118_901;
    g.i_best_time = 117_012;
    g.session_time_left = 1_200_000.0;
    g.distance_traveled = 15_432.5;
    g.current_sector_index = 1;
    g.last_sector_time = 31_555;
    g.number_of_laps = 10;
    g.set_tyre_compound("Semislicks (SM)");
    g.replay_time_multiplier = 1.0;
    g.normalized_car_position = 0.4375;
    g.car_coordinates = [-120.5, 12.25, 840.0];
    g.set_flag(FlagType::Yellow);
    g.is_in_pit_lane = 1;
    g.surface_grip = 0.98;
    g.wind_speed = 3.5;
    g.wind_direction = 270.0;
    g
}

/// A static page with non-ASCII names.
pub fn static_page() -> StaticPage {
    let mut s = StaticPage::new();
    s.set_sm_version("1.7");
    s.set_ac_version("1.16.4");
    s.number_of_sessions = 3;
    s.num_cars = 24;
    s.set_car_model("ks_porsche_911_gt3_r_2016");
    s.set_track("鈴鹿");
    s.set_player_name("Jürgen");
    s.set_player_surname("Ødegård");
    s.set_player_nick("JÖD");
    s.sector_count = 3;
    s.max_torque = 480.0;
    s.max_power = 368_000.0;
    s.max_rpm = 9250;
    s.max_fuel = 120.0;
    s.suspension_max_travel = [0.1, 0.1, 0.12, 0.12];
    s.tyre_radius = [0.33, 0.33, 0.35, 0.35];
    s.aid_fuel_rate = 1.0;
    s.aid_tire_rate = 1.0;
    s.aid_allow_tyre_blankets = 1;
    s.aid_auto_clutch = 1;
    s.track_spline_length = 5807.0;
    s.set_track_configuration("Nürburgring GP");
    s.ers_max_j = 0.0;
    s.is_timed_race = 1;
    s.set_car_skin("00_official_マンタイ");
    s.pit_window_start = 10;
    s.pit_window_end = 20;
    s
}

/// All three sample pages.
/// Writes the three pages of `snapshot` into bridge-sized files in `dir`.
pub fn write_all(dir: &std::path::Path, snapshot: &Snapshot) {
    let mut writer = shm::DirWriter::create(dir, shm::BRIDGE_FILE_LEN).unwrap();
    writer.write_physics(&snapshot.physics).unwrap();
    writer.write_graphics(&snapshot.graphics).unwrap();
    writer.write_static(&snapshot.static_page).unwrap();
}

pub fn snapshot() -> Snapshot {
    Snapshot { physics: physics(1000), graphics: graphics(400), static_page: static_page() }
}

/// When a tearing source changes the page's packet id, relative to the full copy.
#[derive(Debug, Clone, Copy)]
pub enum Tear {
    /// The game writes a new step just before the first copy: both copies hold it whole (a
    /// consistent read of the new step, not a tear).
    BeforeCopy,
    /// The game writes a new step just after the first copy: the second copy disagrees.
    AfterCopy,
    /// Only the first copy sees a different id; the page before and after is the same.
    InCopyOnly,
    /// The id never changes, but the page's content does between the two copies of an attempt:
    /// a writer that updated the id first and is still writing the rest.
    ContentOnly,
}

/// A snapshot whose physics (and graphics) `packet_id` changes during the next `left` full
/// copies of that page, as if the game wrote a step mid-read.
#[derive(Debug)]
pub struct TearingSource {
    pub inner: Snapshot,
    pub tear: Tear,
    pub left: [u32; 2],
    pub full_copies: [u32; 2],
}

impl TearingSource {
    pub fn new(inner: Snapshot, tear: Tear, physics_tears: u32, graphics_tears: u32) -> Self {
        TearingSource { inner, tear, left: [physics_tears, graphics_tears], full_copies: [0; 2] }
    }

    fn bump(&mut self, page: Page) {
        match page {
            Page::Physics => self.inner.physics.packet_id += 1,
            Page::Graphics => self.inner.graphics.packet_id += 1,
            Page::Static => {}
        }
    }

    fn nudge_content(&mut self, page: Page) {
        match page {
            Page::Physics => self.inner.physics.speed_kmh += 1.0,
            Page::Graphics => self.inner.graphics.distance_traveled += 1.0,
            Page::Static => {}
        }
    }

    fn unbump(&mut self, page: Page) {
        match page {
            Page::Physics => self.inner.physics.packet_id -= 1,
            Page::Graphics => self.inner.graphics.packet_id -= 1,
            Page::Static => {}
        }
    }
}

impl PageSource for TearingSource {
    fn location(&self, page: Page) -> String {
        format!("tearing {page}")
    }

    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        self.inner.page_len(page)
    }

    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        let i = match page {
            Page::Physics => 0,
            Page::Graphics => 1,
            Page::Static => return self.inner.read_at(page, offset, buf),
        };
        // Reads of 4 bytes are the id checks; anything longer is the page copy.
        let full = buf.len() > 4;
        if full {
            self.full_copies[i] += 1;
        }
        // read_page copies the page twice per attempt and compares: tear the first copy of each
        // attempt, so that k tears cost exactly k retries.
        let tear = full && self.left[i] > 0 && self.full_copies[i] % 2 == 1;
        if tear {
            self.left[i] -= 1;
            if matches!(self.tear, Tear::BeforeCopy | Tear::InCopyOnly) {
                self.bump(page);
            }
        }
        self.inner.read_at(page, offset, buf)?;
        if tear {
            match self.tear {
                Tear::AfterCopy => self.bump(page),
                Tear::InCopyOnly => self.unbump(page),
                Tear::ContentOnly => self.nudge_content(page),
                Tear::BeforeCopy => {}
            }
        }
        Ok(())
    }
}
