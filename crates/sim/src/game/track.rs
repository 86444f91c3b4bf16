//! The built-in circuits: closed centre lines made of straights and corners, parametrised by
//! arc length.
//!
//! A circuit is described the way one would sketch it: straights, and corners given by their
//! angle and radius. Each corner eases in and out over a short transition in which the
//! curvature ramps linearly, so lateral acceleration never jumps, as on a real road. The
//! heading is then an exact (piecewise quadratic) function of the distance, and the corner
//! angles of every circuit sum to ±360°, so the heading closes exactly. The position closes
//! because two of the straights are marked *free*: their lengths are solved for, a 2×2 linear
//! system, so that the centre line ends where it starts. What is left (the integration error,
//! well under a millimetre) is spread along the lap.
//!
//! Coordinates follow the game's world frame: `x` and `z` horizontal, `y` up. A heading `h`
//! points along `(cos h, 0, sin h)`; positive curvature turns towards increasing heading, which
//! we call *left* (counter-clockwise on a map drawn with `x` to the right and `z` up).

use std::f64::consts::{PI, TAU};

use crate::error::SimError;

/// Spacing of the stored centre-line samples, metres (the exact spacing is `length / n`).
const SAMPLE_SPACING: f64 = 0.5;
/// Longest curvature transition at each end of a corner, metres.
const MAX_TRANSITION: f64 = 30.0;
/// Shortest length a free straight may be solved to, metres: shorter means the sketch is wrong.
const MIN_FREE_STRAIGHT: f64 = 20.0;

/// One piece of a circuit sketch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece {
    /// A straight of this length, metres. `free` straights get their length from the closure.
    Straight { length: f64, free: bool },
    /// A corner turning by `angle_deg` (positive: left) at `radius` metres.
    Corner { angle_deg: f64, radius: f64 },
}

use Piece::{Corner, Straight};

const fn s(length: f64) -> Piece {
    Straight { length, free: false }
}

const fn free(length: f64) -> Piece {
    Straight { length, free: true }
}

const fn c(angle_deg: f64, radius: f64) -> Piece {
    Corner { angle_deg, radius }
}

/// A circuit before it is built: name, layout and its sketch.
#[derive(Debug)]
struct TrackSpec {
    name: &'static str,
    configuration: &'static str,
    description: &'static str,
    pieces: &'static [Piece],
    /// Where sectors 2, 3, ... start, as fractions of the lap (sector 1 starts at the line).
    sector_splits: &'static [f64],
    /// Distance from the line at which the pit lane rejoins the track, metres.
    pit_exit: f64,
    /// Amplitudes of the two elevation waves over a lap, metres.
    elevation: (f64, f64),
}

const BUILTIN: [TrackSpec; 3] = [
    TrackSpec {
        name: "pitwall_ring",
        configuration: "gp",
        description: "4.5 km, anticlockwise: a long main straight, a hairpin, a chicane, fast sweepers",
        pieces: &[
            s(900.0),
            c(90.0, 50.0),
            s(150.0),
            c(-30.0, 150.0),
            s(250.0),
            c(60.0, 120.0),
            free(600.0),
            c(100.0, 40.0),
            s(200.0),
            c(-35.0, 60.0),
            c(35.0, 60.0),
            free(300.0),
            c(90.0, 150.0),
            s(150.0),
            c(-20.0, 200.0),
            s(150.0),
            c(70.0, 80.0),
        ],
        sector_splits: &[0.31, 0.66],
        pit_exit: 350.0,
        elevation: (4.0, 1.5),
    },
    TrackSpec {
        name: "pitwall_kurs",
        configuration: "Südschleife",
        description: "2.8 km, clockwise and hilly: tight corners at both ends of two long straights",
        pieces: &[
            s(700.0),
            c(-90.0, 60.0),
            s(80.0),
            c(45.0, 100.0),
            free(250.0),
            c(-135.0, 45.0),
            free(500.0),
            c(-60.0, 120.0),
            s(200.0),
            c(30.0, 90.0),
            s(150.0),
            c(-150.0, 70.0),
        ],
        sector_splits: &[0.35, 0.7],
        pit_exit: 300.0,
        elevation: (9.0, 3.0),
    },
    TrackSpec {
        name: "pitwall_oval",
        configuration: "",
        description: "1.6 km flat oval: two straights, two 180° bends; short laps for tests",
        // Symmetric, so it closes without free straights.
        pieces: &[s(450.0), c(180.0, 110.0), s(450.0), c(180.0, 110.0)],
        sector_splits: &[0.33, 0.67],
        pit_exit: 200.0,
        elevation: (0.0, 0.0),
    },
];

