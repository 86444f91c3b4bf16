//! Where frames come from: the game's shared memory, the in-process game simulator, or a
//! recording replayed.
//!
//! - **Shared memory** ([`SourceConfig::Shm`]): a [`Poller`] over the page files of a directory
//!   (`/dev/shm` under Proton, or `--shm-dir`), or over the game's named mappings on Windows
//!   (`shm::open_live`). A [`Pacer`] times the polls around the game's 3 ms physics step.
//! - **Simulator** ([`SourceConfig::Sim`]): a [`GameSim`] stepped in this process, its pages
//!   read through the same [`Poller`] (the simulator's [`shm::Snapshot`] is a page source) right
//!   after each step, so every step is sampled once, at real time × `speed` or as fast as
//!   possible. Its clock is the simulation's: an accelerated run records the same timestamps as
//!   a real-time one.
//! - **Replay** ([`SourceConfig::Replay`]): the frames of a recording, paced by their
//!   `mono_time_ns` (× `speed`) or as fast as possible. **Replayed frames keep their session
//!   ids and seqs**: they are the same frames, so a server that already has them dedupes them,
//!   and one that lacks them (a recording made with `--no-server`, or during an outage longer
//!   than the bridge ran) gets exactly what it lacks.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;
use shm::{ManualClock, MonotonicClock, PageSource, Poller, Sample, StaticPage};
use sim::game::{GameConfig, GameSim, PHYSICS_STEP};

use crate::error::BridgeError;
use crate::metrics::Metrics;
use crate::runner::{BATCH_AGE, Sampling};
use crate::session::Sessionizer;

/// How fast a simulated or replayed source runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// This many times real time (1 is real time).
    Factor(f64),
    /// As fast as the bridge can go.
    Max,
}

impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed::Factor(x)),
            _ => Err(format!("`{s}` is not a speed: give a factor above 0 (1 = real time) or `max`")),
        }
    }
}

/// The source of frames.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// The game's shared memory: page files in `dir`, or the OS's usual place when `None` (the
    /// named mappings on Windows, `/dev/shm` elsewhere).
    Shm {
        /// Directory of the `acpmf_*` files.
        dir: Option<PathBuf>,
    },
    /// The game simulator, in this process.
    Sim {
        /// The simulated game.
        game: GameConfig,
        /// Time acceleration.
        speed: Speed,
    },
    /// A recording, frames re-sent with their own ids.
    Replay {
        /// The recording.
        path: PathBuf,
        /// Pace relative to the frames' own clock.
        speed: Speed,
    },
}

impl SourceConfig {
    /// `shm`, `sim` or `replay`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Shm { .. } => "shm",
            SourceConfig::Sim { .. } => "sim",
            SourceConfig::Replay { .. } => "replay",
        }
    }
}

/// An opened source, ready to run on the sampler thread.
pub(crate) enum Input {
    Shm(Box<dyn PageSource + Send>),
    Sim(Box<GameSim>, Speed),
    Replay(Box<record::RecordReader>, Speed),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::Shm(_) => "Input::Shm",
            Input::Sim(..) => "Input::Sim",
            Input::Replay(..) => "Input::Replay",
        })
    }
}

impl Input {
    /// Opens the source: errors here (no pages, a bad simulator setting, no recording) stop the
    /// bridge before it starts.
    pub(crate) fn open(config: &SourceConfig, record: &Path) -> Result<Input, BridgeError> {
        match config {
            SourceConfig::Shm { dir } => open_pages(dir.as_deref()).map(Input::Shm),
            SourceConfig::Sim { game, speed } => {
                Ok(Input::Sim(Box::new(GameSim::new(game.clone())?), *speed))
            }
            SourceConfig::Replay { path, speed } => {
                if same_file(path, record) {
                    return Err(BridgeError::config(
                        "--source replay",
                        format!(
                            "{} is also the recording this bridge writes; give --record another file",
                            path.display()
                        ),
                    ));
                }
                // A damaged stretch is skipped (and reported), and the replay goes on after it.
                let options = record::ReadOptions { resync: true, ..Default::default() };
                Ok(Input::Replay(Box::new(record::RecordReader::open_with(path, options)?), *speed))
            }
        }
    }

