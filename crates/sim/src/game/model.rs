//! The vehicle model: one car following the centre line, with its speed, engine, gearbox,
//! loads, tyres, brakes and suspension advanced by fixed physics steps.
//!
//! It is a point-mass model along the track with a friction circle, the way lap-time
//! simulators start: the car stays on the centre line, its lateral acceleration is `v²·κ`, and
//! what grip is left after cornering bounds driving and braking. On top of that sit the
//! quantities a telemetry page shows, each from a small first-order model: load transfer from
//! the accelerations, slip from the force each tyre carries, tyre heating from the slip power,
//! pressures from the temperatures (ideal gas), wear from the energy, brake heating from the
//! braking power, and suspension travel from the loads.

use super::car::{CarSpec, G};
use super::track::TrackPoint;

/// Atmospheric pressure, psi: tyre pressures are gauge pressures.
const ATMOSPHERE_PSI: f64 = 14.696;
/// Tyre pressure at which the tread heats evenly, psi.
const IDEAL_PRESSURE: f64 = 27.5;

/// Weather and track conditions, fixed for a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Conditions {
    /// Ambient and track temperatures, °C.
    pub air_temp: f64,
    pub road_temp: f64,
    /// Air density, kg/m³.
    pub air_density: f64,
    /// Track grip factor (the graphics page's `surfaceGrip`).
    pub grip: f64,
}

/// The driver's pedals, 0..1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Pedals {
    pub throttle: f64,
    pub brake: f64,
}

/// Where the gearbox is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gear {
    Neutral,
    /// Forward gear, 0-based (0 is first).
    Forward(usize),
}

impl Gear {
    /// The page's encoding: 0 reverse, 1 neutral, 2 first, ...
    pub(crate) fn page_value(self) -> i32 {
        match self {
            Gear::Neutral => 1,
            Gear::Forward(g) => g as i32 + 2,
        }
    }
}

/// Everything that changes about the car.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Car {
    /// Distance along the lap, metres, in `[0, length)` between steps.
    pub s: f64,
    /// Speed along the track, m/s.
    pub speed: f64,
    /// Longitudinal and lateral (positive: left) acceleration of the last step, m/s².
    pub accel: f64,
    pub lateral: f64,
    pub gear: Gear,
    pub rpm: f64,
    /// Time left in the current gear change, s.
    pub shift_timer: f64,
    /// Clutch pedal, 0 released .. 1 pressed.
    pub clutch: f64,
    /// Pedals as applied (after the pit limiter and the rev limiter).
    pub throttle: f64,
    pub brake: f64,
    /// The driver's pedals, as pressed.
    pub pedals: Pedals,
    pub pit_limiter: bool,
    pub fuel: f64,
    /// Road-wheel steering angle, rad, positive left.
    pub steer: f64,
    pub load: [f64; 4],
    pub fx: [f64; 4],
    pub fy: [f64; 4],
    pub slip_ratio: [f64; 4],
    pub slip_angle: [f64; 4],
    pub wheel_speed: [f64; 4],
    pub tyre_core: [f64; 4],
    pub tyre_surface: [f64; 4],
    /// Outer minus inner tread temperature, °C.
    pub tyre_edge: [f64; 4],
    /// Tread left, percent (100 new).
    pub tyre_wear: [f64; 4],
    pub brake_temp: [f64; 4],
    pub suspension: [f64; 4],
    pub tc_active: bool,
    pub abs_active: bool,
    pub downforce: f64,
}

