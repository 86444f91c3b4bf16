//! [`GameSim`]: the pure core. One call to [`GameSim::step`] is one physics step of the game
//! (3 ms of simulated time) and returns the pages the game writes during it.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shm::{FlagType, GraphicsPage, PhysicsPage, SessionType, Snapshot, StaticPage, Status};

use super::car::{CarSpec, G, GT3};
use super::driver::Driver;
use super::faults::Faults;
use super::model::{Car, Conditions, Gear, Pedals};
use super::timing::{LapRecord, Timing, format_lap_time};
use super::track::{DEFAULT_TRACK, Track};
use crate::error::SimError;

/// Simulated time per physics step: the game's physics runs at a fixed 333 Hz.
pub const PHYSICS_STEP: Duration = Duration::from_millis(3);
/// Simulated time between graphics updates (60 Hz, rounded to the microsecond).
pub const GRAPHICS_INTERVAL: Duration = Duration::from_micros(16_667);

const STEP_US: u64 = 3_000;
const STEP_MS: u64 = 3;
/// How long the car waits in its pit box at the start of a session, on the session clock, ms.
const PIT_BOX_MS: u64 = 1_500;
/// Share of the grip the driver uses, drawn per lap from this range.
const MARGIN: std::ops::Range<f64> = 0.90..0.95;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct GameConfig {
    /// Seed of everything random: the same seed and configuration give the same pages.
    pub seed: u64,
    /// A built-in track (see [`TRACK_NAMES`](super::TRACK_NAMES)).
    pub track: String,
    /// Session type shown in the graphics page.
    pub session: SessionType,
    /// Session length; `sessionTimeLeft` counts down from it, and the chequered flag shows
    /// once it has run out (the car keeps lapping, as in practice).
    pub session_length: Duration,
    /// Number of cars in the session (the static page's `numCars`).
    pub cars: i32,
    /// The player's race position (the graphics page's `position`).
    pub position: i32,
    /// Player's name, surname and nickname (any Unicode; cut to 32 UTF-16 units).
    pub player_name: String,
    pub player_surname: String,
    pub player_nick: String,
    /// Car model folder the static page reports (`carModel`), e.g. to be the car a server's
    /// entry list gives the player; the physics are the simulator's GT3 car whatever it says.
    /// Cut to 32 UTF-16 units.
    pub car_model: String,
    /// Skin folder the static page reports (`carSkin`); cut to 32 UTF-16 units.
    pub car_skin: String,
    /// Fuel at the start of each session, litres.
    pub fuel: f64,
    /// Faults to inject (none by default).
    pub faults: Faults,
}

impl Default for GameConfig {
    fn default() -> Self {
        GameConfig {
            seed: 0,
            track: DEFAULT_TRACK.to_owned(),
            session: SessionType::Practice,
            session_length: Duration::from_secs(3600),
            cars: 1,
            position: 1,
            player_name: "Jürgen".to_owned(),
            player_surname: "Ødegård".to_owned(),
            player_nick: "JÖD".to_owned(),
            car_model: GT3.model.to_owned(),
            car_skin: GT3.skin.to_owned(),
            fuel: 60.0,
            faults: Faults::none(),
        }
    }
}

impl GameConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), SimError> {
        Track::builtin(&self.track)?;
        if !(self.fuel > 0.0 && self.fuel <= GT3.max_fuel) {
            return Err(SimError::config(
                "fuel",
                format!("is {}; it must be in (0, {}] litres", self.fuel, GT3.max_fuel),
            ));
        }
        if self.cars < 1 || self.cars > 64 {
            return Err(SimError::config("cars", format!("is {}; it must be 1 to 64", self.cars)));
        }
        if self.position < 1 || self.position > self.cars {
            return Err(SimError::config(
                "position",
                format!("is {}; it must be 1 to cars ({})", self.position, self.cars),
            ));
        }
        if self.car_model.trim().is_empty() {
            return Err(SimError::config("car_model", "is empty; the static page needs a car"));
        }
        if self.session_length.is_zero() {
            return Err(SimError::config("session_length", "must be positive"));
        }
        self.faults.validate()
    }
}

