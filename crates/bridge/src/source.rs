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
use shm::{ManualClock, MonotonicClock, PageSource, Poller, StaticPage};
use sim::game::{GameConfig, GameSim, PHYSICS_STEP};

use crate::error::BridgeError;
use crate::metrics::Metrics;
use crate::runner::Sampling;
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
                Ok(Input::Replay(Box::new(record::RecordReader::open(path)?), *speed))
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
        let dir = dir.unwrap_or(Path::new(shm::DEFAULT_DIR));
        Ok(Box::new(pread::PageFiles::open(dir)?))
    }
    #[cfg(not(unix))]
    {
        match dir {
            Some(dir) => Ok(Box::new(shm::DirSource::open(dir)?)),
            None => Ok(shm::open_live()?),
        }
    }
}

#[cfg(unix)]
mod pread {
    //! Page files read with positioned reads: one system call per copy, where
    //! [`shm::DirSource`] makes three (size, seek, read). At 333 Hz with the torn-read guard's
    //! four reads per page, that is most of the bridge's CPU time.

    use std::fs::File;
    use std::os::unix::fs::FileExt as _;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    use shm::{Page, PageSource, ShmError};

    const PAGES: [Page; 3] = [Page::Physics, Page::Graphics, Page::Static];

    /// How often the files' sizes are looked at again (a Proton bridge restarting may recreate
    /// them; a short read looks at once).
    const LEN_CHECK: Duration = Duration::from_secs(1);

    /// Opens a page file to read it without updating its access time: on tmpfs every read
    /// touches the atime otherwise, a twentieth of the bridge's sampling CPU. `O_NOATIME` is
    /// allowed to the file's owner (or a privileged process) only: others get a plain open.
    fn open_noatime(path: &Path) -> std::io::Result<File> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            let noatime = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOATIME).open(path);
            if let Ok(file) = noatime {
                return Ok(file);
            }
        }
        File::open(path)
    }

    #[derive(Debug)]
    pub(super) struct PageFiles {
        dir: PathBuf,
        files: [File; 3],
        lens: [u64; 3],
        checked: Instant,
    }

    fn index(page: Page) -> usize {
        match page {
            Page::Physics => 0,
            Page::Graphics => 1,
            Page::Static => 2,
        }
    }

    impl PageFiles {
        pub(super) fn open(dir: &Path) -> Result<PageFiles, ShmError> {
            // DirSource checks that every file exists and is long enough, with its errors.
            shm::DirSource::open(dir)?;
            let open = |page: Page| {
                let path = dir.join(page.file_name());
                open_noatime(&path).map_err(|source| ShmError::Open { page, path, source })
            };
            let files = [open(Page::Physics)?, open(Page::Graphics)?, open(Page::Static)?];
            let mut pages = PageFiles { dir: dir.to_owned(), files, lens: [0; 3], checked: Instant::now() };
            pages.check_lens()?;
            Ok(pages)
        }

        fn check_lens(&mut self) -> Result<(), ShmError> {
            for page in PAGES {
                let i = index(page);
                self.lens[i] = self.files[i]
                    .metadata()
                    .map_err(|source| ShmError::Io {
                        op: "reading the size of",
                        path: self.path(page),
                        source,
                    })?
                    .len();
            }
            self.checked = Instant::now();
            Ok(())
        }

        fn path(&self, page: Page) -> PathBuf {
            self.dir.join(page.file_name())
        }
    }

    impl PageSource for PageFiles {
        fn location(&self, page: Page) -> String {
            self.path(page).display().to_string()
        }

        fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
            if self.checked.elapsed() >= LEN_CHECK {
                self.check_lens()?;
            }
            Ok(self.lens[index(page)])
        }

        fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
            match self.files[index(page)].read_exact_at(buf, offset) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    let _ = self.check_lens();
                    Err(ShmError::PageTooShort {
                        page,
                        location: self.location(page),
                        actual: self.lens[index(page)],
                        needed: usize::try_from(offset).unwrap_or(usize::MAX).saturating_add(buf.len()),
                    })
                }
                Err(source) => Err(ShmError::Io { op: "reading", path: self.path(page), source }),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn page_files_read_what_a_writer_wrote_and_name_a_short_file() {
            let dir = tempfile::tempdir().unwrap();
            let mut w = shm::DirWriter::create(dir.path(), shm::BRIDGE_FILE_LEN).unwrap();
            let mut p = shm::PhysicsPage::new();
            p.packet_id = 77;
            p.speed_kmh = 123.0;
            w.write_physics(&p).unwrap();
            let mut files = PageFiles::open(dir.path()).unwrap();
            let mut back = shm::PhysicsPage::new();
            files.read_physics(&mut back).unwrap();
            assert_eq!((back.packet_id, back.speed_kmh), (77, 123.0));
            assert_eq!(files.page_len(Page::Graphics).unwrap(), shm::BRIDGE_FILE_LEN);
            let mut buf = [0u8; 16];
            let err =
                files.read_at(Page::Static, shm::BRIDGE_FILE_LEN - 8, &mut buf).unwrap_err().to_string();
            assert!(err.contains("acpmf_static") && err.contains("2048"), "{err}");
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
/// The game writes a physics step every 3 ms. The pacer locks onto that phase: after a poll
/// that found a new step it sleeps one [`step`](Pacer::step) past the moment that poll was
/// scheduled for, a little earlier ([`lead`](Pacer::lead)) when the step was already there at
/// the first try, and much earlier ([`probe`](Pacer::probe)) every [`probe_every`](Pacer::probe_every)th
/// such step in a row. So the polls creep towards the steps' arrival until one comes too early;
/// a fine poll ([`fine`](Pacer::fine)) later then finds the step and sets the phase again. Most
/// steps cost one poll (about 1.2 on average, where a fixed sleep after each sample cost two),
/// and the probes keep the lock on a game whose steps come up to 2 % faster than 3 ms, instead of
/// letting the polls fall a whole step behind and skip one. The phase is kept on the schedule,
/// not on the moments the thread woke (those are late by the OS timer's slack), so lateness
/// does not accumulate. When no step came for [`fine_for`](Pacer::fine_for) (pause, menus),
/// it polls every [`idle`](Pacer::idle), still fast enough to catch the first step after.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// The game's physics step.
    pub step: Duration,
    /// How much earlier the next poll is scheduled after a step found at the first try.
    pub lead: Duration,
    /// How much earlier on every [`probe_every`](Pacer::probe_every)th step in a row found at
    /// the first try.
    pub probe: Duration,
    /// See [`probe`](Pacer::probe).
    pub probe_every: u32,
    /// Interval of the polls after one that came too early.
    pub fine: Duration,
    /// How long after a sample fine polling goes on.
    pub fine_for: Duration,
    /// Interval of polls when no step came for a while.
    pub idle: Duration,
    last_sample: Option<Instant>,
    /// When the poll now being made was meant to happen.
    scheduled: Option<Instant>,
    /// Whether a poll since the last sample came too early.
    missed: bool,
    /// Steps found at the first try, in a row.
    direct: u32,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            step: PHYSICS_STEP,
            lead: Duration::from_micros(15),
            probe: Duration::from_micros(300),
            probe_every: 6,
            fine: Duration::from_micros(200),
            fine_for: Duration::from_millis(8),
            idle: Duration::from_millis(2),
            last_sample: None,
            scheduled: None,
            missed: true,
            direct: 0,
        }
    }
}