impl Car {
    /// A car standing still at `s` in neutral, tyres out of their blankets.
    pub(crate) fn new(spec: &CarSpec, conditions: &Conditions, s: f64, fuel: f64) -> Car {
        let mass = spec.mass_with(fuel);
        let mut car = Car {
            s,
            speed: 0.0,
            accel: 0.0,
            lateral: 0.0,
            gear: Gear::Neutral,
            rpm: spec.idle_rpm,
            shift_timer: 0.0,
            clutch: 0.0,
            throttle: 0.0,
            brake: 0.0,
            pedals: Pedals::default(),
            pit_limiter: false,
            fuel,
            steer: 0.0,
            load: [0.0; 4],
            fx: [0.0; 4],
            fy: [0.0; 4],
            slip_ratio: [0.0; 4],
            slip_angle: [0.0; 4],
            wheel_speed: [0.0; 4],
            tyre_core: [70.0; 4],
            tyre_surface: [68.0; 4],
            tyre_edge: [-4.0; 4],
            tyre_wear: [100.0; 4],
            brake_temp: [conditions.air_temp + 60.0; 4],
            suspension: [
                spec.static_travel[0],
                spec.static_travel[0],
                spec.static_travel[1],
                spec.static_travel[1],
            ],
            tc_active: false,
            abs_active: false,
            downforce: 0.0,
        };
        car.load = static_loads(spec, mass);
        car
    }

    /// Tyre pressures, psi, from the core temperatures.
    pub(crate) fn tyre_pressure(&self, spec: &CarSpec) -> [f64; 4] {
        std::array::from_fn(|i| {
            let cold = spec.cold_pressure[i / 2] + ATMOSPHERE_PSI;
            cold * (self.tyre_core[i] + 273.15) / (spec.cold_temp + 273.15) - ATMOSPHERE_PSI
        })
    }

    /// Inner, middle and outer tread temperatures, °C.
    pub(crate) fn tread_temps(&self, spec: &CarSpec) -> [[f64; 4]; 3] {
        let pressure = self.tyre_pressure(spec);
        let inner = std::array::from_fn(|i| self.tyre_surface[i] - self.tyre_edge[i] / 2.0);
        // An over-inflated tyre bulges and runs hot in the middle.
        let middle = std::array::from_fn(|i| self.tyre_surface[i] + 1.2 * (pressure[i] - IDEAL_PRESSURE));
        let outer = std::array::from_fn(|i| self.tyre_surface[i] + self.tyre_edge[i] / 2.0);
        [inner, middle, outer]
    }

