//! `SPageFilePhysics` (`acpmf_physics`): the car, once per physics step.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{PHYSICS_DOCUMENTED_SIZE, PHYSICS_SIZE, assert_layout, flag_accessors, page_common};
use crate::enums::P2pStatus;

/// The physics page: the 580 bytes of the AC doc (SM 1.7, AC 1.12+), then the 132-byte tail
/// of Kunos' later header (`P2PActivations` … `tyreTemp`), which AC readers disagree on. The
/// tail is treated as optional: a source may hold only 580 bytes, and then the tail reads as
/// zeros; see [`has_tail`](Self::has_tail).
///
/// Per-wheel arrays are in the order FL, FR, RL, RR. Units are AC's own (km/h, psi, °C, m,
/// rad, N), as documented on each field.
#[derive(Debug, Clone, Copy, PartialEq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct PhysicsPage {
    /// `packetId`: step counter, +1 per write of this page.
    pub packet_id: i32,
    /// `gas`: throttle, 0..1.
    pub gas: f32,
    /// `brake`: brake pedal, 0..1.
    pub brake: f32,
    /// `fuel`: fuel in the tank, litres.
    pub fuel: f32,
    /// `gear`: 0 = reverse, 1 = neutral, 2 = first, ...
    pub gear: i32,
    /// `rpms`: engine speed, rpm.
    pub rpms: i32,
    /// `steerAngle`: steering (unit not stated by Kunos).
    pub steer_angle: f32,
    /// `speedKmh`: speed, km/h.
    pub speed_kmh: f32,
    /// `velocity`: world frame \[x, y, z\], m/s.
    pub velocity: [f32; 3],
    /// `accG`: acceleration in the car frame \[x, y, z\], g.
    pub acc_g: [f32; 3],
    /// `wheelSlip`: per-wheel slip.
    pub wheel_slip: [f32; 4],
    /// `wheelLoad`: per-wheel load, N.
    pub wheel_load: [f32; 4],
    /// `wheelsPressure`: tyre pressure, psi.
    pub wheels_pressure: [f32; 4],
    /// `wheelAngularSpeed`: rad/s.
    pub wheel_angular_speed: [f32; 4],
    /// `tyreWear`: per-wheel wear.
    pub tyre_wear: [f32; 4],
    /// `tyreDirtyLevel`: per-wheel dirt.
    pub tyre_dirty_level: [f32; 4],
    /// `tyreCoreTemperature`: °C.
    pub tyre_core_temperature: [f32; 4],
    /// `camberRAD`: camber, rad.
    pub camber_rad: [f32; 4],
    /// `suspensionTravel`: m.
    pub suspension_travel: [f32; 4],
    /// `drs`: DRS present and enabled, 0 or 1 (a float in the page).
    pub drs: f32,
    /// `tc`: traction-control slip-ratio limit, if enabled.
    pub tc: f32,
    /// `heading`: rad (world).
    pub heading: f32,
    /// `pitch`: rad (world).
    pub pitch: f32,
    /// `roll`: rad (world).
    pub roll: f32,
    /// `cgHeight`: centre-of-gravity height, m.
    pub cg_height: f32,
    /// `carDamage`: damage per car section; the AC doc says only the first 4 are valid.
    pub car_damage: [f32; 5],
    /// `numberOfTyresOut`: tyres off track.
    pub number_of_tyres_out: i32,
    /// `pitLimiterOn`: 0 or 1.
    pub pit_limiter_on: i32,
    /// `abs`: ABS slip-ratio limit, if enabled.
    pub abs: f32,
    /// `kersCharge`: KERS/ERS battery, 0..1.
    pub kers_charge: f32,
    /// `kersInput`: KERS/ERS input, 0..1.
    pub kers_input: f32,
    /// `autoShifterOn`: 0 or 1.
    pub auto_shifter_on: i32,
    /// `rideHeight`: front, rear; m.
    pub ride_height: [f32; 2],
    /// `turboBoost` (SM 1.5; unit not stated).
    pub turbo_boost: f32,
    /// `ballast`: kg (SM 1.5).
    pub ballast: f32,
    /// `airDensity` (SM 1.5; unit not stated).
    pub air_density: f32,
    /// `airTemp`: ambient, °C (SM 1.6).
    pub air_temp: f32,
    /// `roadTemp`: track, °C (SM 1.6).
    pub road_temp: f32,
    /// `localAngularVel`: car frame \[x, y, z\], rad/s (SM 1.6).
    pub local_angular_vel: [f32; 3],
    /// `finalFF`: current force-feedback output (SM 1.6).
    pub final_ff: f32,
    /// `performanceMeter`: versus the best lap (SM 1.7).
    pub performance_meter: f32,
    /// `engineBrake`: engine-brake setting (SM 1.7).
    pub engine_brake: i32,
    /// `ersRecoveryLevel` (SM 1.7).
    pub ers_recovery_level: i32,
    /// `ersPowerLevel`: ERS power controller (SM 1.7).
    pub ers_power_level: i32,
    /// `ersHeatCharging`: 0 = motor, 1 = battery (SM 1.7).
    pub ers_heat_charging: i32,
    /// `ersIsCharging`: 0 or 1 (SM 1.7).
    pub ers_is_charging: i32,
    /// `kersCurrentKJ`: KERS/ERS energy used this lap, kJ (SM 1.7).
    pub kers_current_kj: f32,
    /// `drsAvailable`: 0 or 1, in a DRS zone (SM 1.7).
    pub drs_available: i32,
    /// `drsEnabled`: 0 or 1 (SM 1.7).
    pub drs_enabled: i32,
    /// `brakeTemp`: °C (SM 1.7).
    pub brake_temp: [f32; 4],
    /// `clutch`: 0..1 (AC 1.10).
    pub clutch: f32,
    /// `tyreTempI`: inner tread, °C (AC 1.10).
    pub tyre_temp_i: [f32; 4],
    /// `tyreTempM`: middle tread, °C (AC 1.10).
    pub tyre_temp_m: [f32; 4],
    /// `tyreTempO`: outer tread, °C (AC 1.10).
    pub tyre_temp_o: [f32; 4],
    /// `isAIControlled`: 0 human, 1 AI (AC 1.10.2).
    pub is_ai_controlled: i32,
    /// `tyreContactPoint`: \[wheel\]\[x, y, z\], world, m (AC 1.11).
    pub tyre_contact_point: [[f32; 3]; 4],
    /// `tyreContactNormal`: \[wheel\]\[x, y, z\], unit vector (AC 1.11).
    pub tyre_contact_normal: [[f32; 3]; 4],
    /// `tyreContactHeading`: \[wheel\]\[x, y, z\], unit vector (AC 1.11).
    pub tyre_contact_heading: [[f32; 3]; 4],
    /// `brakeBias`: 0 (rear) .. 1 (front) (AC 1.11).
    pub brake_bias: f32,
    /// `localVelocity`: car frame \[x, y, z\], m/s (AC 1.12). Last documented field.
    pub local_velocity: [f32; 3],

    // The optional tail (Kunos' later header, not in the AC doc).
    /// `P2PActivations`: push-to-pass activations left (optional tail).
    pub p2p_activations: i32,
    /// `P2PStatus`: see [`p2p_status()`](Self::p2p_status) (optional tail).
    pub p2p_status: i32,
    /// `currentMaxRpm`: current rev limit (optional tail). An `int` as in Kunos' header; some
    /// readers use `float`.
    pub current_max_rpm: i32,
    /// `mz`: self-aligning torque per wheel (optional tail).
    pub mz: [f32; 4],
    /// `fx`: longitudinal tyre force per wheel (optional tail).
    pub fx: [f32; 4],
    /// `fy`: lateral tyre force per wheel (optional tail).
    pub fy: [f32; 4],
    /// `slipRatio` per wheel (optional tail).
    pub slip_ratio: [f32; 4],
    /// `slipAngle` per wheel, rad (optional tail).
    pub slip_angle: [f32; 4],
    /// `tcinAction`: 0 or 1 (optional tail).
    pub tcin_action: i32,
    /// `absInAction`: 0 or 1 (optional tail).
    pub abs_in_action: i32,
    /// `suspensionDamage` per wheel (optional tail).
    pub suspension_damage: [f32; 4],
    /// `tyreTemp` per wheel, °C (optional tail).
    pub tyre_temp: [f32; 4],
}

