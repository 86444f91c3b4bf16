//! The driver: brakes for the corners and accelerates out of them, by following a speed
//! envelope computed for the circuit.
//!
//! The envelope is what a lap-time simulator computes: at each metre the fastest speed the
//! corner allows (lateral grip, helped by downforce), then a backward pass that lowers it
//! where the car must already be braking for the next corner. The driver uses a share of the
//! grip (`margin`, varied a little from lap to lap, which makes each lap's time different) and
//! follows the envelope a few metres ahead with the pedals.

use super::car::{CarSpec, G};
use super::model::{Conditions, Pedals};
use super::track::Track;

/// Envelope resolution, metres (the exact spacing is `length / n`).
const SPACING: f64 = 1.0;
/// Speed used where the envelope has no limit, m/s (above the car's top speed).
const UNLIMITED: f64 = 110.0;
/// Share of the available braking the envelope plans with: the rest is the driver's reserve.
const BRAKE_SHARE: f64 = 0.85;
/// How far ahead the driver looks, seconds of travel (plus a couple of metres).
const LOOK_AHEAD: f64 = 0.1;

/// A speed envelope and the controller that follows it.
#[derive(Debug, Clone)]
pub(crate) struct Driver {
    envelope: Vec<f64>,
    ds: f64,
    length: f64,
}

impl Driver {
    /// A driver using `margin` (0..1) of the grip on `track`.
    pub(crate) fn new(
        track: &Track,
        spec: &CarSpec,
        conditions: &Conditions,
        mass: f64,
        margin: f64,
    ) -> Driver {
        let length = track.length();
        let n = (length / SPACING).ceil().max(4.0) as usize;
        let mut driver = Driver { envelope: vec![0.0; n], ds: length / n as f64, length };
        driver.plan(track, spec, conditions, mass, margin);
        driver
    }

    /// Recomputes the envelope (a new lap, a new margin, a lighter car).
    pub(crate) fn plan(
        &mut self,
        track: &Track,
        spec: &CarSpec,
        conditions: &Conditions,
        mass: f64,
        margin: f64,
    ) {
        let n = self.envelope.len();
        let mu = spec.grip * conditions.grip * margin;
        // Downforce per unit mass per (m/s)².
        let aero = 0.5 * conditions.air_density * spec.lift_area / mass;
        let drag = 0.5 * conditions.air_density * spec.drag_area / mass;
        let kappa: Vec<f64> = (0..n).map(|i| track.curvature(i as f64 * self.ds).abs()).collect();
        for (v, &k) in self.envelope.iter_mut().zip(&kappa) {
            // v²·κ = μ·(g + aero·v²) solved for v; no limit when downforce outgrows the corner.
            let denom = k - mu * aero;
            *v = if denom > 0.0 { (mu * G / denom).sqrt().min(UNLIMITED) } else { UNLIMITED };
        }
        // Two rounds so the braking for the first corner reaches back across the line.
        for _ in 0..2 {
            for i in (0..n).rev() {
                let next = self.envelope[(i + 1) % n];
                let a_max = mu * (G + aero * next * next);
                let lat = next * next * kappa[i];
                let a = BRAKE_SHARE * (a_max * a_max - lat * lat).max(0.0).sqrt() + drag * next * next;
                self.envelope[i] = self.envelope[i].min((next * next + 2.0 * a * self.ds).sqrt());
            }
        }
    }

    /// Target speed at `s`, m/s.
    pub(crate) fn target(&self, s: f64) -> f64 {
        let f = s.rem_euclid(self.length) / self.ds;
        let n = self.envelope.len();
        let i = (f.floor() as usize) % n;
        let t = f - f.floor();
        self.envelope[i] + (self.envelope[(i + 1) % n] - self.envelope[i]) * t
    }

    /// Pedals for a car at `s` going at `v` m/s whose brakes can decelerate it by up to
    /// `brake_capacity` m/s².
    pub(crate) fn pedals(&self, s: f64, v: f64, brake_capacity: f64) -> Pedals {
        let ahead = s + v * LOOK_AHEAD + 2.0;
        let target = self.target(ahead);
        let error = target - v;
        if error >= 0.0 {
            // Below the envelope: throttle in proportion, with enough to hold the speed.
            Pedals { throttle: (0.35 + 1.2 * error).clamp(0.0, 1.0), brake: 0.0 }
        } else if error > -0.6 {
            // Slightly over: lift.
            Pedals { throttle: (0.35 + 0.6 * error).clamp(0.0, 1.0), brake: 0.0 }
        } else {
            // Over: brake with what the envelope's slope asks for, plus a correction.
            let further = self.target(ahead + 10.0);
            let decel = ((target * target - further * further) / 20.0).max(0.0);
            let feed_forward = decel / brake_capacity.max(1.0);
            Pedals { throttle: 0.0, brake: (feed_forward + 0.3 * (-error - 0.6)).clamp(0.05, 1.0) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::car::GT3;
    use super::super::track::TRACK_NAMES;
    use super::*;

    #[test]
    fn the_envelope_is_slow_in_corners_and_fast_on_straights() {
        let c = Conditions { air_temp: 25.0, road_temp: 35.0, air_density: 1.18, grip: 1.0 };
        for name in TRACK_NAMES {
            let track = Track::builtin(name).unwrap();
            let d = Driver::new(&track, &GT3, &c, 1350.0, 0.92);
            let speeds: Vec<f64> = (0..1000).map(|i| d.target(i as f64 * track.length() / 1000.0)).collect();
            let min = speeds.iter().copied().fold(f64::MAX, f64::min);
            let max = speeds.iter().copied().fold(0.0, f64::max);
            assert!((12.0..45.0).contains(&min), "{name}: slowest {min} m/s");
            assert!(max > 2.0 * min, "{name}: fastest {max} m/s");
            // It may rise at once out of a corner (the car's own acceleration limits it), but it
            // falls no faster than the car can brake: a few m/s per bin of a few metres.
            for w in speeds.windows(2) {
                assert!(w[1] - w[0] > -5.0, "{name}: drop {w:?}");
            }
        }
    }

    #[test]
    fn pedals_brake_above_and_accelerate_below() {
        let c = Conditions { air_temp: 25.0, road_temp: 35.0, air_density: 1.18, grip: 1.0 };
        let track = Track::builtin("pitwall_oval").unwrap();
        let d = Driver::new(&track, &GT3, &c, 1350.0, 0.92);
        let s = 10.0;
        let target = d.target(s);
        let slow = d.pedals(s, target - 10.0, 15.0);
        assert_eq!((slow.throttle, slow.brake), (1.0, 0.0));
        let fast = d.pedals(s, target + 10.0, 15.0);
        assert!(fast.throttle == 0.0 && fast.brake > 0.5, "{fast:?}");
    }
}