/// Names of the built-in circuits, for `--track`; the first is the default.
pub const TRACK_NAMES: [&str; 3] = [BUILTIN[0].name, BUILTIN[1].name, BUILTIN[2].name];

/// The default circuit.
pub const DEFAULT_TRACK: &str = TRACK_NAMES[0];

/// A point of the centre line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    /// World position `[x, y, z]`, metres (`y` up).
    pub position: [f64; 3],
    /// Direction of travel in the horizontal plane, radians: forward is `(cos h, 0, sin h)`.
    pub heading: f64,
    /// Horizontal curvature, 1/m; positive turns left.
    pub curvature: f64,
    /// Gradient `dy/ds` (positive uphill).
    pub slope: f64,
}

/// A closed circuit, precomputed.
#[derive(Clone)]
pub struct Track {
    name: &'static str,
    configuration: &'static str,
    description: &'static str,
    length: f64,
    ds: f64,
    /// Horizontal `[x, z]` positions, `n + 1` of them (the last equals the first).
    xz: Vec<[f64; 2]>,
    /// Unwrapped headings at the same samples.
    heading: Vec<f64>,
    /// Curvature at the same samples.
    curvature: Vec<f64>,
    sector_starts: Vec<f64>,
    pit_exit: f64,
    elevation: (f64, f64),
}

impl Track {
    /// The built-in circuit called `name` (see [`TRACK_NAMES`]).
    pub fn builtin(name: &str) -> Result<Track, SimError> {
        let spec = BUILTIN.iter().find(|t| t.name == name).ok_or_else(|| {
            SimError::config(
                "track",
                format!("is `{name}`; the built-in tracks are {}", TRACK_NAMES.join(", ")),
            )
        })?;
        Track::build(spec)
    }

    /// One-line descriptions of the built-in circuits, `(name, description)`.
    pub fn catalogue() -> impl Iterator<Item = (&'static str, &'static str)> {
        BUILTIN.iter().map(|t| (t.name, t.description))
    }

    fn build(spec: &TrackSpec) -> Result<Track, SimError> {
        let profile = Profile::solve(spec)?;
        let length = profile.length();
        let n = (length / SAMPLE_SPACING).ceil().max(8.0) as usize;
        let ds = length / n as f64;

        let mut xz = Vec::with_capacity(n + 1);
        let mut heading = Vec::with_capacity(n + 1);
        let mut curvature = Vec::with_capacity(n + 1);
        let mut p = [0.0, 0.0];
        for i in 0..=n {
            let s = i as f64 * ds;
            xz.push(p);
            heading.push(profile.heading(s));
            curvature.push(profile.curvature(s));
            if i < n {
                // Midpoint rule on the exact heading: the error per sample is ~ds³κ'², far below
                // a millimetre over a lap.
                let h = profile.heading(s + ds / 2.0);
                p = [p[0] + ds * h.cos(), p[1] + ds * h.sin()];
            }
        }
        // Spread what is left of the closure error along the lap, so the end meets the start
        // exactly.
        let gap = xz[n];
        for (i, q) in xz.iter_mut().enumerate() {
            let f = i as f64 / n as f64;
            q[0] -= gap[0] * f;
            q[1] -= gap[1] * f;
        }

        let sector_starts =
            std::iter::once(0.0).chain(spec.sector_splits.iter().map(|f| f * length)).collect();
        Ok(Track {
            name: spec.name,
            configuration: spec.configuration,
            description: spec.description,
            length,
            ds,
            xz,
            heading,
            curvature,
            sector_starts,
            pit_exit: spec.pit_exit,
            elevation: spec.elevation,
        })
    }

