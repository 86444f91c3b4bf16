//! Laps from a stream of frames: a streaming detector, and the derived per-frame columns.
//!
//! ## Where a lap ends
//!
//! The graphics state tells it two ways, and both are used:
//! - **`completed_laps` goes up**: the game counted a lap. Its `last_lap_ms` is then that lap's
//!   time, and `last_sector_ms` the last sector's.
//! - **`normalized_position` wraps** (from above 0.9 to below 0.1) without the count moving:
//!   the car crossed the line but the game did not count a lap, as on some out-laps from a
//!   pit box before the line.
//!
//! The two may show on frames a little apart (the graphics page is updated at 60 Hz, and a
//! game may write the count and the position on different updates), so they are merged: a
//! second signal within [`CONFIRM_WINDOW_NS`] of the first is the same crossing. A lap ended by
//! a wrap is held back until the count goes up (then it gets the game's time) or the window
//! passes (then its time is computed from the monotonic clock): the lap table lags the stream
//! by at most that window; the derived columns never lag.
//!
//! `completed_laps` going *down* within a session is a reset (the game restarted the session
//! without the bridge seeing a new one): the open lap ends there, marked [`Invalid::Reset`].
//! A new `session_id` ends the open lap of the previous session, unfinished.
//!
//! ## Numbering
//!
//! A lap's number is `completed_laps + 1` when it starts, as the game counts, except that it
//! never goes back or repeats within a session (after an uncounted crossing or a reset it is the
//! previous number + 1).
//!
//! ## What makes a lap invalid
//!
//! See [`Invalid`]: a cut (more than two tyres off track, AC's own rule), a penalty (the
//! penalty time grows or the penalty flag shows), a pit out-lap or in-lap, a reset, or a lap
//! the stream did not see start at the line.

use std::collections::VecDeque;
use std::fmt;

use proto::telemetry::v1::{Flag, TelemetryFrame};

/// How long after one lap-line signal the other still counts as the same crossing, ns of the
/// monotonic clock. No lap is that short.
pub const CONFIRM_WINDOW_NS: i64 = 1_000_000_000;

/// A lap whose first frame shows the game's lap clock at most this far in started at the line
/// (the stream began with the lap, not in the middle of it), ms.
const LAP_START_SLACK_MS: i32 = 500;

/// Why a lap does not count as a representative lap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalid {
    /// More than two tyres were off track on some frame (`tyres_out > 2`).
    Cut,
    /// The penalty time grew, or the penalty flag was shown.
    Penalty,
    /// The lap started in the pit lane or the pit box.
    OutLap,
    /// The car entered the pit lane during the lap.
    InLap,
    /// The game's lap count went back during the lap (a restart within the session).
    Reset,
    /// The stream did not see the lap start at the line (it began mid-lap).
    Partial,
    /// The lap did not reach the line: the stream or the session ended first.
    Unfinished,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invalid::Cut => "cut",
            Invalid::Penalty => "penalty",
            Invalid::OutLap => "out-lap",
            Invalid::InLap => "in-lap",
            Invalid::Reset => "reset",
            Invalid::Partial => "partial",
            Invalid::Unfinished => "unfinished",
        })
    }
}