impl Pacer {
    /// How long to sleep after a poll at `now` that did (or did not) yield a sample.
    pub fn next_wait(&mut self, now: Instant, sampled: bool) -> Duration {
        let scheduled = self.scheduled.take().unwrap_or(now).min(now);
        let next = if sampled {
            self.last_sample = Some(now);
            // After a poll that came too early the step arrived between that poll and this
            // one: this poll's schedule is the phase. Found at the first try, the step may
            // have come well before: aim earlier.
            let phase = if std::mem::take(&mut self.missed) {
                self.direct = 0;
                scheduled
            } else {
                self.direct += 1;
                let earlier = if self.direct % self.probe_every.max(1) == 0 { self.probe } else { self.lead };
                scheduled.checked_sub(earlier).unwrap_or(scheduled)
            };
            let next = phase + self.step;
            // Woken so late that the next step is due already: find the phase again.
            if next <= now { now + self.fine } else { next }
        } else {
            self.missed = true;
            match self.last_sample {
                Some(last) if now.saturating_duration_since(last) < self.fine_for => now + self.fine,
                _ => now + self.idle,
            }
        };
        self.scheduled = Some(next);
        next.saturating_duration_since(now)
    }
}

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
    while !ctx.should_stop() {
        let now = Instant::now();
        // A poll copies both pages twice (the torn-read guard); most polls find the step
        // already sampled. Reading the physics packetId alone (offset 0) first skips those,
        // while a whole poll at least every 50 ms still follows the status and session when
        // physics stands still (pause, menus).
        let unchanged = last_id.is_some_and(|last| {
            now.saturating_duration_since(last_full) < Duration::from_millis(50)
                && poller.source_mut().read_at(shm::Page::Physics, 0, &mut id).is_ok()
                && i32::from_le_bytes(id) == last
        });
        if unchanged {
            ctx.housekeeping(now);
            let wait = pacer.next_wait(Instant::now(), false);
            ctx.sleep(wait);
            continue;
        }
        last_full = now;
        let sampled = match poller.poll() {
            Ok(Some(sample)) => {
                error_logged = false;
                last_id = Some(sample.physics.packet_id);
                let (page, changed) = match (sample.session_start, confirmed.take()) {
                    // A session start re-read the static page: the poller's is the freshest.
                    (None, Some(page)) => (page, true),
                    _ => (poller.static_page().copied().unwrap_or_else(StaticPage::new), false),
                };
                let (frame, new) = sessions.frame(&sample, &page, changed, unix_now_ns());
                if let Some(why) = new {
                    ctx.new_session(&frame, &format!("{why:?}"));
                }
                Metrics::add(&ctx.metrics().missed_steps, sample.missed_before);
                ctx.emit(&frame);
                true
            }
            Ok(None) => false,
            Err(e) => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                if !error_logged {
                    tracing::warn!(error = %e, "cannot read the shared memory; retrying");
                    error_logged = true;
                }
                ctx.sleep(Duration::from_millis(100));
                false
            }
        };
        ctx.metrics().torn_reads.store(poller.stats().torn_reads, std::sync::atomic::Ordering::Relaxed);
        if now >= next_static_check {
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
        ctx.housekeeping(now);
        let wait = pacer.next_wait(Instant::now(), sampled);
        ctx.sleep(wait);
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
            Err(e) => {
                Metrics::add(&ctx.metrics().source_errors, 1);
                tracing::error!(error = %e, "the replayed recording is damaged; stopping at the damage");
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

    /// Runs a pacer against a game whose steps come every `period_us` (from an odd phase) on a
    /// host whose sleeps end `slack_us` late, for 10 s: (polls per step, steps skipped).
    fn pace(period_us: u64, slack_us: u64) -> (f64, u64) {
        let t0 = Instant::now();
        let mut pacer = Pacer::default();
        let (mut now_us, mut polls, mut skipped) = (0u64, 0u64, 0u64);
        let mut last: Option<u64> = None;
        while now_us < 10_000_000 {
            polls += 1;
            // The newest step written by now (the first at 1234 µs).
            let newest = now_us.checked_sub(1234).map(|t| t / period_us);
            let sampled = newest.is_some() && newest != last;
            if sampled {
                if let (Some(l), Some(n)) = (last, newest) {
                    skipped += n - l - 1;
                }
                last = newest;
            }
            let wait = pacer.next_wait(t0 + Duration::from_micros(now_us), sampled);
            now_us += wait.as_micros() as u64 + slack_us;
        }
        (polls as f64 / (last.unwrap_or(0) + 1) as f64, skipped)
    }

    #[test]
    fn the_pacer_locks_onto_the_steps_about_one_poll_each_and_skips_none() {
        for period in [2_950, 2_990, 3_000, 3_003, 3_030] {
            for slack in [0, 55, 200] {
                let (per_step, skipped) = pace(period, slack);
                assert_eq!(skipped, 0, "period {period} µs, slack {slack} µs");
                // Measured: 1.03 to 1.27 (1.19 at 3 ms with a 55 µs timer slack).
                assert!(
                    per_step < 1.35,
                    "period {period} µs, slack {slack} µs: {per_step:.2} polls per step"
                );
            }
        }
        // Woken a whole step late once in a while (a busy host) it finds the phase again.
        let (per_step, _) = pace(3_000, 3_100);
        assert!(per_step < 2.0, "{per_step}");
    }

    #[test]
    fn the_pacer_polls_finely_after_an_early_poll_then_idles() {
        let mut p = Pacer::default();
        let t0 = Instant::now();
        assert_eq!(p.next_wait(t0, false), p.idle, "nothing seen yet");
        // The first step found after a miss sets the phase: one step later.
        assert_eq!(p.next_wait(t0 + p.idle, true), PHYSICS_STEP);
        let t1 = t0 + p.idle + PHYSICS_STEP;
        // Found again at the first try: a little earlier next time.
        assert_eq!(p.next_wait(t1, true), PHYSICS_STEP - p.lead);
        let t2 = t1 + PHYSICS_STEP - p.lead;
        // Too early: fine polls, then idle polls once steps stopped (a pause).
        assert_eq!(p.next_wait(t2, false), p.fine);
        assert_eq!(p.next_wait(t2 + Duration::from_millis(5), false), p.fine);
        assert_eq!(p.next_wait(t2 + Duration::from_millis(9), false), p.idle);
        assert!(p.idle < PHYSICS_STEP);
    }
}