/// What the game writes during one physics step, in the order it writes it: the static page
/// (at a session start), then physics, then graphics.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Index of the step since the simulator started, from 0 (paused steps count).
    pub step: u64,
    /// Simulated time at the end of the step (pauses included).
    pub sim_time: Duration,
    /// The static page, on the first step of each session.
    pub static_page: Option<StaticPage>,
    /// The physics page of this step; `None` while paused, or when the step was dropped
    /// (fault), in which case the next written `packetId` jumps.
    pub physics: Option<PhysicsPage>,
    /// The graphics page, when a graphics update (60 Hz) falls in this step.
    pub graphics: Option<GraphicsPage>,
    /// Fault: the physics page is to be written torn (see
    /// [`GameWriter`](super::GameWriter)).
    pub torn: bool,
    /// Fault: this step's physics page was computed but not written.
    pub dropped: bool,
    /// The lap completed during this step.
    pub lap: Option<LapRecord>,
}

impl Frame {
    /// Folds a later frame into this one, keeping the latest of each page: what a writer that
    /// falls behind writes (several steps pass, only the last state lands in the files).
    pub fn merge(&mut self, later: Frame) {
        self.step = later.step;
        self.sim_time = later.sim_time;
        if later.static_page.is_some() {
            // A session started: what came before belongs to the old one.
            self.static_page = later.static_page;
            self.physics = None;
            self.graphics = None;
            self.torn = false;
        }
        if later.physics.is_some() {
            self.physics = later.physics;
            self.torn = later.torn;
        }
        if later.graphics.is_some() {
            self.graphics = later.graphics;
        }
        self.dropped = later.dropped;
        if later.lap.is_some() {
            self.lap = later.lap;
        }
    }
}

/// Counters of a [`GameSim`], since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GameStats {
    /// Physics steps simulated (paused ones included).
    pub steps: u64,
    /// Physics pages produced for writing.
    pub physics_writes: u64,
    /// Graphics pages produced.
    pub graphics_writes: u64,
    /// Steps computed but not written (the `drop` fault): the `packetId`s a reader never sees.
    pub dropped_steps: u64,
    /// Physics writes marked torn (the `tear` fault).
    pub torn_writes: u64,
    /// Pauses started (by the `pause` fault or [`GameSim::set_paused`]).
    pub pauses: u64,
    /// Steps spent paused.
    pub paused_steps: u64,
    /// Sessions started: 1, plus one per restart.
    pub sessions: u64,
}

/// Where the car is in its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Standing in the pit box (beside the line) in neutral.
    PitBox,
    /// Driving down the pit lane at the limiter.
    PitLane,
    /// On track.
    Racing,
}

/// The game simulator: a car lapping a circuit, producing the three pages step by step.
///
/// Deterministic: the same [`GameConfig`] gives the same frames, byte for byte. It is driven
/// by [`step`](Self::step) (one 3 ms physics step) or [`advance`](Self::advance) (a stretch of
/// simulated time), never by a real clock; [`GameRunner`](super::GameRunner) adds one.
pub struct GameSim {
    config: GameConfig,
    track: Track,
    spec: &'static CarSpec,
    conditions: Conditions,
    wind: (f32, f32),
    rng: ChaCha8Rng,
    fault_rng: ChaCha8Rng,
    car: Car,
    driver: Driver,
    timing: Timing,
    phase: Phase,
    step_index: u64,
    sim_us: u64,
    carry_us: u64,
    session: u32,
    session_ms: u64,
    distance: f64,
    physics_id: i32,
    graphics_id: i32,
    next_graphics_us: u64,
    /// Paused by the caller.
    paused: bool,
    /// End of the current fault pause, and start of the next.
    pause_until_us: Option<u64>,
    next_pause_us: Option<u64>,
    next_restart_us: Option<u64>,
    session_started: bool,
    physics: PhysicsPage,
    graphics: GraphicsPage,
    static_page: StaticPage,
    laps: Vec<LapRecord>,
    stats: GameStats,
}