    /// Samples until told to stop or the source ends.
    pub(crate) fn run(self, ctx: &mut Sampling<'_>) {
        match self {
            Input::Shm(source) => run_shm(source, ctx),
            Input::Sim(game, speed) => run_sim(*game, speed, ctx),
            Input::Replay(reader, speed) => run_replay(*reader, speed, ctx),
        }
    }
}

/// The page files of `dir` (the OS's usual place when `None`: the named mappings on Windows).
fn open_pages(dir: Option<&Path>) -> Result<Box<dyn PageSource + Send>, BridgeError> {
    #[cfg(unix)]
    {
        // Mapped, as Linux apps read a Proton bridge's files: a page copy is a memory copy, no
        // system call. Where a file cannot be mapped, read it instead.
        let dir = dir.unwrap_or(Path::new(shm::DEFAULT_DIR));
        match shm::MappedDir::open(dir) {
            Ok(mapped) => Ok(Box::new(mapped)),
            Err(e @ shm::ShmError::Io { op: "mapping", .. }) => {
                tracing::warn!(error = %e, "cannot map the page files; reading them with system calls");
                Ok(Box::new(shm::DirSource::open(dir)?))
            }
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        match dir {
            Some(dir) => Ok(Box::new(shm::DirSource::open(dir)?)),
            None => Ok(shm::open_live()?),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Wall clock now, ns since the Unix epoch.
pub(crate) fn unix_now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn source_name(kind: &str) -> String {
    format!("pitwall-bridge {} ({kind})", env!("CARGO_PKG_VERSION"))
}

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

/// A step read from the pages, waiting to become a frame.
struct Pending {
    sample: Sample,
    static_page: StaticPage,
    static_changed: bool,
    wall_ns: i64,
}

/// Steps gathered before they become frames together.
///
/// Building and encoding a frame 3 ms after the last one, with the game (and everything else)
/// running in between, finds caches cold: the frame builder, the encoder and the compressor ran
/// several times slower per frame than in a run of frames. So each poll only copies the pages
/// it read, and every [`BATCH_AGE`] (or [`PENDING_MAX`] steps) the steps become frames in one
/// go and go to the recording and the network side together. Timestamps are taken when the
/// step is read; a frame reaches the spool at most this much later (the batch the network side
/// sends was that old already).
const PENDING_MAX: usize = 112;

fn run_shm(source: Box<dyn PageSource + Send>, ctx: &mut Sampling<'_>) {
    let mut poller = Poller::new(source, MonotonicClock::new());
    let mut sessions = Sessionizer::new(source_name("shm"));
    let mut pacer = Pacer::default();
    let mut next_static_check = Instant::now() + Duration::from_secs(1);
    // A static page that differed from the session's once; a second equal reading confirms it
    // (the game writes the static page while loading, and it has no packetId to guard a copy).
    let mut differing: Option<StaticPage> = None;
    let mut confirmed: Option<StaticPage> = None;
    let mut error_logged = false;
    // The physics packetId of the last sample, and when the pages were last read whole.
    let mut last_id: Option<i32> = None;
    let mut last_full = Instant::now();
    let mut id = [0u8; 4];
    let mut pending: Vec<Pending> = Vec::with_capacity(PENDING_MAX);
    let mut next_batch = Instant::now() + BATCH_AGE;
    let mut polls = 0u64;
    while !ctx.should_stop() {
        let now = Instant::now();
        polls += 1;
        // A poll copies both pages twice (the torn-read guard); most polls find the step
        // already sampled. Reading the physics packetId alone (offset 0) first skips those,
        // while a whole poll at least every 50 ms still follows the status and session when
        // physics stands still (pause, menus).
        let unchanged = last_id.is_some_and(|last| {
            now.saturating_duration_since(last_full) < Duration::from_millis(50)
                && poller.source_mut().read_at(shm::Page::Physics, 0, &mut id).is_ok()
                && i32::from_le_bytes(id) == last
        });
        let sampled = if unchanged {
            None
        } else {
            last_full = now;
            match poller.poll() {
                Ok(Some(sample)) => {
                    error_logged = false;
                    last_id = Some(sample.physics.packet_id);
                    let (static_page, static_changed) = match (sample.session_start, confirmed.take()) {
                        // A session start re-read the static page: the poller's is the freshest.
                        (None, Some(page)) => (page, true),
                        _ => (poller.static_page().copied().unwrap_or_else(StaticPage::new), false),
                    };
                    let id = sample.physics.packet_id;
                    pending.push(Pending { sample, static_page, static_changed, wall_ns: unix_now_ns() });
                    Some(id)
                }
                Ok(None) => None,
                Err(e) => {
                    Metrics::add(&ctx.metrics().source_errors, 1);
                    if !error_logged {
                        tracing::warn!(error = %e, "cannot read the shared memory; retrying");
                        error_logged = true;
                    }
                    ctx.sleep(Duration::from_millis(100));
                    None
                }
            }
        };
        let static_due = now >= next_static_check;
        if static_due || now >= next_batch || pending.len() >= PENDING_MAX {
            // Frames first: the static page is compared with the session the frames made.
            emit_pending(&mut pending, &mut sessions, ctx);
            publish_counts(ctx, poller.stats().torn_reads, polls);
            ctx.flush();
            ctx.housekeeping(now);
            next_batch = now + BATCH_AGE;
        }
        if static_due {
            next_static_check = now + Duration::from_secs(1);
            let mut page = StaticPage::new();
            if poller.source_mut().read_static(&mut page).is_ok() && sessions.static_differs(&page) {
                if differing.as_ref().is_some_and(|d| d.as_bytes() == page.as_bytes()) {
                    confirmed = Some(page);
                    differing = None;
                } else {
                    differing = Some(page);
                }
            } else {
                differing = None;
            }
        }
        let wait = pacer.next_wait(Instant::now(), sampled);
        ctx.sleep(wait);
    }
    emit_pending(&mut pending, &mut sessions, ctx);
    publish_counts(ctx, poller.stats().torn_reads, polls);
    ctx.flush();
}

/// Publishes the sampler's own counters to the status (at each batch, and when sampling ends).
fn publish_counts(ctx: &Sampling<'_>, torn_reads: u64, polls: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    ctx.metrics().torn_reads.store(torn_reads, Relaxed);
    ctx.metrics().polls.store(polls, Relaxed);
}

/// Turns the steps gathered into frames, recorded and handed to the network side.
fn emit_pending(pending: &mut Vec<Pending>, sessions: &mut Sessionizer, ctx: &mut Sampling<'_>) {
    for step in pending.drain(..) {
        let (frame, new) = sessions.frame(&step.sample, &step.static_page, step.static_changed, step.wall_ns);
        if let Some(why) = new {
            ctx.new_session(&frame, &format!("{why:?}"));
        }
        Metrics::add(&ctx.metrics().missed_steps, step.sample.missed_before);
        ctx.emit(&frame);
    }
}

fn run_sim(mut game: GameSim, speed: Speed, ctx: &mut Sampling<'_>) {
    let clock = Arc::new(ManualClock::new(0));
    let mut poller = Poller::new(game.snapshot(), clock.clone());
    let mut sessions = Sessionizer::new(source_name("sim"));
    let wall0 = unix_now_ns();
    let start = Instant::now();
    let step_ns = PHYSICS_STEP.as_nanos() as f64;
    while !ctx.should_stop() {
        let now = Instant::now();
        let due = match speed {
            Speed::Factor(x) => (now.duration_since(start).as_nanos() as f64 * x / step_ns) as u64 + 1,
            Speed::Max => game.stats().steps + 64,
        };
        // Bounded so that a stalled host (a suspended laptop) does not freeze the loop.
        let todo = due.saturating_sub(game.stats().steps).min(2_000);
        for _ in 0..todo {
            let written = game.step();
            if written.physics.is_none() && written.graphics.is_none() && written.static_page.is_none() {
                continue;
            }
            let sim_ns = game.sim_time().as_nanos() as u64;
            clock.set(sim_ns);
            *poller.source_mut() = game.snapshot();
            match poller.poll() {
                Ok(Some(sample)) => {
                    let page = poller.static_page().copied().unwrap_or_else(StaticPage::new);
                    let wall = wall0.saturating_add(i64::try_from(sim_ns).unwrap_or(i64::MAX));
                    let (frame, new) = sessions.frame(&sample, &page, false, wall);
                    if let Some(why) = new {
                        ctx.new_session(&frame, &format!("{why:?}"));
                    }
                    Metrics::add(&ctx.metrics().missed_steps, sample.missed_before);
                    ctx.emit(&frame);
                }
                Ok(None) => {}
                Err(e) => {
                    // A snapshot cannot fail to read; reported rather than assumed.
                    Metrics::add(&ctx.metrics().source_errors, 1);
                    tracing::warn!(error = %e, "reading the simulator's pages");
                }
            }
        }
        ctx.housekeeping(now);
        if let Speed::Factor(x) = speed {
            let next = start + Duration::from_nanos((game.stats().steps as f64 * step_ns / x) as u64);
            ctx.sleep(next.saturating_duration_since(Instant::now()));
        }
    }
}

fn run_replay(mut reader: record::RecordReader, speed: Speed, ctx: &mut Sampling<'_>) {
    // (frame clock, host clock) of the frame that pacing is measured from.
    let mut base: Option<(i64, Instant)> = None;
    let mut last_mono = i64::MIN;
    let mut last_session = Bytes::new();
    while !ctx.should_stop() {
        let Some(raw) = reader.next_raw() else { break };
        let raw = match raw {
            Ok(raw) => raw,
            Err(e) if e.is_damage() => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "the replayed recording is damaged; skipping the damaged part");
                continue;
            }
            Err(e) => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "cannot read the replayed recording; stopping");
                break;
            }
        };
        let frame = match TelemetryFrame::decode(raw.clone()) {
            Ok(f) => f,
            Err(e) => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "a replayed frame does not decode; stopping");
                break;
            }
        };
        if let Speed::Factor(x) = speed {
            // A new base when the frames' clock goes back or jumps far ahead (another bridge
            // run, a host that slept): replay pauses as recorded, but not for hours.
            let jump = frame.mono_time_ns.saturating_sub(last_mono);
            if base.is_none() || !(0..=60_000_000_000).contains(&jump) {
                base = Some((frame.mono_time_ns, Instant::now()));
            }
            if let Some((mono0, host0)) = base {
                let offset = (frame.mono_time_ns.saturating_sub(mono0)).max(0) as f64 / x;
                let target = host0 + Duration::from_nanos(offset as u64);
                while !ctx.should_stop() {
                    let wait = target.saturating_duration_since(Instant::now());
                    if wait.is_zero() {
                        break;
                    }
                    ctx.housekeeping(Instant::now());
                    ctx.sleep(wait.min(Duration::from_millis(50)));
                }
            }
            last_mono = frame.mono_time_ns;
        }
        if frame.session_id != last_session {
            last_session = frame.session_id.clone();
            if frame.session.is_some() || frame.seq == 0 {
                ctx.new_session(&frame, "replayed");
            }
        }
        Metrics::add(&ctx.metrics().missed_steps, u64::from(frame.missed_steps));
        // Copied: the raw bytes share the member's whole buffer, which the window would keep.
        ctx.emit_encoded(Bytes::copy_from_slice(&raw), &frame.session_id, frame.seq);
        ctx.housekeeping(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse_or_say_what_is_wrong() {
        assert_eq!("1".parse::<Speed>(), Ok(Speed::Factor(1.0)));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        for bad in ["0", "-1", "fast", "inf", "NaN"] {
            let err = bad.parse::<Speed>().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }

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