/// One lap of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Lap {
    /// The session, 16 bytes.
    pub session_id: Vec<u8>,
    /// Lap number in the session (see the module docs), from 1.
    pub number: u32,
    /// `seq` of the lap's first frame.
    pub start_seq: u64,
    /// `seq` of its last frame.
    pub end_seq: u64,
    /// Wall clock at the start, ns since the Unix epoch.
    pub start_wall_ns: i64,
    /// Wall clock at the end: the crossing (the next lap's first frame), or the last frame of
    /// an unfinished lap.
    pub end_wall_ns: i64,
    /// Monotonic clock at the start, ns.
    pub start_mono_ns: i64,
    /// Monotonic clock at the end, as `end_wall_ns`.
    pub end_mono_ns: i64,
    /// The lap time, ms: the game's when it reported one, else the computed one.
    pub time_ms: i64,
    /// The game's `last_lap_ms` for this lap, when it counted it.
    pub game_time_ms: Option<i32>,
    /// Monotonic time from start to end, ms.
    pub computed_time_ms: i64,
    /// Sector times, ms, in order (the game's `last_sector_ms` where it gave one, else
    /// computed); complete only for a lap that started at the line and crossed it.
    pub sectors_ms: Vec<i32>,
    /// The lap ended at the line.
    pub crossed_line: bool,
    /// Started in the pit lane or box.
    pub out_lap: bool,
    /// Entered the pit lane.
    pub in_lap: bool,
    /// Why the lap is not representative; empty for a valid lap.
    pub invalid: Vec<Invalid>,
    /// Highest ground speed, km/h.
    pub top_speed_kmh: f32,
    /// Lowest ground speed, km/h.
    pub min_speed_kmh: f32,
    /// Fuel at the start minus fuel at the end, litres (negative after refuelling).
    pub fuel_used_l: f32,
    /// Mean tyre core temperature over the lap's frames, °C, FL FR RL RR.
    pub avg_tyre_core_c: [f32; 4],
    /// Physics steps the game skipped during the lap (sum of `missed_steps`).
    pub missed_steps: u64,
    /// Frames in the lap.
    pub frames: u64,
}

impl Lap {
    /// Whether the lap is complete and nothing invalidates it.
    pub fn is_valid(&self) -> bool {
        self.invalid.is_empty()
    }
}

/// Per-frame columns derived from the lap state (what the frame itself does not carry).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Derived {
    /// Lap number the frame belongs to.
    pub lap: u32,
    /// Time into the lap, ms: the game's lap clock at the lap's first frame plus the monotonic
    /// time since.
    pub lap_time_ms: i64,
    /// Distance into the lap, m: `normalized_position` × the track's spline length when the
    /// session metadata gives it, else the distance driven since the lap's first frame.
    pub lap_distance_m: f32,
    /// Seconds since the session's first frame, monotonic clock.
    pub session_time_s: f64,
    /// This frame is the first of a new lap after a line crossing (what a beacon marks).
    pub crossed_line: bool,
}

/// The running lap.
#[derive(Debug, Clone)]
struct Open {
    number: u32,
    start_seq: u64,
    start_wall: i64,
    start_mono: i64,
    base_lap_ms: i64,
    start_fuel: f32,
    start_distance: f32,
    end_seq: u64,
    end_wall: i64,
    end_mono: i64,
    end_fuel: f32,
    sector_start_mono: i64,
    sectors: Vec<i32>,
    core_sum: [f64; 4],
    core_frames: u64,
    top: f32,
    min: f32,
    missed: u64,
    frames: u64,
    from_line: bool,
    out_lap: bool,
    in_lap: bool,
    cut: bool,
    penalty: bool,
}

impl Open {
    fn start(f: &TelemetryFrame, number: u32, from_line: bool) -> Open {
        Open {
            number,
            start_seq: f.seq,
            start_wall: f.wall_time_ns,
            start_mono: f.mono_time_ns,
            base_lap_ms: if from_line { i64::from(f.current_lap_ms.max(0)) } else { 0 },
            start_fuel: f.fuel_l,
            start_distance: f.distance_traveled_m,
            end_seq: f.seq,
            end_wall: f.wall_time_ns,
            end_mono: f.mono_time_ns,
            end_fuel: f.fuel_l,
            sector_start_mono: f.mono_time_ns,
            sectors: Vec::new(),
            core_sum: [0.0; 4],
            core_frames: 0,
            top: f32::NEG_INFINITY,
            min: f32::INFINITY,
            missed: 0,
            frames: 0,
            from_line,
            out_lap: f.in_pit_lane || f.in_pit,
            in_lap: false,
            cut: false,
            penalty: false,
        }
    }