assert_layout!(PhysicsPage, size = PHYSICS_SIZE, {
    packet_id = 0, gas = 4, brake = 8, fuel = 12, gear = 16, rpms = 20, steer_angle = 24,
    speed_kmh = 28, velocity = 32, acc_g = 44, wheel_slip = 56, wheel_load = 72,
    wheels_pressure = 88, wheel_angular_speed = 104, tyre_wear = 120, tyre_dirty_level = 136,
    tyre_core_temperature = 152, camber_rad = 168, suspension_travel = 184, drs = 200, tc = 204,
    heading = 208, pitch = 212, roll = 216, cg_height = 220, car_damage = 224,
    number_of_tyres_out = 244, pit_limiter_on = 248, abs = 252, kers_charge = 256,
    kers_input = 260, auto_shifter_on = 264, ride_height = 268, turbo_boost = 276, ballast = 280,
    air_density = 284, air_temp = 288, road_temp = 292, local_angular_vel = 296, final_ff = 308,
    performance_meter = 312, engine_brake = 316, ers_recovery_level = 320, ers_power_level = 324,
    ers_heat_charging = 328, ers_is_charging = 332, kers_current_kj = 336, drs_available = 340,
    drs_enabled = 344, brake_temp = 348, clutch = 364, tyre_temp_i = 368, tyre_temp_m = 384,
    tyre_temp_o = 400, is_ai_controlled = 416, tyre_contact_point = 420,
    tyre_contact_normal = 468, tyre_contact_heading = 516, brake_bias = 564, local_velocity = 568,
    p2p_activations = 580, p2p_status = 584, current_max_rpm = 588, mz = 592, fx = 608, fy = 624,
    slip_ratio = 640, slip_angle = 656, tcin_action = 672, abs_in_action = 676,
    suspension_damage = 680, tyre_temp = 696,
});
// The documented part ends exactly where the tail starts.
const _: () = assert!(core::mem::offset_of!(PhysicsPage, p2p_activations) == PHYSICS_DOCUMENTED_SIZE);

