//! When to poll the game's shared memory: a [`Pacer`] times one poll a little after each of the
//! game's physics steps.

use std::time::{Duration, Instant};

/// AC's physics step: the game writes the physics page 333 times a second.
const PHYSICS_STEP: Duration = Duration::from_millis(3);

/// When to poll shared memory next.
///
/// Times the polls around the game's physics steps (every 3 ms): one poll per step, a little
/// after the step is written, and never so late that the next step overwrites it first.
///
/// Each wake-up of the sampling thread costs tens of microseconds of CPU on a virtual machine,
/// the larger part of the bridge's CPU, so the pacer predicts when each step is written and
/// polls [`margin`](Pacer::margin) after that. The prediction is a grid: an *anchor* (a step's
/// id and the moment it was written, measured) plus whole [`periods`](Pacer::period) per id.
/// An anchor is measured by a *probe*: a poll aimed [`fine`](Pacer::fine) before a step is due,
/// which finds nothing, followed by fine polls until the step is there (its write time is then
/// known to within `fine`). Probes come every [`probe_every`](Pacer::probe_every) steps; a probe
/// that finds the step already there means the grid is late, and it moves earlier by `margin`
/// and probes again; a regular poll that finds nothing means the grid is early, and the fine
/// polls that follow measure a new anchor. The period is estimated from anchors measured far
/// apart (by the steps' ids, so steps the game skipped do not skew it), which keeps a game
/// whose clock runs a few percent off on the grid between probes. So a step costs about
/// 1 + 1/`probe_every` polls. The schedule is kept on the planned times, not on the moments the
/// thread woke (late by the OS timer's slack), so lateness does not accumulate. When no step
/// came for [`fine_for`](Pacer::fine_for) (pause, menus), it polls every
/// [`idle`](Pacer::idle), still fast enough to catch the first step after.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// The game's nominal physics step, the period before one is measured.
    pub step: Duration,
    /// How long after a step's predicted write a regular poll is aimed.
    pub margin: Duration,
    /// Steps between probes.
    pub probe_every: u32,
    /// Interval of the polls that look for a step not written yet.
    pub fine: Duration,
    /// How long after a sample fine polling goes on.
    pub fine_for: Duration,
    /// Interval of polls when no step came for a while.
    pub idle: Duration,
    /// The grid: a step's id and when it was (predicted to be) written.
    anchor: Option<(Instant, i32)>,
    /// The last anchor measured by fine polls, for the period.
    measured: Option<(Instant, i32)>,
    /// The estimated period, ns.
    period_ns: f64,
    /// Whether the period has been measured (until then, probes come every 8 steps).
    locked: bool,
    last_sample: Option<Instant>,
    /// When the poll now being made was meant to happen.
    scheduled: Option<Instant>,
    /// The poll now being made is a probe.
    probing: bool,
    /// The id of the last step found.
    last_id: Option<i32>,
    /// How the polls since the last sample have looked for the next step.
    searching: Search,
}

/// Whether polls since the last sample found nothing, and how closely they followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// The last poll found a step.
    No,
    /// Polls every [`Pacer::fine`]: the next step found is timed to within that.
    Fine,
    /// Polls every [`Pacer::idle`]: too coarse to time a step by.
    Idle,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            step: PHYSICS_STEP,
            margin: Duration::from_micros(500),
            probe_every: 32,
            fine: Duration::from_micros(150),
            fine_for: Duration::from_millis(8),
            idle: Duration::from_millis(2),
            anchor: None,
            measured: None,
            period_ns: PHYSICS_STEP.as_nanos() as f64,
            locked: false,
            last_sample: None,
            scheduled: None,
            probing: false,
            last_id: None,
            searching: Search::Idle,
        }
    }
}

/// Anchors farther apart than this many steps are not used together (a session restarted the
/// ids, or the game paused).
const ANCHOR_SPAN: i64 = 100_000;

impl Pacer {
    /// The estimated period of the game's steps.
    pub fn period(&self) -> Duration {
        Duration::from_nanos(self.period_ns as u64)
    }

