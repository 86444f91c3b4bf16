//! A track's outline, learned from the cars' positions: no `map.ini` or track file needed.
//!
//! Every car update carries a world position and a position along the lap (the spline, 0..1).
//! The lap is cut into [`BINS`] equal stretches of spline; each keeps the last [`KEPT`]
//! positions seen in it, and the outline is, per stretch, the median of those (x and z apart).
//! Medians, not means, because a car in the pit lane or off the track reports a spline position
//! of the racing line beside it: a few such points in a stretch move a mean, not a median.
//! Stretches no car has been seen in yet are filled along the straight line between their
//! learned neighbours, so a map is drawn after a few laps of a few cars, and sharpens as more
//! positions come.

use serde::Serialize;

/// Stretches of the lap: about 8 m each on a 4 km circuit.
pub const BINS: usize = 512;

/// Positions kept per stretch; the oldest is replaced first, so the outline follows the latest
/// laps.
pub const KEPT: usize = 9;

/// Fewest learned stretches before an outline is given: fewer would draw a polygon, not a track.
pub const MIN_LEARNED: usize = 16;

/// The outline of a track, as a closed line in the world's horizontal plane.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackOutline {
    /// Track, e.g. `ks_vallelunga`.
    pub track: String,
    /// Layout; may be empty.
    pub layout: String,
    /// `points[i]` is the world position (x, z), metres, at spline `i / points.len()`.
    pub points: Vec<[f32; 2]>,
    /// Stretches learned from positions (the rest are filled in between), out of
    /// `points.len()`.
    pub learned: usize,
    /// Positions taken in since the track was set.
    pub samples: u64,
}

/// The learner of one track's outline.
#[derive(Debug, Clone)]
pub struct OutlineLearner {
    track: String,
    layout: String,
    bins: Vec<Bin>,
    samples: u64,
}

#[derive(Debug, Clone, Default)]
struct Bin {
    xs: Vec<f32>,
    zs: Vec<f32>,
    /// Where the next position goes once the bin is full.
    next: usize,
}

impl Default for OutlineLearner {
    fn default() -> OutlineLearner {
        OutlineLearner::new("", "")
    }
}

impl OutlineLearner {
    /// A learner of `track`'s `layout` that has seen nothing.
    pub fn new(track: &str, layout: &str) -> OutlineLearner {
        OutlineLearner {
            track: track.to_owned(),
            layout: layout.to_owned(),
            bins: vec![Bin::default(); BINS],
            samples: 0,
        }
    }

    /// The track being learned.
    pub fn track(&self) -> (&str, &str) {
        (&self.track, &self.layout)
    }

    /// Positions taken in.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Takes in one position: `spline` in 0..1, world `x` and `z` in metres. Anything not a
    /// finite number, or a spline outside 0..=1, is ignored.
    pub fn learn(&mut self, spline: f32, x: f32, z: f32) {
        if !(0.0..=1.0).contains(&spline) || !x.is_finite() || !z.is_finite() {
            return;
        }
        let i = ((spline * BINS as f32) as usize).min(BINS - 1);
        let bin = &mut self.bins[i];
        if bin.xs.len() < KEPT {
            bin.xs.push(x);
            bin.zs.push(z);
        } else {
            bin.xs[bin.next] = x;
            bin.zs[bin.next] = z;
            bin.next = (bin.next + 1) % KEPT;
        }
        self.samples += 1;
    }

    /// The outline so far, or `None` before [`MIN_LEARNED`] stretches have positions.
    pub fn outline(&self) -> Option<TrackOutline> {
        let learned: Vec<(usize, [f32; 2])> = self
            .bins
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.xs.is_empty())
            .map(|(i, b)| (i, [median(&b.xs), median(&b.zs)]))
            .collect();
        if learned.len() < MIN_LEARNED {
            return None;
        }
        let mut points = vec![[0.0f32; 2]; BINS];
        // Each learned stretch, and the gap up to the next one (round the line) filled
        // linearly.
        for (k, &(i, p)) in learned.iter().enumerate() {
            let (j, q) = learned[(k + 1) % learned.len()];
            let gap = (j + BINS - i) % BINS;
            let gap = if gap == 0 { BINS } else { gap };
            for step in 0..gap {
                let t = step as f32 / gap as f32;
                points[(i + step) % BINS] = [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t];
            }
        }
        Some(TrackOutline {
            track: self.track.clone(),
            layout: self.layout.clone(),
            points,
            learned: learned.len(),
            samples: self.samples,
        })
    }
}

/// The median of a few numbers (the lower middle one of an even count).
fn median(values: &[f32]) -> f32 {
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    v[(v.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A circle of radius 500 m: the point at spline `s`.
    fn circle(s: f32) -> (f32, f32) {
        let a = s * std::f32::consts::TAU;
        (500.0 * a.cos(), 500.0 * a.sin())
    }

    #[test]
    fn nothing_is_drawn_from_a_few_positions() {
        let mut l = OutlineLearner::new("t", "");
        for k in 0..MIN_LEARNED - 1 {
            let s = k as f32 / 100.0;
            let (x, z) = circle(s);
            l.learn(s, x, z);
        }
        assert_eq!(l.outline(), None);
    }

    #[test]
    fn a_sparse_lap_gives_the_line_and_pit_lane_points_do_not_move_it() {
        let mut l = OutlineLearner::new("t", "gp");
        // Three laps sampled every 1/64 of the lap, shifted each lap.
        for lap in 0..3 {
            for k in 0..64 {
                let s = (k as f32 + lap as f32 / 3.0) / 64.0;
                let (x, z) = circle(s);
                l.learn(s, x, z);
            }
            // Every lap passes the line.
            let (x, z) = circle(0.0005);
            l.learn(0.0005, x, z);
        }
        // A car in the pit lane, 30 m inside the line, seen twice near the line.
        for _ in 0..2 {
            let (x, z) = circle(0.001);
            l.learn(0.001, x * 0.94, z * 0.94);
        }
        // Garbage is ignored.
        l.learn(f32::NAN, 0.0, 0.0);
        l.learn(1.5, 0.0, 0.0);
        l.learn(0.5, f32::INFINITY, 0.0);
        let o = l.outline().expect("an outline");
        assert_eq!((o.track.as_str(), o.layout.as_str(), o.points.len()), ("t", "gp", BINS));
        assert_eq!(o.samples, 3 * 65 + 2);
        assert!(o.learned >= 150 && o.learned < BINS, "{}", o.learned);
        // Every point is within a few metres of the circle (the chords between samples are
        // 49 m long and sag 0.6 m; a bin is 6 m of lap).
        for (i, p) in o.points.iter().enumerate() {
            let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
            assert!((r - 500.0).abs() < 2.0, "point {i} at radius {r}");
            let (x, z) = circle(i as f32 / BINS as f32);
            let off = ((p[0] - x).powi(2) + (p[1] - z).powi(2)).sqrt();
            assert!(off < 8.0, "point {i} is {off} m from where it should be");
        }
    }
}
