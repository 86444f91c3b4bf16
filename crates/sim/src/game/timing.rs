//! Lap and sector timing, on the session clock in whole milliseconds.
//!
//! The session clock moves 3 ms per physics step, so every time here is an exact integer:
//! a sector ends on the step whose move carries the car past the sector's start, the next
//! sector starts at that same instant, and a lap's time is therefore exactly the sum of its
//! sector times.

use std::time::Duration;

/// One completed lap, as the simulator recorded it: what the graphics page reports as
/// `iLastTime` (and `lastSectorTime` for the last sector) once `completedLaps` reaches
/// [`lap`](Self::lap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapRecord {
    /// Session number, 1 for the first (a restart starts the next).
    pub session: u32,
    /// Lap number in the session, from 1; equals `completedLaps` once the lap is done. Lap 1
    /// starts in the pit box, so it includes the pit-lane crawl.
    pub lap: u32,
    /// Lap time, ms.
    pub time_ms: i32,
    /// Sector times, ms; they sum to `time_ms`.
    pub sectors_ms: Vec<i32>,
    /// Simulated time (since the simulator started, pauses included) at which it was completed.
    pub completed_at: Duration,
}

/// Formats a lap time as the graphics page's strings show it: `m:ss.mmm`, e.g. `1:23.456`.
/// Negative times (none yet) are `-:--.---`.
///
/// This is the game's own text, part of what the simulator writes into the page, so it stays
/// here with the simulator; pitwall's displays format their times with `timing::format_lap_time`.
pub fn format_lap_time(ms: i32) -> String {
    if ms < 0 {
        return "-:--.---".to_owned();
    }
    format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}

/// Width of the bins in which lap progress is recorded for the performance meter, metres.
const PROFILE_BIN: f64 = 10.0;

/// The timing of the current session.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    sector_starts: Vec<f64>,
    length: f64,
    session: u32,
    lap_start_ms: u64,
    sector_start_ms: u64,
    pub current_sector: usize,
    sectors: Vec<i32>,
    pub completed_laps: u32,
    pub last_lap_ms: Option<i32>,
    pub best_lap_ms: Option<i32>,
    pub last_sector_ms: Option<i32>,
    /// Lap time at which the car entered each bin of the current lap, and of the best lap.
    profile: Vec<u32>,
    best_profile: Option<Vec<u32>>,
    /// First bin of `profile` not reached yet on this lap.
    next_bin: usize,
}

impl Timing {
    pub(crate) fn new(sector_starts: &[f64], length: f64, session: u32) -> Timing {
        let bins = (length / PROFILE_BIN).ceil() as usize + 1;
        Timing {
            sector_starts: sector_starts.to_vec(),
            length,
            session,
            lap_start_ms: 0,
            sector_start_ms: 0,
            current_sector: 0,
            sectors: Vec::with_capacity(sector_starts.len()),
            completed_laps: 0,
            last_lap_ms: None,
            best_lap_ms: None,
            last_sector_ms: None,
            profile: vec![0; bins],
            best_profile: None,
            next_bin: 1,
        }
    }

    /// Current lap time at `now_ms`.
    pub(crate) fn current_ms(&self, now_ms: u64) -> i32 {
        clamp_ms(now_ms - self.lap_start_ms)
    }

    /// Records the car at `s` metres (possibly past the line, not yet wrapped) at `now_ms`;
    /// returns the lap it completed, if it crossed the line.
    pub(crate) fn update(&mut self, now_ms: u64, s: f64, completed_at: Duration) -> Option<LapRecord> {
        let bin = ((s.min(self.length) / PROFILE_BIN) as usize).min(self.profile.len() - 1);
        let lap_ms = (now_ms - self.lap_start_ms) as u32;
        while self.next_bin <= bin {
            self.profile[self.next_bin] = lap_ms;
            self.next_bin += 1;
        }
        while self.current_sector + 1 < self.sector_starts.len()
            && s >= self.sector_starts[self.current_sector + 1]
        {
            self.close_sector(now_ms);
        }
        if s < self.length {
            return None;
        }
        self.close_sector(now_ms);
        let time_ms = clamp_ms(now_ms - self.lap_start_ms);
        self.completed_laps += 1;
        self.last_lap_ms = Some(time_ms);
        if self.best_lap_ms.is_none_or(|best| time_ms < best) {
            self.best_lap_ms = Some(time_ms);
            self.best_profile = Some(std::mem::take(&mut self.profile));
        }
        self.profile = vec![0; self.best_profile.as_ref().map_or(self.profile.len(), Vec::len)];
        self.next_bin = 1;
        self.lap_start_ms = now_ms;
        self.current_sector = 0;
        Some(LapRecord {
            session: self.session,
            lap: self.completed_laps,
            time_ms,
            sectors_ms: std::mem::take(&mut self.sectors),
            completed_at,
        })
    }

    fn close_sector(&mut self, now_ms: u64) {
        let t = clamp_ms(now_ms - self.sector_start_ms);
        self.sectors.push(t);
        self.last_sector_ms = Some(t);
        self.sector_start_ms = now_ms;
        self.current_sector += 1;
    }

    /// Seconds ahead (negative) or behind (positive) the best lap at `s`, for the physics
    /// page's `performanceMeter`; 0 before there is a best lap.
    pub(crate) fn delta_to_best(&self, now_ms: u64, s: f64) -> f64 {
        let Some(best) = &self.best_profile else { return 0.0 };
        let bin = ((s / PROFILE_BIN) as usize).min(best.len() - 1);
        if bin == 0 {
            return 0.0;
        }
        (f64::from(self.current_ms(now_ms)) - f64::from(best[bin])) / 1000.0
    }
}

/// Milliseconds as the page's `int`: sessions are hours long, far below `i32::MAX` ms (24 days).
fn clamp_ms(ms: u64) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_game() {
        assert_eq!(format_lap_time(83_456), "1:23.456");
        assert_eq!(format_lap_time(0), "0:00.000");
        assert_eq!(format_lap_time(59_999), "0:59.999");
        assert_eq!(format_lap_time(3_600_000), "60:00.000");
        assert_eq!(format_lap_time(-1), "-:--.---");
    }

    #[test]
    fn sectors_sum_to_the_lap() {
        let mut t = Timing::new(&[0.0, 100.0, 200.0], 300.0, 1);
        let mut lap = None;
        for step in 1..=1000u64 {
            let s = step as f64 * 0.5;
            if let Some(l) = t.update(step * 3, s, Duration::ZERO) {
                lap = Some(l);
                break;
            }
        }
        let lap = lap.unwrap();
        assert_eq!(lap.lap, 1);
        assert_eq!(lap.time_ms, 1800);
        assert_eq!(lap.sectors_ms, [600, 600, 600]);
        assert_eq!(t.last_sector_ms, Some(600));
        assert_eq!(t.current_sector, 0);
        assert_eq!(t.best_lap_ms, Some(1800));
        assert_eq!(t.delta_to_best(1800 + 300, 50.0), 0.0, "on the best lap's pace");
    }
}
