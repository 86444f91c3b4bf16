//! [`GameRunner`]: the simulator in (accelerated) real time, writing its pages to a directory.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shm::{Clock, ShmError};

use super::sim::{Frame, GameSim, PHYSICS_STEP};
use super::writer::GameWriter;
use crate::error::SimError;

/// Highest time acceleration accepted: at this speed a physics step is 3 µs of real time, and
/// the simulator itself becomes the bottleneck.
pub const MAX_SPEED: f64 = 1000.0;

/// How a [`GameRunner`] paces and writes.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Time acceleration: simulated seconds per real second.
    pub speed: f64,
    /// Write every physics step, however fast the simulation runs. By default, when several
    /// steps fall due at once only the last state is written, so the physics `packetId` jumps
    /// (as it does when a reader is slower than the game).
    pub every_step: bool,
    /// Least real time between two writes (unless `every_step`): bounds the write rate, and
    /// so the CPU spent, at high speeds.
    pub min_write_interval: Duration,
    /// Most steps simulated per tick, so a stall (a suspended laptop) does not freeze the
    /// loop while it catches up.
    pub max_steps_per_tick: u64,
    /// Real time slept in the middle of a torn write (see [`GameWriter::with_tear_pause`]).
    pub tear_pause: Duration,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            speed: 1.0,
            every_step: false,
            min_write_interval: Duration::from_micros(500),
            max_steps_per_tick: 20_000,
            tear_pause: Duration::from_micros(200),
        }
    }
}

impl RunConfig {
    /// Checks the speed and limits.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(self.speed > 0.0 && self.speed <= MAX_SPEED) {
            return Err(SimError::config(
                "speed",
                format!("is {}; it must be above 0 and at most {MAX_SPEED}", self.speed),
            ));
        }
        if self.max_steps_per_tick == 0 {
            return Err(SimError::config("max_steps_per_tick", "must be at least 1"));
        }
        Ok(())
    }
}

/// Counters of a [`GameRunner`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Calls to [`GameRunner::tick`].
    pub ticks: u64,
    /// Frames written (each one or more page writes).
    pub frames_written: u64,
    /// Physics pages never written because a later step's replaced them before the write:
    /// the `packetId` jumps this causes, on top of the simulator's own dropped steps.
    pub steps_unwritten: u64,
    /// Steps the simulation was behind real time × speed after the last tick.
    pub steps_behind: u64,
}

/// Runs a [`GameSim`] against a [`Clock`] at `speed` × real time, writing through a
/// [`GameWriter`].
///
/// [`tick`](Self::tick) does one round (simulate what is due, write); it is all there is to test
/// with a [`ManualClock`](shm::ManualClock). [`run`](Self::run) loops over it, sleeping between
/// rounds, until stopped.
#[derive(Debug)]
pub struct GameRunner<C> {
    sim: GameSim,
    writer: GameWriter,
    clock: C,
    config: RunConfig,
    start_ns: Option<u64>,
    last_write_ns: Option<u64>,
    pending: Option<Frame>,
    stats: RunStats,
}

impl<C: Clock> GameRunner<C> {
    /// A runner; time starts at the first tick.
    pub fn new(sim: GameSim, writer: GameWriter, clock: C, config: RunConfig) -> Result<Self, SimError> {
        config.validate()?;
        let writer = writer.with_tear_pause(config.tear_pause);
        Ok(GameRunner {
            sim,
            writer,
            clock,
            config,
            start_ns: None,
            last_write_ns: None,
            pending: None,
            stats: RunStats::default(),
        })
    }

    /// The simulator.
    pub fn sim(&self) -> &GameSim {
        &self.sim
    }

    /// The simulator, e.g. to pause it.
    pub fn sim_mut(&mut self) -> &mut GameSim {
        &mut self.sim
    }

    /// The counters.
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    /// Gives the simulator back.
    pub fn into_sim(self) -> GameSim {
        self.sim
    }