    /// How long to sleep after a poll at `now` that found the new step `found` (its physics
    /// `packetId`), or nothing new.
    pub fn next_wait(&mut self, now: Instant, found: Option<i32>) -> Duration {
        let scheduled = self.scheduled.take().unwrap_or(now).min(now);
        let probing = std::mem::take(&mut self.probing);
        let next = match found {
            Some(id) => self.after_sample(now, scheduled, probing, id),
            None => match self.last_sample {
                Some(last) if now.saturating_duration_since(last) < self.fine_for => {
                    if self.searching == Search::No {
                        self.searching = Search::Fine;
                    }
                    now + self.fine
                }
                _ => {
                    self.searching = Search::Idle;
                    now + self.idle
                }
            },
        };
        self.scheduled = Some(next);
        next.saturating_duration_since(now)
    }

    fn after_sample(&mut self, now: Instant, scheduled: Instant, probing: bool, id: i32) -> Instant {
        self.last_sample = Some(now);
        let last_id = self.last_id.replace(id);
        let searched = std::mem::replace(&mut self.searching, Search::No);
        let span = |from: i32| i64::from(id) - i64::from(from);
        let usable =
            |a: Option<(Instant, i32)>| a.filter(|&(_, a_id)| (0..ANCHOR_SPAN).contains(&span(a_id)));
        let mut probe_next = false;
        if searched == Search::Fine {
            // The step came between the last poll and this one: its write time is measured.
            // The period from the last measured anchor, once it is far enough back to time it
            // well (a nearer one is kept, not replaced, so that the span grows). Once the
            // period is known, a measurement far from it is a step the game wrote late, not a
            // change of period.
            match usable(self.measured) {
                Some((t0, id0)) if span(id0) >= 8 => {
                    let observed =
                        scheduled.saturating_duration_since(t0).as_nanos() as f64 / span(id0) as f64;
                    let nominal = self.step.as_nanos() as f64;
                    let tolerance = if self.locked { 0.01 } else { 0.05 };
                    let reference = if self.locked { self.period_ns } else { nominal };
                    if (observed - reference).abs() <= nominal * tolerance {
                        self.period_ns =
                            if self.locked { 0.7 * self.period_ns + 0.3 * observed } else { observed };
                        self.locked = true;
                    }
                    self.measured = Some((scheduled, id));
                }
                Some(_) => {}
                None => self.measured = Some((scheduled, id)),
            }
            // The game writes a step late now and then (its thread woken late), never early:
            // a step found later than the grid says moves the grid by half of it. A drift is
            // followed within a few steps; one late step does not make every poll after it late.
            let grid = usable(self.anchor)
                .map(|(t, a_id)| t + Duration::from_nanos((span(a_id) as f64 * self.period_ns) as u64));
            let at = match grid {
                Some(g) if scheduled > g => g + scheduled.saturating_duration_since(g) / 2,
                _ => scheduled,
            };
            self.anchor = Some((at, id));
        } else if let Some((t, a_id)) = usable(self.anchor).filter(|_| searched == Search::No) {
            if probing {
                // Aimed before the step and it was there already: the grid is late.
                self.anchor = Some((t.checked_sub(self.margin).unwrap_or(t), a_id));
                probe_next = true;
            } else {
                let every = if self.locked { self.probe_every } else { self.probe_every.min(8) };
                // A step skipped: the grid may be late (or the game skipped it): probe.
                let skipped = last_id.is_some_and(|last| i64::from(id) - i64::from(last) > 1);
                probe_next = skipped || span(a_id) + 1 >= i64::from(every.max(1));
            }
        } else {
            // Nothing known of the phase (the first step, after a pause, or ids restarted):
            // start from here and probe to measure it.
            self.measured = None;
            self.anchor = Some((scheduled, id));
            probe_next = true;
        }
        let (t, a_id) = self.anchor.unwrap_or((scheduled, id));
        let steps = (span(a_id) + 1).max(1) as f64;
        let due = t + Duration::from_nanos((steps * self.period_ns) as u64);
        let next = if probe_next { due.checked_sub(self.fine).unwrap_or(due) } else { due + self.margin };
        self.probing = probe_next;
        // Woken so late that the step after next would be written already: look again soon.
        if next <= now { now + self.fine } else { next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a pacer for 10 s against a game that writes step `k` at `written_us(k)` µs
    /// (ascending), on a host whose sleeps end `slack_us` late: (polls per step, steps skipped).
    fn pace_with(written_us: impl Fn(u64) -> u64, slack_us: u64) -> (f64, u64) {
        let t0 = Instant::now();
        let mut pacer = Pacer::default();
        let (mut now_us, mut polls, mut skipped) = (0u64, 0u64, 0u64);
        let mut last: Option<u64> = None;
        let mut next_step = 0u64;
        while now_us < 10_000_000 {
            polls += 1;
            while written_us(next_step) <= now_us {
                next_step += 1;
            }
            // The newest step written by now.
            let newest = next_step.checked_sub(1);
            let found = match newest {
                Some(n) if newest != last => {
                    if let Some(l) = last {
                        skipped += n - l - 1;
                    }
                    last = newest;
                    Some(1000 + n as i32)
                }
                _ => None,
            };
            let wait = pacer.next_wait(t0 + Duration::from_micros(now_us), found);
            now_us += wait.as_micros() as u64 + slack_us;
        }
        (polls as f64 / (last.unwrap_or(0) + 1) as f64, skipped)
    }

    /// Steps every `period_us` from an odd phase.
    fn pace(period_us: u64, slack_us: u64) -> (f64, u64) {
        pace_with(|k| 1234 + k * period_us, slack_us)
    }

    #[test]
    fn the_pacer_locks_onto_the_steps_about_one_poll_each_and_skips_none() {
        for period in [2_900, 2_950, 2_990, 3_000, 3_003, 3_030, 3_100] {
            for slack in [0, 55, 200] {
                let (per_step, skipped) = pace(period, slack);
                assert_eq!(skipped, 0, "period {period} µs, slack {slack} µs");
                // Measured: 1.03 to 1.07 (from 2.9 to 3.1 ms).
                assert!(per_step < 1.1, "period {period} µs, slack {slack} µs: {per_step:.3} polls per step");
            }
        }
        // Woken a whole step late every time (a busy host) it still polls about once a step.
        let (per_step, _) = pace(3_000, 3_100);
        assert!(per_step < 2.0, "{per_step}");
    }

    #[test]
    fn the_pacer_keeps_up_with_a_jittery_game_and_finds_the_steps_again_after_a_pause() {
        // Steps written up to 400 µs late, pseudo-randomly.
        let jitter = |k: u64| (k.wrapping_mul(2_654_435_761) >> 7) % 400;
        for slack in [0, 55, 200] {
            let (per_step, skipped) = pace_with(|k| 777 + k * 3_000 + jitter(k), slack);
            assert_eq!(skipped, 0, "slack {slack} µs");
            // Measured: 1.04 to 1.09.
            assert!(per_step < 1.15, "slack {slack} µs: {per_step:.3}");
        }
        // Now and then a step written 2.7 ms late (the game's thread woken very late).
        let spikes = |k: u64| 777 + k * 3_000 + if k % 97 == 13 { 2_700 } else { jitter(k) / 4 };
        let (per_step, skipped) = pace_with(spikes, 55);
        assert_eq!(skipped, 0);
        // Measured 1.14: each late step is looked for every `fine`.
        assert!(per_step < 1.2, "{per_step:.3}");
        // A pause of half a second after 1000 steps, then steps at another phase and a
        // slightly different period.
        let paused = |k: u64| if k < 1000 { 500 + k * 3_000 } else { 3_500_321 + (k - 1000) * 2_980 };
        let (per_step, skipped) = pace_with(paused, 55);
        assert_eq!(skipped, 0);
        // Measured 1.15, idle polls during the pause included.
        assert!(per_step < 1.2, "{per_step:.3}");
    }

    #[test]
    fn the_pacer_probes_before_a_step_then_polls_finely_then_idles() {
        let mut p = Pacer::default();
        let t0 = Instant::now();
        assert_eq!(p.next_wait(t0, None), p.idle, "nothing seen yet");
        // A first step: its time is not known, so the next poll probes just before the next.
        let t1 = t0 + p.idle;
        assert_eq!(p.next_wait(t1, Some(7)), PHYSICS_STEP - p.fine);
        // The probe finds nothing: fine polls until the step comes.
        let t2 = t1 + PHYSICS_STEP - p.fine;
        assert_eq!(p.next_wait(t2, None), p.fine);
        let t3 = t2 + p.fine;
        // Found: that step's time is measured; the next poll is a margin after the next step.
        assert_eq!(p.next_wait(t3, Some(8)), PHYSICS_STEP + p.margin);
        // Nothing for a while: fine polls, then idle ones.
        let t4 = t3 + PHYSICS_STEP + p.margin;
        assert_eq!(p.next_wait(t4, None), p.fine);
        assert_eq!(p.next_wait(t3 + Duration::from_millis(5), None), p.fine);
        assert_eq!(p.next_wait(t3 + Duration::from_millis(9), None), p.idle);
        assert!(p.idle < PHYSICS_STEP);
    }
}
