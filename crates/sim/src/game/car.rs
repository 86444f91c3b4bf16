//! The simulated car: a rear-driven GT3 car's numbers, and the engine and gearbox maths.
//!
//! The figures are round numbers of the right size (mass, power, gearing, grip, drag and
//! downforce of a 2016 GT3 car), chosen so that the laps, speeds, temperatures and pressures a
//! dashboard shows look like the game's, not to reproduce any real car.

use std::f64::consts::PI;

/// Standard gravity, m/s².
pub(crate) const G: f64 = 9.80665;

/// Fixed properties of the car.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CarSpec {
    /// The static page's `carModel`.
    pub model: &'static str,
    /// The static page's `carSkin`.
    pub skin: &'static str,
    /// Mass with driver and no fuel, kg.
    pub mass: f64,
    /// Fuel density, kg/l.
    pub fuel_density: f64,
    /// Tank size, litres.
    pub max_fuel: f64,
    /// Wheelbase and track width, m.
    pub wheelbase: f64,
    pub track_width: f64,
    /// Centre of gravity height, m.
    pub cg_height: f64,
    /// Static weight on the front axle, fraction.
    pub front_weight: f64,
    /// Share of the lateral load transfer taken by the front axle (roll stiffness split).
    pub front_roll_share: f64,
    /// Tyre radii FL, FR, RL, RR, m.
    pub tyre_radius: [f64; 4],
    /// Gear ratios of 1st, 2nd, ...; the page's `gear` is this index + 2.
    pub gears: &'static [f64],
    pub final_drive: f64,
    pub drivetrain_efficiency: f64,
    pub idle_rpm: f64,
    pub max_rpm: f64,
    pub shift_up_rpm: f64,
    pub shift_down_rpm: f64,
    /// Time without drive during a shift, s.
    pub shift_time: f64,
    /// Below this engine speed in first gear the clutch slips (pulling away), rpm.
    pub launch_rpm: f64,
    /// Torque curve `(rpm, N·m)` at full throttle, rising rpm.
    pub torque_curve: &'static [(f64, f64)],
    /// Engine braking at the rev limit with the throttle closed, N·m (scales with rpm).
    pub engine_brake_torque: f64,
    /// Drag and lift areas (`Cd·A`, `Cl·A`), m².
    pub drag_area: f64,
    pub lift_area: f64,
    /// Share of the downforce on the front axle.
    pub aero_front: f64,
    pub rolling_resistance: f64,
    /// Peak tyre friction coefficient.
    pub grip: f64,
    /// Front share of braking force.
    pub brake_bias: f64,
    /// Longitudinal and cornering stiffness, per unit load (force/load per unit slip).
    pub slip_stiffness: f64,
    pub cornering_stiffness: f64,
    /// Wheel rate of the springs, N/m, front and rear.
    pub spring_rate: [f64; 2],
    /// Suspension travel at rest, and its maximum, m.
    pub static_travel: [f64; 2],
    pub max_travel: f64,
    /// Ride height at rest, front and rear, m.
    pub ride_height: [f64; 2],
    /// Static camber, front and rear, rad.
    pub camber: [f64; 2],
    /// Steering ratio and the steering wheel's lock (to one side), rad.
    pub steering_ratio: f64,
    pub steering_lock: f64,
    /// Cold tyre pressure, psi, set at `cold_temp` °C.
    pub cold_pressure: [f64; 2],
    pub cold_temp: f64,
    /// Pit-lane speed limit, m/s.
    pub pit_speed: f64,
    /// Fuel flow at full throttle at the rev limit, and at idle, l/s.
    pub max_fuel_flow: f64,
    pub idle_fuel_flow: f64,
}

