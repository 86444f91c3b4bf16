//! The game simulator end to end: it writes page files into a temporary directory, and the
//! real reader (`shm::DirSource` and `shm::Poller`, on a `ManualClock`) reads them back. The
//! simulator's own counters and lap record are the oracle.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use shm::{
    DirSource, ManualClock, Page, PageSource, PhysicsPage, PollStats, Poller, Sample, SessionStart, ShmError,
    Status,
};
use sim::game::{Faults, Frame, GameConfig, GameRunner, GameSim, GameWriter, PageWrite, RunConfig};

/// Physics step, ns.
const STEP_NS: u64 = 3_000_000;

fn config(seed: u64, track: &str, faults: &str) -> GameConfig {
    GameConfig {
        seed,
        track: track.to_owned(),
        faults: faults.parse().expect("fault spec"),
        ..GameConfig::default()
    }
}

/// A simulator writing into `dir`, and a poller reading it, in lock step: the game writes a
/// step, 3 ms pass, the poller polls once.
struct LockStep {
    sim: GameSim,
    writer: GameWriter,
    clock: Arc<ManualClock>,
    poller: Poller<DirSource, Arc<ManualClock>>,
    frames: Vec<Frame>,
    samples: Vec<Sample>,
}

impl LockStep {
    fn new(dir: &Path, config: GameConfig) -> LockStep {
        let mut sim = GameSim::new(config).expect("valid config");
        let mut writer = GameWriter::create(dir).expect("page files");
        // The files must exist before a reader opens them: write the first step first.
        let first = sim.step();
        writer.write_frame(&first).expect("write");
        let clock = Arc::new(ManualClock::new(0));
        let poller = Poller::new(DirSource::open(dir).expect("open"), Arc::clone(&clock));
        let mut rig = LockStep { sim, writer, clock, poller, frames: vec![first], samples: Vec::new() };
        rig.poll();
        rig
    }

    fn poll(&mut self) {
        self.clock.advance(STEP_NS);
        if let Some(sample) = self.poller.poll().expect("poll") {
            self.samples.push(sample);
        }
    }

    fn step(&mut self) {
        let frame = self.sim.step();
        self.writer.write_frame(&frame).expect("write");
        self.frames.push(frame);
        self.poll();
    }

    fn run(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step();
        }
    }

    /// Steps until a physics page is written, so no dropped step is left unrevealed.
    fn run_until_written(&mut self) {
        self.step();
        while self.frames.last().is_some_and(|f| f.physics.is_none()) {
            self.step();
        }
    }

    fn stats(&self) -> &PollStats {
        self.poller.stats()
    }
}

#[test]
fn every_physics_step_is_read_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = LockStep::new(dir.path(), config(1, "pitwall_ring", "none"));
    rig.run(5000);
    let ids: Vec<i32> = rig.samples.iter().map(|s| s.physics.packet_id).collect();
    assert_eq!(ids, (1..=5001).collect::<Vec<_>>());
    let stats = rig.stats();
    assert_eq!((stats.samples, stats.missed_steps, stats.duplicates, stats.torn_reads), (5001, 0, 0, 0));
    assert_eq!(stats.sessions, 1);
    // What was read is what was written, byte for byte, and the graphics read with each
    // step is the latest written.
    let mut latest_graphics = None;
    for (frame, sample) in rig.frames.iter().zip(&rig.samples) {
        latest_graphics = frame.graphics.or(latest_graphics);
        assert_eq!(Some(sample.physics), frame.physics);
        assert_eq!(Some(sample.graphics), latest_graphics);
        assert_eq!(sample.graphics.status(), Status::Live);
    }
    let statics = rig.poller.static_page().unwrap();
    assert_eq!(statics.track(), "pitwall_ring");
    assert_eq!(statics, rig.sim.static_page());
    // 3 ms apart on the poller's clock: the game's 333 Hz.
    let rate = rig.poller.rate_hz().unwrap();
    assert!((rate - 1000.0 / 3.0).abs() < 1.0, "{rate} Hz");
}