    /// Advances the car by `dt` seconds on the stretch of track at `point`.
    pub(crate) fn step(&mut self, spec: &CarSpec, conditions: &Conditions, point: &TrackPoint, dt: f64) {
        let mass = spec.mass_with(self.fuel);
        let v = self.speed;
        let kappa = point.curvature;
        let cos_slope = 1.0 / (1.0 + point.slope * point.slope).sqrt();
        let sin_slope = point.slope * cos_slope;

        let q = 0.5 * conditions.air_density * v * v;
        let downforce = q * spec.lift_area;
        let drag = q * spec.drag_area;
        let normal = mass * G * cos_slope + downforce;
        let lateral = v * v * kappa;
        let mu = spec.grip * conditions.grip;
        // Friction circle: the share of each tyre's grip left for driving and braking.
        let a_max = mu * normal / mass;
        let circle = (1.0 - (lateral / a_max).powi(2)).max(0.0).sqrt();

        // Engine and clutch.
        let pedal_throttle = self.pedals.throttle.clamp(0.0, 1.0);
        let mut throttle = pedal_throttle;
        if self.pit_limiter {
            // The limiter holds the speed by cutting the throttle, with a short proportional band.
            throttle = throttle.min(((spec.pit_speed - v) * 2.0).clamp(0.0, 1.0));
        }
        if self.fuel <= 0.0 {
            throttle = 0.0;
        }
        let mut drive_torque = 0.0;
        match self.gear {
            Gear::Neutral => {
                self.clutch = 0.0;
                let free_rev = spec.idle_rpm + throttle * (spec.max_rpm - spec.idle_rpm);
                self.rpm += (free_rev - self.rpm) * (dt / 0.15).min(1.0);
            }
            Gear::Forward(gear) => {
                let wheel_rpm = spec.wheel_rpm(v, gear);
                if self.shift_timer > 0.0 {
                    // Automatic clutch during the change: no drive, the engine drops towards the
                    // new gear's speed.
                    self.shift_timer -= dt;
                    self.clutch = 1.0;
                    throttle = 0.0;
                    self.rpm += (wheel_rpm.max(spec.idle_rpm) - self.rpm) * (dt / 0.04).min(1.0);
                } else if gear == 0 && wheel_rpm < spec.launch_rpm {
                    // Pulling away: the clutch slips and holds the engine near the launch speed.
                    let target = spec.idle_rpm + (spec.launch_rpm - spec.idle_rpm) * throttle;
                    self.rpm = wheel_rpm.max(target);
                    self.clutch = (1.0 - wheel_rpm / spec.launch_rpm).clamp(0.0, 1.0);
                    drive_torque = throttle * spec.torque(self.rpm);
                } else {
                    self.clutch = 0.0;
                    self.rpm = wheel_rpm.max(spec.idle_rpm);
                    if self.rpm >= spec.max_rpm {
                        // Rev limiter: the ignition is cut.
                        throttle = 0.0;
                    }
                    let braking_torque = spec.engine_brake_torque * self.rpm / spec.max_rpm;
                    drive_torque = throttle * spec.torque(self.rpm) - (1.0 - throttle) * braking_torque;
                }
                drive_torque *= spec.overall_ratio(gear) * spec.drivetrain_efficiency / spec.tyre_radius[2];
            }
        }
        self.rpm = self.rpm.min(spec.max_rpm);
        let mut drive = drive_torque;

        // Traction of the driven rear wheels, with the load transferred by the last step's
        // acceleration.
        let transfer = mass * self.accel * spec.cg_height / spec.wheelbase;
        let rear_normal =
            mass * G * cos_slope * (1.0 - spec.front_weight) + downforce * (1.0 - spec.aero_front) + transfer;
        let traction = mu * rear_normal.max(0.0) * circle;
        self.tc_active = drive > traction;
        drive = drive.min(traction);

        // Brakes: the system could lock the wheels; ABS trims the force to the grip left.
        let demand = self.pedals.brake.clamp(0.0, 1.0) * 1.15 * mu * normal;
        let brake_limit = mu * normal * circle;
        self.abs_active = demand > brake_limit && demand > 0.0;
        let braking = demand.min(brake_limit);

        let resistance = drag + spec.rolling_resistance * normal + mass * G * sin_slope;
        let mut accel = (drive - braking - resistance) / mass;
        if v + accel * dt < 0.0 {
            // Brakes and drag stop the car; they never push it backwards.
            accel = -v / dt;
        }
        let v_new = v + accel * dt;
        self.speed = v_new;
        self.s += v_new * dt;
        self.accel = accel;
        self.lateral = v_new * v_new * kappa;
        self.throttle = throttle;
        self.brake = self.pedals.brake.clamp(0.0, 1.0);
        self.downforce = downforce;

        self.change_gear(spec);
        let flow = spec.idle_fuel_flow
            + (spec.max_fuel_flow - spec.idle_fuel_flow) * throttle * self.rpm / spec.max_rpm;
        self.fuel = (self.fuel - flow * dt).max(0.0);

        // Steering: the geometric angle for the curvature plus a little understeer.
        self.steer = (spec.wheelbase * kappa).atan() + 0.012 * self.lateral / G;

        self.update_wheels(spec, conditions, mass, drive.max(0.0), braking + (-drive).max(0.0), dt);
    }

    /// The automatic gearbox: change up at the shift point, down when the engine bogs and the
    /// lower gear will not over-rev.
    fn change_gear(&mut self, spec: &CarSpec) {
        let Gear::Forward(gear) = self.gear else { return };
        if self.shift_timer > 0.0 {
            return;
        }
        let rpm = spec.wheel_rpm(self.speed, gear);
        if rpm >= spec.shift_up_rpm && gear < spec.top_gear() {
            self.gear = Gear::Forward(gear + 1);
            self.shift_timer = spec.shift_time;
        } else if gear > 0
            && rpm < spec.shift_down_rpm
            && spec.wheel_rpm(self.speed, gear - 1) < spec.shift_up_rpm - 700.0
        {
            self.gear = Gear::Forward(gear - 1);
            // Downshifts are blipped and quicker.
            self.shift_timer = spec.shift_time * 0.7;
        }
    }