impl GameSim {
    /// A simulator at the start of its first session: the car in its pit box, nothing written
    /// yet (the first [`step`](Self::step) returns all three pages).
    pub fn new(config: GameConfig) -> Result<GameSim, SimError> {
        config.validate()?;
        let track = Track::builtin(&config.track)?;
        let spec = &GT3;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        // Faults draw from another stream of the same seed, so they never change the driving.
        let mut fault_rng = ChaCha8Rng::seed_from_u64(config.seed);
        fault_rng.set_stream(1);

        let air_temp = rng.random_range(16.0..30.0);
        let conditions = Conditions {
            air_temp,
            road_temp: air_temp + rng.random_range(5.0..15.0),
            // Dry air at sea level, by the ideal gas law.
            air_density: 101_325.0 / (287.05 * (air_temp + 273.15)),
            grip: rng.random_range(0.96..1.0),
        };
        let wind = (rng.random_range(0.0..8.0f32), rng.random_range(0.0..360.0f32).floor());
        let car = Car::new(spec, &conditions, 0.0, config.fuel);
        let margin = rng.random_range(MARGIN);
        let driver = Driver::new(&track, spec, &conditions, spec.mass_with(config.fuel), margin);
        let timing = Timing::new(track.sector_starts(), track.length(), 1);
        let next_pause_us = config.faults.pause_every.map(|every| jittered(&mut fault_rng, every));
        let next_restart_us = config.faults.restart_every.map(|every| every.as_micros() as u64);

        let mut sim = GameSim {
            config,
            track,
            spec,
            conditions,
            wind,
            rng,
            fault_rng,
            car,
            driver,
            timing,
            phase: Phase::PitBox,
            step_index: 0,
            sim_us: 0,
            carry_us: 0,
            session: 1,
            session_ms: 0,
            distance: 0.0,
            physics_id: 0,
            graphics_id: 0,
            next_graphics_us: 0,
            paused: false,
            pause_until_us: None,
            next_pause_us,
            next_restart_us,
            session_started: true,
            physics: PhysicsPage::new(),
            graphics: GraphicsPage::new(),
            static_page: StaticPage::new(),
            laps: Vec::new(),
            stats: GameStats { sessions: 1, ..GameStats::default() },
        };
        sim.static_page = sim.build_static();
        Ok(sim)
    }

    /// The configuration.
    pub fn config(&self) -> &GameConfig {
        &self.config
    }

    /// The circuit.
    pub fn track(&self) -> &Track {
        &self.track
    }

    /// Simulated time so far (pauses included).
    pub fn sim_time(&self) -> Duration {
        Duration::from_micros(self.sim_us)
    }

    /// The session clock: simulated time the current session has been live (pauses excluded).
    pub fn session_time(&self) -> Duration {
        Duration::from_millis(self.session_ms)
    }

    /// The current session, from 1.
    pub fn session(&self) -> u32 {
        self.session
    }

    /// The last physics page written (dropped steps are not).
    pub fn physics(&self) -> &PhysicsPage {
        &self.physics
    }

    /// The last graphics page written.
    pub fn graphics(&self) -> &GraphicsPage {
        &self.graphics
    }

    /// The static page of the current session.
    pub fn static_page(&self) -> &StaticPage {
        &self.static_page
    }