    /// Track name as the static page reports it, e.g. `pitwall_ring`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Layout name (the static page's `trackConfiguration`); may be empty or non-ASCII.
    pub fn configuration(&self) -> &'static str {
        self.configuration
    }

    /// One-line description.
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// Lap length (the spline length), metres.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// Where each sector starts, metres from the line; the first is 0.
    pub fn sector_starts(&self) -> &[f64] {
        &self.sector_starts
    }

    /// Number of sectors.
    pub fn sector_count(&self) -> usize {
        self.sector_starts.len()
    }

    /// Where the pit lane rejoins the track, metres from the line. The pit boxes are beside
    /// the line, so a session starts in the pit lane.
    pub fn pit_exit(&self) -> f64 {
        self.pit_exit
    }

    /// The centre line at `dist` metres from the line (any value: it wraps).
    pub fn point(&self, dist: f64) -> TrackPoint {
        let d = dist.rem_euclid(self.length);
        let f = d / self.ds;
        let n = self.xz.len() - 1;
        // `f` may round up to exactly n; the sample arrays hold n + 1 entries, so i + 1 <= n.
        let i = (f.floor() as usize).min(n - 1);
        let t = f - i as f64;
        let lerp = |a: f64, b: f64| a + (b - a) * t;
        let (a, b) = (self.xz[i], self.xz[i + 1]);
        let (y, slope) = self.elevation(d);
        TrackPoint {
            position: [lerp(a[0], b[0]), y, lerp(a[1], b[1])],
            heading: wrap_angle(lerp(self.heading[i], self.heading[i + 1])),
            curvature: lerp(self.curvature[i], self.curvature[i + 1]),
            slope,
        }
    }

    /// Horizontal curvature at `dist`, 1/m (positive: left).
    pub fn curvature(&self, dist: f64) -> f64 {
        self.point(dist).curvature
    }

    /// Height and gradient: two smooth waves per lap, so the lap closes in height too.
    fn elevation(&self, d: f64) -> (f64, f64) {
        let (a, b) = self.elevation;
        let u = TAU * d / self.length;
        let y = a * u.sin() + b * (2.0 * u + 1.0).sin();
        let dy = (a * u.cos() + 2.0 * b * (2.0 * u + 1.0).cos()) * TAU / self.length;
        (y, dy)
    }
}

/// The tables are thousands of numbers; a summary is what a `Debug` dump needs.
impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track")
            .field("name", &self.name)
            .field("configuration", &self.configuration)
            .field("length", &self.length)
            .field("samples", &self.xz.len())
            .field("sector_starts", &self.sector_starts)
            .finish_non_exhaustive()
    }
}

/// Wraps an angle into (-π, π].
pub(crate) fn wrap_angle(a: f64) -> f64 {
    let w = a.rem_euclid(TAU);
    if w > PI { w - TAU } else { w }
}

/// The curvature along the lap as linear segments `(start, length, k0, k1, heading at start)`:
/// the sketch with its free straights solved.
#[derive(Debug)]
struct Profile {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, Copy)]
struct Segment {
    start: f64,
    len: f64,
    k0: f64,
    k1: f64,
    heading0: f64,
    /// Index of the sketch piece this segment comes from (free straights are looked up by it).
    piece: usize,
}

impl Profile {
    /// Lays the sketch out with its free straights at their nominal lengths.
    fn lay_out(pieces: &[Piece], lengths: &[f64]) -> Profile {
        let mut segments = Vec::new();
        let (mut start, mut heading0) = (0.0, 0.0);
        let mut push = |len: f64, k0: f64, k1: f64, piece: usize| {
            if len > 0.0 {
                segments.push(Segment { start, len, k0, k1, heading0, piece });
                start += len;
                heading0 += (k0 + k1) / 2.0 * len;
            }
        };
        for (i, piece) in pieces.iter().enumerate() {
            match *piece {
                Straight { .. } => push(lengths[i], 0.0, 0.0, i),
                Corner { angle_deg, radius } => {
                    let angle = angle_deg.to_radians();
                    let k = angle.signum() / radius;
                    // The ramps turn the car by k·t/2 each, so the constant part is shortened by
                    // t to keep the corner's total angle exact.
                    let t = MAX_TRANSITION.min(0.5 * angle.abs() * radius);
                    push(t, 0.0, k, i);
                    push(angle.abs() * radius - t, k, k, i);
                    push(t, k, 0.0, i);
                }
            }
        }
        Profile { segments }
    }

