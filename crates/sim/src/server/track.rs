//! The simulated circuit: a smooth closed curve scaled to the configured length, sampled by arc
//! length so that a car's distance along it is exactly its normalized spline position times the
//! lap length, with a speed limit derived from the curvature.
//!
//! The curve is star-shaped in polar form (`r(θ) > 0` for every θ), which guarantees that it
//! never crosses itself, then stretched along x so that it has two long sides like a real
//! circuit's straights.

use std::f64::consts::TAU;

/// Points on the resampled centre line.
const SAMPLES: usize = 2048;
/// Points on the raw curve before resampling; dense enough that its polyline length is exact to
/// a few centimetres.
const RAW_SAMPLES: usize = 8192;
/// Cornering acceleration at the limit, m/s² (a GT car on slicks, about 1.8 g).
const LATERAL_ACCEL: f64 = 18.0;
/// Top speed, m/s (270 km/h).
const TOP_SPEED: f64 = 75.0;
/// Braking, m/s².
const BRAKING: f64 = 14.0;
/// Traction-limited acceleration, m/s².
const ACCELERATION: f64 = 6.0;
/// Heights of the gentle hills, metres.
const ELEVATION: (f64, f64) = (6.0, 2.5);

/// One point of the centre line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TrackPoint {
    /// World position (x, y up, z), metres.
    pub position: [f64; 3],
    /// Unit direction of travel (includes the slope).
    pub tangent: [f64; 3],
    /// Fastest sensible speed here, m/s.
    pub speed_limit: f64,
}

/// The circuit, precomputed.
#[derive(Clone)]
pub(crate) struct Track {
    length: f64,
    ds: f64,
    points: Vec<[f64; 3]>,
    speed: Vec<f64>,
}

impl Track {
    /// Builds a circuit `length` metres long (the caller has checked it is positive and finite).
    pub(crate) fn new(length: f64) -> Track {
        let raw: Vec<(f64, f64)> = (0..RAW_SAMPLES)
            .map(|i| {
                let th = TAU * i as f64 / RAW_SAMPLES as f64;
                // Low harmonics give the overall shape, high ones the corners. The amplitudes sum
                // to 0.57 < 1, so r stays positive.
                let r = 1.0
                    + 0.3 * (2.0 * th).cos()
                    + 0.08 * (3.0 * th).sin()
                    + 0.04 * (5.0 * th).cos()
                    + 0.07 * (7.0 * th).cos()
                    + 0.05 * (10.0 * th).sin()
                    + 0.03 * (13.0 * th).cos();
                (1.4 * r * th.cos(), r * th.sin())
            })
            .collect();
        let seg = |a: (f64, f64), b: (f64, f64)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let mut cum = Vec::with_capacity(RAW_SAMPLES + 1);
        cum.push(0.0);
        for i in 0..RAW_SAMPLES {
            let next = raw[(i + 1) % RAW_SAMPLES];
            cum.push(cum[i] + seg(raw[i], next));
        }
        let raw_len = cum[RAW_SAMPLES];
        let scale = length / raw_len;

        // Resample at equal arc-length steps.
        let mut points = Vec::with_capacity(SAMPLES);
        let mut j = 0;
        for k in 0..SAMPLES {
            let target = raw_len * k as f64 / SAMPLES as f64;
            while j + 1 < RAW_SAMPLES && cum[j + 1] <= target {
                j += 1;
            }
            let (a, b) = (raw[j], raw[(j + 1) % RAW_SAMPLES]);
            let span = cum[j + 1] - cum[j];
            let t = if span > 0.0 { (target - cum[j]) / span } else { 0.0 };
            let u = k as f64 / SAMPLES as f64;
            let y = ELEVATION.0 * (TAU * u).sin() + ELEVATION.1 * (2.0 * TAU * u + 1.0).cos();
            points.push([(a.0 + (b.0 - a.0) * t) * scale, y, (a.1 + (b.1 - a.1) * t) * scale]);
        }

        let ds = length / SAMPLES as f64;
        let speed = speed_profile(&points, ds);
        Track { length, ds, points, speed }
    }

    /// Lap length, metres.
    pub(crate) fn length(&self) -> f64 {
        self.length
    }