    /// The three pages as a reader of the game's memory would find them now: usable as an
    /// in-process [`PageSource`](shm::PageSource).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { physics: self.physics, graphics: self.graphics, static_page: self.static_page }
    }

    /// Every lap completed so far, in every session: the exact times the graphics page
    /// reports.
    pub fn laps(&self) -> &[LapRecord] {
        &self.laps
    }

    /// The counters so far.
    pub fn stats(&self) -> &GameStats {
        &self.stats
    }

    /// Whether the game is paused (by the caller or by a fault).
    pub fn is_paused(&self) -> bool {
        self.paused || self.pause_until_us.is_some()
    }

    /// Pauses or resumes the game, as the player's Escape key does: while paused the status is
    /// `PAUSE`, the graphics page keeps being written, the physics page is not, and the
    /// session clock stops.
    pub fn set_paused(&mut self, paused: bool) {
        if paused && !self.is_paused() {
            self.stats.pauses += 1;
        }
        self.paused = paused;
    }

    /// Restarts the session, as the game's "restart session" does: the car back in its pit
    /// box with a full tank and fresh tyres, the timing cleared, the static page written
    /// again and the `packetId`s starting again from 1 on the next step.
    pub fn restart_session(&mut self) {
        self.session += 1;
        self.stats.sessions += 1;
        self.car = Car::new(self.spec, &self.conditions, 0.0, self.config.fuel);
        let margin = self.rng.random_range(MARGIN);
        self.driver.plan(
            &self.track,
            self.spec,
            &self.conditions,
            self.spec.mass_with(self.config.fuel),
            margin,
        );
        self.timing = Timing::new(self.track.sector_starts(), self.track.length(), self.session);
        self.phase = Phase::PitBox;
        self.session_ms = 0;
        self.distance = 0.0;
        self.physics_id = 0;
        self.graphics_id = 0;
        self.pause_until_us = None;
        self.session_started = true;
        self.static_page = self.build_static();
    }

    /// Runs the simulator for `dt` of simulated time: as many whole physics steps as fit (the
    /// remainder is carried to the next call). Returns the steps' frames merged into one (see
    /// [`Frame::merge`]), as a writer that writes once at the end would write them; `None` if
    /// no whole step fitted. Laps completed meanwhile are all in [`laps`](Self::laps).
    pub fn advance(&mut self, dt: Duration) -> Option<Frame> {
        let total = self.carry_us + dt.as_micros() as u64;
        self.carry_us = total % STEP_US;
        let mut merged: Option<Frame> = None;
        for _ in 0..total / STEP_US {
            let frame = self.step();
            match &mut merged {
                Some(m) => m.merge(frame),
                None => merged = Some(frame),
            }
        }
        merged
    }

    /// One physics step: 3 ms of simulated time.
    pub fn step(&mut self) -> Frame {
        let step = self.step_index;
        self.step_index += 1;
        self.sim_us += STEP_US;
        self.stats.steps += 1;

        if self.next_restart_us.is_some_and(|at| self.sim_us >= at) {
            let every = self.config.faults.restart_every.unwrap_or(Duration::from_secs(60));
            self.next_restart_us = Some(self.sim_us + every.as_micros() as u64);
            self.restart_session();
        }
        self.schedule_pauses();

        let mut frame = Frame {
            step,
            sim_time: self.sim_time(),
            static_page: None,
            physics: None,
            graphics: None,
            torn: false,
            dropped: false,
            lap: None,
        };
        let starting = std::mem::take(&mut self.session_started);
        if starting {
            frame.static_page = Some(self.static_page);
        }

        if self.is_paused() {
            self.stats.paused_steps += 1;
        } else {
            frame.lap = self.drive();
            self.physics_id += 1;
            let page = self.build_physics();
            // The first step of a session is always written, so a reader sees it start.
            let faults = &self.config.faults;
            if !starting && faults.drop_rate > 0.0 && self.fault_rng.random_bool(faults.drop_rate) {
                frame.dropped = true;
                self.stats.dropped_steps += 1;
            } else {
                frame.torn =
                    !starting && faults.tear_rate > 0.0 && self.fault_rng.random_bool(faults.tear_rate);
                self.stats.torn_writes += u64::from(frame.torn);
                self.stats.physics_writes += 1;
                self.physics = page;
                frame.physics = Some(page);
            }
        }

        if starting || self.sim_us >= self.next_graphics_us {
            let interval = GRAPHICS_INTERVAL.as_micros() as u64;
            while self.next_graphics_us <= self.sim_us {
                self.next_graphics_us += interval;
            }
            self.graphics_id += 1;
            self.graphics = self.build_graphics();
            self.stats.graphics_writes += 1;
            frame.graphics = Some(self.graphics);
        }
        if let Some(lap) = &frame.lap {
            self.laps.push(lap.clone());
        }
        frame
    }

    /// Starts and ends the `pause` fault's pauses.
    fn schedule_pauses(&mut self) {
        if self.pause_until_us.is_some_and(|until| self.sim_us >= until) {
            self.pause_until_us = None;
        }
        let Some(every) = self.config.faults.pause_every else { return };
        if self.next_pause_us.is_some_and(|at| self.sim_us >= at) {
            if !self.is_paused() {
                self.stats.pauses += 1;
            }
            let until = self.sim_us + self.config.faults.pause_for.as_micros() as u64;
            self.pause_until_us = Some(until);
            self.next_pause_us = Some(until + jittered(&mut self.fault_rng, every));
        }
    }

    /// Moves the car one step; returns the lap it completed, if any.
    fn drive(&mut self) -> Option<LapRecord> {
        let dt = STEP_US as f64 / 1e6;
        self.session_ms += STEP_MS;
        let length = self.track.length();
        match self.phase {
            Phase::PitBox if self.session_ms >= PIT_BOX_MS => {
                self.phase = Phase::PitLane;
                self.car.gear = Gear::Forward(0);
            }
            Phase::PitLane if self.car.s >= self.track.pit_exit() => self.phase = Phase::Racing,
            _ => {}
        }
        self.car.pit_limiter = self.phase != Phase::Racing;
        let point = self.track.point(self.car.s);
        self.car.pedals = match self.phase {
            Phase::PitBox => Pedals { throttle: 0.0, brake: 1.0 },
            Phase::PitLane | Phase::Racing => {
                let mass = self.spec.mass_with(self.car.fuel);
                let normal = mass * G + self.car.downforce;
                let capacity = self.spec.grip * self.conditions.grip * normal / mass;
                let mut pedals = self.driver.pedals(self.car.s, self.car.speed, capacity);
                // A human foot is never perfectly still.
                if pedals.throttle > 0.0 {
                    pedals.throttle = (pedals.throttle + self.rng.random_range(-0.02..0.02)).clamp(0.0, 1.0);
                }
                pedals
            }
        };
        let before = self.car.s;
        self.car.step(self.spec, &self.conditions, &point, dt);
        self.distance += self.car.s - before;

        let lap = self.timing.update(self.session_ms, self.car.s, self.sim_time());
        if lap.is_some() {
            self.car.s -= length;
            // A new lap, a slightly different driver: each lap's time differs a little.
            let margin = self.rng.random_range(MARGIN);
            let mass = self.spec.mass_with(self.car.fuel);
            self.driver.plan(&self.track, self.spec, &self.conditions, mass, margin);
        }
        // Rounding can leave the car a hair past the line after the subtraction.
        self.car.s = self.car.s.clamp(0.0, length);
        if self.car.s >= length {
            self.car.s = 0.0;
        }
        lap
    }

    /// The normalized position, strictly below 1: it wraps to 0 on the step `completedLaps`
    /// goes up, never shows 1.0 before it.
    fn normalized_position(&self) -> f32 {
        let n = (self.car.s / self.track.length()) as f32;
        if n >= 1.0 { f32::from_bits(1.0f32.to_bits() - 1) } else { n.max(0.0) }
    }

    fn build_physics(&mut self) -> PhysicsPage {
        let spec = self.spec;
        let car = &self.car;
        let point = self.track.point(car.s);
        let h = point.heading;
        let (sin_h, cos_h) = h.sin_cos();
        let pitch_slope = point.slope.atan();
        let (forward, right) = ([cos_h, 0.0, sin_h], [sin_h, 0.0, -cos_h]);
        let v = car.speed;
        let lateral_g = car.lateral / G;
        let long_g = car.accel / G;

        let mut p = PhysicsPage::new();
        p.packet_id = self.physics_id;
        p.gas = car.pedals.throttle as f32;
        p.brake = car.brake as f32;
        p.fuel = car.fuel as f32;
        p.gear = car.gear.page_value();
        p.rpms = car.rpm.round() as i32;
        // Normalised steering input, positive to the right (the car frame's +x).
        p.steer_angle = page_f32(
            (-(car.steer + self.rng.random_range(-0.0005..0.0005)) * spec.steering_ratio
                / spec.steering_lock)
                .clamp(-1.0, 1.0),
        );
        p.speed_kmh = (v * 3.6) as f32;
        let climb = pitch_slope.sin();
        let flat = pitch_slope.cos();
        p.velocity = [(v * flat * cos_h) as f32, (v * climb) as f32, (v * flat * sin_h) as f32];
        // Car frame: x right, y up, z forward. A left turn accelerates the car to its left.
        let bump = self.rng.random_range(-0.03..0.03);
        p.acc_g = [page_f32(-lateral_g), bump as f32, long_g as f32];
        p.wheel_slip = std::array::from_fn(|i| car.slip_ratio[i].hypot(car.slip_angle[i]) as f32);
        p.wheel_load = car.load.map(|l| l as f32);
        p.wheels_pressure = car.tyre_pressure(spec).map(|x| x as f32);
        p.wheel_angular_speed = car.wheel_speed.map(|x| x as f32);
        p.tyre_wear = car.tyre_wear.map(|x| x as f32);
        p.tyre_core_temperature = car.tyre_core.map(|x| x as f32);
        // Body roll (outwards in a corner) takes camber from the outside wheels.
        let roll = 0.012 * lateral_g;
        p.camber_rad = std::array::from_fn(|i| {
            let side = if i % 2 == 1 { 1.0 } else { -1.0 };
            (spec.camber[i / 2] + side * roll * 0.5) as f32
        });
        p.suspension_travel = std::array::from_fn(|i| {
            (car.suspension[i] + self.rng.random_range(-0.0005..0.0005)).clamp(0.0, spec.max_travel) as f32
        });
        p.tc = 0.15;
        p.abs = 0.12;
        p.heading = h as f32;
        p.pitch = (pitch_slope + 0.008 * long_g) as f32;
        p.roll = roll as f32;
        p.cg_height = spec.cg_height as f32;
        p.pit_limiter_on = i32::from(car.pit_limiter);
        p.auto_shifter_on = 1;
        let travel_front = (car.suspension[0] + car.suspension[1]) / 2.0 - spec.static_travel[0];
        let travel_rear = (car.suspension[2] + car.suspension[3]) / 2.0 - spec.static_travel[1];
        p.ride_height =
            [(spec.ride_height[0] - travel_front) as f32, (spec.ride_height[1] - travel_rear) as f32];
        p.air_density = self.conditions.air_density as f32;
        p.air_temp = self.conditions.air_temp as f32;
        p.road_temp = self.conditions.road_temp as f32;
        p.local_angular_vel = [0.0, (v * point.curvature) as f32, 0.0];
        p.final_ff = page_f32((-(car.fy[0] + car.fy[1]) / 9000.0).clamp(-1.0, 1.0));
        p.performance_meter = self.timing.delta_to_best(self.session_ms, car.s) as f32;
        p.brake_temp = car.brake_temp.map(|x| x as f32);
        p.clutch = car.clutch as f32;
        let [inner, middle, outer] = car.tread_temps(spec);
        p.tyre_temp_i = inner.map(|x| x as f32);
        p.tyre_temp_m = middle.map(|x| x as f32);
        p.tyre_temp_o = outer.map(|x| x as f32);
        // Wheel contact points: the axles sit ahead of and behind the centre of gravity.
        let front_axle = spec.wheelbase * (1.0 - spec.front_weight);
        let rear_axle = -spec.wheelbase * spec.front_weight;
        let normal = normalize([-point.slope * cos_h, 1.0, -point.slope * sin_h]);
        for i in 0..4 {
            let along = if i < 2 { front_axle } else { rear_axle };
            let across = if i % 2 == 1 { spec.track_width / 2.0 } else { -spec.track_width / 2.0 };
            let pos = point.position;
            p.tyre_contact_point[i] =
                std::array::from_fn(|k| (pos[k] + forward[k] * along + right[k] * across) as f32);
            p.tyre_contact_normal[i] = normal.map(page_f32);
            let wheel_heading = if i < 2 { h + car.steer } else { h };
            p.tyre_contact_heading[i] = [wheel_heading.cos() as f32, 0.0, wheel_heading.sin() as f32];
        }
        p.brake_bias = spec.brake_bias as f32;
        // The rear slides out a little in corners: a small sideways velocity in the car frame.
        p.local_velocity = [page_f32(-0.004 * v * lateral_g), (v * climb) as f32, (v * flat) as f32];

        p.current_max_rpm = spec.max_rpm as i32;
        p.mz = std::array::from_fn(|i| {
            let fade = (1.0 - car.slip_angle[i].abs() / 0.12).max(0.0);
            page_f32(-car.fy[i] * 0.025 * fade)
        });
        p.fx = car.fx.map(|x| x as f32);
        p.fy = car.fy.map(|x| x as f32);
        p.slip_ratio = car.slip_ratio.map(|x| x as f32);
        p.slip_angle = car.slip_angle.map(|x| x as f32);
        p.tcin_action = i32::from(car.tc_active);
        p.abs_in_action = i32::from(car.abs_active);
        p.tyre_temp = std::array::from_fn(|i| ((inner[i] + middle[i] + outer[i]) / 3.0) as f32);
        p
    }

    fn build_graphics(&self) -> GraphicsPage {
        let t = &self.timing;
        let mut g = GraphicsPage::new();
        g.packet_id = self.graphics_id;
        g.set_status(if self.is_paused() { Status::Pause } else { Status::Live });
        g.set_session(self.config.session);
        let current = t.current_ms(self.session_ms);
        g.set_current_time(&format_lap_time(current));
        g.set_last_time(&format_lap_time(t.last_lap_ms.unwrap_or(-1)));
        g.set_best_time(&format_lap_time(t.best_lap_ms.unwrap_or(-1)));
        g.set_split(&format_lap_time(t.last_sector_ms.unwrap_or(-1)));
        g.completed_laps = t.completed_laps as i32;
        g.position = self.config.position;
        g.i_current_time = current;
        g.i_last_time = t.last_lap_ms.unwrap_or(0);
        g.i_best_time = t.best_lap_ms.unwrap_or(0);
        let length_ms = self.config.session_length.as_millis() as u64;
        g.session_time_left = length_ms.saturating_sub(self.session_ms) as f32;
        g.distance_traveled = self.distance as f32;
        g.is_in_pit = i32::from(self.phase == Phase::PitBox);
        g.current_sector_index = t.current_sector as i32;
        g.last_sector_time = t.last_sector_ms.unwrap_or(0);
        g.number_of_laps = 0;
        g.set_tyre_compound("Slick Medium (SM)");
        g.replay_time_multiplier = 1.0;
        g.normalized_car_position = self.normalized_position();
        g.car_coordinates = self.track.point(self.car.s).position.map(|x| x as f32);
        g.set_flag(if self.session_ms >= length_ms { FlagType::Checkered } else { FlagType::NoFlag });
        g.is_in_pit_lane = i32::from(self.phase != Phase::Racing);
        g.surface_grip = self.conditions.grip as f32;
        g.wind_speed = self.wind.0;
        g.wind_direction = self.wind.1;
        g
    }

    fn build_static(&self) -> StaticPage {
        let spec = self.spec;
        let (power, torque) = spec.peaks();
        let mut s = StaticPage::new();
        s.set_sm_version("1.7");
        s.set_ac_version("1.16.4");
        s.number_of_sessions = 1;
        s.num_cars = self.config.cars;
        s.set_car_model(&self.config.car_model);
        s.set_track(self.track.name());
        s.set_player_name(&self.config.player_name);
        s.set_player_surname(&self.config.player_surname);
        s.set_player_nick(&self.config.player_nick);
        s.sector_count = self.track.sector_count() as i32;
        s.max_torque = torque as f32;
        s.max_power = power as f32;
        s.max_rpm = spec.max_rpm as i32;
        s.max_fuel = spec.max_fuel as f32;
        s.suspension_max_travel = [spec.max_travel as f32; 4];
        s.tyre_radius = spec.tyre_radius.map(|r| r as f32);
        s.penalties_enabled = 1;
        s.aid_fuel_rate = 1.0;
        s.aid_tire_rate = 1.0;
        s.aid_mechanical_damage = 1.0;
        s.aid_allow_tyre_blankets = 1;
        s.aid_auto_clutch = 1;
        s.aid_auto_blip = 1;
        s.track_spline_length = self.track.length() as f32;
        s.set_track_configuration(self.track.configuration());
        s.set_car_skin(&self.config.car_skin);
        s
    }
}

/// The state is mostly tables (the track, the driver's envelope); a summary is what a `Debug`
/// dump needs.
impl std::fmt::Debug for GameSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameSim")
            .field("track", &self.track.name())
            .field("session", &self.session)
            .field("sim_time", &self.sim_time())
            .field("session_time", &self.session_time())
            .field("physics_id", &self.physics_id)
            .field("graphics_id", &self.graphics_id)
            .field("paused", &self.is_paused())
            .field("laps", &self.laps.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// `every` scaled by a random factor in [0.5, 1.5), in microseconds.
fn jittered(rng: &mut ChaCha8Rng, every: Duration) -> u64 {
    (every.as_micros() as f64 * rng.random_range(0.5..1.5)) as u64
}

/// `x` as the page's `f32`, with a negated zero made positive: `-0.0` would show in dumps
/// (and in JSON) as noise.
fn page_f32(x: f64) -> f32 {
    (x + 0.0) as f32
}

fn normalize(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|x| x / n)
}