    fn add(&mut self, f: &TelemetryFrame, prev: Option<&Last>) {
        self.end_seq = f.seq;
        self.end_wall = f.wall_time_ns;
        self.end_mono = f.mono_time_ns;
        self.end_fuel = f.fuel_l;
        self.frames += 1;
        self.missed += u64::from(f.missed_steps);
        self.top = self.top.max(f.speed_kmh);
        self.min = self.min.min(f.speed_kmh);
        if let Some(t) = &f.tyre_core_temp_c {
            for (sum, v) in self.core_sum.iter_mut().zip([t.fl, t.fr, t.rl, t.rr]) {
                *sum += f64::from(v);
            }
            self.core_frames += 1;
        }
        self.cut |= f.tyres_out > 2;
        self.penalty |= f.flag() == Flag::Penalty;
        if let Some(p) = prev {
            self.penalty |= f.penalty_time_s > p.penalty_s;
            self.in_lap |= f.in_pit_lane && !p.in_pit_lane && self.frames > 1;
        }
    }

    /// The lap, ended at `end` (the crossing frame) or at its own last frame.
    fn close(
        &self,
        session_id: &[u8],
        end: Option<&TelemetryFrame>,
        game_ms: Option<i32>,
        reset: bool,
    ) -> Lap {
        let (end_wall, end_mono) =
            end.map_or((self.end_wall, self.end_mono), |f| (f.wall_time_ns, f.mono_time_ns));
        let computed = (end_mono - self.start_mono).div_euclid(1_000_000);
        let mut invalid = Vec::new();
        let crossed = end.is_some();
        for (flag, why) in [
            (self.cut, Invalid::Cut),
            (self.penalty, Invalid::Penalty),
            (self.out_lap, Invalid::OutLap),
            (self.in_lap, Invalid::InLap),
            (reset, Invalid::Reset),
            (!self.from_line, Invalid::Partial),
            (!crossed, Invalid::Unfinished),
        ] {
            if flag {
                invalid.push(why);
            }
        }
        let avg = |i: usize| {
            if self.core_frames == 0 { 0.0 } else { (self.core_sum[i] / self.core_frames as f64) as f32 }
        };
        let finite = |x: f32| if x.is_finite() { x } else { 0.0 };
        Lap {
            session_id: session_id.to_vec(),
            number: self.number,
            start_seq: self.start_seq,
            end_seq: self.end_seq,
            start_wall_ns: self.start_wall,
            end_wall_ns: end_wall,
            start_mono_ns: self.start_mono,
            end_mono_ns: end_mono,
            time_ms: game_ms.map_or(computed, i64::from),
            game_time_ms: game_ms,
            computed_time_ms: computed,
            sectors_ms: self.sectors.clone(),
            crossed_line: crossed,
            out_lap: self.out_lap,
            in_lap: self.in_lap,
            invalid,
            top_speed_kmh: finite(self.top),
            min_speed_kmh: finite(self.min),
            fuel_used_l: self.start_fuel - self.end_fuel,
            avg_tyre_core_c: [avg(0), avg(1), avg(2), avg(3)],
            missed_steps: self.missed,
            frames: self.frames,
        }
    }

    fn push_sector(&mut self, f: &TelemetryFrame) {
        let computed = (f.mono_time_ns - self.sector_start_mono).div_euclid(1_000_000);
        let time = if f.last_sector_ms > 0 {
            f.last_sector_ms
        } else {
            computed.clamp(0, i64::from(i32::MAX)) as i32
        };
        self.sectors.push(time);
        self.sector_start_mono = f.mono_time_ns;
    }
}

/// What the previous frame of the session showed.
#[derive(Debug, Clone, Copy)]
struct Last {
    completed_laps: i32,
    norm: f32,
    sector: i32,
    penalty_s: f32,
    in_pit_lane: bool,
}

/// A lap ended by a position wrap, waiting for the game's count to confirm it.
#[derive(Debug, Clone)]
struct Pending {
    lap: Lap,
    deadline_mono: i64,
}