    /// Loads, forces, slips, temperatures, wear and suspension of the four wheels.
    fn update_wheels(
        &mut self,
        spec: &CarSpec,
        conditions: &Conditions,
        mass: f64,
        drive: f64,
        retard: f64,
        dt: f64,
    ) {
        let v = self.speed;
        // Load transfer: forwards under braking, outwards in corners (split by roll stiffness).
        let long = mass * self.accel * spec.cg_height / spec.wheelbase;
        let lat = mass * self.lateral * spec.cg_height / spec.track_width;
        let front_axle = mass * G * spec.front_weight + self.downforce * spec.aero_front - long;
        let rear_axle =
            mass * G * (1.0 - spec.front_weight) + self.downforce * (1.0 - spec.aero_front) + long;
        let (lat_f, lat_r) = (lat * spec.front_roll_share, lat * (1.0 - spec.front_roll_share));
        // A left turn (positive lateral) loads the right-hand wheels.
        self.load = [
            (front_axle / 2.0 - lat_f).max(100.0),
            (front_axle / 2.0 + lat_f).max(100.0),
            (rear_axle / 2.0 - lat_r).max(100.0),
            (rear_axle / 2.0 + lat_r).max(100.0),
        ];
        let total: f64 = self.load.iter().sum();
        let statics = static_loads(spec, mass);

        for (i, &at_rest) in statics.iter().enumerate() {
            let front = i < 2;
            let load = self.load[i];
            let brake_share = if front { spec.brake_bias } else { 1.0 - spec.brake_bias } / 2.0;
            let drive_share = if front { 0.0 } else { 0.5 };
            let fx = drive * drive_share - retard * brake_share;
            let fy = mass * self.lateral * load / total;
            let mut ratio = fx / (spec.slip_stiffness * load);
            if !front && self.tc_active {
                // Traction control lets the rears spin a little past the peak.
                ratio *= 1.3;
            }
            let angle = fy / (spec.cornering_stiffness * load);
            self.fx[i] = fx;
            self.fy[i] = fy;
            self.slip_ratio[i] = ratio;
            self.slip_angle[i] = angle;
            self.wheel_speed[i] = v * (1.0 + ratio) / spec.tyre_radius[i];

            // Heat: the work done in slip, plus the rolling hysteresis of the carcass.
            let power =
                (fx * ratio * v).abs() + (fy * angle * v).abs() + 2.0 * spec.rolling_resistance * load * v;
            let cooling = 0.006 * (1.0 + v / 30.0) * (self.tyre_core[i] - conditions.air_temp)
                + 0.002 * (self.tyre_core[i] - conditions.road_temp);
            self.tyre_core[i] += (0.009 * power.sqrt() - cooling) * dt;
            let surface = self.tyre_core[i] + 0.000_3 * power;
            self.tyre_surface[i] += (surface - self.tyre_surface[i]) * (dt / 0.3).min(1.0);
            // Negative camber heats the inner edge; cornering heats the outside tyres' outer edge.
            let outside = if i % 2 == 1 { self.lateral } else { -self.lateral } / G;
            let edge = -6.0 + if outside > 0.0 { 10.0 * outside } else { 3.0 * outside };
            self.tyre_edge[i] += (edge - self.tyre_edge[i]) * dt.min(1.0);
            self.tyre_wear[i] = (self.tyre_wear[i] - 4.0e-7 * power * dt).max(0.0);

            let brake_power = retard * brake_share * v;
            let brake_cooling = 0.025 * (0.2 + v / 30.0) * (self.brake_temp[i] - conditions.air_temp);
            self.brake_temp[i] += (brake_power / 4000.0 - brake_cooling) * dt;

            let axle = usize::from(!front);
            let travel = spec.static_travel[axle] + (load - at_rest) / spec.spring_rate[axle];
            self.suspension[i] = travel.clamp(0.0, spec.max_travel);
        }
    }
}

/// Wheel loads of the car at rest, N.
fn static_loads(spec: &CarSpec, mass: f64) -> [f64; 4] {
    let front = mass * G * spec.front_weight / 2.0;
    let rear = mass * G * (1.0 - spec.front_weight) / 2.0;
    [front, front, rear, rear]
}

#[cfg(test)]
mod tests {
    use super::super::car::GT3;
    use super::*;