    /// Steps due by now: one at time 0, then one per 3 ms / speed.
    fn due_steps(&self, now: u64, start: u64) -> u64 {
        // Saturating: a clock that steps back (a buggy one) must not panic the writer.
        let sim_ns = now.saturating_sub(start) as f64 * self.config.speed;
        (sim_ns / PHYSICS_STEP.as_nanos() as f64) as u64 + 1
    }

    /// Simulates the steps due by now and writes them; returns how many steps ran.
    pub fn tick(&mut self) -> Result<u64, ShmError> {
        self.stats.ticks += 1;
        let now = self.clock.now_ns();
        let start = *self.start_ns.get_or_insert(now);
        let due = self.due_steps(now, start).saturating_sub(self.sim.stats().steps);
        let run = due.min(self.config.max_steps_per_tick);
        for _ in 0..run {
            let frame = self.sim.step();
            if self.config.every_step {
                self.writer.write_frame(&frame)?;
                self.stats.frames_written += 1;
            } else {
                match &mut self.pending {
                    Some(pending) => {
                        if pending.physics.is_some() && frame.physics.is_some() {
                            self.stats.steps_unwritten += 1;
                        }
                        pending.merge(frame);
                    }
                    None => self.pending = Some(frame),
                }
            }
        }
        self.stats.steps_behind = due - run;
        let interval_ok = self
            .last_write_ns
            .is_none_or(|last| now.saturating_sub(last) >= self.config.min_write_interval.as_nanos() as u64);
        if interval_ok {
            self.flush()?;
            self.last_write_ns = Some(now);
        }
        Ok(run)
    }

    /// Writes what is pending now, whatever the write interval.
    pub fn flush(&mut self) -> Result<(), ShmError> {
        if let Some(frame) = self.pending.take() {
            self.writer.write_frame(&frame)?;
            self.stats.frames_written += 1;
        }
        Ok(())
    }

    /// Ticks until `stop` is set or `limit` of real time has passed, sleeping until the next
    /// step is due, and calls `status` about every `status_every`. Meant for a real clock
    /// ([`MonotonicClock`](shm::MonotonicClock)): with a manual one it would spin.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        limit: Option<Duration>,
        status_every: Duration,
        mut status: impl FnMut(&GameSim, &RunStats),
    ) -> Result<(), ShmError> {
        let begin = self.clock.now_ns();
        let mut next_status = begin + status_every.as_nanos() as u64;
        let limit_ns = limit.map(|d| d.as_nanos() as u64);
        while !stop.load(Ordering::Relaxed) {
            let now = self.clock.now_ns();
            if limit_ns.is_some_and(|l| now.saturating_sub(begin) >= l) {
                break;
            }
            self.tick()?;
            if now >= next_status {
                status(&self.sim, &self.stats);
                next_status = now + status_every.as_nanos() as u64;
            }
            if let Some(wait) = self.until_next(now) {
                // Short naps keep Ctrl-C and the limit responsive at low speeds.
                std::thread::sleep(wait.min(Duration::from_millis(20)));
            }
        }
        self.flush()
    }

    /// Real time until the next step falls due (and a write may happen), if any.
    fn until_next(&self, now: u64) -> Option<Duration> {
        let start = self.start_ns?;
        let next_step = self.sim.stats().steps;
        let step_ns = PHYSICS_STEP.as_nanos() as f64 / self.config.speed;
        let due_at = start + (next_step as f64 * step_ns) as u64;
        let mut wake = due_at;
        if !self.config.every_step {
            if let Some(last) = self.last_write_ns {
                wake = wake.max(last + self.config.min_write_interval.as_nanos() as u64);
            }
        }
        (wake > now).then(|| Duration::from_nanos(wake - now))
    }
}

#[cfg(test)]
mod tests {
    use shm::{DirSource, ManualClock, MonotonicClock, PageSource, PhysicsPage};

    use super::super::GameConfig;
    use super::*;

    fn physics_id(dir: &std::path::Path) -> i32 {
        let mut page = PhysicsPage::new();
        DirSource::open(dir).unwrap().read_physics(&mut page).unwrap();
        page.packet_id
    }

