//! The virtual timing loop: where each car is along the lap, from the spline positions of its
//! car updates, and when it passed each of a hundred fixed points and each sector boundary.
//!
//! The server reports a car's position along the lap (`normalized_spline_pos`, 0..1) at every
//! CAR_UPDATE, and nothing else in between. A car usually moves less than one point (1 % of the
//! lap) between two updates, but with a slow update rate it can pass several: the time of each
//! one passed is interpolated between the two updates, as if the car ran at a steady speed.

use std::time::Duration;

/// Timing points per lap: one every 1 % of the lap. Point 0 is the line.
pub(crate) const POINTS: i64 = 100;

/// The longest step forward between two updates still taken as driving: a quarter of a lap. A
/// longer one (a car sent back to the pits, a reset) is a jump, and passes no point.
const MAX_STEP: f64 = 0.25;

/// A car's progress along the timing loop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress {
    /// The last position taken and when: the furthest the car got, since small steps back are
    /// ignored (see [`Progress::advance`]).
    pub last: Option<(f32, Duration)>,
    /// Per point, the distance (see [`Progress::distance`]) at which the car last passed it, and
    /// when. The distance tells a pass on this lap from one on an earlier lap.
    passes: Vec<Option<(i64, Duration)>>,
    /// Times the car crossed each sector boundary on the lap it is running.
    marks: Vec<Option<Duration>>,
    /// When the car crossed the line to start the lap it is running; `None` when the engine did
    /// not see it (the car was first seen mid-lap, or jumped).
    lap_start: Option<Duration>,
}

/// What moving a car along the loop found: the laps it finished, as sector times.
#[derive(Debug, Default)]
pub(crate) struct Advance {
    /// The car crossed the line. The sector times of the lap it finished, when the engine saw
    /// the whole lap (from a line crossing to the next, without a jump).
    pub crossed_line: Option<Option<Vec<u32>>>,
    /// The car jumped: its lap cannot be timed.
    pub jumped: bool,
}

impl Progress {
    /// Forgets everything: a new session, or a new driver.
    pub fn reset(&mut self, sectors: usize) {
        *self = Progress::default();
        self.marks = vec![None; sectors.saturating_sub(1)];
    }

    /// The last point passed, as hundredths of a lap counted from the start of lap `lap` (the
    /// laps the car has completed, 0 on its first lap): what orders cars and pairs their passes.
    pub fn distance(&self, lap: i64) -> Option<i64> {
        let (spline, _) = self.last?;
        Some(lap * POINTS + point_of(f64::from(spline)))
    }

    /// When the car passed point `point_index` at distance `distance`, if it did.
    pub fn passed(&self, distance: i64) -> Option<Duration> {
        let i = usize::try_from(distance.rem_euclid(POINTS)).ok()?;
        match self.passes.get(i).copied().flatten() {
            Some((d, t)) if d == distance => Some(t),
            _ => None,
        }
    }