#[derive(Debug, Clone)]
struct Session {
    id: Vec<u8>,
    first_mono: i64,
    spline_m: f32,
    open: Open,
    last: Last,
    pending: Option<Pending>,
}

/// The streaming lap detector and derived-column source: feed it every frame in `seq` order
/// with [`push`](Self::push), take finished laps with [`pop_lap`](Self::pop_lap), and call
/// [`finish`](Self::finish) at the end of the stream for the lap still open.
///
/// ```
/// use analysis::LapTracker;
/// use proto::telemetry::v1::TelemetryFrame;
///
/// let mut tracker = LapTracker::new();
/// let frame = |seq: u64, completed_laps: i32, last_lap_ms: i32| TelemetryFrame {
///     session_id: vec![1; 16].into(),
///     seq,
///     mono_time_ns: seq as i64 * 3_000_000,
///     completed_laps,
///     last_lap_ms,
///     normalized_position: (seq % 1000) as f32 / 1000.0,
///     ..Default::default()
/// };
/// for seq in 0..2500 {
///     let completed = (seq / 1000) as i32;
///     let derived = tracker.push(&frame(seq, completed, if completed > 0 { 2999 } else { 0 }));
///     assert_eq!(derived.lap, completed as u32 + 1);
/// }
/// tracker.finish();
/// let laps: Vec<_> = std::iter::from_fn(|| tracker.pop_lap()).collect();
/// assert_eq!(laps.len(), 3);
/// assert_eq!((laps[0].number, laps[0].time_ms, laps[0].computed_time_ms), (1, 2999, 3000));
/// assert!(laps[1].is_valid());
/// assert!(!laps[2].crossed_line);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LapTracker {
    session: Option<Session>,
    done: VecDeque<Lap>,
}