    fn runner<C: Clock>(dir: &std::path::Path, clock: C, config: RunConfig) -> GameRunner<C> {
        let sim = GameSim::new(GameConfig::default()).unwrap();
        GameRunner::new(sim, GameWriter::create(dir).unwrap(), clock, config).unwrap()
    }

    #[test]
    fn a_tick_runs_what_is_due_and_writes_only_the_latest() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_000_000);
        let mut r = runner(dir.path(), &clock, RunConfig { speed: 10.0, ..RunConfig::default() });
        assert_eq!(r.tick().unwrap(), 1, "the first step is due at once");
        assert_eq!(physics_id(dir.path()), 1);
        // 3 ms of real time at 10× is 30 ms simulated: 10 steps, one write.
        clock.advance(3_000_000);
        assert_eq!(r.tick().unwrap(), 10);
        assert_eq!(physics_id(dir.path()), 11);
        assert_eq!(r.stats().steps_unwritten, 9, "the packetId jumped from 1 to 11");
        assert_eq!(r.stats().frames_written, 2);
        // Nothing due: nothing happens.
        assert_eq!(r.tick().unwrap(), 0);
        assert_eq!(r.stats().frames_written, 2);
    }

    #[test]
    fn writes_are_spaced_by_the_minimum_interval() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(0);
        let config =
            RunConfig { speed: 100.0, min_write_interval: Duration::from_millis(1), ..RunConfig::default() };
        let mut r = runner(dir.path(), &clock, config);
        r.tick().unwrap();
        // 0.3 ms later 10 steps are due, but the last write was too recent.
        clock.advance(300_000);
        assert_eq!(r.tick().unwrap(), 10);
        assert_eq!(physics_id(dir.path()), 1);
        clock.advance(700_000);
        r.tick().unwrap();
        assert_eq!(physics_id(dir.path()), 34);
    }

    #[test]
    fn every_step_mode_writes_every_step() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(0);
        let mut r =
            runner(dir.path(), &clock, RunConfig { speed: 50.0, every_step: true, ..RunConfig::default() });
        r.tick().unwrap();
        clock.advance(6_000_000);
        assert_eq!(r.tick().unwrap(), 100);
        assert_eq!(r.stats().frames_written, 101);
        assert_eq!(r.stats().steps_unwritten, 0);
        assert_eq!(physics_id(dir.path()), 101);
    }

    #[test]
    fn a_stall_is_caught_up_a_bounded_chunk_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(0);
        let config = RunConfig { max_steps_per_tick: 100, ..RunConfig::default() };
        let mut r = runner(dir.path(), &clock, config);
        r.tick().unwrap();
        clock.advance(3_000_000_000);
        assert_eq!(r.tick().unwrap(), 100);
        assert_eq!(r.stats().steps_behind, 900);
    }

    #[test]
    fn run_stops_at_the_limit_and_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let mut r =
            runner(dir.path(), MonotonicClock::new(), RunConfig { speed: 30.0, ..RunConfig::default() });
        let stop = AtomicBool::new(false);
        let mut statuses = 0;
        r.run(&stop, Some(Duration::from_millis(150)), Duration::from_millis(20), |_, _| statuses += 1)
            .unwrap();
        let steps = r.sim().stats().steps;
        // 150 ms at 30× is 1500 steps; a loaded machine may fall a little behind.
        assert!((300..=1600).contains(&steps), "{steps} steps");
        assert!(statuses >= 2);
        assert_eq!(physics_id(dir.path()), r.sim().physics().packet_id, "the last state is on file");
        // A set stop flag ends the loop at once.
        stop.store(true, Ordering::Relaxed);
        r.run(&stop, None, Duration::from_secs(1), |_, _| {}).unwrap();
    }

    #[test]
    fn bad_speeds_are_refused() {
        for speed in [0.0, -1.0, f64::NAN, 1e6] {
            let err = RunConfig { speed, ..RunConfig::default() }.validate().unwrap_err().to_string();
            assert!(err.contains("speed"), "{err}");
        }
    }
}
