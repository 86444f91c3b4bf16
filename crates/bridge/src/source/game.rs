//! A game simulated in this process: stepped by the sampler thread itself, its pages read right
//! after each step.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shm::{ManualClock, Poller, Snapshot, StaticPage};

use super::{SimClock, Speed, source_name};
use crate::error::BridgeError;
use crate::metrics::Metrics;
use crate::session::Sessionizer;
use crate::state::Sampling;

/// A game simulated in this process, stepped by the bridge: the source of
/// [`SourceConfig::Sim`](super::SourceConfig::Sim).
///
/// The bridge depends on no simulator: its caller builds one and passes it in (the `pitwall`
/// binary wraps its game simulator). The bridge calls [`step`](Self::step) at real time ×
/// speed, or as fast as it can, and reads the pages each step returns as it reads the game's
/// memory, with the simulation's clock ([`step_duration`](Self::step_duration) per step) as
/// the pages' clock.
///
/// ```
/// use std::time::Duration;
///
/// /// A game whose pages never change: a stand-in for a real simulator.
/// #[derive(Debug)]
/// struct Still(shm::Snapshot);
///
/// impl bridge::SimulatedGame for Still {
///     fn step_duration(&self) -> Duration {
///         Duration::from_millis(3)
///     }
///
///     fn step(&mut self) -> Option<shm::Snapshot> {
///         self.0.physics.packet_id += 1;
///         Some(self.0.clone())
///     }
/// }
///
/// let source = bridge::SourceConfig::Sim {
///     game: Box::new(Still(shm::Snapshot::default())),
///     speed: bridge::Speed::Max,
///     clock: None,
/// };
/// assert_eq!(source.kind(), "sim");
/// ```
pub trait SimulatedGame: Send + fmt::Debug {
    /// The simulated time one [`step`](Self::step) advances (AC's physics step is 3 ms); not
    /// zero.
    fn step_duration(&self) -> Duration;

    /// Advances the game one step. Returns the three pages as a reader of the game's memory
    /// would find them after it, or `None` when the step wrote no page (the game paused).
    fn step(&mut self) -> Option<Snapshot>;
}

/// Refuses a game the bridge cannot pace.
pub(super) fn check(game: &dyn SimulatedGame) -> Result<(), BridgeError> {
    if game.step_duration().is_zero() {
        return Err(BridgeError::config(
            "--source sim",
            "the simulated game's step_duration is zero: it cannot be paced",
        ));
    }
    Ok(())
}

/// Steps the game at `speed` (real time × a factor, or as fast as possible) until told to stop,
/// sampling every step that wrote a page.
pub(super) fn run(mut game: Box<dyn SimulatedGame>, speed: Speed, origin: SimClock, ctx: &mut Sampling<'_>) {
    let clock = Arc::new(ManualClock::new(0));
    let mut poller = Poller::new(Snapshot::default(), clock.clone());
    let mut sessions = Sessionizer::new(source_name("sim")).with_driver_name(ctx.driver_name.clone());
    let (start, wall0) = (origin.at, origin.unix_ns);
    let step = game.step_duration();
    let step_ns = u64::try_from(step.as_nanos()).unwrap_or(u64::MAX);
    // Steps taken so far (paused ones included): the simulation's clock.
    let mut steps = 0u64;
    // The frames' wall clock. At a factor it is the scaled real clock of `origin` (its Unix
    // time + real time since × the factor), the one everything else of a simulated run keeps
    // (the dedicated-server simulator, the timing): a game that starts late or falls behind on
    // a busy host stamps its frames when they happen on that clock, not when its own lagging
    // steps say, so that its laps end at the same moment as the server's. Stamps never go
    // backwards; the monotonic clock stays the simulation's.
    let mut last_wall = i64::MIN;
    while !ctx.should_stop() {
        let now = Instant::now();
        let due = match speed {
            Speed::Factor(x) => (now.duration_since(start).as_nanos() as f64 * x / step_ns as f64) as u64 + 1,
            Speed::Max => steps + 64,
        };
        // Bounded so that a stalled host (a suspended laptop) does not freeze the loop.
        let todo = due.saturating_sub(steps).min(2_000);
        for _ in 0..todo {
            let written = game.step();
            steps += 1;
            let Some(pages) = written else { continue };
            let sim_ns = steps.saturating_mul(step_ns);
            clock.set(sim_ns);
            *poller.source_mut() = pages;
            match poller.poll() {
                Ok(Some(sample)) => {
                    let page = poller.static_page().copied().unwrap_or_else(StaticPage::new);
                    // The simulated time, or the scaled real time of this moment when the
                    // simulation is behind it.
                    let at = match speed {
                        Speed::Factor(x) => sim_ns.max((start.elapsed().as_nanos() as f64 * x) as u64),
                        Speed::Max => sim_ns,
                    };
                    let wall = wall0
                        .saturating_add(i64::try_from(at).unwrap_or(i64::MAX))
                        .max(last_wall.saturating_add(1));
                    last_wall = wall;
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
                    tracing::warn!(error = %e, "reading the simulated game's pages");
                }
            }
        }
        ctx.housekeeping(now);
        if let Speed::Factor(x) = speed {
            let next = start + Duration::from_nanos((steps as f64 * step_ns as f64 / x) as u64);
            ctx.sleep(next.saturating_duration_since(Instant::now()));
        }
    }
}