#[test]
fn the_poller_misses_exactly_the_steps_the_simulator_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = LockStep::new(dir.path(), config(2, "pitwall_kurs", "drop=0.03"));
    rig.run(20_000);
    rig.run_until_written();
    let dropped = rig.sim.stats().dropped_steps;
    assert!(dropped > 300, "{dropped} steps dropped");
    let stats = rig.stats();
    assert_eq!(stats.missed_steps, dropped);
    assert_eq!(stats.samples + stats.missed_steps, rig.sim.stats().steps);
    // A poll that finds a dropped step finds the previous page again.
    assert_eq!(stats.duplicates, dropped);
    let jumps: u64 = rig.samples.iter().map(|s| s.missed_before).sum();
    assert_eq!(jumps, dropped);
}

#[test]
fn a_pause_stops_the_samples_but_not_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = LockStep::new(dir.path(), config(3, "pitwall_oval", "none"));
    rig.run(1000);
    rig.sim.set_paused(true);
    rig.run(500);
    assert_eq!(rig.samples.len(), 1001, "no new step while paused");
    assert_eq!(rig.stats().duplicates, 500);
    let mut graphics = shm::GraphicsPage::new();
    DirSource::open(dir.path()).unwrap().read_graphics(&mut graphics).unwrap();
    assert_eq!(graphics.status(), Status::Pause);
    rig.sim.set_paused(false);
    rig.run(10);
    assert_eq!(rig.samples.len(), 1011);
    assert_eq!(rig.stats().missed_steps, 0, "a pause skips no packetId");
    assert_eq!(rig.samples.last().unwrap().graphics.status(), Status::Live);
}

#[test]
fn a_session_restart_starts_a_new_poller_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = LockStep::new(dir.path(), config(4, "pitwall_oval", "restart=10"));
    rig.run(7000);
    assert_eq!(rig.sim.session(), 3);
    let starts: Vec<(u64, Option<SessionStart>, i32)> = rig
        .samples
        .iter()
        .filter(|s| s.session_start.is_some())
        .map(|s| (s.session, s.session_start, s.physics.packet_id))
        .collect();
    assert_eq!(
        starts,
        [
            (1, Some(SessionStart::First), 1),
            (2, Some(SessionStart::PacketIdRestart { last: 3333, now: 1 }), 1),
            (3, Some(SessionStart::PacketIdRestart { last: 3334, now: 1 }), 1),
        ]
    );
    assert_eq!(rig.stats().static_reads, 3, "the static page is read again for each session");
    assert_eq!(rig.stats().missed_steps, 0);
    assert_eq!(rig.samples.last().unwrap().graphics.completed_laps, 0, "the restart cleared the timing");
}

#[test]
fn lap_times_read_from_the_graphics_page_are_the_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let mut rig = LockStep::new(dir.path(), config(5, "pitwall_oval", "none"));
    let mut read = Vec::new();
    let mut done = 0;
    while read.len() < 3 {
        rig.step();
        let g = rig.samples.last().unwrap().graphics;
        if g.completed_laps > done {
            done = g.completed_laps;
            read.push((g.completed_laps, g.i_last_time, g.last_time(), g.last_sector_time));
        }
        assert!(rig.sim.sim_time().as_secs() < 300, "three laps of the oval take two minutes");
    }
    let record: Vec<_> = rig
        .sim
        .laps()
        .iter()
        .map(|l| {
            (l.lap as i32, l.time_ms, sim::game::format_lap_time(l.time_ms), *l.sectors_ms.last().unwrap())
        })
        .collect();
    assert_eq!(read, record);
    for lap in rig.sim.laps() {
        assert_eq!(lap.sectors_ms.iter().sum::<i32>(), lap.time_ms);
    }
}

/// A source whose reads race the game's writes: before each read, the next pending write
/// lands. A torn physics write (three writes) then overlaps the poller's copy, as it can when
/// the game writes while a reader copies.
struct Racing {
    inner: DirSource,
    writer: GameWriter,
    pending: VecDeque<PageWrite>,
}