page_common!(PhysicsPage, crate::Page::Physics);

flag_accessors!(PhysicsPage {
    pit_limiter_on,
    auto_shifter_on,
    ers_is_charging,
    drs_available,
    drs_enabled,
    is_ai_controlled,
    tcin_action,
    abs_in_action,
});

impl PhysicsPage {
    /// Whether the optional tail (bytes 580..712) holds anything. AC readers disagree on
    /// whether AC1 fills it, so, as docs/shm.md says, it counts as present only if non-zero.
    pub fn has_tail(&self) -> bool {
        self.as_bytes()[PHYSICS_DOCUMENTED_SIZE..].iter().any(|&b| b != 0)
    }

    /// `P2PStatus` decoded (optional tail; `Off` when the tail is absent).
    pub fn p2p_status(&self) -> P2pStatus {
        P2pStatus::from(self.p2p_status)
    }

    /// Sets `P2PStatus`.
    pub fn set_p2p_status(&mut self, status: P2pStatus) {
        self.p2p_status = status.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_presence_follows_its_bytes() {
        let mut page = PhysicsPage::new();
        page.local_velocity = [1.0, 2.0, 3.0];
        assert!(!page.has_tail(), "documented fields do not count as a tail");
        page.tyre_temp[3] = 80.0;
        assert!(page.has_tail());
    }

    #[test]
    fn flags_and_p2p() {
        let mut page = PhysicsPage::new();
        assert!(!page.pit_limiter_on());
        page.pit_limiter_on = 1;
        assert!(page.pit_limiter_on());
        page.set_p2p_status(P2pStatus::Cooling);
        assert_eq!(page.p2p_status, 1);
        assert_eq!(page.p2p_status(), P2pStatus::Cooling);
    }
}