    /// Moves the car to `spline` at `now`. `lap` is the car's lap index before the move, and
    /// `boundaries` the sector boundaries (increasing, inside 0..1). The caller has checked that
    /// `spline` is in 0..=1 and `now` is not before the last update.
    pub fn advance(&mut self, now: Duration, spline: f32, lap: i64, boundaries: &[f32]) -> Advance {
        // 1.0 is the line, as 0.0 is: the crossing is then found once, by the step across it.
        let spline = if spline >= 1.0 { 0.0 } else { spline };
        if self.passes.len() != POINTS as usize {
            self.passes = vec![None; POINTS as usize];
        }
        if self.marks.len() != boundaries.len() {
            self.marks = vec![None; boundaries.len()];
        }
        let Some((s0, t0)) = self.last else {
            // The first position seen: somewhere in a lap the engine did not see start.
            self.last = Some((spline, now));
            return Advance::default();
        };
        let (x0, s1) = (f64::from(s0), f64::from(spline));
        // The step forward, with the line crossed when it is short: 0.98 → 0.02 is +0.04.
        let mut step = s1 - x0;
        if step < -0.5 {
            step += 1.0;
        } else if step > 0.5 {
            step -= 1.0;
        }
        if !(-MAX_STEP..=MAX_STEP).contains(&step) {
            self.last = Some((spline, now));
            self.lap_start = None;
            self.marks.iter_mut().for_each(|m| *m = None);
            return Advance { jumped: true, ..Advance::default() };
        }
        if step <= 0.0 {
            // Standing, or a few metres back (a spin, a car reversing out of a gravel trap):
            // the car passes these points again only when it gets past where it was, which it
            // does after now.
            self.last = Some((s0, now));
            return Advance::default();
        }
        let x1 = x0 + step;
        let at = |x: f64| -> Duration {
            let frac = ((x - x0) / step).clamp(0.0, 1.0);
            // To the microsecond: the positions are `f32`s, whose rounding would otherwise
            // show as nanoseconds off round times.
            let d = now.saturating_sub(t0).as_secs_f64() * frac;
            t0 + Duration::from_micros((d * 1e6).round() as u64)
        };

        // Everything passed, in order along the lap: points (the line is point 100, the next
        // lap's point 0) and sector boundaries (on this lap or, past the line, the next).
        let mut crossed: Vec<(f64, Crossing)> = Vec::new();
        for k in (point_of(x0) + 1)..=point_of(x1) {
            crossed.push((k as f64 / POINTS as f64, Crossing::Point(k)));
        }
        for (j, &b) in boundaries.iter().enumerate() {
            for x in [f64::from(b), f64::from(b) + 1.0] {
                if x > x0 && x <= x1 {
                    crossed.push((x, Crossing::Boundary(j)));
                }
            }
        }
        crossed.sort_by(|a, b| a.0.total_cmp(&b.0));

        let mut result = Advance::default();
        let mut lap = lap;
        for (x, crossing) in crossed {
            let t = at(x);
            match crossing {
                Crossing::Point(k) => {
                    if k >= POINTS {
                        result.crossed_line = Some(self.finish_lap(t));
                        lap += 1;
                    }
                    let distance = lap * POINTS + k.rem_euclid(POINTS);
                    if let Some(slot) =
                        usize::try_from(k.rem_euclid(POINTS)).ok().and_then(|i| self.passes.get_mut(i))
                    {
                        *slot = Some((distance, t));
                    }
                }
                Crossing::Boundary(j) => {
                    if let Some(m) = self.marks.get_mut(j) {
                        *m = Some(t);
                    }
                }
            }
        }
        self.last = Some((spline, now));
        result
    }