impl PageSource for Racing {
    fn location(&self, page: Page) -> String {
        self.inner.location(page)
    }
    fn page_len(&mut self, page: Page) -> Result<u64, ShmError> {
        self.inner.page_len(page)
    }
    fn read_at(&mut self, page: Page, offset: u64, buf: &mut [u8]) -> Result<(), ShmError> {
        if let Some(write) = self.pending.pop_front() {
            self.writer.apply(&write)?;
        }
        self.inner.read_at(page, offset, buf)
    }
}

#[test]
fn torn_writes_are_detected_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut sim = GameSim::new(config(6, "pitwall_ring", "tear=0.2")).unwrap();
    let mut writer = GameWriter::create(dir.path()).unwrap();
    let first = sim.step();
    writer.write_frame(&first).unwrap();
    let clock = ManualClock::new(0);
    let source = Racing { inner: DirSource::open(dir.path()).unwrap(), writer, pending: VecDeque::new() };
    let mut poller = Poller::new(source, &clock);
    let mut written = vec![first.physics.unwrap()];
    let mut samples: Vec<PhysicsPage> = Vec::new();
    samples.extend(poller.poll().unwrap().map(|s| s.physics));

    for _ in 0..5000 {
        let frame = sim.step();
        let racing = poller.source_mut();
        let writes = racing.writer.plan(&frame);
        racing.pending.extend(writes);
        written.extend(frame.physics);
        clock.advance(STEP_NS);
        samples.extend(poller.poll().unwrap().map(|s| s.physics));
        // Whatever the poll did not need lands before the next step.
        let racing = poller.source_mut();
        while let Some(write) = racing.pending.pop_front() {
            racing.writer.apply(&write).unwrap();
        }
    }
    let torn = sim.stats().torn_writes;
    assert!(torn > 800, "{torn} torn writes");
    let stats = poller.stats();
    assert!(stats.retries >= torn, "{} retries for {torn} torn writes", stats.retries);
    assert_eq!(stats.torn_reads, 0, "one retry always finds the page whole");
    // No torn copy got through: every step read is exactly a step written, each once.
    assert_eq!(samples, written);
    assert_eq!(stats.missed_steps, 0);
}

#[test]
fn at_high_speed_the_packet_id_jumps_by_the_steps_the_runner_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let sim = GameSim::new(config(7, "pitwall_ring", "drop=0.01")).unwrap();
    let run_clock = ManualClock::new(0);
    let config = RunConfig { speed: 40.0, ..RunConfig::default() };
    let mut runner =
        GameRunner::new(sim, GameWriter::create(dir.path()).unwrap(), &run_clock, config).unwrap();
    runner.tick().unwrap();
    let poll_clock = ManualClock::new(0);
    let mut poller = Poller::new(DirSource::open(dir.path()).unwrap(), &poll_clock);
    assert!(poller.poll().unwrap().is_some());
    // One real millisecond per round at 40×: about 13 steps due each time, one page written.
    for _ in 0..2000 {
        run_clock.advance(1_000_000);
        poll_clock.advance(1_000_000);
        runner.tick().unwrap();
        poller.poll().unwrap();
    }
    let (game, run) = (runner.sim().stats().clone(), runner.stats().clone());
    assert_eq!(game.steps, 26_667);
    assert!(run.steps_unwritten > 20_000, "{run:?}");
    // Every packetId up to the last written is either read or missed, and the missed ones are
    // exactly those the runner overwrote or the simulator dropped, but for dropped steps after
    // the last written page (no later page has revealed them yet).
    let last = runner.sim().physics().packet_id as u64;
    let stats = poller.stats();
    assert_eq!(stats.samples + stats.missed_steps, last);
    let not_yet_revealed = game.steps - last;
    assert_eq!(stats.missed_steps + not_yet_revealed, run.steps_unwritten + game.dropped_steps);
}

#[test]
fn faults_are_off_by_default() {
    assert!(GameConfig::default().faults.is_none());
    assert_eq!(Faults::default(), Faults::none());
}