    /// Solves the two free straights' lengths so the centre line closes.
    fn solve(spec: &TrackSpec) -> Result<Profile, SimError> {
        let bad = |reason: String| SimError::config("track", format!("`{}` {reason}", spec.name));
        let total_angle: f64 = spec
            .pieces
            .iter()
            .map(|p| match *p {
                Corner { angle_deg, .. } => angle_deg,
                Straight { .. } => 0.0,
            })
            .sum();
        if (total_angle.abs() - 360.0).abs() > 1e-9 {
            return Err(bad(format!("turns by {total_angle}°, not ±360°")));
        }
        let mut lengths: Vec<f64> = spec
            .pieces
            .iter()
            .map(|p| match *p {
                Straight { length, .. } => length,
                Corner { .. } => 0.0,
            })
            .collect();
        let free: Vec<usize> = (0..spec.pieces.len())
            .filter(|&i| matches!(spec.pieces[i], Straight { free: true, .. }))
            .collect();
        let profile = Profile::lay_out(spec.pieces, &lengths);
        match free[..] {
            [] => return Ok(profile),
            [a, b] => {
                // The heading never depends on a straight's length, so the end point is linear in
                // the two free lengths: solve L_a·u_a + L_b·u_b = −(displacement of the rest).
                let dir = |piece: usize| {
                    let h = profile
                        .segments
                        .iter()
                        .find(|seg| seg.piece == piece)
                        .map_or(0.0, |seg| seg.heading0);
                    [h.cos(), h.sin()]
                };
                let (ua, ub) = (dir(a), dir(b));
                let end = profile.displacement();
                let rest = [
                    end[0] - lengths[a] * ua[0] - lengths[b] * ub[0],
                    end[1] - lengths[a] * ua[1] - lengths[b] * ub[1],
                ];
                let det = ua[0] * ub[1] - ua[1] * ub[0];
                if det.abs() < 1e-6 {
                    return Err(bad("has parallel free straights: its closure cannot be solved".into()));
                }
                lengths[a] = (-rest[0] * ub[1] + rest[1] * ub[0]) / det;
                lengths[b] = (-ua[0] * rest[1] + ua[1] * rest[0]) / det;
                for i in [a, b] {
                    if lengths[i] < MIN_FREE_STRAIGHT {
                        return Err(bad(format!("needs a straight of {:.1} m to close", lengths[i])));
                    }
                }
            }
            _ => return Err(bad("must have no free straight or exactly two".into())),
        }
        Ok(Profile::lay_out(spec.pieces, &lengths))
    }