    fn conditions() -> Conditions {
        Conditions { air_temp: 25.0, road_temp: 35.0, air_density: 1.18, grip: 1.0 }
    }

    fn straight() -> TrackPoint {
        TrackPoint { position: [0.0; 3], heading: 0.0, curvature: 0.0, slope: 0.0 }
    }

    #[test]
    fn full_throttle_on_a_straight_accelerates_through_the_gears_to_a_top_speed() {
        let c = conditions();
        let mut car = Car::new(&GT3, &c, 0.0, 60.0);
        car.gear = Gear::Forward(0);
        car.pedals = Pedals { throttle: 1.0, brake: 0.0 };
        let mut hundred = None;
        let mut gears = Vec::new();
        for i in 0..(120.0 / 0.003) as usize {
            car.step(&GT3, &c, &straight(), 0.003);
            if hundred.is_none() && car.speed >= 100.0 / 3.6 {
                hundred = Some(i as f64 * 0.003);
            }
            if gears.last() != Some(&car.gear) {
                gears.push(car.gear);
            }
            assert!(car.rpm <= GT3.max_rpm && car.rpm >= GT3.idle_rpm - 1.0);
        }
        let hundred = hundred.unwrap();
        assert!((2.5..5.0).contains(&hundred), "0-100 km/h in {hundred} s");
        let top = car.speed * 3.6;
        assert!((260.0..320.0).contains(&top), "top speed {top} km/h");
        assert_eq!(gears, (0..6).map(Gear::Forward).collect::<Vec<_>>());
        assert!(car.fuel < 60.0 && car.fuel > 50.0, "{} l left", car.fuel);
    }

    #[test]
    fn braking_decelerates_at_about_the_grip_limit_and_heats_the_brakes() {
        let c = conditions();
        let mut car = Car::new(&GT3, &c, 0.0, 60.0);
        car.gear = Gear::Forward(5);
        car.speed = 70.0;
        car.pedals = Pedals { throttle: 0.0, brake: 1.0 };
        let before = car.brake_temp[0];
        car.step(&GT3, &c, &straight(), 0.003);
        car.step(&GT3, &c, &straight(), 0.003);
        let g = -car.accel / G;
        assert!((1.4..2.6).contains(&g), "{g} g");
        assert!(car.abs_active);
        while car.speed > 0.0 {
            car.step(&GT3, &c, &straight(), 0.003);
        }
        assert!(car.brake_temp[0] > before + 100.0, "{} °C", car.brake_temp[0]);
        assert!(car.brake_temp[0] > car.brake_temp[2], "the front brakes work harder");
        // Under braking the load moves forwards (checked mid-stop).
        assert_eq!(car.speed, 0.0);
    }

    #[test]
    fn cornering_loads_the_outside_wheels() {
        let c = conditions();
        let mut car = Car::new(&GT3, &c, 0.0, 60.0);
        car.gear = Gear::Forward(2);
        car.speed = 30.0;
        car.pedals = Pedals { throttle: 0.3, brake: 0.0 };
        let left = TrackPoint { curvature: 1.0 / 80.0, ..straight() };
        car.step(&GT3, &c, &left, 0.003);
        assert!(car.lateral > 10.0);
        assert!(car.load[1] > car.load[0] && car.load[3] > car.load[2], "{:?}", car.load);
        assert!(car.suspension[1] > car.suspension[0]);
        assert!(car.steer > 0.0);
        let total: f64 = car.load.iter().sum();
        let expected = GT3.mass_with(car.fuel) * G + car.downforce;
        assert!((total - expected).abs() < 1.0, "{total} vs {expected}");
    }

    #[test]
    fn pressures_rise_with_temperature() {
        let c = conditions();
        let mut car = Car::new(&GT3, &c, 0.0, 60.0);
        car.tyre_core = [GT3.cold_temp; 4];
        assert!((car.tyre_pressure(&GT3)[0] - GT3.cold_pressure[0]).abs() < 1e-9);
        car.tyre_core = [85.0; 4];
        let hot = car.tyre_pressure(&GT3)[0];
        assert!((26.0..30.0).contains(&hot), "{hot} psi");
    }
}
