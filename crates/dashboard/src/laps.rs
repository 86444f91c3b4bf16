//! Stored laps: the catalogue (what the records database holds, session by session) and one
//! lap's traces, read from the ingest server's Parquet dataset for the lap page.
//!
//! A telemetry lap is named by its session (the bridge's UUID) and its number; the records
//! database says which frames are its (`first_seq..=last_seq`), [`convert::slice`] reads only
//! those rows and only the columns a trace needs, and [`build_trace`] puts them on a grid of
//! lap distance ([`STEP_M`] apart), which is what lets the page overlay laps point for point
//! and take the time difference of two laps at the same place on the track.

use std::path::Path;

use proto::telemetry::v1::TelemetryFrame;
use records::{LapCollision, ServerLap, Store, TelemetryLap};
use serde::Serialize;

/// The spacing of a trace's points along the lap, metres: 2 500 points for a 5 km lap, finer
/// than anything a chart of the lap's width shows.
pub(crate) const STEP_M: f64 = 2.0;

/// The longest lap drawn or downloaded, in frames: 20 minutes at 333 Hz. A longer "lap" is a
/// car left in the pits with the game running, not something to chart.
pub(crate) const MAX_LAP_FRAMES: u64 = 333 * 60 * 20;

/// The frame table's columns a trace reads (the identity columns come with every slice).
const TRACE_COLUMNS: &[&str] = &[
    "mono_time_ns",
    "throttle",
    "brake",
    "steering",
    "gear",
    "rpm",
    "speed_kmh",
    "position_m_x",
    "position_m_z",
    "normalized_position",
    "distance_traveled_m",
];

/// A lap's channels against lap distance, each `distance_m.len()` long.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Trace {
    /// Distance from the line, m: 0, [`STEP_M`], 2 × [`STEP_M`], …
    pub(crate) distance_m: Vec<f32>,
    /// Time since the lap's first frame, ms.
    pub(crate) t_ms: Vec<f32>,
    pub(crate) speed_kmh: Vec<f32>,
    pub(crate) throttle: Vec<f32>,
    pub(crate) brake: Vec<f32>,
    pub(crate) steering: Vec<f32>,
    pub(crate) gear: Vec<i32>,
    pub(crate) rpm: Vec<i32>,
    /// World position, m (for the map).
    pub(crate) x: Vec<f32>,
    pub(crate) z: Vec<f32>,
}

/// Something that happened on a lap, placed on it when its time is known.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LapEvent {
    /// `collision`, `cut` or `invalid`.
    pub(crate) kind: &'static str,
    /// What happened, for a person.
    pub(crate) text: String,
    /// When, ms since the lap started; `None` for what belongs to the whole lap.
    pub(crate) t_ms: Option<f64>,
    /// Where, m from the line.
    pub(crate) distance_m: Option<f64>,
}

/// `/api/lap`'s answer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LapAnswer {
    pub(crate) session_id: String,
    pub(crate) lap: u32,
    pub(crate) driver: String,
    pub(crate) car_model: String,
    pub(crate) track: String,
    pub(crate) layout: String,
    pub(crate) time_ms: u32,
    pub(crate) invalid: Vec<String>,
    pub(crate) sectors_ms: Vec<u32>,
    /// Where each sector but the last ends, m (from the sector times on the trace).
    pub(crate) sector_ends_m: Vec<f64>,
    pub(crate) finished_at_ms: i64,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    /// Frames the records counted in the lap, and those read from the dataset: fewer read
    /// means part of the lap is not in a finished Parquet file yet (or was lost).
    pub(crate) frames: u64,
    pub(crate) frames_read: usize,
    /// Physics steps the game skipped during the lap (the bridge could not see them).
    pub(crate) missed_steps: u64,
    /// The track's length, m (0 when the game did not say).
    pub(crate) track_length_m: f32,
    /// The server's lap linked to it.
    pub(crate) server: Option<ServerLap>,
    pub(crate) events: Vec<LapEvent>,
    pub(crate) trace: Trace,
}

/// Why a lap cannot be answered.
#[derive(Debug)]
pub(crate) enum LapProblem {
    /// No such lap in the records.
    Unknown,
    /// More than [`MAX_LAP_FRAMES`] frames.
    TooLong(u64),
    /// The dataset does not hold the lap's last frame (yet): the Parquet sink writes its files
    /// at each flush, and a lap is drawn whole or not at all.
    NotYet { read: usize },
    /// The records or the dataset failed.
    Failed(String),
}