    fn length(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.start + s.len)
    }

    fn segment(&self, s: f64) -> &Segment {
        let i = self.segments.partition_point(|seg| seg.start + seg.len <= s);
        &self.segments[i.min(self.segments.len() - 1)]
    }

    fn curvature(&self, s: f64) -> f64 {
        let seg = self.segment(s);
        let u = ((s - seg.start) / seg.len).clamp(0.0, 1.0);
        seg.k0 + (seg.k1 - seg.k0) * u
    }

    /// The heading, integrated exactly: quadratic within each segment.
    fn heading(&self, s: f64) -> f64 {
        let seg = self.segment(s);
        let x = (s - seg.start).clamp(0.0, seg.len);
        seg.heading0 + seg.k0 * x + (seg.k1 - seg.k0) * x * x / (2.0 * seg.len)
    }

    /// End point of the centre line relative to its start, integrated finely.
    fn displacement(&self) -> [f64; 2] {
        let length = self.length();
        let n = (length / 0.05).ceil() as usize;
        let ds = length / n as f64;
        (0..n).fold([0.0, 0.0], |p, i| {
            let h = self.heading((i as f64 + 0.5) * ds);
            [p[0] + ds * h.cos(), p[1] + ds * h.sin()]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Track> {
        TRACK_NAMES.iter().map(|n| Track::builtin(n).unwrap()).collect()
    }

    #[test]
    fn builtins_build_and_close() {
        for t in all() {
            let (a, b) = (t.point(0.0), t.point(t.length()));
            let gap =
                ((a.position[0] - b.position[0]).powi(2) + (a.position[2] - b.position[2]).powi(2)).sqrt();
            assert!(gap < 1e-9, "{}: end is {gap} m from the start", t.name());
            // Just before the line, the centre line is a fraction of a metre from the start.
            let c = t.point(t.length() - 0.25);
            let near =
                ((a.position[0] - c.position[0]).powi(2) + (a.position[2] - c.position[2]).powi(2)).sqrt();
            assert!((near - 0.25).abs() < 1e-3, "{}: {near}", t.name());
            assert!((1000.0..6000.0).contains(&t.length()), "{}: {} m", t.name(), t.length());
            assert_eq!(t.sector_count(), 3);
            assert!(t.sector_starts().windows(2).all(|w| w[0] < w[1]));
            assert!(t.pit_exit() < t.sector_starts()[1]);
        }
    }

    #[test]
    fn samples_are_evenly_spaced_along_the_line() {
        for t in all() {
            let n = 5000;
            let step = t.length() / n as f64;
            let mut total = 0.0;
            for i in 0..n {
                let (p, q) = (t.point(i as f64 * step).position, t.point((i + 1) as f64 * step).position);
                total += ((p[0] - q[0]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
            }
            // Chords cut corners by a hair; the plan length is the arc length.
            assert!((total - t.length()).abs() < 0.01 * t.length(), "{}: {total}", t.name());
        }
    }

    #[test]
    fn heading_follows_the_line_and_curvature_the_heading() {
        for t in all() {
            for i in 0..400 {
                let d = i as f64 * t.length() / 400.0 + 0.3;
                let (p, q) = (t.point(d), t.point(d + 1.0));
                let chord = (q.position[2] - p.position[2]).atan2(q.position[0] - p.position[0]);
                let mid = t.point(d + 0.5).heading;
                assert!(wrap_angle(chord - mid).abs() < 1e-3, "{} at {d}", t.name());
                let turn = wrap_angle(q.heading - p.heading);
                assert!((turn - t.point(d + 0.5).curvature).abs() < 2e-3, "{} at {d}", t.name());
            }
        }
    }

    #[test]
    fn the_line_never_crosses_itself() {
        // Segments of a coarse polyline: proper crossings only (neighbours share an end).
        fn cross(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
            let orient = |p: [f64; 2], q: [f64; 2], r: [f64; 2]| {
                (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
            };
            let (d1, d2) = (orient(c, d, a), orient(c, d, b));
            let (d3, d4) = (orient(a, b, c), orient(a, b, d));
            d1 * d2 < 0.0 && d3 * d4 < 0.0
        }
        for t in all() {
            let n = 600;
            let pts: Vec<[f64; 2]> = (0..n)
                .map(|i| {
                    let p = t.point(i as f64 * t.length() / n as f64).position;
                    [p[0], p[2]]
                })
                .collect();
            for i in 0..n {
                for j in i + 2..n {
                    if i == 0 && j == n - 1 {
                        continue;
                    }
                    let (a, b, c, d) = (pts[i], pts[(i + 1) % n], pts[j], pts[(j + 1) % n]);
                    assert!(!cross(a, b, c, d), "{}: segments {i} and {j} cross", t.name());
                }
            }
        }
    }

    #[test]
    fn curvature_has_corners_and_straights() {
        for t in all() {
            let ks: Vec<f64> = (0..2000).map(|i| t.curvature(i as f64 * t.length() / 2000.0)).collect();
            let straight = ks.iter().filter(|k| k.abs() < 1e-9).count();
            let tight = ks.iter().filter(|k| k.abs() > 1.0 / 130.0).count();
            assert!(straight > 400 && tight > 100, "{}: {straight} straight, {tight} tight", t.name());
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = Track::builtin("monza").unwrap_err().to_string();
        assert!(err.contains("monza") && err.contains("pitwall_ring"), "{err}");
    }

    #[test]
    fn wrap_angle_stays_in_range() {
        for a in [-7.0, -PI, 0.0, PI, 3.5, 100.0] {
            let w = wrap_angle(a);
            assert!(w > -PI - 1e-12 && w <= PI + 1e-12, "{a} -> {w}");
            assert!(((a - w) / TAU - ((a - w) / TAU).round()).abs() < 1e-9);
        }
    }
}