    /// The car crossed the line at `t`: the sector times of the lap it finished, if the engine
    /// saw all of it, and a new lap starts.
    fn finish_lap(&mut self, t: Duration) -> Option<Vec<u32>> {
        let start = self.lap_start.replace(t);
        let marks: Option<Vec<Duration>> = self.marks.iter().copied().collect();
        self.marks.iter_mut().for_each(|m| *m = None);
        let start = start?;
        let mut edges = vec![start];
        edges.extend(marks?);
        edges.push(t);
        // Each edge rounded to the millisecond from the lap's start, so that the sectors add up
        // to the lap as timed.
        let from_start: Vec<u128> =
            edges.iter().map(|e| (e.saturating_sub(start).as_micros() + 500) / 1000).collect();
        Some(
            from_start
                .windows(2)
                .map(|w| u32::try_from(w[1].saturating_sub(w[0])).unwrap_or(u32::MAX))
                .collect(),
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Crossing {
    /// Point `k` of the lap, counted on from the lap's start: 100 is the line.
    Point(i64),
    /// Sector boundary `j`.
    Boundary(usize),
}

/// The point at or before `x` (in laps from the lap's start).
fn point_of(x: f64) -> i64 {
    // `x` is at most 1.25 here: the cast cannot overflow.
    (x * POINTS as f64).floor() as i64
}

/// A duration as whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// The default sector boundaries: thirds of the lap.
pub(crate) fn thirds() -> Vec<f32> {
    vec![1.0 / 3.0, 2.0 / 3.0]
}

/// Sector boundaries as given in a configuration, made usable: finite, strictly inside 0..1,
/// increasing, no repeats. Nothing usable left means the default thirds.
pub(crate) fn clean_boundaries(given: &[f32]) -> Vec<f32> {
    let mut b: Vec<f32> = given.iter().copied().filter(|x| x.is_finite() && *x > 0.0 && *x < 1.0).collect();
    b.sort_by(f32::total_cmp);
    b.dedup();
    if b.is_empty() && !given.is_empty() { thirds() } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn points_passed_between_two_updates_are_interpolated() {
        let mut p = Progress::default();
        p.reset(3);
        p.advance(ms(1_000), 0.10, 0, &thirds());
        // Five points in one second: 0.11 at 1.2 s … 0.15 at 2.0 s.
        p.advance(ms(2_000), 0.15, 0, &thirds());
        assert_eq!(p.distance(0), Some(15));
        assert_eq!(p.passed(11), Some(ms(1_200)));
        assert_eq!(p.passed(13), Some(ms(1_600)));
        assert_eq!(p.passed(15), Some(ms(2_000)));
        assert_eq!(p.passed(16), None);
        // A pass on another lap is not this lap's.
        assert_eq!(p.passed(115), None);
    }

    #[test]
    fn a_whole_lap_gives_its_sector_times_at_the_line() {
        let mut p = Progress::default();
        p.reset(3);
        let b = thirds();
        let mut lap = 0;
        let mut finished = Vec::new();
        // 0.9 → 1.0 → … one point per 100 ms, i.e. a 10 s lap; twice round.
        for i in 0..=230u64 {
            let spline = ((90 + i) % 100) as f32 / 100.0;
            let a = p.advance(ms(i * 100), spline, lap, &b);
            if let Some(sectors) = a.crossed_line {
                lap += 1;
                finished.push(sectors);
            }
        }
        // The first line crossing ends a lap the engine saw only the end of.
        assert_eq!(finished.len(), 3);
        assert_eq!(finished[0], None);
        let s = finished[1].clone().unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.iter().sum::<u32>(), 10_000);
        // A third of 10 s, give or take the f32 boundaries.
        assert!(s.iter().all(|&t| (3_330..=3_340).contains(&t)), "{s:?}");
        assert_eq!(p.distance(lap), Some(lap * 100 + 20));
    }

    #[test]
    fn a_position_of_one_is_the_line_crossed_once() {
        let mut p = Progress::default();
        p.reset(3);
        p.advance(ms(0), 0.99, 0, &thirds());
        let crossings: Vec<bool> = [1.0, 0.01, 0.025]
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                p.advance(ms(100 * (i as u64 + 1)), s, i64::from(i > 0), &thirds()).crossed_line.is_some()
            })
            .collect();
        assert_eq!(crossings, [true, false, false]);
        assert_eq!(p.passed(100), Some(ms(100)));
        assert_eq!(p.distance(1), Some(102));
    }

    #[test]
    fn a_car_standing_passes_the_next_point_when_it_moves_on() {
        let mut p = Progress::default();
        p.reset(3);
        p.advance(ms(0), 0.095, 0, &thirds());
        p.advance(ms(1_000), 0.098, 0, &thirds());
        // A minute standing just short of point 10, rolling back a little… then on across it.
        p.advance(ms(61_000), 0.097, 0, &thirds());
        p.advance(ms(61_100), 0.101, 0, &thirds());
        assert!(p.passed(10).is_some_and(|t| t >= ms(61_000)), "{:?}", p.passed(10));
    }

    #[test]
    fn a_jump_passes_nothing_and_spoils_the_lap() {
        let mut p = Progress::default();
        p.reset(3);
        p.advance(ms(0), 0.90, 0, &thirds());
        let a = p.advance(ms(100), 0.40, 0, &thirds());
        assert!(a.jumped);
        assert_eq!(p.passed(95), None);
        // Backwards a little: ignored, the car stays where it got to.
        let a = p.advance(ms(200), 0.39, 0, &thirds());
        assert!(!a.jumped && a.crossed_line.is_none());
        assert_eq!(p.distance(0), Some(40));
    }

    #[test]
    fn boundaries_from_a_config_are_cleaned() {
        assert_eq!(clean_boundaries(&[0.7, 0.2, f32::NAN, 1.5, 0.2]), [0.2, 0.7]);
        assert_eq!(clean_boundaries(&[f32::INFINITY]), thirds());
        assert!(clean_boundaries(&[]).is_empty(), "one sector: the whole lap");
    }
}