/// A telemetry lap's driver as a person reads it: name and surname, or the nick.
pub(crate) fn driver(lap: &TelemetryLap) -> String {
    let g = &lap.game;
    let name = [g.player_name.trim(), g.player_surname.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() { g.player_nick.clone() } else { name }
}

/// The records' telemetry lap `lap` of `session`, checked to be short enough to read.
pub(crate) fn find(store: &Store, session: &[u8; 16], lap: u32) -> Result<TelemetryLap, LapProblem> {
    let found = store.telemetry_lap(session, lap).map_err(|e| LapProblem::Failed(format!("{e:#}")))?;
    let found = found.ok_or(LapProblem::Unknown)?;
    let frames = found.last_seq.saturating_sub(found.first_seq).saturating_add(1);
    if frames > MAX_LAP_FRAMES {
        return Err(LapProblem::TooLong(frames));
    }
    Ok(found)
}

/// The lap's frames from the dataset: every column (`columns: None`) or those named.
pub(crate) fn frames(
    dataset: &Path,
    session: &[u8; 16],
    lap: &TelemetryLap,
    columns: Option<&[&str]>,
) -> Result<convert::slice::Slice, LapProblem> {
    let slice = convert::slice::read_slice(dataset, session, lap.first_seq..=lap.last_seq, columns)
        .map_err(|e| LapProblem::Failed(convert::error_chain(&e)))?;
    // The sink's files hold a gap-free prefix of each session: with the last frame there, the
    // lap is whole (but for damage, which the slice reports as frames fewer than the lap's).
    if slice.frames.last().map(|f| f.seq) != Some(lap.last_seq) {
        return Err(LapProblem::NotYet { read: slice.frames.len() });
    }
    Ok(slice)
}

/// What the records say of a lap: the lap, and the collisions of its server lap's driver
/// during it (none without a linked server lap).
pub(crate) fn facts(
    store: &Store,
    session: &[u8; 16],
    number: u32,
) -> Result<(TelemetryLap, Vec<LapCollision>), LapProblem> {
    let lap = find(store, session, number)?;
    let hits = match &lap.server {
        Some(server) => store
            .lap_collisions(
                server.entry,
                server.finished_at_ms - i64::from(server.time_ms),
                server.finished_at_ms,
            )
            .map_err(|e| LapProblem::Failed(format!("{e:#}")))?,
        None => Vec::new(),
    };
    Ok((lap, hits))
}

/// Everything the lap page shows of one lap: the records' facts, the trace read from the
/// dataset, and the server's events placed on it.
pub(crate) fn answer(
    dataset: &Path,
    session: &[u8; 16],
    lap: TelemetryLap,
    hits: Vec<LapCollision>,
) -> Result<LapAnswer, LapProblem> {
    let slice = frames(dataset, session, &lap, Some(TRACE_COLUMNS))?;
    let spline_m = slice.metadata.as_ref().map_or(0.0, |m| m.track_spline_length_m);
    let (trace, along) = build_trace(&slice.frames, spline_m);
    let mut events = Vec::new();
    for reason in &lap.invalid {
        events.push(LapEvent {
            kind: "invalid",
            text: format!("telemetry: {reason}"),
            t_ms: None,
            distance_m: None,
        });
    }
    if let Some(server) = &lap.server {
        if server.cuts > 0 {
            let text = format!("server: {} cut{}, the lap does not count", server.cuts, plural(server.cuts));
            events.push(LapEvent { kind: "cut", text, t_ms: None, distance_m: None });
        }
        // The lap's window on the server's clock.
        let start = server.finished_at_ms - i64::from(server.time_ms);
        for hit in hits {
            let t = (hit.at_ms - start) as f64;
            let with = hit.other.unwrap_or_else(|| "the wall".to_owned());
            events.push(LapEvent {
                kind: "collision",
                text: format!("collision with {with} at {:.0} km/h", hit.impact_kmh),
                t_ms: Some(t),
                distance_m: along.distance_at(t),
            });
        }
    }
    let mut sector_ends_m = Vec::new();
    let mut elapsed = 0.0;
    for s in lap.sectors_ms.iter().take(lap.sectors_ms.len().saturating_sub(1)) {
        elapsed += f64::from(*s);
        if let Some(d) = along.distance_at(elapsed) {
            sector_ends_m.push(d);
        }
    }
    Ok(LapAnswer {
        session_id: lap.session_id.clone(),
        lap: lap.lap,
        driver: driver(&lap),
        car_model: lap.game.car_model.clone(),
        track: lap.game.track.clone(),
        layout: lap.game.layout.clone(),
        time_ms: lap.time_ms,
        invalid: lap.invalid.clone(),
        sectors_ms: lap.sectors_ms.clone(),
        sector_ends_m,
        finished_at_ms: lap.finished_at_ms,
        first_seq: lap.first_seq,
        last_seq: lap.last_seq,
        frames: lap.frames,
        frames_read: slice.frames.len(),
        missed_steps: lap.missed_steps,
        track_length_m: spline_m,
        server: lap.server,
        events,
        trace,
    })
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Each frame's time and distance into the lap, for placing an event by its time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Along {
    t_ms: Vec<f64>,
    distance_m: Vec<f64>,
}

impl Along {
    /// The distance at `t_ms` into the lap, interpolated; `None` outside the lap.
    pub(crate) fn distance_at(&self, t_ms: f64) -> Option<f64> {
        let (first, last) = (*self.t_ms.first()?, *self.t_ms.last()?);
        if !(first..=last).contains(&t_ms) {
            return None;
        }
        let i = self.t_ms.partition_point(|&t| t <= t_ms).clamp(1, self.t_ms.len()) - 1;
        let j = (i + 1).min(self.t_ms.len() - 1);
        let span = self.t_ms[j] - self.t_ms[i];
        let f = if span > 0.0 { (t_ms - self.t_ms[i]) / span } else { 0.0 };
        Some(self.distance_m[i] + f * (self.distance_m[j] - self.distance_m[i]))
    }
}

/// The lap's frames (in `seq` order) on a grid of lap distance, and each frame's time and
/// distance.
///
/// Distance is the normalized track position times the track's length when the game gave the
/// length, unwrapped across the line (the first frames of a lap may still read 0.999, the last
/// ones 0.001 already); otherwise the distance driven since the lap's first frame. It never
/// goes backwards (a car rolling back stays where it was). Between two frames every channel is
/// interpolated linearly but the gear, which is the earlier frame's.
pub(crate) fn build_trace(frames: &[TelemetryFrame], spline_m: f32) -> (Trace, Along) {
    let Some(first) = frames.first() else { return (Trace::default(), Along::default()) };
    let length = f64::from(spline_m);
    let mut distance = Vec::with_capacity(frames.len());
    if length > 0.0 {
        let at = |f: &TelemetryFrame| f64::from(f.normalized_position.clamp(0.0, 1.0)) * length;
        // A lap whose first frame is past half the lap started just before the line.
        let mut offset = if at(first) > length / 2.0 { -length } else { 0.0 };
        let mut previous = at(first) + offset;
        for f in frames {
            let mut d = at(f) + offset;
            if d - previous < -length / 2.0 {
                offset += length;
                d += length;
            } else if d - previous > length / 2.0 {
                offset -= length;
                d -= length;
            }
            distance.push(d);
            previous = d;
        }
    } else {
        let start = f64::from(first.distance_traveled_m);
        distance.extend(frames.iter().map(|f| f64::from(f.distance_traveled_m) - start));
    }
    // Never backwards, and from 0 at the first frame.
    let origin = distance[0].min(0.0);
    let mut furthest = f64::MIN;
    for d in &mut distance {
        furthest = furthest.max(*d - origin);
        *d = furthest.max(0.0);
    }
    let t_ms: Vec<f64> = frames.iter().map(|f| (f.mono_time_ns - first.mono_time_ns) as f64 / 1e6).collect();

    let mut trace = Trace::default();
    let end = *distance.last().unwrap_or(&0.0);
    let points = (end / STEP_M).floor() as usize + 1;
    let mut j = 0;
    for k in 0..points {
        let g = k as f64 * STEP_M;
        while j + 1 < distance.len() && distance[j + 1] <= g {
            j += 1;
        }
        let next = (j + 1).min(frames.len() - 1);
        let span = distance[next] - distance[j];
        let f = if span > 0.0 { ((g - distance[j]) / span).clamp(0.0, 1.0) } else { 0.0 };
        let lerp = |a: f32, b: f32| (f64::from(a) + f * (f64::from(b) - f64::from(a))) as f32;
        let (a, b) = (&frames[j], &frames[next]);
        trace.distance_m.push(g as f32);
        trace.t_ms.push((t_ms[j] + f * (t_ms[next] - t_ms[j])) as f32);
        trace.speed_kmh.push(lerp(a.speed_kmh, b.speed_kmh));
        trace.throttle.push(lerp(a.throttle, b.throttle));
        trace.brake.push(lerp(a.brake, b.brake));
        trace.steering.push(lerp(a.steering, b.steering));
        trace.gear.push(a.gear);
        trace.rpm.push(lerp(a.rpm as f32, b.rpm as f32).round() as i32);
        let (pa, pb) = (a.position_m.unwrap_or_default(), b.position_m.unwrap_or_default());
        trace.x.push(lerp(pa.x, pb.x));
        trace.z.push(lerp(pa.z, pb.z));
    }
    (trace, Along { t_ms, distance_m: distance })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::telemetry::v1::Vec3;

    /// A lap of a 1 000 m circle at 100 km/h (27.8 m/s), one frame every 30 ms, starting 1 m
    /// before the line.
    fn lap() -> Vec<TelemetryFrame> {
        let length = 1_000.0f64;
        let speed = 100.0 / 3.6;
        let mut frames = Vec::new();
        let mut seq = 0;
        loop {
            let t = seq as f64 * 0.03;
            let d = -1.0 + speed * t;
            if d > length + 0.5 {
                break;
            }
            let n = d.rem_euclid(length) / length;
            let a = n * std::f64::consts::TAU;
            frames.push(TelemetryFrame {
                seq,
                mono_time_ns: (t * 1e9) as i64,
                speed_kmh: 100.0,
                throttle: 1.0,
                gear: if d < 500.0 { 3 } else { 4 },
                rpm: 6000,
                normalized_position: n as f32,
                position_m: Some(Vec3 { x: (159.15 * a.cos()) as f32, y: 0.0, z: (159.15 * a.sin()) as f32 }),
                ..Default::default()
            });
            seq += 1;
        }
        frames
    }

    #[test]
    fn a_lap_goes_on_a_distance_grid_across_the_line() {
        let frames = lap();
        let (trace, along) = build_trace(&frames, 1_000.0);
        // 0, 2, …, 1000: the lap's first frame (1 m before the line) is its distance 0.
        assert_eq!(trace.distance_m.len(), 501, "{:?}", trace.distance_m.last());
        assert_eq!(trace.distance_m[1], 2.0);
        for w in trace.t_ms.windows(2) {
            assert!(w[1] >= w[0], "time runs forward");
        }
        // 2 m at 27.8 m/s is 72 ms.
        let dt = trace.t_ms[251] - trace.t_ms[250];
        assert!((dt - 72.0).abs() < 0.5, "{dt}");
        assert_eq!(trace.gear[10], 3);
        assert_eq!(trace.gear[400], 4);
        assert!(trace.speed_kmh.iter().all(|&v| (v - 100.0).abs() < 1e-3));
        // Half a lap in is 18 s in, 500 m from where the lap began.
        let d = along.distance_at(18_000.0).expect("inside the lap");
        assert!((d - 500.0).abs() < 1.0, "{d}");
        assert_eq!(along.distance_at(-1.0), None);
        assert_eq!(along.distance_at(1e9), None);
    }

    #[test]
    fn without_a_track_length_the_distance_driven_counts_and_nothing_goes_backwards() {
        let frames: Vec<TelemetryFrame> = [100.0, 110.0, 105.0, 130.0]
            .iter()
            .enumerate()
            .map(|(i, &d)| TelemetryFrame {
                seq: i as u64,
                mono_time_ns: i as i64 * 1_000_000_000,
                distance_traveled_m: d,
                ..Default::default()
            })
            .collect();
        let (trace, _) = build_trace(&frames, 0.0);
        assert_eq!(
            trace.distance_m,
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0, 30.0]
        );
        // 10 m in 1 s, standing still for a second (the time at 10 m is when the car
        // moves on), then 20 m in the last second.
        assert_eq!(trace.t_ms[4], 800.0);
        assert_eq!(trace.t_ms[5], 2_000.0);
        assert_eq!(trace.t_ms[6], 2_100.0);
        assert_eq!(build_trace(&[], 0.0).0, Trace::default());
    }
}