impl LapTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> LapTracker {
        LapTracker::default()
    }

    /// Takes in the next frame; returns its derived columns. Laps it finishes become available
    /// from [`pop_lap`](Self::pop_lap).
    pub fn push(&mut self, f: &TelemetryFrame) -> Derived {
        if self.session.as_ref().is_some_and(|s| s.id != f.session_id.as_ref()) {
            self.finish();
        }
        let Some(s) = self.session.as_mut() else {
            let from_line = f.current_lap_ms.max(0) <= LAP_START_SLACK_MS;
            let mut open =
                Open::start(f, u32::try_from(f.completed_laps).unwrap_or(0).saturating_add(1), from_line);
            open.add(f, None);
            // Steps missed before the session's first frame are not the session's.
            open.missed = 0;
            let spline_m = f.session.as_ref().map_or(0.0, |m| m.track_spline_length_m);
            let s = Session {
                id: f.session_id.to_vec(),
                first_mono: f.mono_time_ns,
                spline_m,
                open,
                last: last(f),
                pending: None,
            };
            let derived = derive(&s, f, false);
            self.session = Some(s);
            return derived;
        };
        if let Some(m) = &f.session {
            if m.track_spline_length_m > 0.0 {
                s.spline_m = m.track_spline_length_m;
            }
        }
        let prev = s.last;
        let counted = f.completed_laps > prev.completed_laps;
        let sector_moved = f.current_sector != prev.sector;
        let mut crossed = false;

        // A pending lap is confirmed by the count, or released when the window has passed.
        if let Some(p) = s.pending.as_mut() {
            if counted {
                if f.last_lap_ms > 0 {
                    p.lap.game_time_ms = Some(f.last_lap_ms);
                    p.lap.time_ms = i64::from(f.last_lap_ms);
                }
                if sector_moved && f.current_sector == 0 {
                    let t = if f.last_sector_ms > 0 { f.last_sector_ms } else { 0 };
                    p.lap.sectors_ms.push(t);
                }
            }
            if counted || f.mono_time_ns >= p.deadline_mono {
                if let Some(p) = s.pending.take() {
                    self.done.push_back(p.lap);
                }
                if counted {
                    s.last = last(f);
                    s.open.add(f, Some(&prev));
                    return derive(s, f, false);
                }
            }
        }

        if f.completed_laps < prev.completed_laps {
            // A reset: the open lap ends here, and a new one starts.
            if let Some(p) = s.pending.take() {
                self.done.push_back(p.lap);
            }
            self.done.push_back(s.open.close(&s.id, None, None, true));
            let number = next_number(&s.open, f);
            s.open = Open::start(f, number, f.current_lap_ms.max(0) <= LAP_START_SLACK_MS);
        } else {
            let lap_age = f.mono_time_ns - s.open.start_mono;
            let wrapped = prev.norm > 0.9 && f.normalized_position < 0.1;
            if counted || (wrapped && lap_age >= CONFIRM_WINDOW_NS) {
                if sector_moved {
                    s.open.push_sector(f);
                }
                let lap = if counted {
                    let game = (f.last_lap_ms > 0).then_some(f.last_lap_ms);
                    let lap = s.open.close(&s.id, Some(f), game, false);
                    self.done.push_back(lap);
                    None
                } else {
                    Some(s.open.close(&s.id, Some(f), None, false))
                };
                if let Some(lap) = lap {
                    s.pending = Some(Pending { lap, deadline_mono: f.mono_time_ns + CONFIRM_WINDOW_NS });
                }
                let number = next_number(&s.open, f);
                s.open = Open::start(f, number, true);
                crossed = true;
            } else if sector_moved && f.current_sector == prev.sector + 1 {
                s.open.push_sector(f);
            }
        }
        s.open.add(f, Some(&prev));
        s.last = last(f);
        derive(s, f, crossed)
    }

    /// Ends the stream: the open lap (and one awaiting confirmation) become available from
    /// [`pop_lap`](Self::pop_lap). The next frame pushed starts afresh.
    pub fn finish(&mut self) {
        if let Some(s) = self.session.take() {
            if let Some(p) = s.pending {
                self.done.push_back(p.lap);
            }
            self.done.push_back(s.open.close(&s.id, None, None, false));
        }
    }

    /// The oldest finished lap not taken yet.
    pub fn pop_lap(&mut self) -> Option<Lap> {
        self.done.pop_front()
    }
}

/// The lap table of a whole stream of frames (any number of sessions, in order).
pub fn laps<'a>(frames: impl IntoIterator<Item = &'a TelemetryFrame>) -> Vec<Lap> {
    let mut tracker = LapTracker::new();
    let mut out = Vec::new();
    for f in frames {
        tracker.push(f);
        out.extend(std::iter::from_fn(|| tracker.pop_lap()));
    }
    tracker.finish();
    out.extend(std::iter::from_fn(|| tracker.pop_lap()));
    out
}

fn next_number(open: &Open, f: &TelemetryFrame) -> u32 {
    let game = u32::try_from(f.completed_laps).unwrap_or(0).saturating_add(1);
    game.max(open.number.saturating_add(1))
}

fn last(f: &TelemetryFrame) -> Last {
    Last {
        completed_laps: f.completed_laps,
        norm: f.normalized_position,
        sector: f.current_sector,
        penalty_s: f.penalty_time_s,
        in_pit_lane: f.in_pit_lane,
    }
}

fn derive(s: &Session, f: &TelemetryFrame, crossed_line: bool) -> Derived {
    let o = &s.open;
    let lap_distance_m = if s.spline_m > 0.0 {
        f.normalized_position.clamp(0.0, 1.0) * s.spline_m
    } else {
        (f.distance_traveled_m - o.start_distance).max(0.0)
    };
    Derived {
        lap: o.number,
        lap_time_ms: o.base_lap_ms + (f.mono_time_ns - o.start_mono).div_euclid(1_000_000),
        lap_distance_m,
        session_time_s: (f.mono_time_ns - s.first_mono) as f64 / 1e9,
        crossed_line,
    }
}