    /// The centre line at `dist` metres from the start/finish line (any value; it wraps).
    pub(crate) fn sample(&self, dist: f64) -> TrackPoint {
        let d = dist.rem_euclid(self.length);
        let f = d / self.ds;
        // `f` is in [0, SAMPLES]; the modulo folds the rounding case f == SAMPLES back to 0.
        let i = (f.floor() as usize) % SAMPLES;
        let t = f - f.floor();
        let j = (i + 1) % SAMPLES;
        let (a, b) = (self.points[i], self.points[j]);
        let position = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
        let tangent = normalize([b[0] - a[0], b[1] - a[1], b[2] - a[2]]);
        let speed_limit = self.speed[i] + (self.speed[j] - self.speed[i]) * t;
        TrackPoint { position, tangent, speed_limit }
    }

    /// Lap time at the speed limit everywhere, seconds (cars run a few per cent slower).
    pub(crate) fn ideal_lap_time(&self) -> f64 {
        self.speed.iter().map(|v| self.ds / v).sum()
    }
}

/// The tables are thousands of numbers; their summary is what a reader of a `Debug` dump needs.
impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track")
            .field("length", &self.length)
            .field("samples", &self.points.len())
            .field("ideal_lap_s", &self.ideal_lap_time())
            .finish_non_exhaustive()
    }
}

fn normalize(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    if n > 0.0 { [v[0] / n, v[1] / n, v[2] / n] } else { [1.0, 0.0, 0.0] }
}

/// Corner speeds from the curvature, then braking before and accelerating out of each corner.
fn speed_profile(points: &[[f64; 3]], ds: f64) -> Vec<f64> {
    let n = points.len();
    // Heading change over a few samples: one sample's change is dominated by resampling noise.
    const SPAN: usize = 4;
    let heading = |a: [f64; 3], b: [f64; 3]| (b[2] - a[2]).atan2(b[0] - a[0]);
    let mut speed: Vec<f64> = (0..n)
        .map(|i| {
            let before = heading(points[(i + n - SPAN) % n], points[i]);
            let after = heading(points[i], points[(i + SPAN) % n]);
            let mut turn = (after - before).abs();
            if turn > std::f64::consts::PI {
                turn = TAU - turn;
            }
            let curvature = turn / (SPAN as f64 * ds);
            if curvature > 1e-9 { (LATERAL_ACCEL / curvature).sqrt().min(TOP_SPEED) } else { TOP_SPEED }
        })
        .collect();
    // Two rounds so that limits propagate across the start/finish line of the closed loop.
    for _ in 0..2 {
        for i in (0..n).rev() {
            let next = speed[(i + 1) % n];
            speed[i] = speed[i].min((next * next + 2.0 * BRAKING * ds).sqrt());
        }
        for i in 0..n {
            let prev = speed[(i + n - 1) % n];
            speed[i] = speed[i].min((prev * prev + 2.0 * ACCELERATION * ds).sqrt());
        }
    }
    speed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    }

    #[test]
    fn arc_length_matches_the_configured_length() {
        let t = Track::new(4318.0);
        let n = 4000;
        let step = t.length() / n as f64;
        let total: f64 = (0..n)
            .map(|i| dist(t.sample(i as f64 * step).position, t.sample((i + 1) as f64 * step).position))
            .sum();
        // The centre line includes the small climbs, so it is slightly longer than its plan.
        assert!((total - 4318.0).abs() < 0.005 * 4318.0, "polyline length {total}");
        // Closed: the end meets the start.
        assert!(dist(t.sample(0.0).position, t.sample(t.length()).position) < 1e-6);
    }

    #[test]
    fn tangent_points_to_the_next_point() {
        let t = Track::new(3000.0);
        for i in 0..100 {
            let d = i as f64 * 29.7;
            let (p, q) = (t.sample(d), t.sample(d + 0.5));
            let dir = normalize([
                q.position[0] - p.position[0],
                q.position[1] - p.position[1],
                q.position[2] - p.position[2],
            ]);
            let dot: f64 = (0..3).map(|k| dir[k] * p.tangent[k]).sum();
            assert!(dot > 0.99, "at {d} m the tangent is off by acos({dot})");
        }
    }

    #[test]
    fn lap_time_and_speeds_are_plausible() {
        let t = Track::new(4318.0);
        let lap = t.ideal_lap_time();
        assert!((60.0..130.0).contains(&lap), "ideal lap {lap} s");
        let min = t.speed.iter().copied().fold(f64::MAX, f64::min);
        let max = t.speed.iter().copied().fold(0.0, f64::max);
        assert!(min > 15.0 && min < 45.0, "slowest corner {min} m/s");
        assert!(max > 60.0 && max <= TOP_SPEED, "top speed {max} m/s");
    }
}