/// The one car the simulator drives.
pub(crate) const GT3: CarSpec = CarSpec {
    model: "ks_porsche_911_gt3_r_2016",
    skin: "00_official",
    mass: 1300.0,
    fuel_density: 0.745,
    max_fuel: 120.0,
    wheelbase: 2.46,
    track_width: 1.6,
    cg_height: 0.45,
    front_weight: 0.42,
    front_roll_share: 0.55,
    tyre_radius: [0.33, 0.33, 0.345, 0.345],
    gears: &[3.0, 2.2, 1.72, 1.4, 1.18, 1.0],
    final_drive: 4.1,
    drivetrain_efficiency: 0.9,
    idle_rpm: 1100.0,
    max_rpm: 9250.0,
    shift_up_rpm: 8900.0,
    shift_down_rpm: 5200.0,
    shift_time: 0.06,
    launch_rpm: 3500.0,
    torque_curve: &[
        (0.0, 200.0),
        (1000.0, 250.0),
        (3000.0, 380.0),
        (6250.0, 480.0),
        (8500.0, 413.0),
        (9250.0, 370.0),
    ],
    engine_brake_torque: 70.0,
    drag_area: 1.0,
    lift_area: 2.2,
    aero_front: 0.42,
    rolling_resistance: 0.012,
    grip: 1.4,
    brake_bias: 0.58,
    slip_stiffness: 12.0,
    cornering_stiffness: 16.0,
    spring_rate: [120_000.0, 140_000.0],
    static_travel: [0.035, 0.04],
    max_travel: 0.12,
    ride_height: [0.06, 0.08],
    camber: [-0.061, -0.044],
    steering_ratio: 12.0,
    steering_lock: 4.71,
    cold_pressure: [20.5, 20.5],
    cold_temp: 25.0,
    pit_speed: 80.0 / 3.6,
    max_fuel_flow: 0.045,
    idle_fuel_flow: 0.0008,
};

impl CarSpec {
    /// Full-throttle torque at `rpm`, N·m (linear between the curve's points).
    pub(crate) fn torque(&self, rpm: f64) -> f64 {
        let curve = self.torque_curve;
        let i = curve.partition_point(|&(r, _)| r <= rpm);
        match (curve.get(i.wrapping_sub(1)), curve.get(i)) {
            (Some(&(r0, t0)), Some(&(r1, t1))) => t0 + (t1 - t0) * (rpm - r0) / (r1 - r0),
            (Some(&(_, t)), None) | (None, Some(&(_, t))) => t,
            (None, None) => 0.0,
        }
    }

    /// Peak power, W, and peak torque, N·m, from the curve (for the static page).
    pub(crate) fn peaks(&self) -> (f64, f64) {
        let mut power: f64 = 0.0;
        let mut torque: f64 = 0.0;
        let mut rpm = self.idle_rpm;
        while rpm <= self.max_rpm {
            let t = self.torque(rpm);
            torque = torque.max(t);
            power = power.max(t * rpm * PI / 30.0);
            rpm += 10.0;
        }
        (power, torque)
    }

    /// Overall ratio engine/wheel in `gear` (0-based forward gear).
    pub(crate) fn overall_ratio(&self, gear: usize) -> f64 {
        self.gears.get(gear).copied().unwrap_or(1.0) * self.final_drive
    }

    /// Engine speed the driven wheels impose at `speed` m/s in `gear`, rpm.
    pub(crate) fn wheel_rpm(&self, speed: f64, gear: usize) -> f64 {
        speed / self.tyre_radius[2] * self.overall_ratio(gear) * 30.0 / PI
    }

    /// Number of forward gears.
    pub(crate) fn top_gear(&self) -> usize {
        self.gears.len() - 1
    }

    /// Mass with `fuel` litres aboard, kg.
    pub(crate) fn mass_with(&self, fuel: f64) -> f64 {
        self.mass + fuel * self.fuel_density
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torque_curve_interpolates_and_clamps() {
        assert_eq!(GT3.torque(6250.0), 480.0);
        assert!((GT3.torque(2000.0) - 315.0).abs() < 1e-9);
        assert_eq!(GT3.torque(20_000.0), 370.0);
        let (power, torque) = GT3.peaks();
        assert_eq!(torque, 480.0);
        assert!((330_000.0..400_000.0).contains(&power), "{power} W");
    }

    #[test]
    fn gearing_gives_a_plausible_speed_range() {
        // First gear tops out around 100 km/h, sixth past the drag-limited top speed.
        let first = GT3.max_rpm / GT3.wheel_rpm(1.0, 0);
        let sixth = GT3.max_rpm / GT3.wheel_rpm(1.0, GT3.top_gear());
        assert!((25.0..35.0).contains(&first), "{first} m/s");
        assert!((78.0..100.0).contains(&sixth), "{sixth} m/s");
    }
}
